//! Storage behind two traits, each with implementations that pass the same
//! conformance checks ([`conformance`], feature `conformance`):
//!
//! - [`CodeStore`]: short-lived emailed codes with guess counters, in Redis
//!   ([`redis::RedisCodeStore`]) or in process ([`memory::MemoryCodeStore`]);
//! - [`FactorStore`]: TOTP factors and pending enrollments in SQL
//!   ([`sql::SqlFactorStore`], Postgres or SQLite).

use std::time::Duration;

use async_trait::async_trait;

use countersign_kit::seal::Sealed;

use crate::{code::CodeDigest, model::MemberId};

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
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
    /// The code was right; it is gone now.
    Accepted,
    /// The code was wrong; one more guess is counted.
    Wrong,
    /// No code is outstanding: never issued, expired or used.
    Missing,
    /// The code has had its guesses; it is refused even when right.
    Exhausted,
}

/// Emailed codes, one outstanding per member, kept as keyed digests.
#[async_trait]
pub trait CodeStore: Send + Sync {
    /// Makes `digest` the member's code for `ttl` from now, replacing any
    /// earlier code but keeping its count of wrong guesses, so a resend
    /// buys no extra guesses. Once a code's guesses are spent, each resend
    /// therefore extends the refusal by another `ttl`.
    async fn issue(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        ttl: Duration,
    ) -> Result<(), StoreError>;

    /// In one atomic step: no code gives `Missing`; `max_guesses` wrong
    /// guesses already give `Exhausted`; a match deletes the code and gives
    /// `Accepted`; anything else counts a guess and gives `Wrong`.
    async fn check(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        max_guesses: u32,
    ) -> Result<CodeOutcome, StoreError>;
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

/// TOTP factors and enrollments, with their replay guards.
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
    /// `nonce` and makes it the active factor, `step` its last used step.
    async fn activate(
        &self,
        member: &MemberId,
        nonce: &[u8],
        step: i64,
        now_ms: i64,
    ) -> Result<Activation, StoreError>;

    /// Records `step` as used if it is later than the last one: true once
    /// per step, however many callers race.
    async fn use_step(&self, member: &MemberId, step: i64) -> Result<bool, StoreError>;

    /// Deletes the factor if `step` is later than the last one used: the
    /// replay guard and the removal in one write.
    async fn remove_factor(&self, member: &MemberId, step: i64) -> Result<bool, StoreError>;
}
