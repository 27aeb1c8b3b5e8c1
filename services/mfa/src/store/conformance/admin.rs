//! Checks of the factor store's admin calls: a reset, and the factors of
//! many members at once.

use super::{NOW_MS, digest, enabled_member, enrollment, fresh_member, pending_member};
use crate::{code::CodeDigest, model::MemberId, store::FactorStore};

/// Runs every admin check.
pub async fn run(store: &dyn FactorStore) {
    factor_store_reset_voids_factor_enrollment_and_recovery_codes(store).await;
    factor_store_reset_tells_whether_there_was_a_factor(store).await;
    factor_store_lists_enabled_members_with_codes_left(store).await;
    factor_store_lists_members_beyond_one_query(store).await;
}

/// A reset leaves nothing of the member behind, whatever the last step,
/// and touches no other member.
pub async fn factor_store_reset_voids_factor_enrollment_and_recovery_codes(
    store: &dyn FactorStore,
) {
    let codes: Vec<CodeDigest> = (0..3).map(|_| digest()).collect();
    let (member, _) = enabled_member(store, i64::MAX - 1, &codes).await;
    store
        .put_enrollment(&member, &enrollment(), NOW_MS)
        .await
        .unwrap();
    let (other, _) = enabled_member(store, 10, &[digest()]).await;

    let had_factor = store.reset(&member).await.unwrap();

    assert!(had_factor);
    assert_eq!(store.factor(&member).await.unwrap(), None);
    assert_eq!(store.enrollment(&member, NOW_MS).await.unwrap(), None);
    assert_eq!(store.recovery_codes_left(&member).await.unwrap(), 0);
    assert_eq!(
        store.use_recovery_code(&member, &codes[0]).await.unwrap(),
        None
    );
    assert!(store.factor(&other).await.unwrap().is_some());
    assert_eq!(store.recovery_codes_left(&other).await.unwrap(), 1);
}

/// A reset says whether there was a factor: not twice, and not for a
/// member with only a pending enrollment, whose enrollment still goes.
pub async fn factor_store_reset_tells_whether_there_was_a_factor(store: &dyn FactorStore) {
    let (enabled, _) = enabled_member(store, 10, &[]).await;
    let (pending, _) = pending_member(store).await;

    let first = store.reset(&enabled).await.unwrap();
    let again = store.reset(&enabled).await.unwrap();
    let only_pending = store.reset(&pending).await.unwrap();
    let stranger = store.reset(&fresh_member()).await.unwrap();

    assert_eq!(
        (first, again, only_pending, stranger),
        (true, false, false, false)
    );
    assert_eq!(store.enrollment(&pending, NOW_MS).await.unwrap(), None);
}

/// Only members with a factor are listed, each with its codes left, and
/// an empty question has an empty answer.
pub async fn factor_store_lists_enabled_members_with_codes_left(store: &dyn FactorStore) {
    let (two_codes, _) = enabled_member(store, 10, &[digest(), digest()]).await;
    let (no_codes, _) = enabled_member(store, 10, &[]).await;
    let (pending, _) = pending_member(store).await;
    let asked: Vec<MemberId> = vec![
        two_codes.clone(),
        pending,
        fresh_member(),
        no_codes.clone(),
        two_codes.clone(),
    ];

    let enabled = store.enabled_among(&asked).await.unwrap();

    assert_eq!(enabled.len(), 2, "{enabled:?}");
    assert_eq!((enabled[&two_codes], enabled[&no_codes]), (2, 0));
    assert!(store.enabled_among(&[]).await.unwrap().is_empty());
}

/// A long list is read whole: a member far down it is found.
pub async fn factor_store_lists_members_beyond_one_query(store: &dyn FactorStore) {
    let (last, _) = enabled_member(store, 10, &[digest()]).await;
    let mut asked: Vec<MemberId> = (0..1200).map(|_| fresh_member()).collect();
    asked.push(last.clone());

    let enabled = store.enabled_among(&asked).await.unwrap();

    assert_eq!(enabled.into_iter().collect::<Vec<_>>(), [(last, 1)]);
}
