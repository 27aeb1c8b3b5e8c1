//! The outbox worker: takes due messages one by one, renders and sends each,
//! and records the outcome: sent, tried again later with backoff, or failed
//! after the last attempt or a permanent rejection.
//!
//! It wakes when an email is enqueued and every poll interval (for retries,
//! and for messages enqueued through another replica). On shutdown it stops
//! after the message in hand.

use std::{sync::Arc, time::Duration};

use lettre::message::Mailbox;
use tokio::sync::{Notify, watch};

use countersign_kit::clock::{SharedClock, millis};

use crate::{
    mailer::{Mailer, Outgoing, SendError},
    retry::RetryPolicy,
    store::{Claimed, Due, OutboxStore, StoreError},
    templates,
};

/// Due messages read per query.
const BATCH: u32 = 16;

/// How the worker runs.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// `From` of every email.
    pub from: Mailbox,
    /// Retries and giving up.
    pub retry: RetryPolicy,
    /// Interval between looks when nothing wakes the worker.
    pub poll_interval: Duration,
    /// How long a claim keeps other workers off a message; longer than one
    /// send may take.
    pub lease: Duration,
}

/// Sends what the outbox holds.
pub struct Worker {
    store: Arc<dyn OutboxStore>,
    mailer: Arc<dyn Mailer>,
    clock: SharedClock,
    wake: Arc<Notify>,
    settings: WorkerSettings,
}

impl Worker {
    /// A worker woken by `wake`.
    pub fn new(
        store: Arc<dyn OutboxStore>,
        mailer: Arc<dyn Mailer>,
        clock: SharedClock,
        wake: Arc<Notify>,
        settings: WorkerSettings,
    ) -> Self {
        Self {
            store,
            mailer,
            clock,
            wake,
            settings,
        }
    }

    /// Sends due messages until `stop` turns true or its sender is dropped.
    pub async fn run(self, mut stop: watch::Receiver<bool>) {
        tracing::info!("outbox worker started");
        loop {
            if let Err(error) = self.drain(&stop).await {
                log_store_error(&error);
            }
            if stopping(&stop) {
                break;
            }
            tokio::select! {
                _ = stop.changed() => {}
                () = self.wake.notified() => {}
                () = tokio::time::sleep(self.settings.poll_interval) => {}
            }
        }
        tracing::info!("outbox worker stopped");
    }

    /// Sends every message due now, unless told to stop between two.
    pub async fn drain(&self, stop: &watch::Receiver<bool>) -> Result<(), StoreError> {
        loop {
            let due = self.store.due(self.clock.now_ms(), BATCH).await?;
            for message in &due {
                if stopping(stop) {
                    return Ok(());
                }
                self.attempt(message).await?;
            }
            if due.len() < BATCH as usize {
                return Ok(());
            }
        }
    }

    async fn attempt(&self, due: &Due) -> Result<(), StoreError> {
        let lease_until = self
            .clock
            .now_ms()
            .saturating_add(millis(self.settings.lease));
        let Some(claimed) = self.store.claim(due, lease_until).await? else {
            tracing::debug!(message_id = %due.id, "message taken by another worker");
            return Ok(());
        };
        let outcome = self.send(&claimed).await;
        let recorded = self.record(&claimed, outcome).await?;
        if !recorded {
            tracing::warn!(
                message_id = %claimed.id,
                attempt = claimed.attempt,
                "lease ran out during the attempt; another worker took the message over"
            );
        }
        Ok(())
    }

    async fn send(&self, claimed: &Claimed) -> Result<(), SendError> {
        let rendered = templates::render(claimed.template, &claimed.params).map_err(|error| {
            let id = claimed.id;
            tracing::error!(message_id = %id, %error, "stored message cannot be rendered");
            SendError::Compose
        })?;
        let email = Outgoing {
            id: claimed.id,
            from: self.settings.from.clone(),
            to: claimed.recipient.clone(),
            rendered,
        };
        self.mailer.send(&email).await
    }

    /// Stores the outcome; `false` if the claim was lost meanwhile.
    async fn record(
        &self,
        claimed: &Claimed,
        outcome: Result<(), SendError>,
    ) -> Result<bool, StoreError> {
        let (id, attempt) = (claimed.id, claimed.attempt);
        let template = claimed.template.as_str();
        let retry = &self.settings.retry;
        match outcome {
            Ok(()) => {
                tracing::info!(message_id = %id, template, attempt, "email sent");
                self.store.mark_sent(id, attempt, self.clock.now_ms()).await
            }
            Err(error) if error.is_permanent() || retry.exhausted(attempt) => {
                tracing::warn!(
                    message_id = %id, template, attempt, %error,
                    "email failed, giving up"
                );
                self.store
                    .mark_failed(id, attempt, &error.to_string())
                    .await
            }
            Err(error) => {
                let delay = retry.delay(attempt);
                let next = self.clock.now_ms().saturating_add(millis(delay));
                tracing::warn!(
                    message_id = %id, template, attempt, %error, retry_in = ?delay,
                    "email not sent, will retry"
                );
                self.store
                    .reschedule(id, attempt, next, &error.to_string())
                    .await
            }
        }
    }
}

fn stopping(stop: &watch::Receiver<bool>) -> bool {
    *stop.borrow() || stop.has_changed().is_err()
}

fn log_store_error(error: &StoreError) {
    if error.is_unavailable() {
        tracing::warn!(%error, "outbox unreachable, will retry");
    } else {
        let chain = countersign_kit::status::ErrorChain(error);
        tracing::error!(error = %chain, "outbox worker failed");
    }
}

#[cfg(test)]
mod tests {
    use std::{collections::VecDeque, sync::Mutex};

    use tokio::sync::mpsc;

    use countersign_kit::{clock::ManualClock, db::DbConfig, seal::KeyRing};

    use super::*;
    use crate::{
        outbox::Outbox,
        store::{MessageId, SqlOutboxStore, State, conformance::request},
    };

    const T0: i64 = 1_700_000_000_000;
    const GUARD: Duration = Duration::from_secs(10);

    /// Answers with the scripted outcomes, then with success, and reports
    /// every email it is given.
    struct FakeMailer {
        outcomes: Mutex<VecDeque<Result<(), SendError>>>,
        sent: mpsc::UnboundedSender<Outgoing>,
    }

    #[async_trait::async_trait]
    impl Mailer for FakeMailer {
        async fn send(&self, email: &Outgoing) -> Result<(), SendError> {
            let _ = self.sent.send(email.clone());
            self.outcomes.lock().unwrap().pop_front().unwrap_or(Ok(()))
        }
    }

    struct Fixture {
        worker: Worker,
        outbox: Outbox,
        clock: Arc<ManualClock>,
        sent: mpsc::UnboundedReceiver<Outgoing>,
        running: watch::Receiver<bool>,
        _keep_running: watch::Sender<bool>,
    }

    async fn fixture(outcomes: Vec<Result<(), SendError>>, max_attempts: u32) -> Fixture {
        let store =
            SqlOutboxStore::connect(&DbConfig::with_schema("notification"), KeyRing::ephemeral())
                .await;
        let store: Arc<dyn OutboxStore> = Arc::new(store.unwrap());
        let (tx, sent) = mpsc::unbounded_channel();
        let mailer = Arc::new(FakeMailer {
            outcomes: Mutex::new(outcomes.into()),
            sent: tx,
        });
        let clock = Arc::new(ManualClock::new(T0));
        let wake = Arc::new(Notify::new());
        let settings = WorkerSettings {
            from: "Countersign <no-reply@countersign.localhost>"
                .parse()
                .unwrap(),
            retry: RetryPolicy {
                max_attempts,
                base: Duration::from_secs(2),
                max: Duration::from_secs(300),
            },
            poll_interval: Duration::from_secs(3600),
            lease: Duration::from_secs(30),
        };
        let outbox = Outbox::new(store.clone(), clock.clone(), wake.clone());
        let worker = Worker::new(store, mailer, clock.clone(), wake, settings);
        let (_keep_running, running) = watch::channel(false);
        Fixture {
            worker,
            outbox,
            clock,
            sent,
            running,
            _keep_running,
        }
    }

    async fn enqueue(fx: &Fixture, key: &str) -> MessageId {
        fx.outbox.enqueue(&request(key)).await.unwrap()
    }

    #[tokio::test]
    async fn drain_sends_due_message_and_marks_it_sent() {
        let mut fx = fixture(vec![], 8).await;
        let id = enqueue(&fx, "k").await;

        fx.worker.drain(&fx.running).await.unwrap();

        let email = fx.sent.try_recv().unwrap();
        assert_eq!(email.id, id);
        assert!(email.rendered.text.lines().any(|l| l == "012345"));
        let delivery = fx.outbox.delivery(id).await.unwrap();
        assert_eq!(delivery.state, State::Sent);
        assert_eq!(delivery.attempt_count, 1);
        assert_eq!(delivery.sent_at, Some(T0));
    }

    #[tokio::test]
    async fn drain_retries_after_backoff_when_relay_defers() {
        let fx = fixture(vec![Err(SendError::Deferred("451".into()))], 8).await;
        let id = enqueue(&fx, "k").await;

        fx.worker.drain(&fx.running).await.unwrap();
        fx.clock.advance(Duration::from_millis(1_999));
        fx.worker.drain(&fx.running).await.unwrap();
        let early = fx.outbox.delivery(id).await.unwrap();
        fx.clock.advance(Duration::from_millis(1));
        fx.worker.drain(&fx.running).await.unwrap();

        assert_eq!(early.state, State::Pending);
        assert_eq!(early.attempt_count, 1);
        assert_eq!(
            early.last_error.as_deref(),
            Some("smtp relay deferred the message (451)")
        );
        let delivery = fx.outbox.delivery(id).await.unwrap();
        assert_eq!(delivery.state, State::Sent);
        assert_eq!(delivery.attempt_count, 2);
        assert_eq!(fx.sent.len(), 2);
    }

    #[tokio::test]
    async fn drain_gives_up_after_max_attempts() {
        let fx = fixture(vec![Err(SendError::TimedOut), Err(SendError::TimedOut)], 2).await;
        let id = enqueue(&fx, "k").await;

        fx.worker.drain(&fx.running).await.unwrap();
        fx.clock.advance(Duration::from_secs(2));
        fx.worker.drain(&fx.running).await.unwrap();
        fx.clock.advance(Duration::from_secs(3600));
        fx.worker.drain(&fx.running).await.unwrap();

        let delivery = fx.outbox.delivery(id).await.unwrap();
        assert_eq!(delivery.state, State::Failed);
        assert_eq!(delivery.attempt_count, 2);
        assert_eq!(fx.sent.len(), 2);
    }

    #[tokio::test]
    async fn drain_gives_up_at_once_when_relay_rejects() {
        let fx = fixture(vec![Err(SendError::Rejected("550".into()))], 8).await;
        let id = enqueue(&fx, "k").await;

        fx.worker.drain(&fx.running).await.unwrap();

        let delivery = fx.outbox.delivery(id).await.unwrap();
        assert_eq!(delivery.state, State::Failed);
        assert_eq!(delivery.attempt_count, 1);
    }

    #[tokio::test]
    async fn drain_sends_nothing_when_stopping() {
        let mut fx = fixture(vec![], 8).await;
        let id = enqueue(&fx, "k").await;
        let (_tx, stop) = watch::channel(true);

        fx.worker.drain(&stop).await.unwrap();

        assert!(fx.sent.try_recv().is_err());
        assert_eq!(fx.outbox.delivery(id).await.unwrap().state, State::Pending);
    }

    #[tokio::test]
    async fn run_sends_when_woken_and_ends_when_stopped() {
        let Fixture {
            worker,
            outbox,
            mut sent,
            ..
        } = fixture(vec![], 8).await;
        let (stop_tx, stop) = watch::channel(false);
        let running = tokio::spawn(worker.run(stop));

        let id = outbox.enqueue(&request("k")).await.unwrap();
        let email = tokio::time::timeout(GUARD, sent.recv()).await.unwrap();
        stop_tx.send(true).unwrap();
        let ended = tokio::time::timeout(GUARD, running).await;

        assert_eq!(email.unwrap().id, id);
        assert!(ended.unwrap().is_ok());
    }
}
