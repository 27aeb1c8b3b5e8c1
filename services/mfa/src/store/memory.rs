//! The in-process code store of the embedded default: a map behind a mutex,
//! with expiry read from the injected clock. Codes die with the process and
//! are not shared between replicas.

use std::{collections::HashMap, sync::Mutex, time::Duration};

use async_trait::async_trait;
use subtle::ConstantTimeEq;

use countersign_kit::clock::{SharedClock, millis};

use super::{CodeOutcome, CodeStore, StoreError};
use crate::{code::CodeDigest, model::MemberId};

/// Emailed codes in process memory.
pub struct MemoryCodeStore {
    clock: SharedClock,
    codes: Mutex<HashMap<String, Entry>>,
}

struct Entry {
    digest: CodeDigest,
    wrong_guesses: u32,
    expires_at_ms: i64,
}

#[derive(Debug, thiserror::Error)]
#[error("code store lock poisoned")]
struct Poisoned;

impl MemoryCodeStore {
    /// An empty store reading time from `clock`.
    pub fn new(clock: SharedClock) -> Self {
        Self {
            clock,
            codes: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, HashMap<String, Entry>>, StoreError> {
        self.codes
            .lock()
            .map_err(|_| StoreError::Failed(Box::new(Poisoned)))
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
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let now = self.clock.now_ms();
        let mut codes = self.lock()?;
        codes.retain(|_, entry| entry.expires_at_ms > now);
        let wrong_guesses = codes
            .get(member.as_str())
            .map_or(0, |entry| entry.wrong_guesses);
        let entry = Entry {
            digest: digest.clone(),
            wrong_guesses,
            expires_at_ms: now.saturating_add(millis(ttl)),
        };
        codes.insert(member.as_str().to_string(), entry);
        Ok(())
    }

    async fn check(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        max_guesses: u32,
    ) -> Result<CodeOutcome, StoreError> {
        let now = self.clock.now_ms();
        let mut codes = self.lock()?;
        let Some(entry) = codes.get_mut(member.as_str()) else {
            return Ok(CodeOutcome::Missing);
        };
        if entry.expires_at_ms <= now {
            codes.remove(member.as_str());
            return Ok(CodeOutcome::Missing);
        }
        if entry.wrong_guesses >= max_guesses {
            return Ok(CodeOutcome::Exhausted);
        }
        if bool::from(entry.digest.0.ct_eq(&digest.0)) {
            codes.remove(member.as_str());
            return Ok(CodeOutcome::Accepted);
        }
        entry.wrong_guesses += 1;
        Ok(CodeOutcome::Wrong)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use countersign_kit::clock::ManualClock;

    use super::*;
    use crate::store::conformance;

    const TTL: Duration = Duration::from_secs(600);

    fn store() -> (Arc<ManualClock>, MemoryCodeStore) {
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        (clock.clone(), MemoryCodeStore::new(clock))
    }

    fn member() -> MemberId {
        MemberId::parse("m1").unwrap()
    }

    #[tokio::test]
    async fn check_gives_missing_when_ttl_passed_on_clock() {
        let (clock, store) = store();
        let digest = CodeDigest([1; 32]);
        store.issue(&member(), &digest, TTL).await.unwrap();

        clock.advance(TTL);
        let outcome = store.check(&member(), &digest, 5).await.unwrap();

        assert_eq!(outcome, CodeOutcome::Missing);
    }

    #[tokio::test]
    async fn check_accepts_just_before_ttl_passes() {
        let (clock, store) = store();
        let digest = CodeDigest([1; 32]);
        store.issue(&member(), &digest, TTL).await.unwrap();

        clock.advance(TTL - Duration::from_millis(1));
        let outcome = store.check(&member(), &digest, 5).await.unwrap();

        assert_eq!(outcome, CodeOutcome::Accepted);
    }

    #[tokio::test]
    async fn issue_forgets_lapsed_codes_of_other_members() {
        let (clock, store) = store();
        let other = MemberId::parse("m2").unwrap();
        store
            .issue(&other, &CodeDigest([2; 32]), TTL)
            .await
            .unwrap();

        clock.advance(TTL);
        store
            .issue(&member(), &CodeDigest([1; 32]), TTL)
            .await
            .unwrap();

        assert_eq!(store.lock().unwrap().len(), 1);
    }

    #[tokio::test]
    async fn memory_store_passes_code_conformance() {
        let (clock, store) = store();

        conformance::code_store(&store, async |ttl| clock.advance(ttl)).await;
    }
}
