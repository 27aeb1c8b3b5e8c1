//! What the domain needs from the other services, as traits: the auth
//! service validates sessions, ends them, keeps the audit log and makes
//! "this wasn't me" links; the notification service sends email.
//! `grpc::clients` implements them over gRPC; tests may fake them.

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
    /// The member whose session `token` is, sessions of scope "enrollment"
    /// included.
    async fn validate(&self, token: &SessionToken) -> Result<Caller, RemoteError>;

    /// Ends every session of `member_id` except `keep`, which has just
    /// proven a code of the member's new authenticator and counts it among
    /// its factors from now on; returns how many ended.
    async fn end_others(
        &self,
        member_id: &MemberId,
        keep: &SessionToken,
    ) -> Result<u32, RemoteError>;

    /// Appends `event` to the audit log of the member's organization.
    async fn record_audit(&self, event: AuditRecord) -> Result<(), RemoteError>;

    /// A one-time "this wasn't me" link for a security email to `member`;
    /// `None` when auth has no report URL configured. The link holds a
    /// token, so it stays secret.
    async fn report_link(&self, member: &MemberId) -> Result<Option<SecretString>, RemoteError>;
}

/// The audit events mfa reports: actions only it sees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditKind {
    /// An enrollment was confirmed: MFA is on.
    MfaEnabled,
    /// The member turned MFA off.
    MfaDisabled,
    /// The member traded their recovery codes for a new set.
    RecoveryCodesRegenerated,
    /// Failed attempts started a lock of the second factor.
    MfaLocked,
}

impl AuditKind {
    /// The kind's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            AuditKind::MfaEnabled => "mfa_enabled",
            AuditKind::MfaDisabled => "mfa_disabled",
            AuditKind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            AuditKind::MfaLocked => "mfa_locked",
        }
    }
}

/// How the audited action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditOutcome {
    /// It did what was asked.
    Success,
    /// It was refused; a lock after failed attempts is one.
    Failure,
}

impl AuditOutcome {
    /// The outcome's name on the wire.
    pub fn name(self) -> &'static str {
        match self {
            AuditOutcome::Success => "success",
            AuditOutcome::Failure => "failure",
        }
    }
}

/// An audit event to record. It never holds a code, secret or token:
/// `detail` carries only particulars such as the factor or a duration.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRecord {
    /// Whom it concerns, who is also who acted.
    pub member: MemberId,
    /// What happened.
    pub kind: AuditKind,
    /// How it ended.
    pub outcome: AuditOutcome,
    /// The end user's address, when the request came from the gateway.
    pub client_address: Option<String>,
    /// Non-secret particulars.
    pub detail: BTreeMap<&'static str, String>,
}

impl AuditRecord {
    /// A successful action of `member`, from no known address.
    pub fn new(kind: AuditKind, member: &MemberId) -> Self {
        Self {
            member: member.clone(),
            kind,
            outcome: AuditOutcome::Success,
            client_address: None,
            detail: BTreeMap::new(),
        }
    }

    /// The same record with `outcome`.
    pub fn outcome(mut self, outcome: AuditOutcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same record from `address`.
    pub fn from_address(mut self, address: Option<&str>) -> Self {
        self.client_address = address.map(str::to_string);
        self
    }

    /// The same record with one more particular.
    pub fn with(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.detail.insert(name, value.into());
        self
    }
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

    /// Adds a parameter if there is a value.
    pub fn param_if(self, name: &'static str, value: Option<SecretString>) -> Self {
        match value {
            Some(value) => self.param(name, value),
            None => self,
        }
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
