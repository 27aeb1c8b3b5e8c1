//! Auth's storage: the [`AuthStore`] trait the domain calls, and its SQL
//! implementation for Postgres and SQLite in [`sql`].

#[cfg(feature = "conformance")]
pub mod conformance;
pub mod sql;

use async_trait::async_trait;
use secrecy::SecretString;

use crate::domain::{
    AuditEvent, AuditFilter, FailureRule, Member, Method, MfaPolicy, Organization, Proof, Role,
    Scope,
};

pub use sql::SqlStore;

/// A storage failure, sorted by what the caller can do about it.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database cannot be reached; retrying later may work.
    #[error("database unavailable")]
    Unavailable(#[source] sqlx::Error),
    /// A unique key is already taken.
    #[error("already exists")]
    Conflict,
    /// Anything else: a fault of ours or of the data.
    #[error("database error")]
    Other(#[source] anyhow::Error),
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if countersign_kit::db::is_unavailable(&error) {
            StoreError::Unavailable(error)
        } else if countersign_kit::db::is_unique_violation(&error) {
            StoreError::Conflict
        } else {
            StoreError::Other(error.into())
        }
    }
}

/// A member with their password hash.
pub struct MemberRecord {
    pub member: Member,
    pub password_hash: SecretString,
}

/// A session as stored: only the token's digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRecord {
    pub token_digest: String,
    pub member_id: String,
    pub proofs: Vec<Proof>,
    pub scope: Scope,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A live session with its member and organization.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub member: Member,
    pub organization: Organization,
    pub proofs: Vec<Proof>,
    pub scope: Scope,
    pub expires_at: i64,
}

/// A pending invitation; the link token is stored only as its digest.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvitationRecord {
    pub token_digest: String,
    pub organization_id: String,
    /// Normalized email of the invitee.
    pub email: String,
    pub role: Role,
    /// The member who sent it.
    pub invited_by: String,
    pub created_at: i64,
    pub expires_at: i64,
}

/// A member joining through an invitation: their id and password hash;
/// the organization, email and role come from the invitation.
pub struct Joining {
    pub member_id: String,
    pub password_hash: SecretString,
    pub now: i64,
}

/// A stored audit event with its place in the log, the cursor of pages.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditRow {
    pub seq: i64,
    pub event: AuditEvent,
}

/// A pending login challenge.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChallengeRecord {
    pub token_digest: String,
    pub member_id: String,
    pub methods: Vec<Method>,
    pub attempts: u32,
    pub created_at: i64,
    pub expires_at: i64,
}

/// What a password-failure counter counts failures of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureScope {
    /// One normalized email, whether or not a member has it.
    Account,
    /// One client address.
    Address,
}

impl FailureScope {
    /// The scope's name in storage.
    pub fn as_str(self) -> &'static str {
        match self {
            FailureScope::Account => "account",
            FailureScope::Address => "address",
        }
    }
}

/// The key of a password-failure counter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureKey<'a> {
    pub scope: FailureScope,
    pub subject: &'a str,
}

/// A password-failure counter just after a failure was counted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureCount {
    /// Failures in the current window, this one included.
    pub failures: u32,
    /// Until when logins are refused, if the limit is reached.
    pub blocked_until: Option<i64>,
}

/// What the auth domain needs from storage. Times are milliseconds since
/// the epoch, passed in by the caller.
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Creates an organization and its owner together, or neither.
    async fn create_organization(
        &self,
        organization: &Organization,
        owner: &MemberRecord,
        now: i64,
    ) -> Result<(), StoreError>;

    /// Adds a member; [`StoreError::Conflict`] when the email is taken.
    async fn insert_member(&self, member: &MemberRecord, now: i64) -> Result<(), StoreError>;

    /// Finds a member by normalized email.
    async fn member_by_email(&self, email: &str) -> Result<Option<MemberRecord>, StoreError>;

    /// Finds a member by id.
    async fn member_by_id(&self, id: &str) -> Result<Option<Member>, StoreError>;

    /// Finds an organization.
    async fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError>;

    /// Stores a new session.
    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError>;

    /// The session with this digest, if it has not expired by `now`.
    async fn live_session(&self, digest: &str, now: i64) -> Result<Option<SessionRow>, StoreError>;

    /// Ends one session; whether it existed.
    async fn delete_session(&self, digest: &str) -> Result<bool, StoreError>;

    /// Ends a member's sessions but the one with digest `keep`, which is
    /// kept only if of [`Scope::Full`]; how many.
    async fn delete_member_sessions(
        &self,
        member_id: &str,
        keep: Option<&str>,
    ) -> Result<u64, StoreError>;

    /// Stores a new challenge.
    async fn insert_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError>;

    /// The challenge with this digest, if live at `now` and not spent.
    async fn live_challenge(
        &self,
        digest: &str,
        now: i64,
        max_attempts: u32,
    ) -> Result<Option<ChallengeRecord>, StoreError>;

    /// Counts one answer against a live, unspent challenge, in one atomic
    /// step; `None` when the challenge is gone, expired or spent.
    async fn record_challenge_attempt(
        &self,
        digest: &str,
        now: i64,
        max_attempts: u32,
    ) -> Result<Option<ChallengeRecord>, StoreError>;

    /// Deletes a challenge; only the first of concurrent callers gets true.
    async fn consume_challenge(&self, digest: &str) -> Result<bool, StoreError>;

    /// Until when logins under `key` are refused, if that is after `now`.
    async fn login_blocked_until(
        &self,
        key: &FailureKey<'_>,
        now: i64,
    ) -> Result<Option<i64>, StoreError>;

    /// Counts one wrong password under `key`, in one atomic step: a window
    /// that has ended, or a lockout that has ended, starts a fresh count;
    /// reaching `rule.limit` refuses logins for `rule.lockout` from `now`.
    async fn record_login_failure(
        &self,
        key: &FailureKey<'_>,
        rule: &FailureRule,
        now: i64,
    ) -> Result<FailureCount, StoreError>;

    /// Forgets the failures counted under `key`.
    async fn clear_login_failures(&self, key: &FailureKey<'_>) -> Result<(), StoreError>;

    /// Deletes counters whose window and lockout both ended by `now`; how
    /// many.
    async fn prune_login_failures(&self, now: i64) -> Result<u64, StoreError>;

    /// Changes an organization's plan; false when there is no such
    /// organization.
    async fn set_plan(&self, organization_id: &str, plan: &str) -> Result<bool, StoreError>;

    /// Changes an organization's MFA policy; false when there is no such
    /// organization.
    async fn set_policy(
        &self,
        organization_id: &str,
        policy: &MfaPolicy,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` members of an organization whose id sorts after
    /// `after` (all when `None`), by id: oldest first, as ids are UUIDv7.
    async fn list_members(
        &self,
        organization_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Member>, StoreError>;

    /// Locks a member at `now` and ends their sessions and challenges, in
    /// one transaction; false when they were already locked or unknown.
    async fn lock_member(&self, member_id: &str, now: i64) -> Result<bool, StoreError>;

    /// Unlocks a member, ends the sessions and challenges made while locked
    /// and voids their report tokens, in one transaction; false (and
    /// nothing changed) when they were not locked.
    async fn unlock_member(&self, member_id: &str) -> Result<bool, StoreError>;

    /// Adds `proof` to the factors of the member's full session with this
    /// digest, unless it has it; whether the session changed.
    async fn add_session_proof(
        &self,
        digest: &str,
        member_id: &str,
        proof: Proof,
    ) -> Result<bool, StoreError>;

    /// Ends a member's pending login challenges; how many.
    async fn delete_member_challenges(&self, member_id: &str) -> Result<u64, StoreError>;

    /// Stores an invitation, replacing (and so voiding) any earlier one for
    /// the same organization and email; deletes invitations expired by its
    /// `created_at`.
    async fn put_invitation(&self, invitation: &InvitationRecord) -> Result<(), StoreError>;

    /// The invitation with this digest, if it expires after `now`.
    async fn live_invitation(
        &self,
        digest: &str,
        now: i64,
    ) -> Result<Option<InvitationRecord>, StoreError>;

    /// Spends the live invitation with this digest and adds its invitee as
    /// a member, in one transaction: `None` (and nothing changed) when the
    /// invitation is gone or expired by `joining.now`, or when a concurrent
    /// caller spent it first; [`StoreError::Conflict`] (and the invitation
    /// kept) when the email became a member meanwhile.
    async fn accept_invitation(
        &self,
        digest: &str,
        joining: &Joining,
    ) -> Result<Option<Member>, StoreError>;

    /// Stores a one-time report token of a member; deletes tokens expired
    /// by `now`.
    async fn insert_report_token(
        &self,
        digest: &str,
        member_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError>;

    /// Spends a report token live at `now`; its member. Only the first of
    /// concurrent callers gets it.
    async fn take_report_token(&self, digest: &str, now: i64)
    -> Result<Option<String>, StoreError>;

    /// Appends an event to the audit log.
    async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError>;

    /// Up to `limit` events of an organization matching `filter`, newest
    /// first, from before `before` (a row's `seq`) when given.
    async fn list_audit_events(
        &self,
        organization_id: &str,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError>;

    /// The `seq` of the organization's event with this id, if it is one.
    async fn audit_position(
        &self,
        organization_id: &str,
        event_id: &str,
    ) -> Result<Option<i64>, StoreError>;
}
