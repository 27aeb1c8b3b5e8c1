//! Email addresses as members are known by them: trimmed and case-folded,
//! so `Ann@Example.com ` and `ann@example.com` are one member.

/// Longest address accepted (RFC 5321's path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// A normalized email address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    #[error("must not be empty")]
    Empty,
    #[error("must be at most 254 characters")]
    TooLong,
    #[error("must be an address such as name@example.com")]
    Malformed,
}

impl Email {
    /// Normalizes and checks an address as typed.
    pub fn parse(text: &str) -> Result<Self, EmailError> {
        let text = text.trim();
        if text.is_empty() {
            return Err(EmailError::Empty);
        }
        if text.len() > MAX_EMAIL_LEN {
            return Err(EmailError::TooLong);
        }
        let folded = text.to_lowercase();
        let Some((local, domain)) = folded.rsplit_once('@') else {
            return Err(EmailError::Malformed);
        };
        let bad_char =
            |c: char| c.is_whitespace() || c.is_control() || "<>()[],;:\\\"@".contains(c);
        let domain_ok = domain.contains('.')
            && !domain.starts_with('.')
            && !domain.ends_with('.')
            && !domain.contains("..");
        if local.is_empty()
            || local.chars().any(bad_char)
            || domain.chars().any(bad_char)
            || !domain_ok
        {
            return Err(EmailError::Malformed);
        }
        Ok(Self(folded))
    }

    /// The normalized address.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_folds_case_and_trims() {
        let email = Email::parse("  Ann.Lee@Example.COM ").unwrap();

        assert_eq!(email.as_str(), "ann.lee@example.com");
    }

    #[test]
    fn parse_refuses_empty_and_malformed() {
        assert_eq!(Email::parse("  "), Err(EmailError::Empty));
        for bad in [
            "ann",
            "@example.com",
            "ann@",
            "ann@localhost",
            "a b@example.com",
            "a@b..com",
            "a@@b.com",
        ] {
            assert_eq!(Email::parse(bad), Err(EmailError::Malformed), "{bad}");
        }
    }

    #[test]
    fn parse_refuses_oversized() {
        let long = format!("{}@example.com", "a".repeat(250));

        assert_eq!(Email::parse(&long), Err(EmailError::TooLong));
    }
}
