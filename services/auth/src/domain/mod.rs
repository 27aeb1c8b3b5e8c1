//! Auth's rules, free of gRPC and SQL: the [`Auth`] service object and the
//! values it works with. Each operation lives in its own module with its own
//! error type.

mod admin;
mod audit;
mod challenge;
mod email;
mod failures;
mod hasher;
mod invitations;
mod login;
mod password;
mod policy;
mod report;
mod reset;
mod sessions;
#[cfg(test)]
mod testing;

use std::{sync::Arc, time::Duration};

use countersign_kit::clock::SharedClock;
use countersign_plans::Plans;
use secrecy::SecretString;

pub use admin::{AdminError, NewMemberRequest, NewOrganizationRequest};
pub use audit::{AuditEntry, AuditEvent, AuditFilter, AuditKind, Outcome};
pub use challenge::{AnswerError, SendCodeError};
pub use email::{Email, EmailError};
pub use failures::FailureRule;
pub use hasher::{HashError, HashPoolSize, PasswordHasher};
pub use login::{Challenge, LoginError, LoginOutcome};
pub use password::{Password, PasswordError};
pub use report::{AdoptionReport, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE, Page};
pub use reset::ResetOutcome;
pub use sessions::{IssuedSession, SessionError, SessionView};

use crate::{factors::SecondFactors, notices::Notices, store::AuthStore};

/// Target of the log lines that record security outcomes.
pub const SECURITY_TARGET: &str = "countersign::security";

/// A member's role in their organization.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    Owner,
    Admin,
    Member,
}

impl Role {
    /// The role's name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Role::Owner => "owner",
            Role::Admin => "admin",
            Role::Member => "member",
        }
    }

    /// Parses a stored or requested role name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "owner" => Some(Role::Owner),
            "admin" => Some(Role::Admin),
            "member" => Some(Role::Member),
            _ => None,
        }
    }
}

/// A way a session's holder proved who they are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Proof {
    Password,
    Totp,
    EmailCode,
    RecoveryCode,
}

impl Proof {
    /// The proof's name in sessions: `pwd`, `otp`, `email_code`,
    /// `recovery_code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Proof::Password => "pwd",
            Proof::Totp => "otp",
            Proof::EmailCode => "email_code",
            Proof::RecoveryCode => "recovery_code",
        }
    }

    /// Parses a stored proof name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "pwd" => Some(Proof::Password),
            "otp" => Some(Proof::Totp),
            "email_code" => Some(Proof::EmailCode),
            "recovery_code" => Some(Proof::RecoveryCode),
            _ => None,
        }
    }
}

/// A second-factor method a challenge may be answered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Method {
    Totp,
    EmailCode,
    RecoveryCode,
}

impl Method {
    /// The method's name on the wire: `totp`, `email_code`,
    /// `recovery_code`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Totp => "totp",
            Method::EmailCode => "email_code",
            Method::RecoveryCode => "recovery_code",
        }
    }

    /// Parses a method name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "totp" => Some(Method::Totp),
            "email_code" => Some(Method::EmailCode),
            "recovery_code" => Some(Method::RecoveryCode),
            _ => None,
        }
    }

    /// What a session answered with this method has proven.
    pub fn proof(self) -> Proof {
        match self {
            Method::Totp => Proof::Totp,
            Method::EmailCode => Proof::EmailCode,
            Method::RecoveryCode => Proof::RecoveryCode,
        }
    }
}

/// An organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Organization {
    pub id: String,
    pub name: String,
    pub plan: String,
    pub policy: MfaPolicy,
}

/// An organization's rule for its members' second factors.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MfaPolicy {
    /// Whether every member must have MFA.
    pub required: bool,
    /// From when members without MFA must enroll, in milliseconds since
    /// the epoch; `None` means at once.
    pub grace_until: Option<i64>,
}

/// A member, without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub organization_id: String,
    pub email: String,
    pub role: Role,
    /// Locked by a "this wasn't me" report until an admin unlocks it.
    pub locked: bool,
}

/// What a session may do.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scope {
    /// Everything its member may do.
    Full,
    /// Only enroll a second factor and log out: the organization requires
    /// MFA and the member has none.
    Enrollment,
}

impl Scope {
    /// The scope's name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Scope::Full => "full",
            Scope::Enrollment => "enrollment",
        }
    }

    /// Parses a stored scope name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "full" => Some(Scope::Full),
            "enrollment" => Some(Scope::Enrollment),
            _ => None,
        }
    }
}

/// Lifetimes and limits of the login flow.
#[derive(Debug, Clone)]
pub struct Limits {
    pub session_ttl: Duration,
    pub challenge_ttl: Duration,
    pub challenge_max_attempts: u32,
    /// Wrong passwords counted per normalized email.
    pub account_failures: FailureRule,
    /// Wrong passwords counted per client address.
    pub address_failures: FailureRule,
}

/// Where the links of emails point, and how long their tokens live. A
/// link is its base with `?token=<token>` (or `&token=` when the base has a
/// query already).
#[derive(Debug, Clone)]
pub struct Links {
    /// Page where an invitee sets their password.
    pub invitation_url: String,
    /// Lifetime of an invitation.
    pub invitation_ttl: Duration,
    /// Page of the "this wasn't me" link of security emails.
    pub report_url: String,
    /// Lifetime of a "this wasn't me" link.
    pub report_ttl: Duration,
}

impl Links {
    /// `base` with `token` as its `token` query parameter. Tokens are
    /// URL-safe base64, so they need no escaping.
    pub fn with_token(base: &str, token: &SecretString) -> SecretString {
        use secrecy::ExposeSecret;
        let separator = if base.contains('?') { '&' } else { '?' };
        SecretString::from(format!("{base}{separator}token={}", token.expose_secret()))
    }
}

/// What the domain is assembled from.
pub struct Parts {
    pub store: Arc<dyn AuthStore>,
    pub factors: Arc<dyn SecondFactors>,
    pub notices: Arc<dyn Notices>,
    pub hasher: PasswordHasher,
    pub clock: SharedClock,
    pub plans: Plans,
    pub limits: Limits,
    pub links: Links,
    /// Bearer token of operators; `None` turns operator calls off.
    pub operator_token: Option<SecretString>,
}

/// The auth service's domain.
pub struct Auth {
    store: Arc<dyn AuthStore>,
    factors: Arc<dyn SecondFactors>,
    notices: Arc<dyn Notices>,
    hasher: PasswordHasher,
    clock: SharedClock,
    plans: Plans,
    limits: Limits,
    links: Links,
    operator_token: Option<SecretString>,
}

impl Auth {
    /// Assembles the domain from its parts.
    pub fn new(parts: Parts) -> Self {
        Self {
            store: parts.store,
            factors: parts.factors,
            notices: parts.notices,
            hasher: parts.hasher,
            clock: parts.clock,
            plans: parts.plans,
            limits: parts.limits,
            links: parts.links,
            operator_token: parts.operator_token,
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn method_recovery_code_proves_recovery_code() {
        let method = Method::parse("recovery_code").unwrap();

        assert_eq!(method, Method::RecoveryCode);
        assert_eq!(method.as_str(), "recovery_code");
        assert_eq!(method.proof().as_str(), "recovery_code");
        assert_eq!(Proof::parse("recovery_code"), Some(Proof::RecoveryCode));
    }

    #[test]
    fn links_add_token_as_query_parameter() {
        let token = SecretString::from("abc_-1");
        let shown = |base| Links::with_token(base, &token).expose_secret().to_string();

        assert_eq!(
            shown("https://app.example/join"),
            "https://app.example/join?token=abc_-1"
        );
        assert_eq!(
            shown("https://app.example/x?lang=fr"),
            "https://app.example/x?lang=fr&token=abc_-1"
        );
    }

    #[test]
    fn method_parse_refuses_unknown_names() {
        assert_eq!(Method::parse("sms"), None);
        assert_eq!(Method::parse("Recovery_Code"), None);
    }
}
