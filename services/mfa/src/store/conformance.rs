//! The checks every storage backend must pass, so that Redis and the
//! in-process store, Postgres and SQLite behave alike. They are tests that
//! live in the library (feature `conformance`) so the workspace's test crate
//! can run them against real servers; each one panics on a failed check.
//!
//! Every check makes its own random member ids, so checks may share a store.
//! Code and lockout checks pass their own `now_ms`, as the domain does.
//! The recovery-code, re-sealing and admin checks of the factor store live
//! in [`recovery`], [`reseal`] and [`admin`].

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use rand::{Rng, RngCore, rngs::OsRng};

use countersign_kit::seal::Sealed;

use super::{Activation, FactorStore, StoredEnrollment};
use crate::{code::CodeDigest, model::MemberId};

mod codes;
mod lockout;

pub use codes::*;
pub use lockout::*;

pub mod admin;
pub mod recovery;
pub mod reseal;

/// The clock reading at which the factor checks run, in ms.
const NOW_MS: i64 = 1_700_000_000_000;

/// A member id no other check uses.
pub fn fresh_member() -> MemberId {
    MemberId::parse(&format!("conformance-{:016x}", OsRng.r#gen::<u64>())).unwrap()
}

/// Runs every factor-store check, recovery codes, re-sealing and admin
/// calls included.
pub async fn factor_store(store: &dyn FactorStore) {
    factor_store_activates_enrollment_once(store).await;
    factor_store_keeps_factor_when_enrollment_replaced(store).await;
    factor_store_hides_lapsed_enrollment(store).await;
    factor_store_refuses_activation_when_already_on(store).await;
    factor_store_accepts_each_step_once(store).await;
    factor_store_accepts_one_of_concurrent_steps(store).await;
    factor_store_removes_factor_only_with_fresh_step(store).await;
    recovery::run(store).await;
    reseal::run(store).await;
    admin::run(store).await;
}

fn sealed() -> Sealed {
    let mut ciphertext = vec![0u8; 36];
    let mut nonce = vec![0u8; 12];
    OsRng.fill_bytes(&mut ciphertext);
    OsRng.fill_bytes(&mut nonce);
    Sealed {
        key_id: "k1".to_string(),
        ciphertext,
        nonce,
    }
}

fn enrollment() -> StoredEnrollment {
    StoredEnrollment {
        sealed: sealed(),
        expires_at_ms: NOW_MS + 600_000,
    }
}

fn digest() -> CodeDigest {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    CodeDigest(bytes)
}

/// A fresh member with a pending enrollment.
async fn pending_member(store: &dyn FactorStore) -> (MemberId, StoredEnrollment) {
    let (member, pending) = (fresh_member(), enrollment());
    store
        .put_enrollment(&member, &pending, NOW_MS)
        .await
        .unwrap();
    (member, pending)
}

/// A fresh member whose enrollment was activated with last step `step`
/// and recovery codes `recovery`.
async fn enabled_member(
    store: &dyn FactorStore,
    step: i64,
    recovery: &[CodeDigest],
) -> (MemberId, StoredEnrollment) {
    let (member, pending) = pending_member(store).await;
    let nonce = &pending.sealed.nonce;
    let activated = store
        .activate(&member, nonce, step, NOW_MS, recovery)
        .await
        .unwrap();
    assert_eq!(activated, Activation::Activated);
    (member, pending)
}

/// A confirmed enrollment becomes the factor, exactly once.
pub async fn factor_store_activates_enrollment_once(store: &dyn FactorStore) {
    let (member, pending) = pending_member(store).await;
    assert_eq!(
        store.enrollment(&member, NOW_MS).await.unwrap(),
        Some(pending.clone())
    );

    let nonce = &pending.sealed.nonce;
    let first = store.activate(&member, nonce, 100, NOW_MS, &[]).await;
    let second = store.activate(&member, nonce, 101, NOW_MS, &[]).await;
    let (first, second) = (first.unwrap(), second.unwrap());

    assert_eq!(first, Activation::Activated);
    assert_eq!(second, Activation::NoEnrollment);
    let factor = store.factor(&member).await.unwrap().unwrap();
    assert_eq!(factor.sealed, pending.sealed);
    assert_eq!((factor.last_step, factor.enabled_at_ms), (100, NOW_MS));
    assert_eq!(store.enrollment(&member, NOW_MS).await.unwrap(), None);
}

/// A new enrollment replaces only the pending one: activating the old
/// one then fails, and an active factor is never touched.
pub async fn factor_store_keeps_factor_when_enrollment_replaced(store: &dyn FactorStore) {
    let (member, first) = pending_member(store).await;

    let second = enrollment();
    store
        .put_enrollment(&member, &second, NOW_MS)
        .await
        .unwrap();

    let stale = store
        .activate(&member, &first.sealed.nonce, 1, NOW_MS, &[])
        .await
        .unwrap();
    assert_eq!(stale, Activation::NoEnrollment);
    assert_eq!(
        store.enrollment(&member, NOW_MS).await.unwrap(),
        Some(second)
    );

    let (enabled, active) = enabled_member(store, 5, &[]).await;
    store
        .put_enrollment(&enabled, &enrollment(), NOW_MS)
        .await
        .unwrap();
    let factor = store.factor(&enabled).await.unwrap().unwrap();
    assert_eq!(factor.sealed, active.sealed);
}

/// An enrollment past its expiry is neither shown nor activated.
pub async fn factor_store_hides_lapsed_enrollment(store: &dyn FactorStore) {
    let (member, pending) = pending_member(store).await;
    let later = pending.expires_at_ms;

    let shown = store.enrollment(&member, later).await.unwrap();
    let activated = store
        .activate(&member, &pending.sealed.nonce, 1, later, &[])
        .await
        .unwrap();

    assert_eq!(shown, None);
    assert_eq!(activated, Activation::NoEnrollment);
    assert_eq!(store.factor(&member).await.unwrap(), None);
}

/// A member with a factor cannot activate a second one.
pub async fn factor_store_refuses_activation_when_already_on(store: &dyn FactorStore) {
    let (member, active) = enabled_member(store, 5, &[]).await;
    let pending = enrollment();
    store
        .put_enrollment(&member, &pending, NOW_MS)
        .await
        .unwrap();

    let activated = store
        .activate(&member, &pending.sealed.nonce, 9, NOW_MS, &[])
        .await
        .unwrap();

    assert_eq!(activated, Activation::AlreadyOn);
    let factor = store.factor(&member).await.unwrap().unwrap();
    assert_eq!((factor.sealed, factor.last_step), (active.sealed, 5));
}

/// Each step is accepted once, and never one at or before the last.
pub async fn factor_store_accepts_each_step_once(store: &dyn FactorStore) {
    let (member, _) = enabled_member(store, 10, &[]).await;

    assert!(
        !store.use_step(&member, 10).await.unwrap(),
        "confirming step reused"
    );
    assert!(store.use_step(&member, 11).await.unwrap());
    assert!(!store.use_step(&member, 11).await.unwrap(), "step reused");
    assert!(
        !store.use_step(&member, 9).await.unwrap(),
        "older step accepted"
    );
    assert!(
        !store.use_step(&fresh_member(), 12).await.unwrap(),
        "no factor"
    );
    assert_eq!(store.factor(&member).await.unwrap().unwrap().last_step, 11);
}

/// Of several simultaneous uses of one step, exactly one succeeds.
pub async fn factor_store_accepts_one_of_concurrent_steps(store: &dyn FactorStore) {
    let (member, _) = enabled_member(store, 10, &[]).await;

    let used = tokio::join!(
        store.use_step(&member, 11),
        store.use_step(&member, 11),
        store.use_step(&member, 11),
        store.use_step(&member, 11),
    );

    let used = [used.0, used.1, used.2, used.3].map(|u| u.unwrap());
    assert_eq!(used.iter().filter(|u| **u).count(), 1, "{used:?}");
}

/// Removing a factor needs a step later than the last used.
pub async fn factor_store_removes_factor_only_with_fresh_step(store: &dyn FactorStore) {
    let (member, _) = enabled_member(store, 10, &[]).await;

    let replayed = store.remove_factor(&member, 10).await.unwrap();
    let fresh = store.remove_factor(&member, 11).await.unwrap();
    let again = store.remove_factor(&member, 12).await.unwrap();

    assert!(!replayed && fresh && !again);
    assert_eq!(store.factor(&member).await.unwrap(), None);
}
