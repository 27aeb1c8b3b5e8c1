//! What an admin's calls need of the factor store: voiding everything a
//! member has, and reading the factors of many members in few queries.

use std::collections::HashMap;

use sqlx::{AnyConnection, AnyPool};

use super::{left_count, member_id, recovery};
use crate::{model::MemberId, store::StoreError};

/// Members read per query, far below the bind limits of Postgres and
/// SQLite.
const QUERY_BATCH: usize = 500;

/// Deletes the member's factor, pending enrollment and recovery codes; run
/// it inside a transaction. True when there was a factor.
pub(super) async fn reset(
    conn: &mut AnyConnection,
    member: &MemberId,
) -> Result<bool, sqlx::Error> {
    let factor = sqlx::query("DELETE FROM totp_factors WHERE member_id = $1")
        .bind(member.as_str())
        .execute(&mut *conn)
        .await?;
    sqlx::query("DELETE FROM totp_enrollments WHERE member_id = $1")
        .bind(member.as_str())
        .execute(&mut *conn)
        .await?;
    recovery::void(conn, member).await?;
    Ok(factor.rows_affected() == 1)
}

/// Of `members`, those with a factor and their recovery codes left.
pub(super) async fn enabled_among(
    pool: &AnyPool,
    members: &[MemberId],
) -> Result<HashMap<MemberId, u32>, StoreError> {
    let mut enabled = HashMap::new();
    for batch in members.chunks(QUERY_BATCH) {
        let sql = enabled_query(batch.len());
        let query = batch
            .iter()
            .fold(sqlx::query(&sql), |q, m| q.bind(m.as_str()));
        for row in query.fetch_all(pool).await? {
            enabled.insert(member_id(&row)?, left_count(&row)?);
        }
    }
    Ok(enabled)
}

/// The query of [`enabled_among`] for `count` members, one placeholder
/// each: only placeholders go into the text, never an id.
fn enabled_query(count: usize) -> String {
    let placeholders: Vec<String> = (1..=count).map(|i| format!("${i}")).collect();
    format!(
        "SELECT f.member_id AS member_id, \
         (SELECT COUNT(*) FROM recovery_codes r WHERE r.member_id = f.member_id) AS left_count \
         FROM totp_factors f WHERE f.member_id IN ({})",
        placeholders.join(", ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn enabled_query_has_one_placeholder_per_member() {
        let sql = enabled_query(3);

        assert!(sql.ends_with("IN ($1, $2, $3)"), "{sql}");
    }
}
