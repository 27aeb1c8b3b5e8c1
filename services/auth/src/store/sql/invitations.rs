//! Invitations: one pending per organization and email, found by the
//! digest of its link token and spent by the `DELETE` that joins the
//! invitee, so only one caller can spend it.

use sqlx::{AnyPool, Row, any::AnyRow};

use super::{organizations::insert_member_row, rows::role};
use crate::{
    domain::Member,
    store::{InvitationRecord, Joining, StoreError},
};

const INVITATION_COLUMNS: &str =
    "token_digest, organization_id, email, role, invited_by, created_at, expires_at";

fn invitation(row: &AnyRow) -> Result<InvitationRecord, StoreError> {
    Ok(InvitationRecord {
        token_digest: row.try_get("token_digest")?,
        organization_id: row.try_get("organization_id")?,
        email: row.try_get("email")?,
        role: role(row.try_get("role")?)?,
        invited_by: row.try_get("invited_by")?,
        created_at: row.try_get("created_at")?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// Stores an invitation in one upsert: a second invitation of the same
/// address takes the row over, digest included, so the first link dies.
/// Invitations expired by then are deleted first: nothing else clears
/// those that nobody accepts.
pub(super) async fn put(pool: &AnyPool, invitation: &InvitationRecord) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM invitations WHERE expires_at <= $1")
        .bind(invitation.created_at)
        .execute(pool)
        .await?;
    sqlx::query(
        "INSERT INTO invitations \
         (token_digest, organization_id, email, role, invited_by, created_at, expires_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) \
         ON CONFLICT (organization_id, email) DO UPDATE SET \
         token_digest = excluded.token_digest, role = excluded.role, \
         invited_by = excluded.invited_by, created_at = excluded.created_at, \
         expires_at = excluded.expires_at",
    )
    .bind(&invitation.token_digest)
    .bind(&invitation.organization_id)
    .bind(&invitation.email)
    .bind(invitation.role.as_str())
    .bind(&invitation.invited_by)
    .bind(invitation.created_at)
    .bind(invitation.expires_at)
    .execute(pool)
    .await?;
    Ok(())
}

pub(super) async fn live(
    pool: &AnyPool,
    digest: &str,
    now: i64,
) -> Result<Option<InvitationRecord>, StoreError> {
    let sql = format!(
        "SELECT {INVITATION_COLUMNS} FROM invitations \
         WHERE token_digest = $1 AND expires_at > $2"
    );
    let row = sqlx::query(&sql)
        .bind(digest)
        .bind(now)
        .fetch_optional(pool)
        .await?;
    row.as_ref().map(invitation).transpose()
}

/// Spends the invitation and adds the member in one transaction. Any
/// early return drops the transaction, which rolls it back: a taken email
/// leaves the invitation in place.
pub(super) async fn accept(
    pool: &AnyPool,
    digest: &str,
    joining: &Joining,
) -> Result<Option<Member>, StoreError> {
    let sql = format!(
        "DELETE FROM invitations WHERE token_digest = $1 AND expires_at > $2 \
         RETURNING {INVITATION_COLUMNS}"
    );
    let mut tx = pool.begin().await?;
    let row = sqlx::query(&sql)
        .bind(digest)
        .bind(joining.now)
        .fetch_optional(&mut *tx)
        .await?;
    let Some(spent) = row.as_ref().map(invitation).transpose()? else {
        return Ok(None);
    };
    let member = Member {
        id: joining.member_id.clone(),
        organization_id: spent.organization_id,
        email: spent.email,
        role: spent.role,
        locked: false,
    };
    insert_member_row(&mut *tx, &member, &joining.password_hash, joining.now).await?;
    tx.commit().await?;
    Ok(Some(member))
}
