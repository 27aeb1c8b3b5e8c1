//! Recovery-code checks of the factor store.

use super::{NOW_MS, digest, enabled_member, fresh_member};
use crate::{code::CodeDigest, store::FactorStore};

/// Runs every recovery-code check.
pub async fn run(store: &dyn FactorStore) {
    factor_store_keeps_recovery_codes_of_activation(store).await;
    factor_store_accepts_recovery_code_once(store).await;
    factor_store_accepts_one_of_concurrent_recovery_code_uses(store).await;
    factor_store_replaces_recovery_codes_only_with_fresh_step(store).await;
    factor_store_voids_recovery_codes_with_factor(store).await;
}

fn digests(count: usize) -> Vec<CodeDigest> {
    (0..count).map(|_| digest()).collect()
}

/// Activation stores the codes it is given, and only for its member.
pub async fn factor_store_keeps_recovery_codes_of_activation(store: &dyn FactorStore) {
    let codes = digests(10);

    let (member, _) = enabled_member(store, 10, &codes).await;

    assert_eq!(store.recovery_codes_left(&member).await.unwrap(), 10);
    assert_eq!(store.recovery_codes_left(&fresh_member()).await.unwrap(), 0);
}

/// A code is used once, by its own member only, and the count goes down.
pub async fn factor_store_accepts_recovery_code_once(store: &dyn FactorStore) {
    let codes = digests(3);
    let (member, _) = enabled_member(store, 10, &codes).await;
    let (other, _) = enabled_member(store, 10, &digests(3)).await;

    let foreign = store.use_recovery_code(&other, &codes[0]).await.unwrap();
    let first = store.use_recovery_code(&member, &codes[0]).await.unwrap();
    let again = store.use_recovery_code(&member, &codes[0]).await.unwrap();
    let unknown = store.use_recovery_code(&member, &digests(1)[0]).await;

    assert_eq!((foreign, first, again), (None, Some(2), None));
    assert_eq!(unknown.unwrap(), None);
    assert_eq!(store.recovery_codes_left(&member).await.unwrap(), 2);
    assert_eq!(store.recovery_codes_left(&other).await.unwrap(), 3);
}

/// Of several simultaneous uses of one code, exactly one succeeds.
pub async fn factor_store_accepts_one_of_concurrent_recovery_code_uses(store: &dyn FactorStore) {
    let codes = digests(2);
    let (member, _) = enabled_member(store, 10, &codes).await;

    let used = tokio::join!(
        store.use_recovery_code(&member, &codes[1]),
        store.use_recovery_code(&member, &codes[1]),
        store.use_recovery_code(&member, &codes[1]),
        store.use_recovery_code(&member, &codes[1]),
    );

    let used = [used.0, used.1, used.2, used.3].map(|u| u.unwrap());
    let successes: Vec<_> = used.iter().flatten().collect();
    assert_eq!(successes, [&1], "{used:?}");
}

/// A stale step leaves the old set; a fresh one swaps it whole and is
/// recorded as used.
pub async fn factor_store_replaces_recovery_codes_only_with_fresh_step(store: &dyn FactorStore) {
    let (old, new) = (digests(2), digests(3));
    let (member, _) = enabled_member(store, 10, &old).await;

    let stale = store
        .replace_recovery_codes(&member, 10, &new, NOW_MS)
        .await;
    assert!(!stale.unwrap(), "stale step accepted");
    assert_eq!(store.recovery_codes_left(&member).await.unwrap(), 2);

    let fresh = store
        .replace_recovery_codes(&member, 11, &new, NOW_MS)
        .await;
    let replayed = store
        .replace_recovery_codes(&member, 11, &old, NOW_MS)
        .await;

    assert!(fresh.unwrap() && !replayed.unwrap());
    assert_eq!(
        store.use_recovery_code(&member, &old[0]).await.unwrap(),
        None
    );
    assert_eq!(store.recovery_codes_left(&member).await.unwrap(), 3);
    assert_eq!(store.factor(&member).await.unwrap().unwrap().last_step, 11);
    assert!(!store.use_step(&member, 11).await.unwrap(), "step reused");
    let nobody = fresh_member();
    let refused = store
        .replace_recovery_codes(&nobody, 12, &new, NOW_MS)
        .await;
    assert!(!refused.unwrap(), "member without factor");
}

/// Removing the factor removes its recovery codes in the same write; a
/// refused removal keeps them.
pub async fn factor_store_voids_recovery_codes_with_factor(store: &dyn FactorStore) {
    let codes = digests(2);
    let (member, _) = enabled_member(store, 10, &codes).await;

    assert!(!store.remove_factor(&member, 10).await.unwrap());
    assert_eq!(store.recovery_codes_left(&member).await.unwrap(), 2);
    assert!(store.remove_factor(&member, 11).await.unwrap());

    assert_eq!(store.recovery_codes_left(&member).await.unwrap(), 0);
    assert_eq!(
        store.use_recovery_code(&member, &codes[0]).await.unwrap(),
        None
    );
}
