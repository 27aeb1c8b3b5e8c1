//! [`AuthStore`] on Postgres or SQLite through one sqlx `Any` pool.

mod failures;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use sqlx::{AnyPool, Row, any::AnyRow, migrate::Migrator};

use countersign_kit::db::Migrations;

use super::{
    AuthStore, ChallengeRecord, FailureCount, FailureKey, MemberRecord, SessionRecord, SessionRow,
    StoreError,
};
use crate::domain::{FailureRule, Member, Method, Organization, Proof, Role};

static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The auth service's migrations.
pub const MIGRATIONS: Migrations = Migrations {
    postgres: &POSTGRES,
    sqlite: &SQLITE,
};

/// Auth storage in SQL.
#[derive(Clone)]
pub struct SqlStore {
    pool: AnyPool,
}

impl SqlStore {
    /// A store over a connected, migrated pool.
    pub fn new(pool: AnyPool) -> Self {
        Self { pool }
    }

    /// Runs a statement that deletes by token digest; whether a row went.
    async fn delete_by_digest(&self, sql: &str, digest: &str) -> Result<bool, StoreError> {
        let done = sqlx::query(sql).bind(digest).execute(&self.pool).await?;
        Ok(done.rows_affected() == 1)
    }

    /// Runs a challenge query taking the digest, the time and the attempt
    /// limit as `$1`, `$2`, `$3`.
    async fn challenge_where_live(
        &self,
        sql: &str,
        digest: &str,
        now: i64,
        max_attempts: u32,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let row = sqlx::query(sql)
            .bind(digest)
            .bind(now)
            .bind(attempt_count(max_attempts))
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(challenge_record).transpose()
    }
}

/// An attempt count as stored (INTEGER).
fn attempt_count(count: u32) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

const MEMBER_COLUMNS: &str = "id, organization_id, email, role, password_hash";

const SESSION_QUERY: &str = "SELECT m.id, m.organization_id, m.email, m.role, \
     o.name, o.plan, s.factors, s.expires_at \
     FROM sessions s JOIN members m ON m.id = s.member_id \
     JOIN organizations o ON o.id = m.organization_id \
     WHERE s.token_digest = $1 AND s.expires_at > $2";

const CHALLENGE_COLUMNS: &str =
    "token_digest, member_id, methods, attempts, created_at, expires_at";

fn role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| StoreError::Other(anyhow::anyhow!("unknown role {text:?}")))
}

fn join<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> String {
    items.iter().map(|i| name(*i)).collect::<Vec<_>>().join(",")
}

fn split<T>(text: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, StoreError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).ok_or_else(|| StoreError::Other(anyhow::anyhow!("unknown value {s:?}"))))
        .collect()
}

fn member_record(row: &AnyRow) -> Result<MemberRecord, StoreError> {
    Ok(MemberRecord {
        member: Member {
            id: row.try_get("id")?,
            organization_id: row.try_get("organization_id")?,
            email: row.try_get("email")?,
            role: role(row.try_get("role")?)?,
        },
        password_hash: SecretString::from(row.try_get::<String, _>("password_hash")?),
    })
}

fn session_row(row: &AnyRow) -> Result<SessionRow, StoreError> {
    let organization_id: String = row.try_get(1)?;
    Ok(SessionRow {
        member: Member {
            id: row.try_get(0)?,
            organization_id: organization_id.clone(),
            email: row.try_get(2)?,
            role: role(row.try_get(3)?)?,
        },
        organization: Organization {
            id: organization_id,
            name: row.try_get(4)?,
            plan: row.try_get(5)?,
        },
        proofs: split(row.try_get(6)?, Proof::parse)?,
        expires_at: row.try_get(7)?,
    })
}

fn challenge_record(row: &AnyRow) -> Result<ChallengeRecord, StoreError> {
    let attempts: i32 = row.try_get("attempts")?;
    Ok(ChallengeRecord {
        token_digest: row.try_get("token_digest")?,
        member_id: row.try_get("member_id")?,
        methods: split(row.try_get("methods")?, Method::parse)?,
        attempts: u32::try_from(attempts).unwrap_or(0),
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

async fn insert_member_with<'e, E>(
    exec: E,
    record: &MemberRecord,
    now: i64,
) -> Result<(), StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let m = &record.member;
    sqlx::query(
        "INSERT INTO members (id, organization_id, email, role, password_hash, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(&m.id)
    .bind(&m.organization_id)
    .bind(&m.email)
    .bind(m.role.as_str())
    .bind(record.password_hash.expose_secret())
    .bind(now)
    .execute(exec)
    .await?;
    Ok(())
}

#[async_trait]
impl AuthStore for SqlStore {
    async fn create_organization(
        &self,
        organization: &Organization,
        owner: &MemberRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO organizations (id, name, plan, created_at) VALUES ($1, $2, $3, $4)",
        )
        .bind(&organization.id)
        .bind(&organization.name)
        .bind(&organization.plan)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_member_with(&mut *tx, owner, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_member(&self, member: &MemberRecord, now: i64) -> Result<(), StoreError> {
        insert_member_with(&self.pool, member, now).await
    }

    async fn member_by_email(&self, email: &str) -> Result<Option<MemberRecord>, StoreError> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE email = $1");
        let row = sqlx::query(&sql)
            .bind(email)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(member_record).transpose()
    }

    async fn member_by_id(&self, id: &str) -> Result<Option<Member>, StoreError> {
        let sql = format!("SELECT {MEMBER_COLUMNS} FROM members WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        Ok(row
            .as_ref()
            .map(member_record)
            .transpose()?
            .map(|r| r.member))
    }

    async fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        let row = sqlx::query("SELECT id, name, plan FROM organizations WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        let organization = |row: AnyRow| -> Result<Organization, StoreError> {
            Ok(Organization {
                id: row.try_get(0)?,
                name: row.try_get(1)?,
                plan: row.try_get(2)?,
            })
        };
        row.map(organization).transpose()
    }

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions (token_digest, member_id, factors, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5)",
        )
        .bind(&session.token_digest)
        .bind(&session.member_id)
        .bind(join(&session.proofs, Proof::as_str))
        .bind(session.created_at)
        .bind(session.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn live_session(&self, digest: &str, now: i64) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(SESSION_QUERY)
            .bind(digest)
            .bind(now)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(session_row).transpose()
    }

    async fn delete_session(&self, digest: &str) -> Result<bool, StoreError> {
        self.delete_by_digest("DELETE FROM sessions WHERE token_digest = $1", digest)
            .await
    }

    async fn delete_member_sessions(
        &self,
        member_id: &str,
        keep: Option<&str>,
    ) -> Result<u64, StoreError> {
        let done = sqlx::query("DELETE FROM sessions WHERE member_id = $1 AND token_digest <> $2")
            .bind(member_id)
            .bind(keep.unwrap_or(""))
            .execute(&self.pool)
            .await?;
        Ok(done.rows_affected())
    }

    async fn insert_challenge(&self, challenge: &ChallengeRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO challenges (token_digest, member_id, methods, attempts, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&challenge.token_digest)
        .bind(&challenge.member_id)
        .bind(join(&challenge.methods, Method::as_str))
        .bind(attempt_count(challenge.attempts))
        .bind(challenge.created_at)
        .bind(challenge.expires_at)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn live_challenge(
        &self,
        digest: &str,
        now: i64,
        max_attempts: u32,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let sql = format!(
            "SELECT {CHALLENGE_COLUMNS} FROM challenges \
             WHERE token_digest = $1 AND expires_at > $2 AND attempts < $3"
        );
        self.challenge_where_live(&sql, digest, now, max_attempts)
            .await
    }

    async fn record_challenge_attempt(
        &self,
        digest: &str,
        now: i64,
        max_attempts: u32,
    ) -> Result<Option<ChallengeRecord>, StoreError> {
        let sql = format!(
            "UPDATE challenges SET attempts = attempts + 1 \
             WHERE token_digest = $1 AND expires_at > $2 AND attempts < $3 \
             RETURNING {CHALLENGE_COLUMNS}"
        );
        self.challenge_where_live(&sql, digest, now, max_attempts)
            .await
    }

    async fn consume_challenge(&self, digest: &str) -> Result<bool, StoreError> {
        self.delete_by_digest("DELETE FROM challenges WHERE token_digest = $1", digest)
            .await
    }

    async fn login_blocked_until(
        &self,
        key: &FailureKey<'_>,
        now: i64,
    ) -> Result<Option<i64>, StoreError> {
        failures::blocked_until(&self.pool, key, now).await
    }

    async fn record_login_failure(
        &self,
        key: &FailureKey<'_>,
        rule: &FailureRule,
        now: i64,
    ) -> Result<FailureCount, StoreError> {
        failures::record(&self.pool, key, rule, now).await
    }

    async fn clear_login_failures(&self, key: &FailureKey<'_>) -> Result<(), StoreError> {
        failures::clear(&self.pool, key).await
    }

    async fn prune_login_failures(&self, now: i64) -> Result<u64, StoreError> {
        failures::prune(&self.pool, now).await
    }
}
