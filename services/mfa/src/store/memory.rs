//! The in-process store of the embedded default: maps behind mutexes for
//! emailed codes and for lockouts (in [`lockout`]). Every time it judges
//! is the `now_ms` it is given; entries nothing depends on any more are
//! dropped on the next write. State dies with the process and is not
//! shared between replicas.

use std::{
    collections::HashMap,
    sync::{Mutex, MutexGuard},
};

use async_trait::async_trait;
use subtle::{Choice, ConstantTimeEq};

use countersign_kit::clock::millis;

use super::{CodeOutcome, CodeStore, Issued, SendLimits, StoreError};
use crate::{code::CodeDigest, model::MemberId};

mod lockout;

/// Emailed codes and lockouts in process memory.
#[derive(Default)]
pub struct MemoryCodeStore {
    codes: Mutex<HashMap<String, Codes>>,
    locks: Mutex<HashMap<String, lockout::Lock>>,
}

/// One member's outstanding codes and send pacing.
#[derive(Default)]
struct Codes {
    /// Digests and when each lapses, ms.
    outstanding: Vec<(CodeDigest, i64)>,
    /// Wrong guesses over the outstanding codes.
    guesses: u32,
    last_send_ms: Option<i64>,
    quota_start_ms: i64,
    quota_count: u32,
    /// When nothing here matters any more, ms.
    keep_until_ms: i64,
}

impl Codes {
    /// Why a send now is refused, if it is.
    fn refusal(&self, limits: &SendLimits, now_ms: i64) -> Option<Issued> {
        let cooldown_wait = self.last_send_ms.map_or(0, |last| {
            last.saturating_add(millis(limits.cooldown)) - now_ms
        });
        let quota_end = self
            .quota_start_ms
            .saturating_add(millis(limits.quota_window));
        let quota_spent = now_ms < quota_end && self.quota_count >= limits.quota;
        if quota_spent {
            let retry_after_ms = (quota_end - now_ms).max(cooldown_wait);
            return Some(Issued::QuotaSpent { retry_after_ms });
        }
        (cooldown_wait > 0).then_some(Issued::TooSoon {
            retry_after_ms: cooldown_wait,
        })
    }

    /// Adds a code and counts the send.
    fn add(&mut self, digest: &CodeDigest, limits: &SendLimits, now_ms: i64) -> i64 {
        self.outstanding.retain(|(_, lapses)| *lapses > now_ms);
        if self.outstanding.is_empty() {
            self.guesses = 0;
        }
        let expires_at_ms = now_ms.saturating_add(millis(limits.ttl));
        self.outstanding.push((digest.clone(), expires_at_ms));
        self.last_send_ms = Some(now_ms);
        let quota_window = millis(limits.quota_window);
        if now_ms >= self.quota_start_ms.saturating_add(quota_window) {
            (self.quota_start_ms, self.quota_count) = (now_ms, 0);
        }
        self.quota_count += 1;
        self.keep_until_ms = [
            self.keep_until_ms,
            expires_at_ms,
            now_ms.saturating_add(millis(limits.cooldown)),
            self.quota_start_ms.saturating_add(quota_window),
        ]
        .into_iter()
        .fold(i64::MIN, i64::max);
        expires_at_ms
    }
}

#[derive(Debug, thiserror::Error)]
#[error("in-process store lock poisoned")]
struct Poisoned;

fn lock<T>(mutex: &Mutex<T>) -> Result<MutexGuard<'_, T>, StoreError> {
    mutex
        .lock()
        .map_err(|_| StoreError::Failed(Box::new(Poisoned)))
}

impl MemoryCodeStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }
}

impl std::fmt::Debug for MemoryCodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCodeStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl CodeStore for MemoryCodeStore {
    async fn issue(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        limits: &SendLimits,
        now_ms: i64,
    ) -> Result<Issued, StoreError> {
        let mut codes = lock(&self.codes)?;
        codes.retain(|_, entry| entry.keep_until_ms > now_ms);
        let entry = codes.entry(member.as_str().to_string()).or_default();
        if let Some(refused) = entry.refusal(limits, now_ms) {
            return Ok(refused);
        }
        let expires_at_ms = entry.add(digest, limits, now_ms);
        Ok(Issued::Stored { expires_at_ms })
    }

    async fn check(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        max_guesses: u32,
        now_ms: i64,
    ) -> Result<CodeOutcome, StoreError> {
        let mut codes = lock(&self.codes)?;
        let Some(entry) = codes.get_mut(member.as_str()) else {
            return Ok(CodeOutcome::Missing);
        };
        entry.outstanding.retain(|(_, lapses)| *lapses > now_ms);
        if entry.outstanding.is_empty() {
            return Ok(CodeOutcome::Missing);
        }
        if entry.guesses >= max_guesses {
            return Ok(CodeOutcome::Exhausted);
        }
        let matched = entry
            .outstanding
            .iter()
            .fold(Choice::from(0), |found, (stored, _)| {
                found | stored.0.ct_eq(&digest.0)
            });
        if bool::from(matched) {
            entry.outstanding.clear();
            entry.guesses = 0;
            return Ok(CodeOutcome::Accepted);
        }
        entry.guesses += 1;
        Ok(CodeOutcome::Wrong)
    }

    async fn forget_codes(&self, member: &MemberId) -> Result<(), StoreError> {
        if let Some(entry) = lock(&self.codes)?.get_mut(member.as_str()) {
            entry.outstanding.clear();
            entry.guesses = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::store::conformance;

    const NOW_MS: i64 = 1_700_000_000_000;
    const LIMITS: SendLimits = SendLimits {
        ttl: Duration::from_secs(600),
        cooldown: Duration::from_secs(60),
        quota: 5,
        quota_window: Duration::from_secs(3600),
    };

    #[tokio::test]
    async fn memory_store_passes_code_conformance() {
        conformance::code_store(&MemoryCodeStore::new()).await;
    }

    #[tokio::test]
    async fn memory_store_passes_lockout_conformance() {
        conformance::lockout_store(&MemoryCodeStore::new()).await;
    }

    #[tokio::test]
    async fn issue_forgets_members_nothing_depends_on() {
        let store = MemoryCodeStore::new();
        let (first, second) = (
            MemberId::parse("m1").unwrap(),
            MemberId::parse("m2").unwrap(),
        );
        store
            .issue(&first, &CodeDigest([1; 32]), &LIMITS, NOW_MS)
            .await
            .unwrap();

        let later = NOW_MS + millis(LIMITS.quota_window);
        store
            .issue(&second, &CodeDigest([2; 32]), &LIMITS, later)
            .await
            .unwrap();

        let codes = lock(&store.codes).unwrap();
        assert_eq!(codes.keys().collect::<Vec<_>>(), ["m2"]);
    }
}
