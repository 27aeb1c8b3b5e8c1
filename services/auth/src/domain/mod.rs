//! Auth's rules, free of gRPC and SQL: the [`Auth`] service object and the
//! values it works with. Each operation lives in its own module with its own
//! error type.

mod admin;
mod challenge;
mod email;
mod failures;
mod hasher;
mod login;
mod password;
mod sessions;
#[cfg(test)]
mod testing;

use std::{sync::Arc, time::Duration};

use countersign_kit::clock::SharedClock;
use countersign_plans::Plans;
use secrecy::SecretString;

pub use admin::{AdminError, NewMemberRequest, NewOrganizationRequest};
pub use challenge::{AnswerError, SendCodeError};
pub use email::{Email, EmailError};
pub use failures::FailureRule;
pub use hasher::{HashError, HashPoolSize, PasswordHasher};
pub use login::{Challenge, LoginError, LoginOutcome};
pub use password::{Password, PasswordError};
pub use sessions::{IssuedSession, SessionError, SessionView};

use crate::{factors::SecondFactors, store::AuthStore};

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
}

/// A member, without credentials.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub id: String,
    pub organization_id: String,
    pub email: String,
    pub role: Role,
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

/// The auth service's domain.
pub struct Auth {
    store: Arc<dyn AuthStore>,
    factors: Arc<dyn SecondFactors>,
    hasher: PasswordHasher,
    clock: SharedClock,
    plans: Plans,
    limits: Limits,
    operator_token: Option<SecretString>,
}

impl Auth {
    /// Assembles the domain from its parts.
    pub fn new(
        store: Arc<dyn AuthStore>,
        factors: Arc<dyn SecondFactors>,
        hasher: PasswordHasher,
        clock: SharedClock,
        plans: Plans,
        limits: Limits,
        operator_token: Option<SecretString>,
    ) -> Self {
        Self {
            store,
            factors,
            hasher,
            clock,
            plans,
            limits,
            operator_token,
        }
    }
}

#[cfg(test)]
mod tests {
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
    fn method_parse_refuses_unknown_names() {
        assert_eq!(Method::parse("sms"), None);
        assert_eq!(Method::parse("Recovery_Code"), None);
    }
}
