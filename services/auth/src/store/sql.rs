//! [`AuthStore`] on Postgres or SQLite through one sqlx `Any` pool. Races
//! are left to the database: a spend is a `DELETE ... RETURNING` that only
//! one caller's statement can hit, a change of state an `UPDATE` guarded by
//! the state it leaves, judged by its affected-row count.
//!
//! - [`rows`]: column lists and decoding rows into records;
//! - [`organizations`]: plans, policies, adding, listing and locking members;
//! - [`invitations`]: invitations and joining through them;
//! - [`reports`]: one-time report tokens;
//! - [`audit`]: the append-only audit log;
//! - [`failures`]: password-failure counters.

mod audit;
mod failures;
mod invitations;
mod organizations;
mod reports;
mod rows;

use async_trait::async_trait;
use sqlx::{AnyPool, migrate::Migrator};

use countersign_kit::db::Migrations;

use self::organizations::insert_member_row;
use self::rows::{
    CHALLENGE_COLUMNS, MEMBER_COLUMNS, ORGANIZATION_COLUMNS, SESSION_QUERY, attempt_count,
    challenge_record, join, member, member_record, organization, session_row, stored_policy,
};
use super::{
    AuditRow, AuthStore, ChallengeRecord, FailureCount, FailureKey, InvitationRecord, Joining,
    MemberRecord, SessionRecord, SessionRow, StoreError,
};
use crate::domain::{
    AuditEvent, AuditFilter, FailureRule, Member, Method, MfaPolicy, Organization, Proof, Scope,
};

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
        Ok(execute_keyed(&self.pool, sql, digest).await? == 1)
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

/// Runs a statement whose one parameter `$1` is `key`; how many rows it
/// touched.
async fn execute_keyed<'e, E>(exec: E, sql: &str, key: &str) -> Result<u64, StoreError>
where
    E: sqlx::Executor<'e, Database = sqlx::Any>,
{
    let done = sqlx::query(sql).bind(key).execute(exec).await?;
    Ok(done.rows_affected())
}

#[async_trait]
impl AuthStore for SqlStore {
    async fn create_organization(
        &self,
        organization: &Organization,
        owner: &MemberRecord,
        now: i64,
    ) -> Result<(), StoreError> {
        let (required, grace_until) = stored_policy(&organization.policy);
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO organizations \
             (id, name, plan, mfa_required, mfa_grace_until, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&organization.id)
        .bind(&organization.name)
        .bind(&organization.plan)
        .bind(required)
        .bind(grace_until)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        insert_member_row(&mut *tx, &owner.member, &owner.password_hash, now).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn insert_member(&self, member: &MemberRecord, now: i64) -> Result<(), StoreError> {
        insert_member_row(&self.pool, &member.member, &member.password_hash, now).await
    }

    async fn member_by_email(&self, email: &str) -> Result<Option<MemberRecord>, StoreError> {
        let sql = format!("SELECT {MEMBER_COLUMNS}, password_hash FROM members WHERE email = $1");
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
        row.as_ref().map(member).transpose()
    }

    async fn organization(&self, id: &str) -> Result<Option<Organization>, StoreError> {
        let sql = format!("SELECT {ORGANIZATION_COLUMNS} FROM organizations WHERE id = $1");
        let row = sqlx::query(&sql)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(organization).transpose()
    }

    async fn insert_session(&self, session: &SessionRecord) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO sessions \
             (token_digest, member_id, factors, scope, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&session.token_digest)
        .bind(&session.member_id)
        .bind(join(&session.proofs, Proof::as_str))
        .bind(session.scope.as_str())
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
        let done = sqlx::query(
            "DELETE FROM sessions \
             WHERE member_id = $1 AND (token_digest <> $2 OR scope <> $3)",
        )
        .bind(member_id)
        .bind(keep.unwrap_or(""))
        .bind(Scope::Full.as_str())
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

    async fn set_plan(&self, organization_id: &str, plan: &str) -> Result<bool, StoreError> {
        organizations::set_plan(&self.pool, organization_id, plan).await
    }

    async fn set_policy(
        &self,
        organization_id: &str,
        policy: &MfaPolicy,
    ) -> Result<bool, StoreError> {
        organizations::set_policy(&self.pool, organization_id, policy).await
    }

    async fn list_members(
        &self,
        organization_id: &str,
        after: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Member>, StoreError> {
        organizations::list_members(&self.pool, organization_id, after, limit).await
    }

    async fn lock_member(&self, member_id: &str, now: i64) -> Result<bool, StoreError> {
        organizations::lock_member(&self.pool, member_id, now).await
    }

    async fn unlock_member(&self, member_id: &str) -> Result<bool, StoreError> {
        organizations::unlock_member(&self.pool, member_id).await
    }

    async fn add_session_proof(
        &self,
        digest: &str,
        member_id: &str,
        proof: Proof,
    ) -> Result<bool, StoreError> {
        organizations::add_session_proof(&self.pool, digest, member_id, proof).await
    }

    async fn delete_member_challenges(&self, member_id: &str) -> Result<u64, StoreError> {
        organizations::delete_member_challenges(&self.pool, member_id).await
    }

    async fn put_invitation(&self, invitation: &InvitationRecord) -> Result<(), StoreError> {
        invitations::put(&self.pool, invitation).await
    }

    async fn live_invitation(
        &self,
        digest: &str,
        now: i64,
    ) -> Result<Option<InvitationRecord>, StoreError> {
        invitations::live(&self.pool, digest, now).await
    }

    async fn accept_invitation(
        &self,
        digest: &str,
        joining: &Joining,
    ) -> Result<Option<Member>, StoreError> {
        invitations::accept(&self.pool, digest, joining).await
    }

    async fn insert_report_token(
        &self,
        digest: &str,
        member_id: &str,
        now: i64,
        expires_at: i64,
    ) -> Result<(), StoreError> {
        reports::insert(&self.pool, digest, member_id, now, expires_at).await
    }

    async fn take_report_token(
        &self,
        digest: &str,
        now: i64,
    ) -> Result<Option<String>, StoreError> {
        reports::take(&self.pool, digest, now).await
    }

    async fn append_audit_event(&self, event: &AuditEvent) -> Result<(), StoreError> {
        audit::append(&self.pool, event).await
    }

    async fn list_audit_events(
        &self,
        organization_id: &str,
        filter: &AuditFilter,
        before: Option<i64>,
        limit: u32,
    ) -> Result<Vec<AuditRow>, StoreError> {
        audit::list(&self.pool, organization_id, filter, before, limit).await
    }

    async fn audit_position(
        &self,
        organization_id: &str,
        event_id: &str,
    ) -> Result<Option<i64>, StoreError> {
        audit::position(&self.pool, organization_id, event_id).await
    }
}
