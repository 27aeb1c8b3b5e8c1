//! Recovery codes: the single-use codes that answer a challenge when the
//! authenticator is lost.
//!
//! A code is ten characters from a 32-letter lowercase alphabet without the
//! easily confused `i`, `l`, `o` and `u` (Crockford's base32), so it carries
//! 50 bits from the OS CSPRNG and is shown as `xxxxx-xxxxx`. Typed text is
//! trimmed, loses inner spaces and dashes and is case-folded before it is
//! judged. Codes are stored only as HMAC-SHA256 under the code key, bound to
//! the member and labelled so they never collide with an emailed code.

use rand::{Rng, rngs::OsRng};
use secrecy::SecretString;

use crate::code::{CodeDigest, CodeKey, normalized};

/// Codes in a set.
pub const RECOVERY_CODES: usize = 10;
/// Characters in a code, dashes and spaces aside.
pub const RECOVERY_CODE_CHARS: usize = 10;
/// The characters a code is made of.
pub const ALPHABET: &[u8; 32] = b"0123456789abcdefghjkmnpqrstvwxyz";
/// Label of recovery-code digests under the code key.
const DIGEST_LABEL: &str = "recovery";

/// A normalized recovery code. Its `Debug` shows nothing of it.
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode([u8; RECOVERY_CODE_CHARS]);

/// Why typed text is not a recovery code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("must be a recovery code: 10 characters of 0-9 and a-z without i, l, o, u")]
pub struct MalformedRecoveryCode;

impl RecoveryCode {
    /// Normalizes typed text: trims it, drops spaces and dashes, folds case,
    /// then wants exactly ten characters of the alphabet.
    pub fn parse(text: &str) -> Result<Self, MalformedRecoveryCode> {
        let known = |c: char| {
            let c = u8::try_from(c.to_ascii_lowercase()).ok()?;
            ALPHABET.contains(&c).then_some(c)
        };
        normalized(text, known)
            .map(Self)
            .ok_or(MalformedRecoveryCode)
    }

    /// A fresh random code.
    pub fn random() -> Self {
        let mut chars = [0u8; RECOVERY_CODE_CHARS];
        for c in &mut chars {
            *c = ALPHABET[OsRng.gen_range(0..ALPHABET.len())];
        }
        Self(chars)
    }

    /// The code as shown once to its member: `xxxxx-xxxxx`.
    pub fn reveal(&self) -> SecretString {
        let (head, tail) = self.0.split_at(RECOVERY_CODE_CHARS / 2);
        let text: String = head
            .iter()
            .map(|b| char::from(*b))
            .chain(std::iter::once('-'))
            .chain(tail.iter().map(|b| char::from(*b)))
            .collect();
        SecretString::from(text)
    }

    /// What is stored for the code: HMAC-SHA256 under `key`, bound to the
    /// member.
    pub fn digest(&self, key: &CodeKey, member_id: &str) -> CodeDigest {
        key.digest_labelled(member_id, DIGEST_LABEL, &self.0)
    }
}

impl std::fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RecoveryCode(..)")
    }
}

/// A fresh set of distinct codes, shown once. `Debug` shows only how many.
pub struct RecoveryCodes(Vec<RecoveryCode>);

impl RecoveryCodes {
    /// [`RECOVERY_CODES`] distinct random codes.
    pub fn generate() -> Self {
        let mut codes: Vec<RecoveryCode> = Vec::with_capacity(RECOVERY_CODES);
        while codes.len() < RECOVERY_CODES {
            let code = RecoveryCode::random();
            if !codes.contains(&code) {
                codes.push(code);
            }
        }
        Self(codes)
    }

    /// The digests to store, in the order of the codes.
    pub fn digests(&self, key: &CodeKey, member_id: &str) -> Vec<CodeDigest> {
        self.0.iter().map(|c| c.digest(key, member_id)).collect()
    }

    /// The codes as shown once to their member.
    pub fn reveal(&self) -> Vec<SecretString> {
        self.0.iter().map(RecoveryCode::reveal).collect()
    }
}

impl std::fmt::Debug for RecoveryCodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "RecoveryCodes({} codes)", self.0.len())
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use secrecy::ExposeSecret;

    use super::*;

    fn key() -> CodeKey {
        CodeKey::from_config(&SecretString::from("k".repeat(32))).unwrap()
    }

    #[test]
    fn parse_normalizes_case_spaces_and_dashes() {
        for text in [
            "abcde-fghjk",
            "ABCDE-FGHJK",
            "  abcdefghjk\n",
            "ab cde fg-hjk",
            "a-b-c-d-e-f-g-h-j-k",
        ] {
            let code = RecoveryCode::parse(text).unwrap();

            assert_eq!(code.reveal().expose_secret(), "abcde-fghjk", "{text:?}");
        }
    }

    #[test]
    fn parse_refuses_wrong_length_foreign_characters_and_huge_input() {
        let huge = "a".repeat(100_000);
        for text in [
            "",
            "abcde-fghj",
            "abcde-fghjkm",
            "abcde-fghji",
            "abcde-fghjl",
            "abcde-fghjo",
            "abcde-fghju",
            "abcde_fghjk",
            "abcde-fghj\u{0131}",
            "ａｂｃｄｅｆｇｈｊｋ",
            "abcde\tfghjk",
            "123456",
            &huge,
        ] {
            assert_eq!(
                RecoveryCode::parse(text),
                Err(MalformedRecoveryCode),
                "{:?}",
                &text[..text.len().min(20)]
            );
        }
    }

    #[test]
    fn random_code_reads_back_and_has_alphabet_characters_only() {
        let code = RecoveryCode::random();

        let shown = code.reveal();

        assert_eq!(RecoveryCode::parse(shown.expose_secret()), Ok(code));
        let text = shown.expose_secret();
        assert_eq!((text.len(), &text[5..6]), (11, "-"));
        assert!(text.bytes().all(|b| b == b'-' || ALPHABET.contains(&b)));
    }

    #[test]
    fn generate_gives_ten_distinct_codes() {
        let codes = RecoveryCodes::generate();

        let shown: HashSet<String> = codes
            .reveal()
            .iter()
            .map(|c| c.expose_secret().to_string())
            .collect();

        assert_eq!(shown.len(), RECOVERY_CODES);
    }

    #[test]
    fn random_codes_use_the_whole_alphabet() {
        let mut seen = HashSet::new();

        for _ in 0..200 {
            seen.extend(RecoveryCode::random().0);
        }

        assert_eq!(seen.len(), ALPHABET.len());
    }

    #[test]
    fn digest_binds_member_and_differs_from_emailed_code_digest() {
        let code = RecoveryCode::parse("01234-56789").unwrap();
        let digits = crate::code::Code::parse("012345").unwrap();

        let digest = code.digest(&key(), "m1");

        assert_eq!(digest, code.digest(&key(), "m1"));
        assert_ne!(digest, code.digest(&key(), "m2"));
        assert_ne!(digest, code.digest(&CodeKey::random(), "m1"));
        assert_ne!(digest, key().digest("m1", &digits));
    }

    #[test]
    fn recovery_code_debug_shows_nothing_of_the_codes() {
        let codes = RecoveryCodes::generate();
        let code = RecoveryCode::parse("abcde-fghjk").unwrap();

        let shown = format!("{codes:?} {code:?}");

        assert!(!shown.contains("abcde"));
        for revealed in codes.reveal() {
            assert!(!shown.contains(&revealed.expose_secret()[..5]));
        }
    }
}
