//! The audit log: an append-only record of security actions, never a
//! secret, that an organization's admins read newest first.
//!
//! An event is written after the action it records, in a statement of its
//! own, not in the action's transaction: should that write fail, the
//! action stands and the call answers with the storage error, so a caller
//! that retries may repeat the action (and its event).

use std::collections::BTreeMap;

use super::{Auth, Member, SECURITY_TARGET};
use crate::store::StoreError;

/// What an audit event records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AuditKind {
    OrganizationCreated,
    PlanChanged,
    PolicyChanged,
    MemberAdded,
    InvitationSent,
    InvitationAccepted,
    LoginSucceeded,
    LoginFailed,
    EmailCodeSent,
    RecoveryCodeUsed,
    MfaEnabled,
    MfaDisabled,
    RecoveryCodesRegenerated,
    MfaLocked,
    MfaReset,
    ActivityReported,
    MemberUnlocked,
}

impl AuditKind {
    /// Every kind, for parsing and documentation.
    pub const ALL: [AuditKind; 17] = [
        AuditKind::OrganizationCreated,
        AuditKind::PlanChanged,
        AuditKind::PolicyChanged,
        AuditKind::MemberAdded,
        AuditKind::InvitationSent,
        AuditKind::InvitationAccepted,
        AuditKind::LoginSucceeded,
        AuditKind::LoginFailed,
        AuditKind::EmailCodeSent,
        AuditKind::RecoveryCodeUsed,
        AuditKind::MfaEnabled,
        AuditKind::MfaDisabled,
        AuditKind::RecoveryCodesRegenerated,
        AuditKind::MfaLocked,
        AuditKind::MfaReset,
        AuditKind::ActivityReported,
        AuditKind::MemberUnlocked,
    ];

    /// The kind's name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            AuditKind::OrganizationCreated => "organization_created",
            AuditKind::PlanChanged => "plan_changed",
            AuditKind::PolicyChanged => "policy_changed",
            AuditKind::MemberAdded => "member_added",
            AuditKind::InvitationSent => "invitation_sent",
            AuditKind::InvitationAccepted => "invitation_accepted",
            AuditKind::LoginSucceeded => "login_succeeded",
            AuditKind::LoginFailed => "login_failed",
            AuditKind::EmailCodeSent => "email_code_sent",
            AuditKind::RecoveryCodeUsed => "recovery_code_used",
            AuditKind::MfaEnabled => "mfa_enabled",
            AuditKind::MfaDisabled => "mfa_disabled",
            AuditKind::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            AuditKind::MfaLocked => "mfa_locked",
            AuditKind::MfaReset => "mfa_reset",
            AuditKind::ActivityReported => "activity_reported",
            AuditKind::MemberUnlocked => "member_unlocked",
        }
    }

    /// Parses a kind's name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether the mfa service may report events of this kind: those of
    /// actions only it sees.
    pub fn reported_by_mfa(self) -> bool {
        matches!(
            self,
            AuditKind::MfaEnabled
                | AuditKind::MfaDisabled
                | AuditKind::RecoveryCodesRegenerated
                | AuditKind::MfaLocked
        )
    }
}

/// How the recorded action ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Outcome {
    Success,
    Failure,
}

impl Outcome {
    /// The outcome's name on the wire and in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Success => "success",
            Outcome::Failure => "failure",
        }
    }

    /// Parses an outcome's name.
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "success" => Some(Outcome::Success),
            "failure" => Some(Outcome::Failure),
            _ => None,
        }
    }
}

/// One audit event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEvent {
    pub id: String,
    pub organization_id: String,
    /// Milliseconds since the epoch.
    pub occurred_at: i64,
    pub kind: AuditKind,
    /// Who acted; `None` for an operator or an unknown caller.
    pub actor_id: Option<String>,
    /// Whom the action concerned.
    pub subject_id: Option<String>,
    pub client_address: Option<String>,
    pub outcome: Outcome,
    /// Non-secret particulars, such as a plan or a method.
    pub detail: BTreeMap<String, String>,
}

/// Which events a listing returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Events whose actor or subject is this member.
    pub member_id: Option<String>,
    /// Events of these kinds; empty means every kind.
    pub kinds: Vec<AuditKind>,
    /// Events at or after this time, ms since the epoch.
    pub start: Option<i64>,
    /// Events before this time, ms since the epoch.
    pub end: Option<i64>,
}

/// An event about to be written; [`Auth::audit`] stamps its id and time.
pub struct AuditEntry {
    pub kind: AuditKind,
    pub organization_id: String,
    pub actor_id: Option<String>,
    pub subject_id: Option<String>,
    pub client_address: Option<String>,
    pub outcome: Outcome,
    pub detail: BTreeMap<String, String>,
}

impl AuditEntry {
    /// A successful action of `actor` on itself.
    pub fn by(kind: AuditKind, member: &Member) -> Self {
        Self {
            actor_id: Some(member.id.clone()),
            subject_id: Some(member.id.clone()),
            ..Self::operator(kind, &member.organization_id)
        }
    }

    /// A successful action of an operator, who has no member id, on an
    /// organization.
    pub fn operator(kind: AuditKind, organization_id: &str) -> Self {
        Self {
            kind,
            organization_id: organization_id.to_string(),
            actor_id: None,
            subject_id: None,
            client_address: None,
            outcome: Outcome::Success,
            detail: BTreeMap::new(),
        }
    }

    /// A successful action of `actor` on `subject`.
    pub fn on(kind: AuditKind, actor: &Member, subject_id: &str) -> Self {
        Self {
            subject_id: Some(subject_id.to_string()),
            ..Self::by(kind, actor)
        }
    }

    /// The same entry with the given outcome.
    pub fn outcome(mut self, outcome: Outcome) -> Self {
        self.outcome = outcome;
        self
    }

    /// The same entry from `address`.
    pub fn from_address(mut self, address: Option<&str>) -> Self {
        self.client_address = address.map(str::to_string);
        self
    }

    /// The same entry with one more particular.
    pub fn with(mut self, name: &str, value: impl Into<String>) -> Self {
        self.detail.insert(name.to_string(), value.into());
        self
    }
}

impl Auth {
    /// Appends an event to the audit log, stamped now.
    pub(crate) async fn audit(&self, entry: AuditEntry) -> Result<(), StoreError> {
        let event = AuditEvent {
            id: uuid::Uuid::now_v7().to_string(),
            organization_id: entry.organization_id,
            occurred_at: self.clock.now_ms(),
            kind: entry.kind,
            actor_id: entry.actor_id,
            subject_id: entry.subject_id,
            client_address: entry.client_address,
            outcome: entry.outcome,
            detail: entry.detail,
        };
        tracing::info!(
            target: SECURITY_TARGET,
            kind = event.kind.as_str(),
            outcome = event.outcome.as_str(),
            organization_id = %event.organization_id,
            "audit event"
        );
        self.store.append_audit_event(&event).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kind_names_parse_back_and_are_distinct() {
        let names: std::collections::BTreeSet<_> =
            AuditKind::ALL.iter().map(|k| k.as_str()).collect();

        assert_eq!(names.len(), AuditKind::ALL.len());
        for kind in AuditKind::ALL {
            assert_eq!(AuditKind::parse(kind.as_str()), Some(kind));
        }
        assert_eq!(AuditKind::parse("Login_Failed"), None);
    }

    #[test]
    fn mfa_reports_only_its_own_kinds() {
        assert!(AuditKind::MfaLocked.reported_by_mfa());
        assert!(!AuditKind::PolicyChanged.reported_by_mfa());
        assert!(!AuditKind::LoginSucceeded.reported_by_mfa());
    }
}
