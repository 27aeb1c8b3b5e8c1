//! The small validated values the domain works with: member ids, factor
//! methods, session tokens, email addresses, who asks a user-facing call
//! and the caller a session names.

use secrecy::{ExposeSecret, SecretString};

/// Longest member id accepted.
pub const MAX_MEMBER_ID_LEN: usize = 128;
/// Longest email address accepted (RFC 5321 path limit).
pub const MAX_EMAIL_LEN: usize = 254;

/// A member id as the auth service issues it: 1 to 128 printable ASCII
/// characters without spaces.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct MemberId(String);

/// Why text was refused as a value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum Malformed {
    #[error("must be 1 to 128 printable ASCII characters")]
    MemberId,
    #[error("must be \"totp\", \"email_code\" or \"recovery_code\"")]
    Method,
    #[error("must be an email address")]
    Email,
}

impl MemberId {
    /// Checks the shape of a member id.
    pub fn parse(text: &str) -> Result<Self, Malformed> {
        let ok = !text.is_empty()
            && text.len() <= MAX_MEMBER_ID_LEN
            && text.bytes().all(|b| b.is_ascii_graphic());
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(Malformed::MemberId)
        }
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A second-factor method.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    /// A code from an authenticator app.
    Totp,
    /// A code we emailed.
    EmailCode,
    /// One of the member's single-use recovery codes.
    RecoveryCode,
}

impl Method {
    /// The method's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::EmailCode => "email_code",
            Method::RecoveryCode => "recovery_code",
        }
    }

    /// The method of a wire name.
    pub fn parse(text: &str) -> Result<Self, Malformed> {
        match text {
            "totp" => Ok(Method::Totp),
            "email_code" => Ok(Method::EmailCode),
            "recovery_code" => Ok(Method::RecoveryCode),
            _ => Err(Malformed::Method),
        }
    }
}

/// An email address, checked only for shape: the auth service owns members
/// and their addresses.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EmailAddress(String);

impl EmailAddress {
    /// Wants `local@domain` without spaces, at most 254 bytes.
    pub fn parse(text: &str) -> Result<Self, Malformed> {
        let text = text.trim();
        let ok = text.len() <= MAX_EMAIL_LEN
            && !text.chars().any(|c| c.is_whitespace() || c.is_control())
            && text
                .rsplit_once('@')
                .is_some_and(|(local, domain)| !local.is_empty() && !domain.is_empty());
        if ok {
            Ok(Self(text.to_string()))
        } else {
            Err(Malformed::Email)
        }
    }

    /// The address as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A session token from `authorization: Bearer` metadata, well-formed but
/// not yet validated. Its `Debug` shows nothing of it.
#[derive(Clone)]
pub struct SessionToken(SecretString);

impl SessionToken {
    /// A token of the right shape, or nothing.
    pub fn parse(text: &str) -> Option<Self> {
        countersign_kit::token::is_well_formed(text).then(|| Self(SecretString::from(text)))
    }

    /// The token, for the call that validates it.
    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

impl std::fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionToken(..)")
    }
}

/// Who asks a user-facing call: the session token they present, not yet
/// validated, and the end user's network address when known, for the
/// audit log.
#[derive(Clone, Debug)]
pub struct Requester {
    /// The bearer token of the call.
    pub token: SessionToken,
    /// The address the gateway forwarded, else the peer's.
    pub address: Option<String>,
}

/// What a validated session may do.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionScope {
    /// Everything a signed-in member may do.
    Full,
    /// Only enroll an authenticator: the session of a member whose
    /// organization requires MFA and who has none yet.
    Enrollment,
}

/// The member a validated session belongs to.
#[derive(Clone, Debug)]
pub struct Caller {
    /// The member's id.
    pub member_id: MemberId,
    /// The member's email, the account name in authenticator apps.
    pub email: EmailAddress,
    /// The plan tier of the member's organization.
    pub plan: String,
    /// What the session may do.
    pub scope: SessionScope,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn member_id_refuses_empty_spaced_and_long_ids() {
        assert!(MemberId::parse("0190a1b2-c3d4-7e5f-8a9b-0c1d2e3f4a5b").is_ok());
        assert_eq!(MemberId::parse(""), Err(Malformed::MemberId));
        assert_eq!(MemberId::parse("a b"), Err(Malformed::MemberId));
        assert_eq!(MemberId::parse(&"a".repeat(129)), Err(Malformed::MemberId));
        assert_eq!(MemberId::parse("é"), Err(Malformed::MemberId));
    }

    #[test]
    fn method_parses_wire_names_only() {
        assert_eq!(Method::parse("totp"), Ok(Method::Totp));
        assert_eq!(Method::parse("email_code"), Ok(Method::EmailCode));
        assert_eq!(Method::parse("recovery_code"), Ok(Method::RecoveryCode));
        assert_eq!(Method::parse("TOTP"), Err(Malformed::Method));
        assert_eq!(Method::parse("recovery"), Err(Malformed::Method));
    }

    #[test]
    fn email_address_wants_local_and_domain() {
        assert!(EmailAddress::parse(" ada@example.com ").is_ok());
        assert!(EmailAddress::parse("ada").is_err());
        assert!(EmailAddress::parse("@example.com").is_err());
        assert!(EmailAddress::parse("ada@").is_err());
        assert!(EmailAddress::parse("a da@example.com").is_err());
    }

    #[test]
    fn session_token_debug_shows_nothing() {
        let token = SessionToken::parse("abcDEF123_-secret").unwrap();

        let shown = format!("{token:?}");

        assert!(!shown.contains("secret"));
        assert!(SessionToken::parse("not a token").is_none());
    }
}
