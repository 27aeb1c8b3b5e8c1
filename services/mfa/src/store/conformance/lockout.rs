//! The checks of a [`LockoutStore`]: the threshold within its window, the
//! lock and its end, attempts counted before they are judged, the reset
//! on success, and clearing on request.

use std::time::Duration;

use countersign_kit::clock::millis;

use super::fresh_member;
use crate::{
    model::MemberId,
    store::{LockState, LockoutPolicy, LockoutStore},
};

/// The policy the checks lock under.
pub const POLICY: LockoutPolicy = LockoutPolicy {
    threshold: 5,
    window: Duration::from_secs(900),
    duration: Duration::from_secs(900),
};
/// The clock reading at which the checks start, in ms.
const T0: i64 = 1_700_000_000_000;

/// Runs every lockout-store check.
pub async fn lockout_store(store: &dyn LockoutStore) {
    lockout_store_locks_once_threshold_failures_recorded(store).await;
    lockout_store_unlocks_when_lock_lapses(store).await;
    lockout_store_forgets_failures_outside_window(store).await;
    lockout_store_clears_failures_on_success(store).await;
    lockout_store_opens_at_most_threshold_concurrent_attempts(store).await;
    lockout_store_keeps_members_apart(store).await;
    lockout_store_clear_lifts_lock_of_member_only(store).await;
    lockout_store_clear_forgets_failures(store).await;
}

/// Begins and fails one attempt at `at`; returns what the failure did.
async fn fail(store: &dyn LockoutStore, member: &MemberId, at: i64) -> LockState {
    let begun = store.begin_attempt(member, &POLICY, at).await.unwrap();
    assert_eq!(begun, LockState::Open, "attempt at {at}");
    store.record_failure(member, &POLICY, at).await.unwrap()
}

/// Fails `threshold - 1` attempts, each a second apart from `T0`.
async fn fail_all_but_one(store: &dyn LockoutStore, member: &MemberId) {
    for n in 0..i64::from(POLICY.threshold) - 1 {
        assert_eq!(fail(store, member, T0 + n * 1000).await, LockState::Open);
    }
}

/// The threshold-th failure starts the lock, reported once; attempts are
/// then refused with the lock's end.
pub async fn lockout_store_locks_once_threshold_failures_recorded(store: &dyn LockoutStore) {
    let member = fresh_member();
    fail_all_but_one(store, &member).await;

    let now = T0 + 10_000;
    let last = fail(store, &member, now).await;
    let again = store.record_failure(&member, &POLICY, now).await.unwrap();
    let next = store
        .begin_attempt(&member, &POLICY, now + 1)
        .await
        .unwrap();

    let until_ms = now + millis(POLICY.duration);
    assert_eq!(last, LockState::Started { until_ms });
    assert_eq!(again, LockState::Locked { until_ms });
    assert_eq!(next, LockState::Locked { until_ms });
}

/// Once the lock lapses attempts open again, with a fresh count.
pub async fn lockout_store_unlocks_when_lock_lapses(store: &dyn LockoutStore) {
    let member = fresh_member();
    fail_all_but_one(store, &member).await;
    let LockState::Started { until_ms } = fail(store, &member, T0 + 10_000).await else {
        panic!("no lock started");
    };

    let before = store.begin_attempt(&member, &POLICY, until_ms - 1).await;
    let after = fail(store, &member, until_ms).await;

    assert_eq!(before.unwrap(), LockState::Locked { until_ms });
    assert_eq!(after, LockState::Open);
}

/// Failures older than the window, counted from the first, lock nothing.
pub async fn lockout_store_forgets_failures_outside_window(store: &dyn LockoutStore) {
    let member = fresh_member();
    fail_all_but_one(store, &member).await;

    let window_end = T0 + millis(POLICY.window);
    let late = fail(store, &member, window_end).await;

    assert_eq!(late, LockState::Open);
}

/// A success clears the failures counted so far.
pub async fn lockout_store_clears_failures_on_success(store: &dyn LockoutStore) {
    let member = fresh_member();
    fail_all_but_one(store, &member).await;
    let begun = store.begin_attempt(&member, &POLICY, T0 + 5_000).await;
    assert_eq!(begun.unwrap(), LockState::Open);

    store.record_success(&member).await.unwrap();
    let after = fail(store, &member, T0 + 6_000).await;

    assert_eq!(after, LockState::Open);
    store.record_success(&fresh_member()).await.unwrap();
}

/// Attempts racing each other are counted as they begin: at most
/// `threshold` open, the next starts the lock, the rest are refused.
pub async fn lockout_store_opens_at_most_threshold_concurrent_attempts(store: &dyn LockoutStore) {
    let member = fresh_member();
    let begin = || store.begin_attempt(&member, &POLICY, T0);

    let states = tokio::join!(
        begin(),
        begin(),
        begin(),
        begin(),
        begin(),
        begin(),
        begin(),
        begin()
    );

    let states = [
        states.0, states.1, states.2, states.3, states.4, states.5, states.6, states.7,
    ]
    .map(|s| s.unwrap());
    let count = |wanted: fn(&LockState) -> bool| states.iter().filter(|s| wanted(s)).count();
    let threshold = usize::try_from(POLICY.threshold).unwrap();
    assert_eq!(count(|s| *s == LockState::Open), threshold, "{states:?}");
    assert_eq!(count(|s| matches!(s, LockState::Started { .. })), 1);
    assert_eq!(count(|s| matches!(s, LockState::Locked { .. })), 2);
}

/// One member's failures and lock are nothing to another member.
pub async fn lockout_store_keeps_members_apart(store: &dyn LockoutStore) {
    let (locked, other) = (fresh_member(), fresh_member());
    fail_all_but_one(store, &locked).await;
    fail(store, &locked, T0 + 10_000).await;

    let state = store.begin_attempt(&other, &POLICY, T0 + 10_000).await;

    assert_eq!(state.unwrap(), LockState::Open);
}

/// Clearing lifts a running lock at once, and only the member's.
pub async fn lockout_store_clear_lifts_lock_of_member_only(store: &dyn LockoutStore) {
    let (member, other) = (fresh_member(), fresh_member());
    for locked in [&member, &other] {
        fail_all_but_one(store, locked).await;
        let last = fail(store, locked, T0 + 10_000).await;
        assert!(matches!(last, LockState::Started { .. }), "{last:?}");
    }

    store.clear(&member).await.unwrap();
    store.clear(&fresh_member()).await.unwrap();

    let now = T0 + 10_001;
    assert_eq!(fail(store, &member, now).await, LockState::Open);
    let still = store.begin_attempt(&other, &POLICY, now).await.unwrap();
    let until_ms = T0 + 10_000 + millis(POLICY.duration);
    assert_eq!(still, LockState::Locked { until_ms });
}

/// Clearing forgets the failures counted so far, attempts begun included.
pub async fn lockout_store_clear_forgets_failures(store: &dyn LockoutStore) {
    let member = fresh_member();
    fail_all_but_one(store, &member).await;
    let begun = store.begin_attempt(&member, &POLICY, T0 + 5_000).await;
    assert_eq!(begun.unwrap(), LockState::Open);

    store.clear(&member).await.unwrap();

    for n in 0..i64::from(POLICY.threshold) - 1 {
        assert_eq!(fail(store, &member, T0 + 6_000 + n).await, LockState::Open);
    }
}
