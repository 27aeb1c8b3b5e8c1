//! One-time codes as typed by a person, and the emailed ones we issue.
//!
//! A typed code loses surrounding whitespace, inner spaces and dashes, and
//! must then be exactly six ASCII digits; it stays a string, so `012345`
//! keeps its zero. Emailed codes come from the OS CSPRNG and are stored only
//! as HMAC-SHA256 under the code key, bound to the member.

use hmac::{Hmac, Mac};
use rand::{Rng, rngs::OsRng};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use sha2::Sha256;

/// Digits in every code.
pub const CODE_DIGITS: usize = 6;
/// Bytes of the random code key drawn when configuration names none.
pub const RANDOM_CODE_KEY_BYTES: usize = 32;
/// Shortest configured code key.
pub const MIN_CODE_KEY_BYTES: usize = 32;
/// The longest input looked at; anything longer is refused unread.
const MAX_INPUT_LEN: usize = 64;

/// A normalized six-digit code. Its `Debug` shows no digit.
#[derive(Clone, PartialEq, Eq)]
pub struct Code([u8; CODE_DIGITS]);

/// Why typed text is not a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be 6 digits")]
pub struct MalformedCode;

impl Code {
    /// Normalizes typed text: trims it, drops spaces and dashes, then wants
    /// exactly six ASCII digits.
    pub fn parse(text: &str) -> Result<Self, MalformedCode> {
        let digit = |c: char| u8::try_from(c).ok().filter(u8::is_ascii_digit);
        normalized(text, digit).map(Self).ok_or(MalformedCode)
    }

    /// A fresh random code for email.
    pub fn random() -> Self {
        let mut digits = [0u8; CODE_DIGITS];
        for d in &mut digits {
            *d = b'0' + OsRng.gen_range(0..10u8);
        }
        Self(digits)
    }

    /// The digits as ASCII bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The digits as text, for the one email that carries them.
    pub fn reveal(&self) -> SecretString {
        SecretString::from(self.0.iter().map(|b| char::from(*b)).collect::<String>())
    }
}

/// Typed text trimmed, without spaces and dashes, each character mapped
/// by `accept`: `None` unless that leaves exactly `N` accepted characters.
/// Text longer than `MAX_INPUT_LEN` bytes is refused unread.
pub(crate) fn normalized<const N: usize>(
    text: &str,
    accept: impl Fn(char) -> Option<u8>,
) -> Option<[u8; N]> {
    if text.len() > MAX_INPUT_LEN {
        return None;
    }
    let mut chars = [0u8; N];
    let mut count = 0;
    for c in text.trim().chars().filter(|c| *c != ' ' && *c != '-') {
        *chars.get_mut(count)? = accept(c)?;
        count += 1;
    }
    (count == N).then_some(chars)
}

impl std::fmt::Debug for Code {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Code(******)")
    }
}

/// The key under which emailed codes are stored.
pub struct CodeKey(SecretBox<Vec<u8>>);

/// A configured code key too short to be a key.
#[derive(Debug, thiserror::Error)]
#[error("code_key must be at least 32 bytes")]
pub struct ShortCodeKey;

impl CodeKey {
    /// The configured key, as the bytes of its text.
    pub fn from_config(key: &SecretString) -> Result<Self, ShortCodeKey> {
        let bytes = key.expose_secret().as_bytes().to_vec();
        if bytes.len() < MIN_CODE_KEY_BYTES {
            return Err(ShortCodeKey);
        }
        Ok(Self(SecretBox::new(Box::new(bytes))))
    }

    /// A random key, for a process whose codes need not outlive it.
    pub fn random() -> Self {
        let mut bytes = vec![0u8; RANDOM_CODE_KEY_BYTES];
        OsRng.fill(bytes.as_mut_slice());
        Self(SecretBox::new(Box::new(bytes)))
    }

    /// HMAC-SHA256(key, member_id ":" code): what is stored for a code.
    pub fn digest(&self, member_id: &str, code: &Code) -> CodeDigest {
        // HMAC takes keys of any length, so this arm is never taken.
        let mut mac = match Hmac::<Sha256>::new_from_slice(self.0.expose_secret()) {
            Ok(mac) => mac,
            Err(_) => return CodeDigest([0; 32]),
        };
        mac.update(member_id.as_bytes());
        mac.update(b":");
        mac.update(code.as_bytes());
        CodeDigest(mac.finalize().into_bytes().into())
    }

    /// HMAC-SHA256(key, member_id ":" label ":" text): what is stored for
    /// another kind of typed secret, `label` naming the kind.
    pub fn digest_labelled(&self, member_id: &str, label: &str, text: &[u8]) -> CodeDigest {
        // HMAC takes keys of any length, so this arm is never taken.
        let mut mac = match Hmac::<Sha256>::new_from_slice(self.0.expose_secret()) {
            Ok(mac) => mac,
            Err(_) => return CodeDigest([0; 32]),
        };
        for part in [member_id.as_bytes(), b":", label.as_bytes(), b":", text] {
            mac.update(part);
        }
        CodeDigest(mac.finalize().into_bytes().into())
    }
}

impl std::fmt::Debug for CodeKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeKey(..)")
    }
}

/// The keyed hash of an emailed code.
#[derive(Clone, PartialEq, Eq)]
pub struct CodeDigest(pub [u8; 32]);

impl CodeDigest {
    /// Lowercase hex, as Redis stores it.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl std::fmt::Debug for CodeDigest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CodeDigest(..)")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_keeps_leading_zero_when_spaced_or_dashed() {
        for text in [
            " 012 345 ",
            "012-345",
            "012345",
            "\t012345\n",
            "0-1-2 3-4-5",
        ] {
            let code = Code::parse(text).unwrap();

            assert_eq!(code.as_bytes(), b"012345", "input {text:?}");
        }
    }

    #[test]
    fn parse_refuses_anything_but_six_ascii_digits() {
        let long = "1".repeat(1000);
        for text in [
            "12a456",
            "",
            "   ",
            "12345",
            "1234567",
            "１２３４５６",
            "12_456",
            "+12345",
            "123 45",
            "١٢٣٤٥٦",
            &long,
        ] {
            assert_eq!(Code::parse(text), Err(MalformedCode), "input {text:?}");
        }
    }

    #[test]
    fn random_gives_six_ascii_digits() {
        let code = Code::random();

        assert!(code.as_bytes().iter().all(u8::is_ascii_digit));
        assert_eq!(Code::parse(code.reveal().expose_secret()), Ok(code));
    }

    #[test]
    fn code_debug_shows_no_digit() {
        let code = Code::parse("123456").unwrap();
        let key = CodeKey::from_config(&SecretString::from("k".repeat(32))).unwrap();

        let shown = format!("{code:?} {key:?} {:?}", key.digest("m", &code));

        assert!(!shown.chars().any(|c| c.is_ascii_digit()));
        assert!(!shown.contains("kkkk"));
    }

    #[test]
    fn digest_binds_member_and_key() {
        let code = Code::parse("123456").unwrap();
        let key = CodeKey::from_config(&SecretString::from("k".repeat(32))).unwrap();
        let other_key = CodeKey::random();

        let digest = key.digest("m1", &code);

        assert_eq!(digest, key.digest("m1", &code));
        assert_ne!(digest, key.digest("m2", &code));
        assert_ne!(digest, other_key.digest("m1", &code));
        assert_eq!(digest.to_hex().len(), 64);
    }

    #[test]
    fn from_config_refuses_short_key() {
        assert!(CodeKey::from_config(&SecretString::from("short")).is_err());
    }
}
