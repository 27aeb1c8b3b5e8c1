//! The audit log: rows are only ever inserted (triggers in the migrations
//! refuse updates and deletes), `seq` orders them and is the page cursor.
//! Absent ids and addresses are stored as '', the detail as a JSON object.
//!
//! On Postgres `seq` comes from a sequence, drawn at insert but visible at
//! commit, so an event whose transaction commits late can appear below a
//! cursor a reader already passed; a reader paging at that instant misses
//! it, a later listing shows it.

use std::collections::BTreeMap;

use sqlx::{AnyPool, Row, any::AnyRow};

use super::rows::corrupt;
use crate::{
    domain::{AuditEvent, AuditFilter, AuditKind, Outcome},
    store::{AuditRow, StoreError},
};

const AUDIT_COLUMNS: &str = "seq, id, organization_id, occurred_at, kind, actor_id, subject_id, \
     client_address, outcome, detail";

/// An optional text as stored.
fn stored(value: &Option<String>) -> &str {
    value.as_deref().unwrap_or("")
}

fn optional(text: String) -> Option<String> {
    (!text.is_empty()).then_some(text)
}

fn audit_row(row: &AnyRow) -> Result<AuditRow, StoreError> {
    let kind: &str = row.try_get("kind")?;
    let outcome: &str = row.try_get("outcome")?;
    let detail: &str = row.try_get("detail")?;
    let detail: BTreeMap<String, String> =
        serde_json::from_str(detail).map_err(|_| corrupt("detail", detail))?;
    Ok(AuditRow {
        seq: row.try_get("seq")?,
        event: AuditEvent {
            id: row.try_get("id")?,
            organization_id: row.try_get("organization_id")?,
            occurred_at: row.try_get("occurred_at")?,
            kind: AuditKind::parse(kind).ok_or_else(|| corrupt("kind", kind))?,
            actor_id: optional(row.try_get("actor_id")?),
            subject_id: optional(row.try_get("subject_id")?),
            client_address: optional(row.try_get("client_address")?),
            outcome: Outcome::parse(outcome).ok_or_else(|| corrupt("outcome", outcome))?,
            detail,
        },
    })
}

pub(super) async fn append(pool: &AnyPool, event: &AuditEvent) -> Result<(), StoreError> {
    let detail = serde_json::to_string(&event.detail).map_err(|e| StoreError::Other(e.into()))?;
    sqlx::query(
        "INSERT INTO audit_events (id, organization_id, occurred_at, kind, actor_id, \
         subject_id, client_address, outcome, detail) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
    )
    .bind(&event.id)
    .bind(&event.organization_id)
    .bind(event.occurred_at)
    .bind(event.kind.as_str())
    .bind(stored(&event.actor_id))
    .bind(stored(&event.subject_id))
    .bind(stored(&event.client_address))
    .bind(event.outcome.as_str())
    .bind(detail)
    .execute(pool)
    .await?;
    Ok(())
}

/// A value for a numbered placeholder.
enum Value<'a> {
    Text(&'a str),
    Int(i64),
}

/// The conditions of a listing, written with numbered placeholders whose
/// values are bound in order: no value ever enters the SQL text.
#[derive(Default)]
struct Conditions<'a> {
    clauses: Vec<String>,
    values: Vec<Value<'a>>,
}

impl<'a> Conditions<'a> {
    /// Takes a value; its placeholder.
    fn bind(&mut self, value: Value<'a>) -> String {
        self.values.push(value);
        format!("${}", self.values.len())
    }

    /// Adds a condition on one value, written by `clause` around its
    /// placeholder.
    fn push(&mut self, value: Value<'a>, clause: impl FnOnce(&str) -> String) {
        let placeholder = self.bind(value);
        self.clauses.push(clause(&placeholder));
    }

    fn push_kinds(&mut self, kinds: &[AuditKind]) {
        if kinds.is_empty() {
            return;
        }
        let placeholders: Vec<String> = kinds
            .iter()
            .map(|k| self.bind(Value::Text(k.as_str())))
            .collect();
        self.clauses
            .push(format!("kind IN ({})", placeholders.join(", ")));
    }
}

/// The listing's SQL and its values.
fn list_query<'a>(
    organization_id: &'a str,
    filter: &'a AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> (String, Vec<Value<'a>>) {
    let mut conditions = Conditions::default();
    conditions.push(Value::Text(organization_id), |p| {
        format!("organization_id = {p}")
    });
    if let Some(member_id) = &filter.member_id {
        conditions.push(Value::Text(member_id), |p| {
            format!("(actor_id = {p} OR subject_id = {p})")
        });
    }
    conditions.push_kinds(&filter.kinds);
    if let Some(start) = filter.start {
        conditions.push(Value::Int(start), |p| format!("occurred_at >= {p}"));
    }
    if let Some(end) = filter.end {
        conditions.push(Value::Int(end), |p| format!("occurred_at < {p}"));
    }
    if let Some(before) = before {
        conditions.push(Value::Int(before), |p| format!("seq < {p}"));
    }
    let limit = conditions.bind(Value::Int(i64::from(limit)));
    let sql = format!(
        "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE {} ORDER BY seq DESC LIMIT {limit}",
        conditions.clauses.join(" AND ")
    );
    (sql, conditions.values)
}

pub(super) async fn list(
    pool: &AnyPool,
    organization_id: &str,
    filter: &AuditFilter,
    before: Option<i64>,
    limit: u32,
) -> Result<Vec<AuditRow>, StoreError> {
    let (sql, values) = list_query(organization_id, filter, before, limit);
    let mut query = sqlx::query(&sql);
    for value in values {
        query = match value {
            Value::Text(text) => query.bind(text),
            Value::Int(int) => query.bind(int),
        };
    }
    let rows = query.fetch_all(pool).await?;
    rows.iter().map(audit_row).collect()
}

/// The place in the log of an organization's event, by its id.
pub(super) async fn position(
    pool: &AnyPool,
    organization_id: &str,
    event_id: &str,
) -> Result<Option<i64>, StoreError> {
    let row = sqlx::query("SELECT seq FROM audit_events WHERE organization_id = $1 AND id = $2")
        .bind(organization_id)
        .bind(event_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.map(|r| r.try_get(0)).transpose()?)
}

#[cfg(any(test, feature = "conformance"))]
impl super::SqlStore {
    /// Tries to rewrite, then to remove, an organization's audit events
    /// behind the trait's back; what each attempt returned. For checks
    /// that the log refuses both.
    pub async fn tamper_with_audit_events(
        &self,
        organization_id: &str,
    ) -> (Result<u64, StoreError>, Result<u64, StoreError>) {
        let rewrite = "UPDATE audit_events SET outcome = 'success', detail = '{}' \
                       WHERE organization_id = $1";
        let remove = "DELETE FROM audit_events WHERE organization_id = $1";
        let updated = super::execute_keyed(&self.pool, rewrite, organization_id).await;
        let deleted = super::execute_keyed(&self.pool, remove, organization_id).await;
        (updated, deleted)
    }
}

#[cfg(test)]
mod tests {
    use countersign_kit::db::{DbConfig, connect};

    use super::*;
    use crate::store::{AuthStore, SqlStore, sql::MIGRATIONS};

    fn event(organization_id: &str) -> AuditEvent {
        AuditEvent {
            id: "event-1".to_string(),
            organization_id: organization_id.to_string(),
            occurred_at: 1_800_000_000_000,
            kind: AuditKind::LoginFailed,
            actor_id: None,
            subject_id: Some("member-1".to_string()),
            client_address: Some("192.0.2.7".to_string()),
            outcome: Outcome::Failure,
            detail: BTreeMap::from([("reason".to_string(), "password".to_string())]),
        }
    }

    #[tokio::test]
    async fn audit_events_survive_update_and_delete_on_sqlite() {
        let pool = connect(&DbConfig::with_schema("auth"), &MIGRATIONS)
            .await
            .unwrap();
        let store = SqlStore::new(pool);
        store.append_audit_event(&event("org-1")).await.unwrap();

        let (updated, deleted) = store.tamper_with_audit_events("org-1").await;

        assert!(matches!(updated, Err(StoreError::Other(_))));
        assert!(matches!(deleted, Err(StoreError::Other(_))));
        let rows = store
            .list_audit_events("org-1", &AuditFilter::default(), None, 10)
            .await
            .unwrap();
        let events: Vec<_> = rows.into_iter().map(|r| r.event).collect();
        assert_eq!(events, [event("org-1")]);
    }

    #[test]
    fn list_query_binds_every_value_to_a_numbered_placeholder() {
        let filter = AuditFilter {
            member_id: Some("m' OR 1=1 --".to_string()),
            kinds: vec![AuditKind::MfaReset, AuditKind::LoginFailed],
            start: Some(10),
            end: Some(20),
        };

        let (sql, values) = list_query("org-1", &filter, Some(99), 50);

        assert_eq!(
            sql,
            format!(
                "SELECT {AUDIT_COLUMNS} FROM audit_events WHERE organization_id = $1 \
                 AND (actor_id = $2 OR subject_id = $2) AND kind IN ($3, $4) \
                 AND occurred_at >= $5 AND occurred_at < $6 AND seq < $7 \
                 ORDER BY seq DESC LIMIT $8"
            )
        );
        assert_eq!(values.len(), 8);
        assert!(matches!(values[1], Value::Text("m' OR 1=1 --")));
        assert!(matches!(values[7], Value::Int(50)));
    }

    #[test]
    fn list_query_without_filters_takes_organization_and_limit() {
        let filter = AuditFilter::default();

        let (sql, values) = list_query("org-1", &filter, None, 5);

        assert!(sql.ends_with("WHERE organization_id = $1 ORDER BY seq DESC LIMIT $2"));
        assert_eq!(values.len(), 2);
    }
}
