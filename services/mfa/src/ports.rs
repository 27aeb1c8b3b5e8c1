//! What the domain needs from the other services, as traits: the auth
//! service validates sessions and ends them, the notification service sends
//! email. `grpc::clients` implements them over gRPC; tests may fake them.

use std::collections::BTreeMap;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::model::{Caller, EmailAddress, MemberId, SessionToken};

/// How a call to another service failed.
#[derive(Debug, thiserror::Error)]
pub enum RemoteError {
    #[error("{0} refused the credentials")]
    Unauthenticated(&'static str),
    #[error("{0} is unreachable")]
    Unavailable(&'static str),
    #[error("{service} answered {code}: {message}")]
    Failed {
        service: &'static str,
        code: String,
        message: String,
    },
}

/// The auth service, as mfa uses it.
#[async_trait]
pub trait Sessions: Send + Sync {
    /// The member whose session `token` is.
    async fn validate(&self, token: &SessionToken) -> Result<Caller, RemoteError>;

    /// Ends every session of `member_id` except `keep`; returns how many.
    async fn end_others(
        &self,
        member_id: &MemberId,
        keep: &SessionToken,
    ) -> Result<u32, RemoteError>;
}

/// The emails mfa sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Template {
    /// A one-time code; params `code` and `expire_minutes`.
    EmailCode,
    /// MFA was turned on.
    MfaEnabled,
    /// MFA was turned off.
    MfaDisabled,
    /// The second factor is locked after failed attempts; param
    /// `locked_minutes`.
    MfaLocked,
    /// A recovery code answered a challenge; param `remaining`.
    RecoveryCodeUsed,
}

impl Template {
    /// The event name used in idempotency keys.
    pub fn event(self) -> &'static str {
        match self {
            Template::EmailCode => "email_code",
            Template::MfaEnabled => "mfa_enabled",
            Template::MfaDisabled => "mfa_disabled",
            Template::MfaLocked => "mfa_locked",
            Template::RecoveryCodeUsed => "recovery_code_used",
        }
    }
}

/// An email to enqueue. Parameters may hold a code, so `Debug` shows only
/// their names.
pub struct OutgoingEmail {
    /// Which email.
    pub template: Template,
    /// To whom.
    pub recipient: EmailAddress,
    /// Template parameters.
    pub params: BTreeMap<&'static str, SecretString>,
    /// Enqueueing twice with one key sends one email.
    pub idempotency_key: String,
}

impl OutgoingEmail {
    /// An email whose idempotency key is derived from the member, the event,
    /// the time of the event and `instance`, which tells apart two events of
    /// one kind in one millisecond (the code digest for a code, else empty),
    /// so a retry of the same event sends once and a new event sends anew.
    pub fn new(
        template: Template,
        recipient: EmailAddress,
        member: &MemberId,
        at_ms: i64,
        instance: &str,
    ) -> Self {
        let idempotency_key = idempotency_key(template, member, at_ms, instance);
        Self {
            template,
            recipient,
            params: BTreeMap::new(),
            idempotency_key,
        }
    }

    /// Adds a parameter.
    pub fn param(mut self, name: &'static str, value: SecretString) -> Self {
        self.params.insert(name, value);
        self
    }

    /// The parameters in the clear, for the one request that carries them.
    pub fn exposed_params(&self) -> impl Iterator<Item = (&'static str, &str)> {
        self.params.iter().map(|(k, v)| (*k, v.expose_secret()))
    }
}

impl std::fmt::Debug for OutgoingEmail {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutgoingEmail")
            .field("template", &self.template)
            .field("params", &self.params.keys().collect::<Vec<_>>())
            .field("idempotency_key", &self.idempotency_key)
            .finish_non_exhaustive()
    }
}

fn idempotency_key(template: Template, member: &MemberId, at_ms: i64, instance: &str) -> String {
    let digest = Sha256::digest(format!("{}:{at_ms}:{instance}", member.as_str()));
    format!("mfa:{}:{}", template.event(), hex::encode(&digest[..16]))
}

/// The notification service, as mfa uses it.
#[async_trait]
pub trait Mailer: Send + Sync {
    /// Enqueues an email for durable delivery.
    async fn enqueue(&self, email: OutgoingEmail) -> Result<(), RemoteError>;
}

#[cfg(test)]
mod tests {
    use super::*;

    fn email(at_ms: i64) -> OutgoingEmail {
        email_of(at_ms, "")
    }

    fn email_of(at_ms: i64, instance: &str) -> OutgoingEmail {
        let to = EmailAddress::parse("ada@example.com").unwrap();
        let member = MemberId::parse("m1").unwrap();
        OutgoingEmail::new(Template::EmailCode, to, &member, at_ms, instance)
            .param("code", SecretString::from("024680"))
    }

    #[test]
    fn outgoing_email_debug_hides_param_values() {
        let shown = format!("{:?}", email(1));

        assert!(shown.contains("code"));
        assert!(!shown.contains("024680"));
    }

    #[test]
    fn idempotency_key_differs_by_time_and_not_by_retry() {
        assert_eq!(email(1).idempotency_key, email(1).idempotency_key);
        assert_ne!(email(1).idempotency_key, email(2).idempotency_key);
        assert_ne!(
            email_of(1, "a").idempotency_key,
            email_of(1, "b").idempotency_key
        );
        assert!(email(1).idempotency_key.starts_with("mfa:email_code:"));
    }
}
