//! Re-sealing checks of the factor store. Other checks may share the
//! store, so these look only at their own members among the rows listed.

use rand::{Rng, rngs::OsRng};

use countersign_kit::seal::Sealed;

use super::{NOW_MS, enabled_member, enrollment, fresh_member, pending_member, sealed};
use crate::{
    model::MemberId,
    store::{FactorStore, SealedRow, SecretTable},
};

/// Runs every re-sealing check.
pub async fn run(store: &dyn FactorStore) {
    factor_store_lists_rows_under_other_keys_page_by_page(store).await;
    factor_store_reseals_factor_only_over_old_ciphertext(store).await;
    factor_store_reseals_enrollment_only_over_old_ciphertext(store).await;
}

fn sealed_under(key_id: &str) -> Sealed {
    Sealed {
        key_id: key_id.to_string(),
        ..sealed()
    }
}

/// A key id no other check uses.
fn fresh_key_id() -> String {
    format!("k{:016x}", OsRng.r#gen::<u64>())
}

/// Every row of `table` not under `key_id`, read `page` rows at a time.
async fn list_all(
    store: &dyn FactorStore,
    table: SecretTable,
    key_id: &str,
    page: u32,
) -> Vec<SealedRow> {
    let (mut all, mut after) = (Vec::new(), None::<MemberId>);
    loop {
        let rows = store
            .sealed_under_other_keys(table, key_id, after.as_ref(), page)
            .await
            .unwrap();
        assert!(rows.len() <= page as usize, "page overflows");
        let full = rows.len() == page as usize;
        after = rows.last().map(|r| r.member.clone());
        all.extend(rows);
        if !full {
            return all;
        }
    }
}

/// Paging lists each row not under the key once, in member order, and
/// never a row under it.
pub async fn factor_store_lists_rows_under_other_keys_page_by_page(store: &dyn FactorStore) {
    let (newest, older) = (fresh_key_id(), fresh_key_id());
    let mut mine = Vec::new();
    for key_id in [&older, &older, &newest, &older] {
        let (member, mut pending) = (fresh_member(), enrollment());
        pending.sealed = sealed_under(key_id);
        store
            .put_enrollment(&member, &pending, NOW_MS)
            .await
            .unwrap();
        mine.push((member, pending.sealed));
    }

    let listed = list_all(store, SecretTable::Enrollments, &newest, 2).await;

    let ids: Vec<&str> = listed.iter().map(|r| r.member.as_str()).collect();
    assert!(ids.windows(2).all(|w| w[0] < w[1]), "not in member order");
    assert!(listed.iter().all(|r| r.sealed.key_id != newest));
    for (member, sealed) in &mine {
        let found: Vec<_> = listed.iter().filter(|r| &r.member == member).collect();
        let expected = usize::from(sealed.key_id != newest);
        assert_eq!(
            found.len(),
            expected,
            "{member:?} listed {} times",
            found.len()
        );
        assert!(found.iter().all(|r| &r.sealed == sealed));
    }
}

/// A factor is re-sealed over the ciphertext read, keeping its replay
/// guard, and never over a ciphertext that has changed.
pub async fn factor_store_reseals_factor_only_over_old_ciphertext(store: &dyn FactorStore) {
    let (member, pending) = enabled_member(store, 10, &[]).await;
    let (old, new) = (pending.sealed, sealed_under(&fresh_key_id()));
    let other = Sealed {
        ciphertext: sealed().ciphertext,
        ..old.clone()
    };

    let mismatched = store.reseal(SecretTable::Factors, &member, &other, &new);
    assert!(
        !mismatched.await.unwrap(),
        "resealed over another ciphertext"
    );
    let wrong_table = store.reseal(SecretTable::Enrollments, &member, &old, &new);
    assert!(!wrong_table.await.unwrap(), "resealed a missing enrollment");
    let first = store
        .reseal(SecretTable::Factors, &member, &old, &new)
        .await;
    let again = store
        .reseal(SecretTable::Factors, &member, &old, &new)
        .await;

    assert!(first.unwrap() && !again.unwrap());
    let factor = store.factor(&member).await.unwrap().unwrap();
    assert_eq!((factor.sealed, factor.last_step), (new, 10));
    assert!(!store.use_step(&member, 10).await.unwrap(), "step reused");
}

/// A pending enrollment is re-sealed in place, expiry kept, and then
/// activates under its new nonce only.
pub async fn factor_store_reseals_enrollment_only_over_old_ciphertext(store: &dyn FactorStore) {
    let (member, pending) = pending_member(store).await;
    let new = sealed_under(&fresh_key_id());

    let resealed = store.reseal(SecretTable::Enrollments, &member, &pending.sealed, &new);
    assert!(resealed.await.unwrap());

    let stored = store.enrollment(&member, NOW_MS).await.unwrap().unwrap();
    assert_eq!(
        (&stored.sealed, stored.expires_at_ms),
        (&new, pending.expires_at_ms)
    );
    let old_nonce = store.activate(&member, &pending.sealed.nonce, 1, NOW_MS, &[]);
    assert_eq!(old_nonce.await.unwrap(), super::Activation::NoEnrollment);
    let new_nonce = store.activate(&member, &new.nonce, 1, NOW_MS, &[]);
    assert_eq!(new_nonce.await.unwrap(), super::Activation::Activated);
}
