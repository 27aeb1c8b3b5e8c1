//! Lockouts in process memory: the same rules as the Redis scripts.

use async_trait::async_trait;

use countersign_kit::clock::millis;

use super::{MemoryCodeStore, lock};
use crate::{
    model::MemberId,
    store::{LockState, LockoutPolicy, LockoutStore, StoreError},
};

/// One member's failure count and lock.
#[derive(Default)]
pub(super) struct Lock {
    failures: u32,
    window_start_ms: i64,
    locked_until_ms: i64,
    /// When nothing here matters any more, ms.
    keep_until_ms: i64,
}

impl Lock {
    fn window_over(&self, policy: &LockoutPolicy, now_ms: i64) -> bool {
        self.window_start_ms.saturating_add(millis(policy.window)) <= now_ms
    }

    /// Starts a lock and clears the count.
    fn start(&mut self, policy: &LockoutPolicy, now_ms: i64) -> LockState {
        self.locked_until_ms = now_ms.saturating_add(millis(policy.duration));
        self.failures = 0;
        self.keep_until_ms = self.locked_until_ms;
        LockState::Started {
            until_ms: self.locked_until_ms,
        }
    }
}

#[async_trait]
impl LockoutStore for MemoryCodeStore {
    async fn begin_attempt(
        &self,
        member: &MemberId,
        policy: &LockoutPolicy,
        now_ms: i64,
    ) -> Result<LockState, StoreError> {
        let mut locks = lock(&self.locks)?;
        locks.retain(|_, entry| entry.keep_until_ms > now_ms);
        let entry = locks.entry(member.as_str().to_string()).or_default();
        if entry.locked_until_ms > now_ms {
            let until_ms = entry.locked_until_ms;
            return Ok(LockState::Locked { until_ms });
        }
        if entry.failures == 0 || entry.window_over(policy, now_ms) {
            (entry.failures, entry.window_start_ms) = (0, now_ms);
        }
        if entry.failures >= policy.threshold {
            return Ok(entry.start(policy, now_ms));
        }
        entry.failures += 1;
        let window_end = entry.window_start_ms.saturating_add(millis(policy.window));
        entry.keep_until_ms = window_end.max(entry.locked_until_ms);
        Ok(LockState::Open)
    }

    async fn record_failure(
        &self,
        member: &MemberId,
        policy: &LockoutPolicy,
        now_ms: i64,
    ) -> Result<LockState, StoreError> {
        let mut locks = lock(&self.locks)?;
        let Some(entry) = locks.get_mut(member.as_str()) else {
            return Ok(LockState::Open);
        };
        if entry.locked_until_ms > now_ms {
            let until_ms = entry.locked_until_ms;
            return Ok(LockState::Locked { until_ms });
        }
        if entry.failures >= policy.threshold && !entry.window_over(policy, now_ms) {
            return Ok(entry.start(policy, now_ms));
        }
        Ok(LockState::Open)
    }

    async fn record_success(&self, member: &MemberId) -> Result<(), StoreError> {
        if let Some(entry) = lock(&self.locks)?.get_mut(member.as_str()) {
            entry.failures = 0;
        }
        Ok(())
    }

    async fn clear(&self, member: &MemberId) -> Result<(), StoreError> {
        lock(&self.locks)?.remove(member.as_str());
        Ok(())
    }
}
