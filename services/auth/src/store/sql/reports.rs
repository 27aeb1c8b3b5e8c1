//! One-time report tokens of security emails, spent by a `DELETE` that
//! only one caller's statement can hit.

use sqlx::{AnyPool, Row};

use crate::store::StoreError;

/// Stores a token, deleting first the tokens expired by `now`: nothing
/// else clears those that nobody uses.
pub(super) async fn insert(
    pool: &AnyPool,
    digest: &str,
    member_id: &str,
    now: i64,
    expires_at: i64,
) -> Result<(), StoreError> {
    sqlx::query("DELETE FROM report_tokens WHERE expires_at <= $1")
        .bind(now)
        .execute(pool)
        .await?;
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

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use countersign_kit::db::{DbConfig, connect};

    use crate::{
        domain::{Member, MfaPolicy, Organization, Role},
        store::{AuthStore, InvitationRecord, MemberRecord, SqlStore, sql::MIGRATIONS},
    };

    const NOW: i64 = 1_800_000_000_000;

    async fn count(pool: &sqlx::AnyPool, table: &str) -> i64 {
        let sql = format!("SELECT COUNT(*) FROM {table}");
        sqlx::query_scalar(&sql).fetch_one(pool).await.unwrap()
    }

    fn invitation(digest: &str, email: &str, created_at: i64) -> InvitationRecord {
        InvitationRecord {
            token_digest: digest.to_string(),
            organization_id: "org-1".to_string(),
            email: email.to_string(),
            role: Role::Member,
            invited_by: "member-1".to_string(),
            created_at,
            expires_at: created_at + 10,
        }
    }

    #[tokio::test]
    async fn expired_tokens_and_invitations_are_deleted_by_the_next_ones() {
        let pool = connect(&DbConfig::with_schema("auth"), &MIGRATIONS)
            .await
            .unwrap();
        let store = SqlStore::new(pool.clone());
        let organization = Organization {
            id: "org-1".to_string(),
            name: "Ledger & Co".to_string(),
            plan: "essential".to_string(),
            policy: MfaPolicy::default(),
        };
        let owner = MemberRecord {
            member: Member {
                id: "member-1".to_string(),
                organization_id: "org-1".to_string(),
                email: "owner@example.com".to_string(),
                role: Role::Owner,
                locked: false,
            },
            password_hash: SecretString::from("$argon2id$stored"),
        };
        store
            .create_organization(&organization, &owner, NOW)
            .await
            .unwrap();
        store
            .insert_report_token("old", "member-1", NOW, NOW + 10)
            .await
            .unwrap();
        store
            .put_invitation(&invitation("old", "a@example.com", NOW))
            .await
            .unwrap();

        store
            .insert_report_token("new", "member-1", NOW + 9, NOW + 19)
            .await
            .unwrap();
        store
            .put_invitation(&invitation("new", "b@example.com", NOW + 9))
            .await
            .unwrap();
        assert_eq!(count(&pool, "report_tokens").await, 2);
        assert_eq!(count(&pool, "invitations").await, 2);
        store
            .insert_report_token("newer", "member-1", NOW + 10, NOW + 20)
            .await
            .unwrap();
        store
            .put_invitation(&invitation("newer", "c@example.com", NOW + 10))
            .await
            .unwrap();

        assert_eq!(count(&pool, "report_tokens").await, 2);
        assert_eq!(count(&pool, "invitations").await, 2);
        assert!(
            store
                .take_report_token("old", NOW + 9)
                .await
                .unwrap()
                .is_none()
        );
        assert!(
            store
                .live_invitation("new", NOW + 10)
                .await
                .unwrap()
                .is_some()
        );
    }
}
