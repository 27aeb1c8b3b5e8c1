//! Checks that any [`OutboxStore`] behaves as the worker and the API rely
//! on. Each check takes a freshly built, empty store and panics on the first
//! broken promise, so a test can run them against Postgres and SQLite alike:
//!
//! ```ignore
//! conformance::run_all(|| async { SqlOutboxStore::connect(&fresh_db(), KeyRing::ephemeral()).await.unwrap() }).await;
//! ```

// These are test assertions shipped for other crates' tests.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::future::Future;

use super::{Due, MessageId, OutboxStore, State};
use crate::email::{EmailRequest, IdempotencyKey, Params, Recipient, Template};

const T0: i64 = 1_700_000_000_000;
const LEASE: i64 = 60_000;

/// Runs every check, each on a store from `fresh`.
pub async fn run_all<F, Fut, S>(mut fresh: F)
where
    F: FnMut() -> Fut,
    Fut: Future<Output = S>,
    S: OutboxStore,
{
    enqueue_is_idempotent_by_key(&fresh().await).await;
    enqueued_message_is_pending_and_due(&fresh().await).await;
    delivery_is_none_for_unknown_id(&fresh().await).await;
    due_lists_earliest_first_within_limit(&fresh().await).await;
    claim_is_won_by_exactly_one_claimer(&fresh().await).await;
    claimed_message_is_not_due_until_lease_ends(&fresh().await).await;
    expired_lease_can_be_claimed_again(&fresh().await).await;
    sent_message_records_time_and_drops_params(&fresh().await).await;
    rescheduled_message_records_error_and_due_time(&fresh().await).await;
    failed_message_is_never_due_again(&fresh().await).await;
    stale_claim_cannot_record_outcome(&fresh().await).await;
}

/// An EMAIL_CODE request under `key`.
pub fn request(key: &str) -> EmailRequest {
    let params =
        [("code", "012345"), ("expire_minutes", "10")].map(|(k, v)| (k.to_string(), v.to_string()));
    EmailRequest {
        template: Template::EmailCode,
        recipient: Recipient::parse("ada@example.com").unwrap(),
        params: Params::for_template(Template::EmailCode, params).unwrap(),
        idempotency_key: IdempotencyKey::parse(key).unwrap(),
    }
}

/// The same key gives the same id and stores one message.
pub async fn enqueue_is_idempotent_by_key(store: &dyn OutboxStore) {
    let first = store.enqueue(&request("k1"), T0).await.unwrap();
    let again = store.enqueue(&request("k1"), T0 + 5).await.unwrap();
    let other = store.enqueue(&request("k2"), T0).await.unwrap();

    assert!(first.created);
    assert!(!again.created);
    assert_eq!(again.id, first.id);
    assert_ne!(other.id, first.id);
    assert_eq!(store.due(T0 + 5, 10).await.unwrap().len(), 2);
}

/// A new message is pending, untried and due at once.
pub async fn enqueued_message_is_pending_and_due(store: &dyn OutboxStore) {
    let id = store.enqueue(&request("k"), T0).await.unwrap().id;

    let delivery = store.delivery(id).await.unwrap().unwrap();
    let due = store.due(T0, 10).await.unwrap();

    assert_eq!(delivery.state, State::Pending);
    assert_eq!(delivery.template, Template::EmailCode);
    assert_eq!(delivery.attempt_count, 0);
    assert_eq!(delivery.enqueued_at, T0);
    assert_eq!(delivery.sent_at, None);
    assert_eq!(delivery.last_error, None);
    assert_eq!(
        due,
        vec![Due {
            id,
            next_attempt_at: T0
        }]
    );
    assert!(store.due(T0 - 1, 10).await.unwrap().is_empty());
}

/// Looking up an id never stored finds nothing.
pub async fn delivery_is_none_for_unknown_id(store: &dyn OutboxStore) {
    let unknown = MessageId::new(T0);

    assert_eq!(store.delivery(unknown).await.unwrap(), None);
}

/// `due` returns the earliest messages first and no more than asked.
pub async fn due_lists_earliest_first_within_limit(store: &dyn OutboxStore) {
    let late = store.enqueue(&request("late"), T0 + 2).await.unwrap().id;
    let early = store.enqueue(&request("early"), T0).await.unwrap().id;
    store.enqueue(&request("later"), T0 + 3).await.unwrap();

    let due = store.due(T0 + 10, 2).await.unwrap();

    let ids: Vec<MessageId> = due.iter().map(|d| d.id).collect();
    assert_eq!(ids, vec![early, late]);
}

/// Two workers holding the same due row: one claim wins, one finds nothing.
pub async fn claim_is_won_by_exactly_one_claimer(store: &dyn OutboxStore) {
    store.enqueue(&request("k"), T0).await.unwrap();
    let due = store.due(T0, 10).await.unwrap().remove(0);

    let (a, b) = tokio::join!(store.claim(&due, T0 + LEASE), store.claim(&due, T0 + LEASE));

    let winners = [a.unwrap(), b.unwrap()];
    let won: Vec<_> = winners.iter().flatten().collect();
    assert_eq!(won.len(), 1);
    assert_eq!(won[0].attempt, 1);
    assert_eq!(won[0].params.get("code"), Some("012345"));
    assert_eq!(won[0].recipient.as_str(), "ada@example.com");
}

/// A claimed message waits for its lease to end before it is due again.
pub async fn claimed_message_is_not_due_until_lease_ends(store: &dyn OutboxStore) {
    store.enqueue(&request("k"), T0).await.unwrap();
    let due = store.due(T0, 10).await.unwrap().remove(0);

    store.claim(&due, T0 + LEASE).await.unwrap().unwrap();

    assert!(store.due(T0 + LEASE - 1, 10).await.unwrap().is_empty());
    assert_eq!(store.due(T0 + LEASE, 10).await.unwrap().len(), 1);
}

/// A lease that ran out (its worker died) lets another worker retry.
pub async fn expired_lease_can_be_claimed_again(store: &dyn OutboxStore) {
    let id = store.enqueue(&request("k"), T0).await.unwrap().id;
    let due = store.due(T0, 10).await.unwrap().remove(0);
    store.claim(&due, T0 + LEASE).await.unwrap().unwrap();

    let due = store.due(T0 + LEASE, 10).await.unwrap().remove(0);
    let second = store.claim(&due, T0 + 2 * LEASE).await.unwrap().unwrap();

    assert_eq!(second.attempt, 2);
    let delivery = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(delivery.attempt_count, 2);
}

/// Marking sent records the time, clears the error and forgets the code.
pub async fn sent_message_records_time_and_drops_params(store: &dyn OutboxStore) {
    let id = store.enqueue(&request("k"), T0).await.unwrap().id;
    let due = store.due(T0, 10).await.unwrap().remove(0);
    let claimed = store.claim(&due, T0 + LEASE).await.unwrap().unwrap();
    store.reschedule(id, 1, T0, "timed out").await.unwrap();
    let due = store.due(T0, 10).await.unwrap().remove(0);
    let claimed_again = store.claim(&due, T0 + LEASE).await.unwrap().unwrap();

    let marked = store
        .mark_sent(id, claimed_again.attempt, T0 + 7)
        .await
        .unwrap();

    assert_eq!(claimed.attempt, 1);
    assert!(marked);
    let delivery = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(delivery.state, State::Sent);
    assert_eq!(delivery.sent_at, Some(T0 + 7));
    assert_eq!(delivery.attempt_count, 2);
    assert_eq!(delivery.last_error, None);
    assert!(store.due(T0 + 10 * LEASE, 10).await.unwrap().is_empty());
}

/// Rescheduling keeps the message pending and due at the given time.
pub async fn rescheduled_message_records_error_and_due_time(store: &dyn OutboxStore) {
    let id = store.enqueue(&request("k"), T0).await.unwrap().id;
    let due = store.due(T0, 10).await.unwrap().remove(0);
    let claimed = store.claim(&due, T0 + LEASE).await.unwrap().unwrap();

    let moved = store
        .reschedule(id, claimed.attempt, T0 + 2_000, "relay unreachable")
        .await;

    assert!(moved.unwrap());
    let delivery = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(delivery.state, State::Pending);
    assert_eq!(delivery.last_error.as_deref(), Some("relay unreachable"));
    assert!(store.due(T0 + 1_999, 10).await.unwrap().is_empty());
    assert_eq!(store.due(T0 + 2_000, 10).await.unwrap().len(), 1);
}

/// A failed message keeps its error and is never offered again.
pub async fn failed_message_is_never_due_again(store: &dyn OutboxStore) {
    let id = store.enqueue(&request("k"), T0).await.unwrap().id;
    let due = store.due(T0, 10).await.unwrap().remove(0);
    let claimed = store.claim(&due, T0 + LEASE).await.unwrap().unwrap();

    let failed = store
        .mark_failed(id, claimed.attempt, "rejected (550)")
        .await;

    assert!(failed.unwrap());
    let delivery = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(delivery.state, State::Failed);
    assert_eq!(delivery.last_error.as_deref(), Some("rejected (550)"));
    assert!(store.due(T0 + 10 * LEASE, 10).await.unwrap().is_empty());
    assert!(store.claim(&due, T0 + LEASE).await.unwrap().is_none());
}

/// A worker whose lease ran out and was taken over cannot overwrite the
/// newer attempt's outcome.
pub async fn stale_claim_cannot_record_outcome(store: &dyn OutboxStore) {
    let id = store.enqueue(&request("k"), T0).await.unwrap().id;
    let due = store.due(T0, 10).await.unwrap().remove(0);
    let stale = store.claim(&due, T0 + LEASE).await.unwrap().unwrap();
    let due = store.due(T0 + LEASE, 10).await.unwrap().remove(0);
    store.claim(&due, T0 + 2 * LEASE).await.unwrap().unwrap();

    let sent = store
        .mark_sent(id, stale.attempt, T0 + LEASE)
        .await
        .unwrap();
    let moved = store
        .reschedule(id, stale.attempt, T0, "late")
        .await
        .unwrap();
    let failed = store.mark_failed(id, stale.attempt, "late").await.unwrap();

    assert!(!sent && !moved && !failed);
    let delivery = store.delivery(id).await.unwrap().unwrap();
    assert_eq!(delivery.state, State::Pending);
    assert_eq!(delivery.last_error, None);
}
