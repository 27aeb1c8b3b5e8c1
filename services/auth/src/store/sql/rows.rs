//! Turning rows into records: the column lists the queries share and the
//! stored encodings (flags and times as integers, lists as comma-separated
//! names, 0 or '' for "none").

use secrecy::SecretString;
use sqlx::{Row, any::AnyRow};

use crate::{
    domain::{Member, Method, MfaPolicy, Organization, Proof, Role, Scope},
    store::{ChallengeRecord, MemberRecord, SessionRow, StoreError},
};

/// Columns of a member, as [`member`] reads them.
pub(super) const MEMBER_COLUMNS: &str = "id, organization_id, email, role, locked_at";

/// Columns of an organization, as [`organization`] reads them: the id
/// under the name a member's row gives it, so one joined row can decode
/// into both.
pub(super) const ORGANIZATION_COLUMNS: &str =
    "id AS organization_id, name, plan, mfa_required, mfa_grace_until";

/// A live session with its member and organization: `$1` the digest, `$2`
/// now. Each column is selected once, so [`session_row`] reads them by name
/// with [`member`] and [`organization`].
pub(super) const SESSION_QUERY: &str = "SELECT m.id AS id, \
     m.organization_id AS organization_id, m.email AS email, m.role AS role, \
     m.locked_at AS locked_at, o.name AS name, o.plan AS plan, \
     o.mfa_required AS mfa_required, o.mfa_grace_until AS mfa_grace_until, \
     s.factors AS factors, s.scope AS scope, s.expires_at AS expires_at \
     FROM sessions s JOIN members m ON m.id = s.member_id \
     JOIN organizations o ON o.id = m.organization_id \
     WHERE s.token_digest = $1 AND s.expires_at > $2";

pub(super) const CHALLENGE_COLUMNS: &str =
    "token_digest, member_id, methods, attempts, created_at, expires_at";

/// A row that does not decode into a record.
pub(super) fn corrupt(what: &str, text: &str) -> StoreError {
    StoreError::Other(anyhow::anyhow!("unknown {what} {text:?}"))
}

pub(super) fn role(text: &str) -> Result<Role, StoreError> {
    Role::parse(text).ok_or_else(|| corrupt("role", text))
}

fn scope(text: &str) -> Result<Scope, StoreError> {
    Scope::parse(text).ok_or_else(|| corrupt("scope", text))
}

pub(super) fn join<T: Copy>(items: &[T], name: fn(T) -> &'static str) -> String {
    items.iter().map(|i| name(*i)).collect::<Vec<_>>().join(",")
}

fn split<T>(text: &str, parse: fn(&str) -> Option<T>) -> Result<Vec<T>, StoreError> {
    text.split(',')
        .filter(|s| !s.is_empty())
        .map(|s| parse(s).ok_or_else(|| corrupt("value", s)))
        .collect()
}

/// An attempt count as stored (INTEGER).
pub(super) fn attempt_count(count: u32) -> i32 {
    i32::try_from(count).unwrap_or(i32::MAX)
}

/// A policy as stored: `mfa_required` 0 or 1, `mfa_grace_until` 0 for none.
pub(super) fn stored_policy(policy: &MfaPolicy) -> (i32, i64) {
    (i32::from(policy.required), policy.grace_until.unwrap_or(0))
}

fn policy(required: i32, grace_until: i64) -> MfaPolicy {
    MfaPolicy {
        required: required != 0,
        grace_until: (grace_until != 0).then_some(grace_until),
    }
}

/// A member from the columns of [`MEMBER_COLUMNS`].
pub(super) fn member(row: &AnyRow) -> Result<Member, StoreError> {
    let locked_at: i64 = row.try_get("locked_at")?;
    Ok(Member {
        id: row.try_get("id")?,
        organization_id: row.try_get("organization_id")?,
        email: row.try_get("email")?,
        role: role(row.try_get("role")?)?,
        locked: locked_at != 0,
    })
}

/// A member and their hash from [`MEMBER_COLUMNS`] and `password_hash`.
pub(super) fn member_record(row: &AnyRow) -> Result<MemberRecord, StoreError> {
    Ok(MemberRecord {
        member: member(row)?,
        password_hash: SecretString::from(row.try_get::<String, _>("password_hash")?),
    })
}

/// An organization from the columns of [`ORGANIZATION_COLUMNS`].
pub(super) fn organization(row: &AnyRow) -> Result<Organization, StoreError> {
    Ok(Organization {
        id: row.try_get("organization_id")?,
        name: row.try_get("name")?,
        plan: row.try_get("plan")?,
        policy: policy(
            row.try_get("mfa_required")?,
            row.try_get("mfa_grace_until")?,
        ),
    })
}

/// A row of [`SESSION_QUERY`].
pub(super) fn session_row(row: &AnyRow) -> Result<SessionRow, StoreError> {
    Ok(SessionRow {
        member: member(row)?,
        organization: organization(row)?,
        proofs: split(row.try_get("factors")?, Proof::parse)?,
        scope: scope(row.try_get("scope")?)?,
        expires_at: row.try_get("expires_at")?,
    })
}

/// A challenge from the columns of [`CHALLENGE_COLUMNS`].
pub(super) fn challenge_record(row: &AnyRow) -> Result<ChallengeRecord, StoreError> {
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
