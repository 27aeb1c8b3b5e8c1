//! TOTP (RFC 6238): SHA-1, six digits, 30-second steps, 160-bit secrets.
//!
//! Verification takes the current time as a value and answers WHICH step
//! of the window the code belongs to, so the caller can record that step
//! and refuse it next time (the replay guard lives in storage, where the
//! check-and-record is one conditional write).
//!
//! The `otpauth://` URI follows Google's Key Uri Format: label
//! `issuer:account` and the `issuer` parameter percent-encoded (every byte
//! but the unreserved ones), the secret in unpadded base32, and the
//! algorithm, digits and period spelled out.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use rand::{Rng, rngs::OsRng};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use subtle::{Choice, ConstantTimeEq};
use totp_rs::{Algorithm, TOTP};

use crate::code::{CODE_DIGITS, Code};

/// Seconds in a TOTP step.
pub const STEP_SECONDS: u64 = 30;
/// Bytes in a fresh secret: 160 bits, as RFC 4226 recommends.
pub const SECRET_BYTES: usize = 20;

/// What stays unencoded in a URI component: RFC 3986's unreserved bytes.
const COMPONENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

/// Why an authenticator could not be made.
#[derive(Debug, thiserror::Error)]
pub enum TotpError {
    #[error("totp parameters refused: {0}")]
    Parameters(String),
    #[error("qr code could not be drawn: {0}")]
    Qr(String),
}

/// A TOTP secret with its generator, and the issuer and account that label
/// it in apps. Its `Debug` shows no secret.
pub struct Authenticator {
    totp: TOTP,
    issuer: String,
    account: String,
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
        // The label lives here, not in totp-rs, which refuses colons in it
        // and leaves default parameters out of its URI.
        let totp = TOTP::new(
            Algorithm::SHA1,
            digits,
            0,
            STEP_SECONDS,
            secret.expose_secret().clone(),
            None,
            String::new(),
        )
        .map_err(|e| TotpError::Parameters(e.to_string()))?;
        Ok(Self {
            totp,
            issuer: issuer.to_string(),
            account: account.to_string(),
        })
    }

    /// The raw secret, for sealing.
    pub fn secret(&self) -> &[u8] {
        &self.totp.secret
    }

    /// The secret in unpadded base32, for typing into an app.
    pub fn secret_base32(&self) -> SecretString {
        SecretString::from(self.totp.get_secret_base32())
    }

    /// The `otpauth://totp/...` URI apps scan. The issuer must hold no
    /// colon (configuration refuses one); a colon in the account is
    /// percent-encoded, so the first literal colon ends the issuer.
    pub fn uri(&self) -> SecretString {
        let issuer = utf8_percent_encode(&self.issuer, COMPONENT);
        let account = utf8_percent_encode(&self.account, COMPONENT);
        SecretString::from(format!(
            "otpauth://totp/{issuer}:{account}?secret={}&issuer={issuer}\
             &algorithm=SHA1&digits={}&period={STEP_SECONDS}",
            self.totp.get_secret_base32(),
            self.totp.digits,
        ))
    }

    /// The URI as a QR code in PNG.
    pub fn qr_png(&self) -> Result<SecretBox<Vec<u8>>, TotpError> {
        let png = qrcodegen_image::draw_png(self.uri().expose_secret()).map_err(TotpError::Qr)?;
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
            .field("issuer", &self.issuer)
            .field("account", &self.account)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use percent_encoding::percent_decode_str;

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

    /// The label's issuer and account, and the query parameters, decoded
    /// as an app reads them: the label splits at its first literal colon.
    fn parse_uri(uri: &str) -> (String, String, HashMap<String, String>) {
        let url = url::Url::parse(uri).unwrap();
        assert_eq!((url.scheme(), url.host_str()), ("otpauth", Some("totp")));
        let label = url.path().strip_prefix('/').unwrap();
        let (issuer, account) = label.split_once(':').unwrap();
        let decode = |text: &str| percent_decode_str(text).decode_utf8().unwrap().into_owned();
        let params = url.query_pairs().into_owned().collect();
        (decode(issuer), decode(account), params)
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
        assert!(png.expose_secret().starts_with(b"\x89PNG"));
    }

    #[test]
    fn uri_spells_out_every_key_uri_parameter() {
        let totp = rfc_authenticator(6);

        let (_, _, params) = parse_uri(totp.uri().expose_secret());

        assert_eq!(params["secret"], "GEZDGNBVGY3TQOJQGEZDGNBVGY3TQOJQ");
        assert!(!params["secret"].contains('='));
        assert_eq!(params["issuer"], "Countersign");
        assert_eq!(params["algorithm"], "SHA1");
        assert_eq!(params["digits"], "6");
        assert_eq!(params["period"], "30");
    }

    #[test]
    fn uri_gives_back_exact_issuer_and_account_whatever_they_contain() {
        let cases = [
            ("Acme Corp", "ada lovelace@example.com"),
            ("A&B?C#D", "a&b=c?d#e@example.com"),
            ("Ops/Finance 100%", "x/y%z+w@example.com"),
            ("\"Quoted\" 'Co'", "o'brien\"q\"@example.com"),
            ("Zürich Bank 銀行", "josé@exämple.com"),
            ("plus+sign", "colon:in:local@example.com"),
        ];
        for (issuer, account) in cases {
            let secret = SecretBox::new(Box::new(RFC_SEED.to_vec()));
            let totp = Authenticator::from_secret(secret, issuer, account).unwrap();
            let uri = totp.uri();

            let (label_issuer, label_account, params) = parse_uri(uri.expose_secret());

            assert_eq!(label_issuer, issuer, "{}", uri.expose_secret());
            assert_eq!(label_account, account, "{}", uri.expose_secret());
            assert_eq!(params["issuer"], issuer, "{}", uri.expose_secret());
            assert_eq!(uri.expose_secret().matches(':').count(), 2);
        }
    }

    #[test]
    fn authenticator_debug_shows_no_secret() {
        let totp = rfc_authenticator(6);

        let shown = format!("{totp:?}");

        assert!(!shown.contains("1234567890"));
        assert!(!shown.contains("GEZDGNBV"));
    }
}
