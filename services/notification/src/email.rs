//! What callers may ask to be sent: a template, a recipient, the template's
//! parameters and an idempotency key, each checked before it is stored.

mod params;

use std::{fmt, str::FromStr};

use lettre::Address;

pub use params::{MAX_PARAM_LEN, MAX_PARAMS, Params};

/// Longest recipient address accepted (RFC 5321 path limit).
pub const MAX_RECIPIENT_LEN: usize = 254;
/// Longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 128;

/// A kind of email.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A one-time sign-in code.
    EmailCode,
    /// Two-step verification was turned on.
    MfaEnabled,
    /// Two-step verification was turned off.
    MfaDisabled,
    /// Too many failed second-factor attempts locked the second factor.
    MfaLocked,
    /// A recovery code was used to sign in.
    RecoveryCodeUsed,
    /// An invitation to set a password and join an organization.
    Invitation,
    /// An admin reset the member's second factor.
    MfaReset,
}

impl Template {
    /// Every template.
    pub const ALL: [Self; 7] = [
        Self::EmailCode,
        Self::MfaEnabled,
        Self::MfaDisabled,
        Self::MfaLocked,
        Self::RecoveryCodeUsed,
        Self::Invitation,
        Self::MfaReset,
    ];

    /// The name stored in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailCode => "email_code",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::MfaLocked => "mfa_locked",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::Invitation => "invitation",
            Self::MfaReset => "mfa_reset",
        }
    }

    /// The template stored under `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|t| t.as_str() == name)
    }

    /// The parameters the template needs.
    pub fn params(self) -> &'static [&'static str] {
        match self {
            Self::EmailCode => &["code", "expire_minutes"],
            Self::MfaEnabled | Self::MfaDisabled | Self::MfaReset => &[],
            Self::MfaLocked => &["locked_minutes"],
            Self::RecoveryCodeUsed => &["remaining"],
            Self::Invitation => &["organization", "invite_url", "expire_days"],
        }
    }

    /// The parameters the template may take besides those it needs; it
    /// takes no others.
    pub fn optional_params(self) -> &'static [&'static str] {
        match self {
            Self::MfaDisabled | Self::RecoveryCodeUsed | Self::MfaReset => &["report_url"],
            _ => &[],
        }
    }
}

/// A field of a request that cannot be accepted, and why. `why` never
/// repeats the value, which may be a code.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid {field}: {why}")]
pub struct InvalidField {
    /// Name of the field, `params.<name>` for a parameter.
    pub field: String,
    /// What is wrong with it.
    pub why: String,
}

impl InvalidField {
    fn new(field: impl Into<String>, why: impl Into<String>) -> Self {
        Self {
            field: field.into(),
            why: why.into(),
        }
    }
}

/// A syntactically valid email address.
#[derive(Clone, PartialEq, Eq)]
pub struct Recipient(Address);

impl Recipient {
    /// Checks `text` as the `recipient` field.
    pub fn parse(text: &str) -> Result<Self, InvalidField> {
        if text.len() > MAX_RECIPIENT_LEN {
            return Err(InvalidField::new("recipient", "longer than 254 characters"));
        }
        Address::from_str(text)
            .map(Self)
            .map_err(|_| InvalidField::new("recipient", "not an email address"))
    }

    /// The address.
    pub fn address(&self) -> &Address {
        &self.0
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        self.0.as_ref()
    }
}

/// Addresses are personal data: debug output names only the domain.
impl fmt::Debug for Recipient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Recipient(…@{})", self.0.domain())
    }
}

/// The caller's name for one email, under which it is stored only once.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    /// Checks `text` as the `idempotency_key` field.
    pub fn parse(text: &str) -> Result<Self, InvalidField> {
        let field = "idempotency_key";
        if text.is_empty() {
            return Err(InvalidField::new(field, "required"));
        }
        if text.len() > MAX_KEY_LEN {
            return Err(InvalidField::new(field, "longer than 128 characters"));
        }
        let allowed = |b: u8| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b':' | b'-');
        if !text.bytes().all(allowed) {
            return Err(InvalidField::new(field, "only A-Z a-z 0-9 . _ : - allowed"));
        }
        Ok(Self(text.to_string()))
    }

    /// The key.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One email to send, checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailRequest {
    /// Which email.
    pub template: Template,
    /// To whom.
    pub recipient: Recipient,
    /// The template's parameters.
    pub params: Params,
    /// Names this email for deduplication.
    pub idempotency_key: IdempotencyKey,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recipient_accepted_when_address_valid() {
        let recipient = Recipient::parse("ada@example.com").unwrap();

        assert_eq!(recipient.as_str(), "ada@example.com");
        assert!(!format!("{recipient:?}").contains("ada"));
    }

    #[test]
    fn recipient_rejected_when_malformed_or_too_long() {
        let long = format!("{}@example.com", "a".repeat(250));

        for bad in ["", "ada", "ada@", "@example.com", "a b@example.com", &long] {
            let err = Recipient::parse(bad).unwrap_err();

            assert_eq!(err.field, "recipient", "{bad}");
        }
    }

    #[test]
    fn idempotency_key_accepted_at_length_limit_with_all_symbols() {
        let key = format!("mfa:enable.a_b-{}", "x".repeat(MAX_KEY_LEN - 15));

        assert!(IdempotencyKey::parse(&key).is_ok());
        assert!(IdempotencyKey::parse(&format!("{key}x")).is_err());
    }

    #[test]
    fn idempotency_key_rejected_when_empty_or_odd_characters() {
        for bad in ["", "a b", "a/b", "é", "a\n"] {
            let err = IdempotencyKey::parse(bad).unwrap_err();

            assert_eq!(err.field, "idempotency_key", "{bad:?}");
        }
    }

    #[test]
    fn template_round_trips_through_its_stored_name() {
        for template in Template::ALL {
            assert_eq!(Template::from_name(template.as_str()), Some(template));
        }
        assert_eq!(Template::from_name("welcome"), None);
    }
}
