//! The lockout after failed second-factor attempts: one counter per member
//! over every factor, and the lock it starts.
//!
//! An attempt is counted as a failure when it begins and forgiven when it
//! succeeds, so attempts racing each other cannot outrun the threshold: at
//! most `threshold` codes are checked per window, however many arrive at
//! once. An admin's reset clears both.

use std::time::Duration;

use async_trait::async_trait;

use super::StoreError;
use crate::model::MemberId;

/// When failed attempts lock a member, and for how long.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LockoutPolicy {
    /// Failures that start a lock.
    pub threshold: u32,
    /// Span, from the first failure, within which they must fall.
    pub window: Duration,
    /// How long a lock lasts.
    pub duration: Duration,
}

/// Whether a member may make an attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LockState {
    /// Not locked.
    Open,
    /// Locked until `until_ms` (ms since the epoch) by an earlier call.
    Locked { until_ms: i64 },
    /// This very call started a lock lasting until `until_ms`; exactly one
    /// call sees each lock start.
    Started { until_ms: i64 },
}

/// Failed-attempt counters and locks, all times read from `now_ms`.
#[async_trait]
pub trait LockoutStore: Send + Sync {
    /// In one atomic step: `Locked` while a lock holds; otherwise, when the
    /// window already holds `threshold` failures, starts a lock
    /// (`Started`); otherwise counts this attempt as a failure in advance
    /// (a window starting at the first) and gives `Open`.
    async fn begin_attempt(
        &self,
        member: &MemberId,
        policy: &LockoutPolicy,
        now_ms: i64,
    ) -> Result<LockState, StoreError>;

    /// Closes a failed attempt in one atomic step: `Locked` while a lock
    /// holds; `Started` when the window holds `threshold` failures, which
    /// starts a lock and clears the count; `Open` otherwise.
    async fn record_failure(
        &self,
        member: &MemberId,
        policy: &LockoutPolicy,
        now_ms: i64,
    ) -> Result<LockState, StoreError>;

    /// Closes a successful attempt: the failure count goes back to zero. A
    /// lock that holds stays.
    async fn record_success(&self, member: &MemberId) -> Result<(), StoreError>;

    /// Forgets the member's failure count and any lock, in one atomic
    /// step: the next attempt opens a fresh window. For an admin's reset.
    async fn clear(&self, member: &MemberId) -> Result<(), StoreError>;
}
