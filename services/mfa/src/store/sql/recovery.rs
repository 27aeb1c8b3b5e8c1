//! Recovery codes in SQL: one row per unused code, keyed by member and
//! digest, so using a code is a `DELETE` that hits one row at most.

use sqlx::AnyConnection;

use super::left_count;
use crate::{code::CodeDigest, model::MemberId, store::StoreError};

/// Deletes every recovery code of the member.
pub(super) async fn void(conn: &mut AnyConnection, member: &MemberId) -> Result<(), sqlx::Error> {
    sqlx::query("DELETE FROM recovery_codes WHERE member_id = $1")
        .bind(member.as_str())
        .execute(conn)
        .await?;
    Ok(())
}

/// Makes `digests` the member's only recovery codes; run it inside a
/// transaction so the old set and the new never coexist.
pub(super) async fn replace(
    conn: &mut AnyConnection,
    member: &MemberId,
    digests: &[CodeDigest],
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    void(conn, member).await?;
    for digest in digests {
        sqlx::query(
            "INSERT INTO recovery_codes (member_id, digest, created_at) VALUES ($1, $2, $3)",
        )
        .bind(member.as_str())
        .bind(digest.0.as_slice())
        .bind(now_ms)
        .execute(&mut *conn)
        .await?;
    }
    Ok(())
}

/// Deletes the member's code of `digest`: true if it was there.
pub(super) async fn consume(
    conn: &mut AnyConnection,
    member: &MemberId,
    digest: &CodeDigest,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query("DELETE FROM recovery_codes WHERE member_id = $1 AND digest = $2")
        .bind(member.as_str())
        .bind(digest.0.as_slice())
        .execute(conn)
        .await?;
    Ok(done.rows_affected() == 1)
}

/// How many codes the member has left.
pub(super) async fn count(conn: &mut AnyConnection, member: &MemberId) -> Result<u32, StoreError> {
    let row = sqlx::query("SELECT COUNT(*) AS left_count FROM recovery_codes WHERE member_id = $1")
        .bind(member.as_str())
        .fetch_one(conn)
        .await?;
    left_count(&row)
}
