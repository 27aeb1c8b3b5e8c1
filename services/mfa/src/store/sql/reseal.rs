//! Finding secrets sealed under an older key and re-sealing them. The
//! write is conditional on the row still holding the old ciphertext, so a
//! secret replaced meanwhile (a new enrollment, say) is never overwritten.

use sqlx::AnyPool;

use countersign_kit::seal::Sealed;

use super::{member_id, sealed};
use crate::{
    model::MemberId,
    store::{SealedRow, SecretTable, StoreError},
};

fn table_name(table: SecretTable) -> &'static str {
    match table {
        SecretTable::Factors => "totp_factors",
        SecretTable::Enrollments => "totp_enrollments",
    }
}

/// Up to `limit` rows not sealed under `key_id`, after member `after`.
pub(super) async fn stale(
    pool: &AnyPool,
    table: SecretTable,
    key_id: &str,
    after: Option<&MemberId>,
    limit: u32,
) -> Result<Vec<SealedRow>, StoreError> {
    let query = format!(
        "SELECT member_id, key_id, ciphertext, nonce FROM {} \
         WHERE key_id <> $1 AND member_id > $2 ORDER BY member_id LIMIT $3",
        table_name(table)
    );
    let rows = sqlx::query(&query)
        .bind(key_id)
        // Member ids are never empty, so "" comes before every one.
        .bind(after.map_or("", MemberId::as_str))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter()
        .map(|row| {
            Ok(SealedRow {
                member: member_id(row)?,
                sealed: sealed(row)?,
            })
        })
        .collect()
}

/// Writes `new` over the member's secret if the row still holds `old`.
pub(super) async fn replace(
    pool: &AnyPool,
    table: SecretTable,
    member: &MemberId,
    old: &Sealed,
    new: &Sealed,
) -> Result<bool, sqlx::Error> {
    let query = format!(
        "UPDATE {} SET key_id = $1, ciphertext = $2, nonce = $3 \
         WHERE member_id = $4 AND key_id = $5 AND ciphertext = $6 AND nonce = $7",
        table_name(table)
    );
    let done = sqlx::query(&query)
        .bind(&new.key_id)
        .bind(&new.ciphertext)
        .bind(&new.nonce)
        .bind(member.as_str())
        .bind(&old.key_id)
        .bind(&old.ciphertext)
        .bind(&old.nonce)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}
