//! Password hashing off the async workers, bounded: at most `workers`
//! Argon2id computations run at once and at most `queue` wait for one. A
//! call beyond that is refused at once with [`HashError::Busy`], so a flood
//! of logins costs memory and threads up to a fixed ceiling and never
//! starves the other calls of the service.
//!
//! Unknown accounts are verified against a dummy hash made when the hasher
//! starts, so the first unknown email costs the same time as the rest, and
//! as a wrong password.

use std::sync::Arc;

use secrecy::ExposeSecret;
use tokio::sync::Semaphore;

use super::{
    Password,
    password::{hash_blocking, verify_blocking},
};

/// Text of the dummy hash; no account has it, and its match is ignored.
const DUMMY_PASSWORD: &str = "countersign dummy password";

/// Why a password could not be hashed or checked.
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// Every worker is busy and the queue is full; try again shortly.
    #[error("too many passwords being hashed")]
    Busy,
    /// Hashing itself failed: a fault of ours or of a stored hash.
    #[error("password hashing failed")]
    Failed(#[source] anyhow::Error),
}

/// How many hashes run and wait at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HashPoolSize {
    /// Hashes computed at once; at least 1.
    pub workers: usize,
    /// Hashes waiting for a worker.
    pub queue: usize,
}

/// Hashes and verifies passwords on the blocking pool, within a
/// [`HashPoolSize`].
#[derive(Clone)]
pub struct PasswordHasher {
    slots: Slots,
    dummy: Arc<str>,
}

impl PasswordHasher {
    /// A hasher of the given size, its dummy hash already made.
    pub async fn start(size: HashPoolSize) -> Result<Self, HashError> {
        let slots = Slots::new(size);
        let dummy = slots
            .run(|| hash_blocking(DUMMY_PASSWORD))
            .await?
            .map_err(HashError::Failed)?;
        Ok(Self {
            slots,
            dummy: Arc::from(dummy),
        })
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, password: &Password) -> Result<String, HashError> {
        let secret = password.secret().clone();
        self.slots
            .run(move || hash_blocking(secret.expose_secret()))
            .await?
            .map_err(HashError::Failed)
    }

    /// Checks a password against a stored hash; with no hash (an unknown
    /// account) checks against the dummy hash and answers no.
    pub async fn verify(
        &self,
        password: &Password,
        stored: Option<&str>,
    ) -> Result<bool, HashError> {
        let (hash, known) = match stored {
            Some(hash) => (hash.to_string(), true),
            None => (self.dummy.to_string(), false),
        };
        let secret = password.secret().clone();
        let matched = self
            .slots
            .run(move || verify_blocking(secret.expose_secret(), &hash))
            .await?
            .map_err(HashError::Failed)?;
        Ok(known && matched)
    }

    /// Takes every slot, running or waiting, until the permit is dropped,
    /// so that any hashing in between is refused as busy.
    #[cfg(test)]
    pub(super) fn exhaust(&self) -> tokio::sync::OwnedSemaphorePermit {
        let all = u32::try_from(self.slots.admitted.available_permits()).unwrap();
        Arc::clone(&self.slots.admitted)
            .try_acquire_many_owned(all)
            .unwrap()
    }
}

/// The permits of a bounded pool: one per running job, and one per job
/// running or waiting.
#[derive(Clone)]
struct Slots {
    running: Arc<Semaphore>,
    admitted: Arc<Semaphore>,
}

impl Slots {
    fn new(size: HashPoolSize) -> Self {
        let workers = size.workers.max(1);
        Self {
            running: Arc::new(Semaphore::new(workers)),
            admitted: Arc::new(Semaphore::new(workers.saturating_add(size.queue))),
        }
    }

    /// Runs a blocking job once admitted and given a worker. The permits
    /// travel with the job, so a caller that gives up does not free its
    /// worker before the computation ends.
    async fn run<T, F>(&self, job: F) -> Result<T, HashError>
    where
        T: Send + 'static,
        F: FnOnce() -> T + Send + 'static,
    {
        let admitted = Arc::clone(&self.admitted)
            .try_acquire_owned()
            .map_err(|_| HashError::Busy)?;
        let worker = Arc::clone(&self.running)
            .acquire_owned()
            .await
            .map_err(|_| HashError::Busy)?;
        tokio::task::spawn_blocking(move || {
            let _permits = (admitted, worker);
            job()
        })
        .await
        .map_err(|e| HashError::Failed(e.into()))
    }
}

#[cfg(test)]
mod tests {
    use std::sync::mpsc;

    use super::*;

    const ONE_AND_ONE: HashPoolSize = HashPoolSize {
        workers: 1,
        queue: 1,
    };

    #[tokio::test]
    async fn start_makes_dummy_hash_with_real_parameters() {
        let hasher = PasswordHasher::start(ONE_AND_ONE).await.unwrap();

        assert!(
            hasher.dummy.starts_with("$argon2id$v=19$m=19456,t=2,p=1$"),
            "{}",
            hasher.dummy
        );
    }

    #[tokio::test]
    async fn verify_accepts_same_password_in_other_unicode_form() {
        let hasher = PasswordHasher::start(ONE_AND_ONE).await.unwrap();
        let composed = Password::new_choice("caf\u{e9} au lait").unwrap();
        let decomposed = Password::submitted("cafe\u{301} au lait").unwrap();

        let hash = hasher.hash(&composed).await.unwrap();

        assert!(hasher.verify(&decomposed, Some(&hash)).await.unwrap());
    }

    #[tokio::test]
    async fn verify_refuses_wrong_password_and_unknown_account() {
        let hasher = PasswordHasher::start(ONE_AND_ONE).await.unwrap();
        let right = Password::new_choice("correct horse").unwrap();
        let wrong = Password::submitted("correct horse!").unwrap();
        let hash = hasher.hash(&right).await.unwrap();

        assert!(!hasher.verify(&wrong, Some(&hash)).await.unwrap());
        assert!(!hasher.verify(&right, None).await.unwrap());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn run_refuses_busy_when_worker_and_queue_are_taken() {
        let hasher = Slots::new(ONE_AND_ONE);
        let (started_tx, started_rx) = tokio::sync::oneshot::channel();
        let (release_tx, release_rx) = mpsc::channel::<()>();
        let blocker = hasher.clone();
        let running = tokio::spawn(async move {
            blocker
                .run(move || {
                    let _ = started_tx.send(());
                    release_rx.recv().is_ok()
                })
                .await
        });
        started_rx.await.unwrap();

        let waiting = hasher.run(|| "second");
        tokio::pin!(waiting);
        tokio::select! {
            biased;
            _ = &mut waiting => panic!("a second job ran while the worker was busy"),
            () = std::future::ready(()) => {}
        }
        let refused = hasher.run(|| "third").await;
        release_tx.send(()).unwrap();

        assert!(matches!(refused, Err(HashError::Busy)));
        assert!(running.await.unwrap().unwrap());
        assert_eq!(waiting.await.unwrap(), "second");
        assert_eq!(hasher.run(|| "fourth").await.unwrap(), "fourth");
    }
}
