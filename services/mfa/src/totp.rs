//! TOTP (RFC 6238): SHA-1, six digits, 30-second steps, 160-bit secrets.
//!
//! Verification takes the current time as a value and answers WHICH step
//! of the window the code belongs to, so the caller can record that step
//! and refuse it next time (the replay guard lives in storage, where the
//! check-and-record is one conditional write).

use rand::{Rng, rngs::OsRng};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use subtle::{Choice, ConstantTimeEq};
use totp_rs::{Algorithm, TOTP};

use crate::code::{CODE_DIGITS, Code};

/// Seconds in a TOTP step.
pub const STEP_SECONDS: u64 = 30;
/// Bytes in a fresh secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

/// Why an authenticator could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("totp parameters refused: {0}")]
    Parameters(String),
    #[error("qr code could not be drawn: {0}")]
    Qr(String),
}

/// A TOTP secret with its generator. Its `Debug` shows no secret.
pub struct Authenticator {
    totp: TOTP,
}

impl Authenticator {
    /// A new random secret for `account` (the member's email) at `issuer`.
    pub fn generate(issuer: &str, account: &str) -> Result<Self, TotpError> {
        let mut secret = vec![0u8; SECRET_BYTES];
        OsRng.fill(secret.as_mut_slice());
        Self::from_secret(SecretBox::new(Box::new(secret)), issuer, account)
    }

    /// The authenticator of a stored secret.
    pub fn from_secret(
        secret: SecretBox<Vec<u8>>,
        issuer: &str,
        account: &str,
    ) -> Result<Self, TotpError> {
        Self::with_digits(secret, CODE_DIGITS, issuer, account)
    }

    fn with_digits(
        secret: SecretBox<Vec<u8>>,
        digits: usize,
        issuer: &str,
        account: &str,
    ) -> Result<Self, TotpError> {
        // A colon would split the label of the otpauth URI.
        let account = account.replace(':', "_");
        let issuer = (!issuer.is_empty()).then(|| issuer.replace(':', "_"));
        let totp = TOTP::new(
            Algorithm::SHA1,
            digits,
            0,
            STEP_SECONDS,
            secret.expose_secret().clone(),
            issuer,
            account,
        )
        .map_err(|e| TotpError::Parameters(e.to_string()))?;
        Ok(Self { totp })
    }

    /// The raw secret, for sealing.
    pub fn secret(&self) -> &[u8] {
        &self.totp.secret
    }

    /// The secret in unpadded base32, for typing into an app.
    pub fn secret_base32(&self) -> SecretString {
        SecretString::from(self.totp.get_secret_base32())
    }

    /// The `otpauth://totp/...` URI apps scan.
    pub fn uri(&self) -> SecretString {
        SecretString::from(self.totp.get_url())
    }

    /// The URI as a QR code in PNG.
    pub fn qr_png(&self) -> Result<SecretBox<Vec<u8>>, TotpError> {
        let png = self.totp.get_qr_png().map_err(TotpError::Qr)?;
        Ok(SecretBox::new(Box::new(png)))
    }

    /// The code of `step`. Verification compares against exactly this.
    pub fn code_at(&self, step: u64) -> SecretString {
        SecretString::from(self.totp.generate(step.saturating_mul(STEP_SECONDS)))
    }

    /// The step within `window` steps of `now_secs` whose code is `code`,
    /// the latest if several match. Every candidate is computed and
    /// compared in constant time.
    pub fn matching_step(&self, code: &Code, now_secs: u64, window: u8) -> Option<u64> {
        let current = now_secs / STEP_SECONDS;
        let first = current.saturating_sub(u64::from(window));
        let last = current.saturating_add(u64::from(window));
        let mut matched = None;
        for step in first..=last {
            let candidate = self.code_at(step);
            let equal: Choice = candidate.expose_secret().as_bytes().ct_eq(code.as_bytes());
            if bool::from(equal) {
                matched = Some(step);
            }
        }
        matched
    }
}

impl std::fmt::Debug for Authenticator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Authenticator")
            .field("account", &self.totp.account_name)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const RFC_SEED: &[u8] = b"12345678901234567890";

    fn rfc_authenticator(digits: usize) -> Authenticator {
        let secret = SecretBox::new(Box::new(RFC_SEED.to_vec()));
        Authenticator::with_digits(secret, digits, "Countersign", "a@example.com").unwrap()
    }

    fn code(text: &str) -> Code {
        Code::parse(text).unwrap()
    }

    #[test]
    fn code_at_matches_rfc6238_sha1_vectors() {
        let totp = rfc_authenticator(8);

        for (time, expected) in [
            (59, "94287082"),
            (1_111_111_109, "07081804"),
            (1_234_567_890, "89005924"),
        ] {
            let generated = totp.code_at(time / STEP_SECONDS);

            assert_eq!(generated.expose_secret(), expected, "T = {time}");
        }
    }

    #[test]
    fn matching_step_accepts_rfc_vector_in_six_digits() {
        let totp = rfc_authenticator(6);

        let step = totp.matching_step(&code("287082"), 59, 0);

        assert_eq!(step, Some(1));
    }

    #[test]
    fn matching_step_accepts_both_edges_of_window() {
        let totp = rfc_authenticator(6);
        let now = 1_111_111_109;
        let current = now / STEP_SECONDS;
        let before = code(totp.code_at(current - 1).expose_secret());
        let after = code(totp.code_at(current + 1).expose_secret());

        assert_eq!(totp.matching_step(&before, now, 1), Some(current - 1));
        assert_eq!(totp.matching_step(&after, now, 1), Some(current + 1));
    }

    #[test]
    fn matching_step_refuses_codes_outside_window() {
        let totp = rfc_authenticator(6);
        let now = 1_111_111_109;
        let current = now / STEP_SECONDS;
        let too_old = code(totp.code_at(current - 2).expose_secret());
        let too_new = code(totp.code_at(current + 2).expose_secret());

        assert_eq!(totp.matching_step(&too_old, now, 1), None);
        assert_eq!(totp.matching_step(&too_new, now, 1), None);
        assert_eq!(totp.matching_step(&too_old, now, 2), Some(current - 2));
    }

    #[test]
    fn matching_step_refuses_wrong_code() {
        let totp = rfc_authenticator(6);
        let right = totp.code_at(1_000).expose_secret().to_string();
        let wrong = format!("{:06}", (right.parse::<u32>().unwrap() + 1) % 1_000_000);

        assert_eq!(totp.matching_step(&code(&wrong), 30_000, 0), None);
    }

    #[test]
    fn generate_gives_160_bit_secret_and_scannable_uri() {
        let totp = Authenticator::generate("Countersign", "ada@example.com").unwrap();

        let uri = totp.uri();
        let png = totp.qr_png().unwrap();

        assert_eq!(totp.secret().len(), SECRET_BYTES);
        assert_eq!(totp.secret_base32().expose_secret().len(), 32);
        assert!(
            uri.expose_secret()
                .starts_with("otpauth://totp/Countersign:ada%40example.com?")
        );
        assert!(uri.expose_secret().contains("issuer=Countersign"));
        assert!(png.expose_secret().starts_with(b"\x89PNG"));
    }

    #[test]
    fn authenticator_debug_shows_no_secret() {
        let totp = rfc_authenticator(6);

        let shown = format!("{totp:?}");

        assert!(!shown.contains("1234567890"));
        assert!(!shown.contains("GEZDGNBV"));
    }
}
