//! Bearer tokens: 256 random bits, handed out once and stored only as a
//! SHA-256 digest, so a copy of the database signs nobody in.

use base64::{Engine, engine::general_purpose::URL_SAFE_NO_PAD};
use rand::{RngCore, rngs::OsRng};
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

/// Bytes of randomness in a token.
pub const TOKEN_BYTES: usize = 32;

/// Longest token text accepted from a caller; a real token is 43 characters.
pub const MAX_TOKEN_LEN: usize = 64;

/// A fresh random token, URL-safe base64 without padding.
pub fn generate() -> SecretString {
    let mut bytes = [0u8; TOKEN_BYTES];
    OsRng.fill_bytes(&mut bytes);
    SecretString::from(URL_SAFE_NO_PAD.encode(bytes))
}

/// The digest under which a token is stored, as lowercase hex.
pub fn digest(token: &SecretString) -> String {
    hex::encode(Sha256::digest(token.expose_secret().as_bytes()))
}

/// Whether `text` has the shape of a token; anything else can be refused
/// before any lookup.
pub fn is_well_formed(text: &str) -> bool {
    !text.is_empty()
        && text.len() <= MAX_TOKEN_LEN
        && text
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn generate_gives_distinct_well_formed_tokens() {
        let a = generate();
        let b = generate();

        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 43);
        assert!(is_well_formed(a.expose_secret()));
    }

    #[test]
    fn digest_is_stable_and_hides_token() {
        let token = SecretString::from("abc");

        let stored = digest(&token);

        assert_eq!(stored, digest(&SecretString::from("abc")));
        assert!(!stored.contains("abc"));
    }

    #[test]
    fn is_well_formed_rejects_hostile_text() {
        assert!(!is_well_formed(""));
        assert!(!is_well_formed("a b"));
        assert!(!is_well_formed("x'; drop table sessions; --"));
        assert!(!is_well_formed(&"a".repeat(65)));
    }
}
