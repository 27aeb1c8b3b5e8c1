//! One-time report tokens of security emails, spent by a `DELETE` that
//! only one caller's statement can hit.

use sqlx::{AnyPool, Row};

use crate::store::StoreError;

pub(super) async fn insert(
    pool: &AnyPool,
    digest: &str,
    member_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO report_tokens (token_digest, member_id, created_at, expires_at) \
         VALUES ($1, $2, $3, $4)",
    )
    .bind(digest)
    .bind(member_id)
    .bind(now)
    .bind(expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

/// Deletes the token whether or not it is live, so an expired one is
/// cleared by its first use; only a live one yields its member.
pub(super) async fn take(
    pool: &AnyPool,
    digest: &str,
    now: i64,
) -> Result<Option<String>, StoreError> {
    let row = sqlx::query(
        "DELETE FROM report_tokens WHERE token_digest = $1 RETURNING member_id, expires_at",
    )
    .bind(digest)
    .fetch_optional(pool)
    .await?;
    let Some(row) = row else {
        return Ok(None);
    };
    let expires_at: i64 = row.try_get("expires_at")?;
    Ok((expires_at > now)
        .then(|| row.try_get("member_id"))
        .transpose()?)
}
