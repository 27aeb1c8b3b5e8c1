//! The domain operations behind the API: enqueue an email and read how its
//! delivery is going. Sending is the [`worker`](crate::worker)'s.

use std::sync::Arc;

use tokio::sync::Notify;
use tracing::instrument;

use countersign_kit::clock::SharedClock;

use crate::{
    email::EmailRequest,
    store::{Delivery, MessageId, OutboxStore, StoreError},
};

/// Why an email could not be enqueued.
#[derive(Debug, thiserror::Error)]
pub enum EnqueueError {
    #[error("outbox storage unreachable")]
    Unavailable(#[source] StoreError),
    #[error("cannot store the email")]
    Store(#[source] StoreError),
}

impl From<StoreError> for EnqueueError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            Self::Unavailable(error)
        } else {
            Self::Store(error)
        }
    }
}

/// Why a delivery could not be read.
#[derive(Debug, thiserror::Error)]
pub enum DeliveryError {
    #[error("no such message")]
    NotFound,
    #[error("outbox storage unreachable")]
    Unavailable(#[source] StoreError),
    #[error("cannot read the delivery")]
    Store(#[source] StoreError),
}

impl From<StoreError> for DeliveryError {
    fn from(error: StoreError) -> Self {
        if error.is_unavailable() {
            Self::Unavailable(error)
        } else {
            Self::Store(error)
        }
    }
}

/// The outbox as the API sees it.
#[derive(Clone)]
pub struct Outbox {
    store: Arc<dyn OutboxStore>,
    clock: SharedClock,
    wake: Arc<Notify>,
}

impl Outbox {
    /// An outbox over `store` that wakes `wake` whenever it stores an email.
    pub fn new(store: Arc<dyn OutboxStore>, clock: SharedClock, wake: Arc<Notify>) -> Self {
        Self { store, clock, wake }
    }

    /// Stores `email` for delivery and returns its id; an email already
    /// stored under the same idempotency key is not stored again, and its id
    /// is returned whatever the rest of the request says.
    #[instrument(skip_all, fields(template = email.template.as_str()))]
    pub async fn enqueue(&self, email: &EmailRequest) -> Result<MessageId, EnqueueError> {
        let stored = self.store.enqueue(email, self.clock.now_ms()).await?;
        if stored.created {
            self.wake.notify_one();
            tracing::debug!(message_id = %stored.id, "email enqueued");
        } else {
            tracing::debug!(message_id = %stored.id, "email already enqueued under this key");
        }
        Ok(stored.id)
    }

    /// How delivery of message `id` is going.
    pub async fn delivery(&self, id: MessageId) -> Result<Delivery, DeliveryError> {
        self.store
            .delivery(id)
            .await?
            .ok_or(DeliveryError::NotFound)
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use countersign_kit::{clock::ManualClock, db::DbConfig, seal::KeyRing};

    use super::*;
    use crate::store::{SqlOutboxStore, State, conformance::request};

    async fn outbox() -> (Outbox, SqlOutboxStore, Arc<Notify>) {
        let store =
            SqlOutboxStore::connect(&DbConfig::with_schema("notification"), KeyRing::ephemeral())
                .await
                .unwrap();
        let wake = Arc::new(Notify::new());
        let clock = Arc::new(ManualClock::new(1_700_000_000_000));
        let outbox = Outbox::new(Arc::new(store.clone()), clock, wake.clone());
        (outbox, store, wake)
    }

    #[tokio::test]
    async fn enqueue_wakes_worker_and_stores_pending_message() {
        let (outbox, _store, wake) = outbox().await;

        let id = outbox.enqueue(&request("k")).await.unwrap();

        let woken = tokio::time::timeout(Duration::from_secs(10), wake.notified()).await;
        assert!(woken.is_ok());
        let delivery = outbox.delivery(id).await.unwrap();
        assert_eq!(delivery.state, State::Pending);
    }

    #[tokio::test]
    async fn delivery_not_found_when_id_unknown() {
        let (outbox, _store, _wake) = outbox().await;

        let result = outbox.delivery(MessageId::new(0)).await;

        assert!(matches!(result, Err(DeliveryError::NotFound)));
    }

    #[tokio::test]
    async fn enqueue_unavailable_when_database_closed() {
        let (outbox, store, _wake) = outbox().await;
        store.close().await;

        let result = outbox.enqueue(&request("k")).await;

        assert!(
            matches!(result, Err(EnqueueError::Unavailable(_))),
            "{result:?}"
        );
    }
}
