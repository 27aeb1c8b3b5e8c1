//! Passwords: Unicode-normalized (NFKC) before hashing and before verifying,
//! hashed with Argon2id at OWASP's parameters (19 MiB, t=2, p=1). The
//! functions here block; [`super::PasswordHasher`] runs them off the async
//! workers.

use argon2::{
    Algorithm, Argon2, Params, PasswordHash, PasswordVerifier, Version,
    password_hash::{PasswordHasher as _, SaltString, rand_core::OsRng},
};
use secrecy::{ExposeSecret, SecretString};
use unicode_normalization::UnicodeNormalization;

/// Fewest characters of a new password.
pub const MIN_PASSWORD_CHARS: usize = 8;
/// Most characters of a new password.
pub const MAX_PASSWORD_CHARS: usize = 128;
/// Most bytes of any password submitted, new or not.
pub const MAX_PASSWORD_BYTES: usize = 1024;

const ARGON2_MEMORY_KIB: u32 = 19 * 1024;
const ARGON2_ITERATIONS: u32 = 2;
const ARGON2_LANES: u32 = 1;

/// A password as submitted, normalized.
pub struct Password(SecretString);

impl std::fmt::Debug for Password {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Password([redacted])")
    }
}

/// Why a password was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 1024 bytes")]
    TooLong,
    #[error("must have 8 to 128 characters")]
    WeakLength,
    #[error("must not contain control characters")]
    ControlCharacter,
    #[error("must not be only spaces")]
    Blank,
}

impl Password {
    /// The normalized text, for hashing.
    pub(super) fn secret(&self) -> &SecretString {
        &self.0
    }

    /// A password submitted to log in: any non-empty text within the size
    /// limit, normalized.
    pub fn submitted(text: &str) -> Result<Self, PasswordError> {
        if text.is_empty() {
            return Err(PasswordError::Empty);
        }
        if text.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::TooLong);
        }
        Ok(Self(SecretString::from(text.nfkc().collect::<String>())))
    }

    /// A password being set: as [`Password::submitted`], of a length that
    /// is neither trivially guessed nor absurd, without control characters
    /// (which no keyboard types on a login form) and not only spaces.
    pub fn new_choice(text: &str) -> Result<Self, PasswordError> {
        if text.len() > MAX_PASSWORD_BYTES {
            return Err(PasswordError::WeakLength);
        }
        let password = Self::submitted(text)?;
        let normalized = password.0.expose_secret();
        let chars = normalized.chars().count();
        if !(MIN_PASSWORD_CHARS..=MAX_PASSWORD_CHARS).contains(&chars) {
            return Err(PasswordError::WeakLength);
        }
        if normalized.chars().any(char::is_control) {
            return Err(PasswordError::ControlCharacter);
        }
        if normalized.trim().is_empty() {
            return Err(PasswordError::Blank);
        }
        Ok(password)
    }
}

fn argon2() -> anyhow::Result<Argon2<'static>> {
    let params = Params::new(ARGON2_MEMORY_KIB, ARGON2_ITERATIONS, ARGON2_LANES, None)
        .map_err(|e| anyhow::anyhow!("argon2 parameters: {e}"))?;
    Ok(Argon2::new(Algorithm::Argon2id, Version::V0x13, params))
}

/// Hashes a password into a PHC string, with a fresh salt.
pub(super) fn hash_blocking(password: &str) -> anyhow::Result<String> {
    let salt = SaltString::generate(&mut OsRng);
    let hash = argon2()?
        .hash_password(password.as_bytes(), &salt)
        .map_err(|e| anyhow::anyhow!("argon2 hashing: {e}"))?;
    Ok(hash.to_string())
}

/// Whether a password matches a PHC string.
pub(super) fn verify_blocking(password: &str, stored: &str) -> anyhow::Result<bool> {
    let parsed = PasswordHash::new(stored).map_err(|e| anyhow::anyhow!("stored hash: {e}"))?;
    Ok(argon2()?
        .verify_password(password.as_bytes(), &parsed)
        .is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn verify_blocking_accepts_same_password_in_other_unicode_form() {
        let composed = Password::new_choice("caf\u{e9} au lait").unwrap();
        let decomposed = Password::submitted("cafe\u{301} au lait").unwrap();

        let hash = hash_blocking(composed.secret().expose_secret()).unwrap();

        assert!(verify_blocking(decomposed.secret().expose_secret(), &hash).unwrap());
        assert!(!verify_blocking("cafe au lait", &hash).unwrap());
    }

    #[test]
    fn hash_uses_owasp_argon2id_parameters() {
        let hash = hash_blocking("anything at all").unwrap();

        assert!(
            hash.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{hash}"
        );
    }

    #[test]
    fn new_choice_refuses_short_long_and_empty() {
        assert_eq!(Password::new_choice("").unwrap_err(), PasswordError::Empty);
        assert_eq!(
            Password::new_choice("short").unwrap_err(),
            PasswordError::WeakLength
        );
        assert_eq!(
            Password::new_choice(&"x".repeat(129)).unwrap_err(),
            PasswordError::WeakLength
        );
        assert_eq!(
            Password::submitted(&"x".repeat(1025)).unwrap_err(),
            PasswordError::TooLong
        );
        assert_eq!(
            Password::new_choice(&"x".repeat(1025)).unwrap_err(),
            PasswordError::WeakLength
        );
    }

    #[test]
    fn new_choice_refuses_control_characters_and_only_spaces() {
        for text in [
            "\0".repeat(20),
            "correct\nhorse battery".into(),
            "tab\there staple".into(),
        ] {
            assert_eq!(
                Password::new_choice(&text).unwrap_err(),
                PasswordError::ControlCharacter
            );
        }
        assert_eq!(
            Password::new_choice(&" ".repeat(8)).unwrap_err(),
            PasswordError::Blank
        );
        assert!(Password::new_choice("  spaced  out  ").is_ok());
        assert!(Password::submitted("tab\there staple").is_ok());
    }

    #[test]
    fn debug_hides_password() {
        let password = Password::submitted("hunter2hunter2").unwrap();

        assert!(!format!("{password:?}").contains("hunter2"));
    }
}
