//! What callers may ask to be sent: a template, a recipient, the template's
//! parameters and an idempotency key, each checked before it is stored.

use std::{collections::BTreeMap, fmt, str::FromStr};

use lettre::Address;

/// Longest recipient address accepted (RFC 5321 path limit).
pub const MAX_RECIPIENT_LEN: usize = 254;
/// Longest idempotency key accepted.
pub const MAX_KEY_LEN: usize = 128;
/// Most parameters one request may carry.
pub const MAX_PARAMS: usize = 8;
/// Longest parameter value accepted, in characters.
pub const MAX_PARAM_LEN: usize = 256;
/// Longest code-expiry, in minutes, an email may announce.
const MAX_EXPIRE_MINUTES: u32 = 24 * 60;

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

/// The parameters of a template. Values may be secrets (a sign-in code), so
/// debug output shows only the names.
#[derive(Clone, Default, PartialEq, Eq)]
pub struct Params(BTreeMap<String, String>);

impl Params {
    /// Checks `params` against what `template` takes.
    pub fn for_template(
        template: Template,
        params: impl IntoIterator<Item = (String, String)>,
    ) -> Result<Self, InvalidField> {
        let params: BTreeMap<String, String> = params.into_iter().collect();
        if params.len() > MAX_PARAMS {
            return Err(InvalidField::new("params", "more than 8 entries"));
        }
        for (name, value) in &params {
            check_param(template, name, value)?;
        }
        if let Some(missing) = template.params().iter().find(|n| !params.contains_key(**n)) {
            return Err(InvalidField::new(format!("params.{missing}"), "required"));
        }
        Ok(Self(params))
    }

    /// Parameters read back from storage, trusted as written.
    pub(crate) fn from_stored(params: BTreeMap<String, String>) -> Self {
        Self(params)
    }

    /// The value of `name`.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0.get(name).map(String::as_str)
    }

    pub(crate) fn as_map(&self) -> &BTreeMap<String, String> {
        &self.0
    }
}

impl fmt::Debug for Params {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.0.keys()).finish()
    }
}

fn check_param(template: Template, name: &str, value: &str) -> Result<(), InvalidField> {
    if !template.params().contains(&name) && !template.optional_params().contains(&name) {
        let field = if is_plain_name(name) {
            format!("params.{name}")
        } else {
            "params".to_string()
        };
        return Err(InvalidField::new(field, "not a parameter of this template"));
    }
    let field = format!("params.{name}");
    if value.chars().count() > MAX_PARAM_LEN {
        return Err(InvalidField::new(field, "longer than 256 characters"));
    }
    if value.trim().is_empty() || value.chars().any(char::is_control) {
        return Err(InvalidField::new(field, "empty or has control characters"));
    }
    if matches!(name, "expire_minutes" | "locked_minutes") && !is_minutes(value) {
        return Err(InvalidField::new(
            field,
            "not a whole number from 1 to 1440",
        ));
    }
    if name == "remaining" && !is_count(value) {
        return Err(InvalidField::new(field, "not a whole number from 0 to 100"));
    }
    if name == "expire_days" && !is_days(value) {
        return Err(InvalidField::new(field, "not a whole number from 1 to 365"));
    }
    if name.ends_with("_url") && !is_link(value) {
        return Err(InvalidField::new(
            field,
            "not an http or https URL without spaces",
        ));
    }
    Ok(())
}

fn is_days(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_digit())
        && value.parse::<u16>().is_ok_and(|d| (1..=365).contains(&d))
}

/// A link a mail client shows as one: http(s), printable ASCII, no spaces,
/// no characters that would break out of an HTML attribute.
fn is_link(value: &str) -> bool {
    (value.starts_with("https://") || value.starts_with("http://"))
        && value
            .bytes()
            .all(|b| b.is_ascii_graphic() && !matches!(b, b'"' | b'\'' | b'<' | b'>'))
}

fn is_count(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_digit()) && value.parse::<u8>().is_ok_and(|n| n <= 100)
}

fn is_plain_name(name: &str) -> bool {
    name.len() <= 32 && name.bytes().all(|b| b.is_ascii_lowercase() || b == b'_')
}

fn is_minutes(value: &str) -> bool {
    value.bytes().all(|b| b.is_ascii_digit())
        && value
            .parse::<u32>()
            .is_ok_and(|m| (1..=MAX_EXPIRE_MINUTES).contains(&m))
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

    fn params(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn params_accepted_when_email_code_has_both() {
        let given = params(&[("code", "012345"), ("expire_minutes", "10")]);

        let checked = Params::for_template(Template::EmailCode, given).unwrap();

        assert_eq!(checked.get("code"), Some("012345"));
    }

    #[test]
    fn params_rejected_naming_field_when_required_missing() {
        let given = params(&[("code", "012345")]);

        let err = Params::for_template(Template::EmailCode, given).unwrap_err();

        assert_eq!(err.field, "params.expire_minutes");
    }

    #[test]
    fn params_rejected_naming_field_when_unknown() {
        let given = params(&[("name", "Ada")]);

        let err = Params::for_template(Template::MfaEnabled, given).unwrap_err();

        assert_eq!(err.field, "params.name");
    }

    #[test]
    fn params_rejected_when_too_many_or_too_long() {
        let many: Vec<_> = (0..9).map(|i| (format!("p{i}"), "v".to_string())).collect();
        let long = params(&[("code", &"1".repeat(257)), ("expire_minutes", "10")]);

        let too_many = Params::for_template(Template::EmailCode, many).unwrap_err();
        let too_long = Params::for_template(Template::EmailCode, long).unwrap_err();

        assert_eq!(too_many.field, "params");
        assert_eq!(too_long.field, "params.code");
    }

    #[test]
    fn params_rejected_when_expire_minutes_not_a_count() {
        for bad in ["0", "-5", "ten", "+10", "1441"] {
            let given = params(&[("code", "012345"), ("expire_minutes", bad)]);

            let err = Params::for_template(Template::EmailCode, given).unwrap_err();

            assert_eq!(err.field, "params.expire_minutes", "{bad}");
        }
    }

    #[test]
    fn params_rejected_when_link_is_not_a_plain_http_url() {
        for bad in [
            "javascript:alert(1)",
            "https://x.example/a b",
            "https://x.example/\"><script>",
            "ftp://x.example/",
            "https://\u{202e}x.example/",
        ] {
            let given = params(&[("report_url", bad)]);

            let err = Params::for_template(Template::MfaDisabled, given).unwrap_err();

            assert_eq!(err.field, "params.report_url", "{bad}");
        }
        let good = params(&[("report_url", "https://app.example/report?token=a-b_c")]);
        assert!(Params::for_template(Template::MfaDisabled, good).is_ok());
        assert!(Params::for_template(Template::MfaDisabled, params(&[])).is_ok());
    }

    #[test]
    fn params_rejected_when_lock_or_remaining_not_a_count() {
        for (template, name, bad) in [
            (Template::MfaLocked, "locked_minutes", "0"),
            (Template::MfaLocked, "locked_minutes", "5 min"),
            (Template::RecoveryCodeUsed, "remaining", "-1"),
            (Template::RecoveryCodeUsed, "remaining", "101"),
        ] {
            let err = Params::for_template(template, params(&[(name, bad)])).unwrap_err();

            assert_eq!(err.field, format!("params.{name}"), "{bad}");
        }
        assert!(
            Params::for_template(Template::RecoveryCodeUsed, params(&[("remaining", "0")])).is_ok()
        );
    }

    #[test]
    fn params_rejected_when_value_has_newline() {
        let given = params(&[("code", "01\n2345"), ("expire_minutes", "10")]);

        let err = Params::for_template(Template::EmailCode, given).unwrap_err();

        assert_eq!(err.field, "params.code");
    }

    #[test]
    fn params_debug_shows_names_but_not_values() {
        let given = params(&[("code", "918273"), ("expire_minutes", "10")]);
        let checked = Params::for_template(Template::EmailCode, given).unwrap();

        let shown = format!("{checked:?}");

        assert!(shown.contains("code"));
        assert!(!shown.contains("918273"));
    }

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
