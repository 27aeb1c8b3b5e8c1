//! The durable outbox: the storage trait every backend implements, the
//! records it speaks in, and its one SQL implementation ([`SqlOutboxStore`],
//! Postgres or SQLite).
//!
//! A message is stored `pending` and due at once. A worker *claims* a due
//! message by moving its due time forward to the end of a lease and counting
//! the attempt, in one conditional update that only one claimer can win; it
//! then marks the message `sent`, reschedules it, or marks it `failed`. A
//! worker that dies mid-send leaves the lease to run out, and the message is
//! tried again: delivery is at least once.

use std::fmt;

use async_trait::async_trait;
use uuid::Uuid;

use crate::email::{EmailRequest, Params, Recipient, Template};

#[cfg(any(test, feature = "conformance"))]
pub mod conformance;
mod sql;

pub use sql::SqlOutboxStore;

/// The id of a stored message: a UUIDv7, so ids sort by enqueue time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MessageId(Uuid);

impl MessageId {
    /// A fresh id for a message enqueued at `now_ms`.
    pub fn new(now_ms: i64) -> Self {
        let ms = u64::try_from(now_ms).unwrap_or(0);
        let nanos = u32::try_from((ms % 1000) * 1_000_000).unwrap_or(0);
        let ts = uuid::Timestamp::from_unix(uuid::NoContext, ms / 1000, nanos);
        Self(Uuid::new_v7(ts))
    }

    /// Reads an id written by [`MessageId`]'s `Display`; `None` if `text`
    /// is not a UUID.
    pub fn parse(text: &str) -> Option<Self> {
        Uuid::try_parse(text).ok().map(Self)
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0.hyphenated())
    }
}

/// Where a message stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum State {
    /// Waiting for its first or next attempt.
    Pending,
    /// Accepted by the relay.
    Sent,
    /// Given up on.
    Failed,
}

impl State {
    /// The name stored in the outbox.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Pending => "pending",
            Self::Sent => "sent",
            Self::Failed => "failed",
        }
    }

    /// The state stored under `name`.
    pub fn from_name(name: &str) -> Option<Self> {
        [Self::Pending, Self::Sent, Self::Failed]
            .into_iter()
            .find(|s| s.as_str() == name)
    }
}

/// How the delivery of one message is going.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Delivery {
    /// The message.
    pub id: MessageId,
    /// Its template.
    pub template: Template,
    /// Its state.
    pub state: State,
    /// Attempts begun so far.
    pub attempt_count: u32,
    /// When it was enqueued, ms since the epoch.
    pub enqueued_at: i64,
    /// When the relay accepted it, ms since the epoch.
    pub sent_at: Option<i64>,
    /// Why the last attempt failed, without addresses or parameters.
    pub last_error: Option<String>,
}

/// A pending message whose time has come, as read before claiming it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Due {
    /// The message.
    pub id: MessageId,
    /// Its due time, which the claim must still find unchanged.
    pub next_attempt_at: i64,
}

/// A message this worker holds the lease of.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Claimed {
    /// The message.
    pub id: MessageId,
    /// Its template.
    pub template: Template,
    /// Its recipient.
    pub recipient: Recipient,
    /// Its parameters.
    pub params: Params,
    /// This attempt's number, from 1; it also identifies the lease.
    pub attempt: u32,
}

/// A message newly stored, or found stored under the same key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Enqueued {
    /// The message's id.
    pub id: MessageId,
    /// Whether this call stored it.
    pub created: bool,
}

/// A storage failure.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("outbox database unreachable")]
    Unavailable(#[source] sqlx::Error),
    #[error("outbox query failed")]
    Query(#[source] sqlx::Error),
    #[error("outbox row is malformed: {0}")]
    Corrupt(&'static str),
    #[error("cannot encode message parameters")]
    Encode(#[source] serde_json::Error),
    #[error("cannot seal message parameters")]
    Seal,
}

impl StoreError {
    /// Whether the database could not be reached, so a retry may succeed.
    pub fn is_unavailable(&self) -> bool {
        matches!(self, Self::Unavailable(_))
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if countersign_kit::db::is_unavailable(&error) {
            Self::Unavailable(error)
        } else {
            Self::Query(error)
        }
    }
}

/// Storage of the outbox. Times are milliseconds since the epoch.
///
/// The `mark_*` and `reschedule` calls take the attempt number of the claim
/// and change nothing (returning `false`) if the message was claimed again
/// since, so a worker that overran its lease cannot overwrite a newer
/// attempt's outcome.
#[async_trait]
pub trait OutboxStore: Send + Sync + 'static {
    /// Stores `email` as pending and due at `now`, unless a message with its
    /// idempotency key exists; either way returns the stored message's id.
    async fn enqueue(&self, email: &EmailRequest, now: i64) -> Result<Enqueued, StoreError>;

    /// The delivery of message `id`, if it exists.
    async fn delivery(&self, id: MessageId) -> Result<Option<Delivery>, StoreError>;

    /// Up to `limit` pending messages due at `now`, earliest first.
    async fn due(&self, now: i64, limit: u32) -> Result<Vec<Due>, StoreError>;

    /// Claims `due` until `lease_until`, counting an attempt; `None` if
    /// another worker claimed, sent or rescheduled it first.
    async fn claim(&self, due: &Due, lease_until: i64) -> Result<Option<Claimed>, StoreError>;

    /// Marks a claimed message sent at `now` and forgets its parameters.
    async fn mark_sent(&self, id: MessageId, attempt: u32, now: i64) -> Result<bool, StoreError>;

    /// Makes a claimed message due again at `next_attempt_at`.
    async fn reschedule(
        &self,
        id: MessageId,
        attempt: u32,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<bool, StoreError>;

    /// Gives up on a claimed message and forgets its parameters.
    async fn mark_failed(
        &self,
        id: MessageId,
        attempt: u32,
        error: &str,
    ) -> Result<bool, StoreError>;
}
