//! An organization's settings and its members: plan and MFA policy,
//! adding members, listing them page by page, and locking one out.

use secrecy::{ExposeSecret, SecretString};
use sqlx::AnyPool;

use super::{
    execute_keyed,
    rows::{MEMBER_COLUMNS, member, stored_policy},
};
use crate::{
    domain::{Member, MfaPolicy, Proof, Scope},
    store::StoreError,
};

/// A lock time as stored: 0 means unlocked, so a lock at time 0 is kept
/// as 1.
fn locked_at(now: i64) -> i64 {
    now.max(1)
}

/// Adds a member with its hash, at `now`.
pub(super) async fn insert_member_row<'e, E>(
    exec: E,
    member: &Member,
    password_hash: &SecretString,
    now: i64,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    sqlx::query(
        "INSERT INTO members \
         (id, organization_id, email, role, password_hash, locked_at, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7)",
    )
    .bind(&member.id)
    .bind(&member.organization_id)
    .bind(&member.email)
    .bind(member.role.as_str())
    .bind(password_hash.expose_secret())
    .bind(if member.locked { locked_at(now) } else { 0 })
    .bind(now)
    .execute(exec)
    .await?;
    Ok(())
}

pub(super) async fn set_plan(
    pool: &AnyPool,
    organization_id: &str,
    plan: &str,
) -> Result<bool, StoreError> {
    let done = sqlx::query("UPDATE organizations SET plan = $2 WHERE id = $1")
        .bind(organization_id)
        .bind(plan)
        .execute(pool)
        .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn set_policy(
    pool: &AnyPool,
    organization_id: &str,
    policy: &MfaPolicy,
) -> Result<bool, StoreError> {
    let (required, grace_until) = stored_policy(policy);
    let done = sqlx::query(
        "UPDATE organizations SET mfa_required = $2, mfa_grace_until = $3 WHERE id = $1",
    )
    .bind(organization_id)
    .bind(required)
    .bind(grace_until)
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn list_members(
    pool: &AnyPool,
    organization_id: &str,
    after: Option<&str>,
    limit: u32,
) -> Result<Vec<Member>, StoreError> {
    // Every id sorts after '', so no cursor means from the first.
    let sql = format!(
        "SELECT {MEMBER_COLUMNS} FROM members \
         WHERE organization_id = $1 AND id > $2 ORDER BY id LIMIT $3"
    );
    let rows = sqlx::query(&sql)
        .bind(organization_id)
        .bind(after.unwrap_or(""))
        .bind(i64::from(limit))
        .fetch_all(pool)
        .await?;
    rows.iter().map(member).collect()
}

pub(super) async fn lock_member(
    pool: &AnyPool,
    member_id: &str,
    now: i64,
) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let locked = sqlx::query("UPDATE members SET locked_at = $2 WHERE id = $1 AND locked_at = 0")
        .bind(member_id)
        .bind(locked_at(now))
        .execute(&mut *tx)
        .await?
        .rows_affected()
        == 1;
    if !locked {
        return Ok(false);
    }
    end_access(&mut tx, member_id, &[]).await?;
    tx.commit().await?;
    Ok(true)
}

/// Unlocks a member in one transaction that also ends whatever sessions
/// and challenges logins racing the lock made meanwhile, and voids the
/// member's outstanding report links, which would lock the account again.
pub(super) async fn unlock_member(pool: &AnyPool, member_id: &str) -> Result<bool, StoreError> {
    let mut tx = pool.begin().await?;
    let done = sqlx::query("UPDATE members SET locked_at = 0 WHERE id = $1 AND locked_at <> 0")
        .bind(member_id)
        .execute(&mut *tx)
        .await?;
    if done.rows_affected() != 1 {
        return Ok(false);
    }
    end_access(&mut tx, member_id, &["report_tokens"]).await?;
    tx.commit().await?;
    Ok(true)
}

/// Deletes the member's sessions and challenges, and their rows of `more`
/// tables, within `tx`.
async fn end_access(
    tx: &mut sqlx::Transaction<'_, sqlx::Any>,
    member_id: &str,
    more: &[&str],
) -> Result<(), StoreError> {
    for table in ["sessions", "challenges"].iter().chain(more) {
        let sql = format!("DELETE FROM {table} WHERE member_id = $1");
        execute_keyed(&mut **tx, &sql, member_id).await?;
    }
    Ok(())
}

/// Appends a proof to a full session's comma-separated factors, unless it
/// is among them already.
pub(super) async fn add_session_proof(
    pool: &AnyPool,
    digest: &str,
    member_id: &str,
    proof: Proof,
) -> Result<bool, StoreError> {
    let done = sqlx::query(
        "UPDATE sessions SET factors = factors || ',' || $3 \
         WHERE token_digest = $1 AND member_id = $2 AND scope = $4 \
         AND (',' || factors || ',') NOT LIKE ('%,' || $3 || ',%')",
    )
    .bind(digest)
    .bind(member_id)
    .bind(proof.as_str())
    .bind(Scope::Full.as_str())
    .execute(pool)
    .await?;
    Ok(done.rows_affected() == 1)
}

pub(super) async fn delete_member_challenges(
    pool: &AnyPool,
    member_id: &str,
) -> Result<u64, StoreError> {
    let sql = "DELETE FROM challenges WHERE member_id = $1";
    execute_keyed(pool, sql, member_id).await
}
