//! Storage behind three traits, each with implementations that pass the
//! same conformance checks ([`conformance`], feature `conformance`):
//!
//! - [`CodeStore`]: short-lived emailed codes with guess counters, resend
//!   cooldowns and send quotas, and [`LockoutStore`]: failed-attempt
//!   counters and locks, both in Redis ([`redis::RedisCodeStore`]) or in
//!   process ([`memory::MemoryCodeStore`]). Every time they judge is the
//!   `now_ms` they are given, read from the domain's clock;
//! - [`FactorStore`]: TOTP factors, pending enrollments and recovery codes
//!   in SQL ([`sql::SqlFactorStore`], Postgres or SQLite).

use std::{collections::HashMap, time::Duration};

use async_trait::async_trait;

use countersign_kit::seal::Sealed;

use crate::{code::CodeDigest, model::MemberId};

pub use lockout::{LockState, LockoutPolicy, LockoutStore};

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod lockout;
pub mod memory;
pub mod redis;
pub mod sql;

/// Any error a backend reports.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A storage operation that failed.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("storage is unreachable")]
    Unavailable(#[source] BoxError),
    #[error("storage failed")]
    Failed(#[source] BoxError),
}

/// What checking an emailed code found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CodeOutcome {
    /// The code was right; the member's codes are gone now.
    Accepted,
    /// The code was wrong; one more guess is counted.
    Wrong,
    /// No code is outstanding: never issued, expired or used.
    Missing,
    /// The member's codes have had their guesses; even a right one is
    /// refused until they lapse.
    Exhausted,
}

/// How often one member may be sent a code, and for how long it works.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SendLimits {
    /// Lifetime of a code, from its issue.
    pub ttl: Duration,
    /// Shortest wait between two sends.
    pub cooldown: Duration,
    /// Sends allowed in one quota window.
    pub quota: u32,
    /// The quota's window, fixed from the first send in it.
    pub quota_window: Duration,
}

/// What issuing an emailed code did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Issued {
    /// The code is stored and lapses at `expires_at_ms`.
    Stored { expires_at_ms: i64 },
    /// Refused: the last send is within the cooldown.
    TooSoon { retry_after_ms: i64 },
    /// Refused: the window's quota is spent.
    QuotaSpent { retry_after_ms: i64 },
}

/// Emailed codes kept as keyed digests, several outstanding per member,
/// with one guess count over them all and the member's send pacing.
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// In one atomic step at `now_ms`: refuses when the cooldown or the
    /// quota forbids a send (the retry delay the longer of the two);
    /// otherwise forgets the member's lapsed codes (and the guess count
    /// once none is left), adds `digest` lapsing `limits.ttl` from now and
    /// counts the send. Earlier unexpired codes keep working and the guess
    /// count is kept, so a resend buys no guesses.
    async fn issue(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        limits: &SendLimits,
        now_ms: i64,
    ) -> Result<Issued, StoreError>;

    /// In one atomic step at `now_ms`: no unexpired code gives `Missing`;
    /// `max_guesses` wrong guesses already give `Exhausted`; a match with
    /// any unexpired code deletes every code of the member (not the send
    /// pacing) and gives `Accepted`; anything else counts a guess and gives
    /// `Wrong`.
    async fn check(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        max_guesses: u32,
        now_ms: i64,
    ) -> Result<CodeOutcome, StoreError>;

    /// In one atomic step: deletes every outstanding code of the member and
    /// the guess count, keeping the send pacing (last send and quota), so
    /// forgetting buys no sends. For an admin's reset.
    async fn forget_codes(&self, member: &MemberId) -> Result<(), StoreError>;
}

/// An active TOTP factor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredFactor {
    /// The sealed secret.
    pub sealed: Sealed,
    /// The last step accepted; only later steps are.
    pub last_step: i64,
    /// When it was turned on, in ms since the epoch.
    pub enabled_at_ms: i64,
}

/// A begun enrollment waiting for its confirming code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoredEnrollment {
    /// The sealed secret.
    pub sealed: Sealed,
    /// When it lapses, in ms since the epoch.
    pub expires_at_ms: i64,
}

/// What confirming an enrollment did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activation {
    /// The enrollment is now the member's factor.
    Activated,
    /// No such unexpired enrollment (lapsed, replaced or already used).
    NoEnrollment,
    /// The member already has a factor; the enrollment stays pending.
    AlreadyOn,
}

/// The two tables that hold sealed secrets.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SecretTable {
    /// Active TOTP factors.
    Factors,
    /// Pending enrollments.
    Enrollments,
}

/// A stored secret and the member it is sealed for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SealedRow {
    /// The member, also the sealing context.
    pub member: MemberId,
    /// The secret as stored.
    pub sealed: Sealed,
}

/// TOTP factors, enrollments and recovery codes, with their replay guards.
#[async_trait]
pub trait FactorStore: Send + Sync {
    /// The member's active factor.
    async fn factor(&self, member: &MemberId) -> Result<Option<StoredFactor>, StoreError>;

    /// The member's pending enrollment, unless it lapsed before `now_ms`.
    async fn enrollment(
        &self,
        member: &MemberId,
        now_ms: i64,
    ) -> Result<Option<StoredEnrollment>, StoreError>;

    /// Makes `enrollment` the member's only pending one (never touching the
    /// active factor) and forgets lapsed enrollments of every member.
    async fn put_enrollment(
        &self,
        member: &MemberId,
        enrollment: &StoredEnrollment,
        now_ms: i64,
    ) -> Result<(), StoreError>;

    /// In one transaction: consumes the unexpired enrollment sealed with
    /// `nonce`, makes it the active factor, `step` its last used step, and
    /// makes `recovery` the member's only recovery codes.
    async fn activate(
        &self,
        member: &MemberId,
        nonce: &[u8],
        step: i64,
        now_ms: i64,
        recovery: &[CodeDigest],
    ) -> Result<Activation, StoreError>;

    /// Records `step` as used if it is later than the last one: true once
    /// per step, however many callers race.
    async fn use_step(&self, member: &MemberId, step: i64) -> Result<bool, StoreError>;

    /// Deletes the factor if `step` is later than the last one used, and
    /// with it every recovery code: the replay guard and the removal in one
    /// transaction.
    async fn remove_factor(&self, member: &MemberId, step: i64) -> Result<bool, StoreError>;

    /// In one transaction, whatever the steps used: deletes the member's
    /// factor, pending enrollment and recovery codes. True when there was
    /// a factor.
    async fn reset(&self, member: &MemberId) -> Result<bool, StoreError>;

    /// How many unused recovery codes the member has.
    async fn recovery_codes_left(&self, member: &MemberId) -> Result<u32, StoreError>;

    /// Of `members`, those with an active factor, each with how many unused
    /// recovery codes it has; members without a factor are absent.
    async fn enabled_among(
        &self,
        members: &[MemberId],
    ) -> Result<HashMap<MemberId, u32>, StoreError>;

    /// Deletes the member's recovery code of `digest` and counts those
    /// left, in one transaction: the count once per code, however many
    /// callers race; `None` when no such code is unused.
    async fn use_recovery_code(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
    ) -> Result<Option<u32>, StoreError>;

    /// In one transaction: records `step` as used if it is later than the
    /// last one, and if so makes `recovery` the member's only recovery
    /// codes. False, with nothing changed, for a stale step or no factor.
    async fn replace_recovery_codes(
        &self,
        member: &MemberId,
        step: i64,
        recovery: &[CodeDigest],
        now_ms: i64,
    ) -> Result<bool, StoreError>;

    /// Up to `limit` rows of `table` sealed under a key other than
    /// `key_id`, of members after `after` in id order (from the first when
    /// `None`), in id order.
    async fn sealed_under_other_keys(
        &self,
        table: SecretTable,
        key_id: &str,
        after: Option<&MemberId>,
        limit: u32,
    ) -> Result<Vec<SealedRow>, StoreError>;

    /// Replaces the member's secret in `table` with `new` if the row still
    /// holds exactly `old`: true when it did.
    async fn reseal(
        &self,
        table: SecretTable,
        member: &MemberId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError>;
}
