//! The factor store in SQL, one implementation for Postgres and SQLite
//! through sqlx's `Any` driver. The replay guard is a conditional write
//! (`... WHERE last_step < $step`) judged by its affected-row count, so the
//! database decides races; so are the use of a recovery code (a `DELETE`
//! that must hit one row) and re-sealing (an `UPDATE` that must find the
//! old ciphertext).
//!
//! - [`recovery`]: the recovery-code queries;
//! - [`reseal`]: finding and re-sealing secrets under older keys;
//! - [`admin`]: resetting a member and reading many members at once.

use std::collections::HashMap;

use async_trait::async_trait;
use sqlx::{AnyConnection, AnyPool, Row, any::AnyRow};

use countersign_kit::{
    db::{Migrations, is_unavailable, is_unique_violation},
    seal::Sealed,
};

use super::{
    Activation, FactorStore, SealedRow, SecretTable, StoreError, StoredEnrollment, StoredFactor,
};
use crate::{code::CodeDigest, model::MemberId};

mod admin;
mod recovery;
mod reseal;

/// The mfa schema, for `countersign_kit::db::connect`.
pub static MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};
static POSTGRES: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE: sqlx::migrate::Migrator = sqlx::migrate!("./migrations/sqlite");

/// Factors, enrollments and recovery codes in an sqlx pool.
#[derive(Debug, Clone)]
pub struct SqlFactorStore {
    pool: AnyPool,
}

impl SqlFactorStore {
    /// A store on a connected, migrated pool.
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }
}

impl From<sqlx::Error> for StoreError {
    fn from(error: sqlx::Error) -> Self {
        if is_unavailable(&error) {
            StoreError::Unavailable(Box::new(error))
        } else {
            StoreError::Failed(Box::new(error))
        }
    }
}

/// The member of a row's `member_id` column.
fn member_id(row: &AnyRow) -> Result<MemberId, StoreError> {
    let id: String = row.try_get("member_id")?;
    MemberId::parse(&id).map_err(|e| StoreError::Failed(Box::new(e)))
}

/// The recovery codes counted in a row's `left_count` column.
fn left_count(row: &AnyRow) -> Result<u32, StoreError> {
    let count: i64 = row.try_get("left_count")?;
    u32::try_from(count).map_err(|e| StoreError::Failed(Box::new(e)))
}

fn sealed(row: &AnyRow) -> Result<Sealed, sqlx::Error> {
    Ok(Sealed {
        key_id: row.try_get("key_id")?,
        ciphertext: row.try_get("ciphertext")?,
        nonce: row.try_get("nonce")?,
    })
}

async fn insert_factor(
    conn: &mut AnyConnection,
    member: &MemberId,
    sealed: &Sealed,
    step: i64,
    now_ms: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO totp_factors \
         (member_id, key_id, ciphertext, nonce, last_step, enabled_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(member.as_str())
    .bind(&sealed.key_id)
    .bind(&sealed.ciphertext)
    .bind(&sealed.nonce)
    .bind(step)
    .bind(now_ms)
    .execute(conn)
    .await?;
    Ok(())
}

/// Records `step` as the factor's last used one if it is later: true once
/// per step.
async fn use_step(
    conn: &mut AnyConnection,
    member: &MemberId,
    step: i64,
) -> Result<bool, sqlx::Error> {
    let done = sqlx::query(
        "UPDATE totp_factors SET last_step = $1 WHERE member_id = $2 AND last_step < $1",
    )
    .bind(step)
    .bind(member.as_str())
    .execute(conn)
    .await?;
    Ok(done.rows_affected() == 1)
}

#[async_trait]
impl FactorStore for SqlFactorStore {
    async fn factor(&self, member: &MemberId) -> Result<Option<StoredFactor>, StoreError> {
        let row = sqlx::query(
            "SELECT key_id, ciphertext, nonce, last_step, enabled_at \
             FROM totp_factors WHERE member_id = $1",
        )
        .bind(member.as_str())
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(StoredFactor {
            sealed: sealed(&row)?,
            last_step: row.try_get("last_step")?,
            enabled_at_ms: row.try_get("enabled_at")?,
        }))
    }

    async fn enrollment(
        &self,
        member: &MemberId,
        now_ms: i64,
    ) -> Result<Option<StoredEnrollment>, StoreError> {
        let row = sqlx::query(
            "SELECT key_id, ciphertext, nonce, expires_at \
             FROM totp_enrollments WHERE member_id = $1 AND expires_at > $2",
        )
        .bind(member.as_str())
        .bind(now_ms)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        Ok(Some(StoredEnrollment {
            sealed: sealed(&row)?,
            expires_at_ms: row.try_get("expires_at")?,
        }))
    }

    async fn put_enrollment(
        &self,
        member: &MemberId,
        enrollment: &StoredEnrollment,
        now_ms: i64,
    ) -> Result<(), StoreError> {
        sqlx::query("DELETE FROM totp_enrollments WHERE expires_at <= $1")
            .bind(now_ms)
            .execute(&self.pool)
            .await?;
        sqlx::query(
            "INSERT INTO totp_enrollments \
             (member_id, key_id, ciphertext, nonce, last_step, expires_at) \
             VALUES ($1, $2, $3, $4, -1, $5) \
             ON CONFLICT (member_id) DO UPDATE SET key_id = excluded.key_id, \
             ciphertext = excluded.ciphertext, nonce = excluded.nonce, \
             last_step = excluded.last_step, expires_at = excluded.expires_at",
        )
        .bind(member.as_str())
        .bind(&enrollment.sealed.key_id)
        .bind(&enrollment.sealed.ciphertext)
        .bind(&enrollment.sealed.nonce)
        .bind(enrollment.expires_at_ms)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn activate(
        &self,
        member: &MemberId,
        nonce: &[u8],
        step: i64,
        now_ms: i64,
        recovery: &[CodeDigest],
    ) -> Result<Activation, StoreError> {
        let mut tx = self.pool.begin().await?;
        let consumed = sqlx::query(
            "DELETE FROM totp_enrollments \
             WHERE member_id = $1 AND nonce = $2 AND expires_at > $3 AND last_step < $4 \
             RETURNING key_id, ciphertext, nonce",
        )
        .bind(member.as_str())
        .bind(nonce)
        .bind(now_ms)
        .bind(step)
        .fetch_optional(&mut *tx)
        .await?;
        let Some(row) = consumed else {
            return Ok(Activation::NoEnrollment);
        };
        let sealed = sealed(&row)?;
        let inserted = insert_factor(&mut tx, member, &sealed, step, now_ms).await;
        match inserted {
            // Dropping the transaction rolls the DELETE back too.
            Err(e) if is_unique_violation(&e) => Ok(Activation::AlreadyOn),
            Err(e) => Err(e.into()),
            Ok(_) => {
                recovery::replace(&mut tx, member, recovery, now_ms).await?;
                tx.commit().await?;
                Ok(Activation::Activated)
            }
        }
    }

    async fn use_step(&self, member: &MemberId, step: i64) -> Result<bool, StoreError> {
        let mut conn = self.pool.acquire().await?;
        Ok(use_step(&mut conn, member, step).await?)
    }

    async fn remove_factor(&self, member: &MemberId, step: i64) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM totp_factors WHERE member_id = $1 AND last_step < $2")
            .bind(member.as_str())
            .bind(step)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() != 1 {
            return Ok(false);
        }
        recovery::void(&mut tx, member).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn reset(&self, member: &MemberId) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        let had_factor = admin::reset(&mut tx, member).await?;
        tx.commit().await?;
        Ok(had_factor)
    }

    async fn recovery_codes_left(&self, member: &MemberId) -> Result<u32, StoreError> {
        let mut conn = self.pool.acquire().await?;
        recovery::count(&mut conn, member).await
    }

    async fn enabled_among(
        &self,
        members: &[MemberId],
    ) -> Result<HashMap<MemberId, u32>, StoreError> {
        admin::enabled_among(&self.pool, members).await
    }

    async fn use_recovery_code(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
    ) -> Result<Option<u32>, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !recovery::consume(&mut tx, member, digest).await? {
            return Ok(None);
        }
        let left = recovery::count(&mut tx, member).await?;
        tx.commit().await?;
        Ok(Some(left))
    }

    async fn replace_recovery_codes(
        &self,
        member: &MemberId,
        step: i64,
        recovery: &[CodeDigest],
        now_ms: i64,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool.begin().await?;
        if !use_step(&mut tx, member, step).await? {
            return Ok(false);
        }
        recovery::replace(&mut tx, member, recovery, now_ms).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn sealed_under_other_keys(
        &self,
        table: SecretTable,
        key_id: &str,
        after: Option<&MemberId>,
        limit: u32,
    ) -> Result<Vec<SealedRow>, StoreError> {
        reseal::stale(&self.pool, table, key_id, after, limit).await
    }

    async fn reseal(
        &self,
        table: SecretTable,
        member: &MemberId,
        old: &Sealed,
        new: &Sealed,
    ) -> Result<bool, StoreError> {
        Ok(reseal::replace(&self.pool, table, member, old, new).await?)
    }
}

#[cfg(test)]
mod tests {
    use countersign_kit::db::{DbConfig, connect};

    use super::*;
    use crate::store::conformance;

    #[tokio::test]
    async fn sqlite_store_passes_factor_conformance() {
        let pool = connect(&DbConfig::with_schema("mfa"), &MIGRATIONS)
            .await
            .unwrap();

        conformance::factor_store(&SqlFactorStore::new(pool)).await;
    }
}
