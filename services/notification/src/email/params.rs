//! The parameters of a template, each checked against what the template
//! takes: names, lengths, and the shape of counts, minutes and links.

use std::{collections::BTreeMap, fmt};

use super::{InvalidField, Template};

/// Most parameters one request may carry.
pub const MAX_PARAMS: usize = 8;
/// Longest parameter value accepted, in characters.
pub const MAX_PARAM_LEN: usize = 256;
/// Longest code-expiry, in minutes, an email may announce.
const MAX_EXPIRE_MINUTES: u32 = 24 * 60;

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
}
