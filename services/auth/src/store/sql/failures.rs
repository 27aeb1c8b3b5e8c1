//! Password-failure counters in SQL: one row per account or address, each
//! failure counted by one upsert that both dialects run alike.

use sqlx::{AnyPool, Row};

use countersign_kit::clock::millis;

use crate::{
    domain::FailureRule,
    store::{FailureCount, FailureKey, StoreError},
};

/// Whether the row's window or lockout ended by `$3`, so a failure starts
/// a fresh count.
const STALE: &str = "(login_failures.window_end <= $3 \
     OR (login_failures.blocked_until > 0 AND login_failures.blocked_until <= $3))";

/// Counts a failure: `$1` scope, `$2` subject, `$3` now, `$4` the end of a
/// fresh window, `$5` the limit, `$6` the end of a lockout starting now.
fn record_sql() -> String {
    format!(
        "INSERT INTO login_failures (scope, subject, failures, window_end, blocked_until) \
         VALUES ($1, $2, 1, $4, CASE WHEN $5 <= 1 THEN $6 ELSE 0 END) \
         ON CONFLICT (scope, subject) DO UPDATE SET \
         failures = CASE WHEN {STALE} THEN 1 ELSE login_failures.failures + 1 END, \
         window_end = CASE WHEN {STALE} THEN $4 ELSE login_failures.window_end END, \
         blocked_until = CASE \
         WHEN (CASE WHEN {STALE} THEN 1 ELSE login_failures.failures + 1 END) >= $5 THEN $6 \
         WHEN {STALE} THEN 0 \
         ELSE login_failures.blocked_until END \
         RETURNING failures, blocked_until"
    )
}

pub(super) async fn blocked_until(
    pool: &AnyPool,
    key: &FailureKey<'_>,
    now: i64,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query(
        "SELECT blocked_until FROM login_failures \
         WHERE scope = $1 AND subject = $2 AND blocked_until > $3",
    )
    .bind(key.scope.as_str())
    .bind(key.subject)
    .bind(now)
    .fetch_optional(pool)
    .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

pub(super) async fn record(
    pool: &AnyPool,
    key: &FailureKey<'_>,
    rule: &FailureRule,
    now: i64,
) -> Result<FailureCount, StoreError> {
    let row = sqlx::query(&record_sql())
        .bind(key.scope.as_str())
        .bind(key.subject)
        .bind(now)
        .bind(now.saturating_add(millis(rule.window)))
        .bind(i32::try_from(rule.limit).unwrap_or(i32::MAX))
        .bind(now.saturating_add(millis(rule.lockout)))
        .fetch_one(pool)
        .await?;
    let failures: i32 = row.try_get(0)?;
    let blocked_until: i64 = row.try_get(1)?;
    Ok(FailureCount {
        failures: u32::try_from(failures).unwrap_or(0),
        blocked_until: (blocked_until > now).then_some(blocked_until),
    })
}

pub(super) async fn clear(pool: &AnyPool, key: &FailureKey<'_>) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM login_failures WHERE scope = $1 AND subject = $2")
        .bind(key.scope.as_str())
        .bind(key.subject)
        .execute(pool)
        .await?;
    Ok(())
}

pub(super) async fn prune(pool: &AnyPool, now: i64) -> Result<u64, StoreError> {
    let done =
        sqlx::query("DELETE FROM login_failures WHERE window_end <= $1 AND blocked_until <= $1")
            .bind(now)
            .execute(pool)
            .await?;
    Ok(done.rows_affected())
}
