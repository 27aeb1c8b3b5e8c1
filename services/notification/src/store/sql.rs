//! The outbox in SQL, one set of portable queries for Postgres and SQLite
//! through sqlx's `Any` driver.
//!
//! A message's parameters may hold a sign-in code, so they are stored sealed
//! with AES-256-GCM under the configured key ring, the message id as
//! associated data, as `key_id.nonce.ciphertext` (base64); they are dropped
//! once the message is sent or given up.

use std::{collections::BTreeMap, sync::Arc};

use async_trait::async_trait;
use base64::{Engine, engine::general_purpose::STANDARD_NO_PAD};
use secrecy::ExposeSecret;
use sqlx::{
    Any, AnyPool, Row,
    any::{AnyArguments, AnyRow},
    migrate::Migrator,
    query::Query,
};

use countersign_kit::{
    db::{self, DbConfig, DbError, Migrations},
    seal::{KeyRing, Sealed},
};

use super::{Claimed, Delivery, Due, Enqueued, MessageId, OutboxStore, State, StoreError};
use crate::email::{EmailRequest, Params, Recipient, Template};

static POSTGRES: Migrator = sqlx::migrate!("./migrations/postgres");
static SQLITE: Migrator = sqlx::migrate!("./migrations/sqlite");

/// The parameters column of a message that no longer needs them.
const NO_PARAMS: &str = "{}";

/// An update of one attempt's outcome: the `UPDATE … SET` given (using
/// `$3` onwards) applies only while the message is pending and still on the
/// attempt bound as `$2` (`$1` is the id), so a worker whose lease was taken
/// over cannot overwrite the newer attempt's result.
macro_rules! attempt_update {
    ($set:literal) => {
        concat!(
            $set,
            " WHERE id = $1 AND state = 'pending' AND attempt_count = $2"
        )
    };
}
/// The query of an [`attempt_update!`] with the id and attempt bound.
fn attempt_query(sql: &str, id: MessageId, attempt: u32) -> Query<'_, Any, AnyArguments<'_>> {
    sqlx::query(sql)
        .bind(id.to_string())
        .bind(i64::from(attempt))
}

/// The outbox in a Postgres schema or a SQLite database.
#[derive(Debug, Clone)]
pub struct SqlOutboxStore {
    pool: AnyPool,
    keys: Arc<KeyRing>,
}

impl SqlOutboxStore {
    /// Connects to the database of `config` and migrates it; parameters
    /// are sealed under the last key of `keys` and opened with any.
    pub async fn connect(config: &DbConfig, keys: KeyRing) -> Result<Self, DbError> {
        let migrations = Migrations {
            postgres: &POSTGRES,
            sqlite: &SQLITE,
        };
        let pool = db::connect(config, &migrations).await?;
        Ok(Self {
            pool,
            keys: Arc::new(keys),
        })
    }

    fn seal_params(&self, id: MessageId, params: &Params) -> Result<String, StoreError> {
        let json = serde_json::to_string(params.as_map()).map_err(StoreError::Encode)?;
        let sealed = self
            .keys
            .seal(&id.to_string(), json.as_bytes())
            .map_err(|_| StoreError::Seal)?;
        let nonce = STANDARD_NO_PAD.encode(&sealed.nonce);
        let ciphertext = STANDARD_NO_PAD.encode(&sealed.ciphertext);
        Ok(format!("{}.{nonce}.{ciphertext}", sealed.key_id))
    }

    fn open_params(&self, id: MessageId, stored: &str) -> Result<Params, StoreError> {
        let corrupt = || StoreError::Corrupt("params");
        let mut parts = stored.splitn(3, '.');
        let (Some(key_id), Some(nonce), Some(ciphertext)) =
            (parts.next(), parts.next(), parts.next())
        else {
            return Err(corrupt());
        };
        let sealed = Sealed {
            key_id: key_id.to_string(),
            nonce: STANDARD_NO_PAD.decode(nonce).map_err(|_| corrupt())?,
            ciphertext: STANDARD_NO_PAD.decode(ciphertext).map_err(|_| corrupt())?,
        };
        let json = self
            .keys
            .open(&id.to_string(), &sealed)
            .map_err(|_| corrupt())?;
        let params: BTreeMap<String, String> =
            serde_json::from_slice(json.expose_secret()).map_err(|_| corrupt())?;
        Ok(Params::from_stored(params))
    }

    /// Closes the pool; later calls fail as unavailable.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

#[async_trait]
impl OutboxStore for SqlOutboxStore {
    async fn enqueue(&self, email: &EmailRequest, now: i64) -> Result<Enqueued, StoreError> {
        let id = MessageId::new(now);
        let params = self.seal_params(id, &email.params)?;
        let inserted = sqlx::query(
            "INSERT INTO outbox (id, idempotency_key, template, recipient, params, state, \
             attempt_count, next_attempt_at, enqueued_at) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $7) \
             ON CONFLICT (idempotency_key) DO NOTHING",
        )
        .bind(id.to_string())
        .bind(email.idempotency_key.as_str())
        .bind(email.template.as_str())
        .bind(email.recipient.as_str())
        .bind(params)
        .bind(now)
        .bind(now)
        .execute(&self.pool)
        .await?;
        let row = sqlx::query("SELECT id FROM outbox WHERE idempotency_key = $1")
            .bind(email.idempotency_key.as_str())
            .fetch_one(&self.pool)
            .await?;
        Ok(Enqueued {
            id: message_id(&row)?,
            created: inserted.rows_affected() == 1,
        })
    }

    async fn delivery(&self, id: MessageId) -> Result<Option<Delivery>, StoreError> {
        let row = sqlx::query(
            "SELECT id, template, state, attempt_count, enqueued_at, sent_at, last_error \
             FROM outbox WHERE id = $1",
        )
        .bind(id.to_string())
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(delivery).transpose()
    }

    async fn due(&self, now: i64, limit: u32) -> Result<Vec<Due>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, next_attempt_at FROM outbox \
             WHERE state = 'pending' AND next_attempt_at <= $1 \
             ORDER BY next_attempt_at, id LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|row| {
                Ok(Due {
                    id: message_id(row)?,
                    next_attempt_at: row.try_get("next_attempt_at")?,
                })
            })
            .collect()
    }

    async fn claim(&self, due: &Due, lease_until: i64) -> Result<Option<Claimed>, StoreError> {
        // The due time read earlier must still be there: of two workers that
        // read the same row, only the first update matches.
        let row = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1, attempt_count = attempt_count + 1 \
             WHERE id = $2 AND state = 'pending' AND next_attempt_at = $3 \
             RETURNING template, recipient, params, attempt_count",
        )
        .bind(lease_until)
        .bind(due.id.to_string())
        .bind(due.next_attempt_at)
        .fetch_optional(&self.pool)
        .await?;
        let Some(row) = row else { return Ok(None) };
        let params: String = row.try_get("params")?;
        // Parameters sealed under a key no longer configured are lost; the
        // message is still claimed, so a template that needs them fails it
        // for good instead of the claim failing on every attempt.
        let params = self.open_params(due.id, &params).unwrap_or_else(|error| {
            tracing::warn!(message_id = %due.id, %error, "message parameters do not open");
            Params::default()
        });
        claimed(due.id, &row, params).map(Some)
    }

    async fn mark_sent(&self, id: MessageId, attempt: u32, now: i64) -> Result<bool, StoreError> {
        let sql = attempt_update!(
            "UPDATE outbox SET state = 'sent', sent_at = $3, params = $4, last_error = NULL"
        );
        let query = attempt_query(sql, id, attempt).bind(now).bind(NO_PARAMS);
        Ok(query.execute(&self.pool).await?.rows_affected() == 1)
    }

    async fn reschedule(
        &self,
        id: MessageId,
        attempt: u32,
        next_attempt_at: i64,
        error: &str,
    ) -> Result<bool, StoreError> {
        let sql = attempt_update!("UPDATE outbox SET next_attempt_at = $3, last_error = $4");
        let query = attempt_query(sql, id, attempt)
            .bind(next_attempt_at)
            .bind(error);
        Ok(query.execute(&self.pool).await?.rows_affected() == 1)
    }

    async fn mark_failed(
        &self,
        id: MessageId,
        attempt: u32,
        error: &str,
    ) -> Result<bool, StoreError> {
        let sql =
            attempt_update!("UPDATE outbox SET state = 'failed', params = $3, last_error = $4");
        let query = attempt_query(sql, id, attempt).bind(NO_PARAMS).bind(error);
        Ok(query.execute(&self.pool).await?.rows_affected() == 1)
    }
}

fn message_id(row: &AnyRow) -> Result<MessageId, StoreError> {
    let id: String = row.try_get("id")?;
    MessageId::parse(&id).ok_or(StoreError::Corrupt("id"))
}

fn template(row: &AnyRow) -> Result<Template, StoreError> {
    let name: String = row.try_get("template")?;
    Template::from_name(&name).ok_or(StoreError::Corrupt("template"))
}

fn count(row: &AnyRow) -> Result<u32, StoreError> {
    let count: i64 = row.try_get("attempt_count")?;
    u32::try_from(count).map_err(|_| StoreError::Corrupt("attempt_count"))
}

fn delivery(row: &AnyRow) -> Result<Delivery, StoreError> {
    let state: String = row.try_get("state")?;
    Ok(Delivery {
        id: message_id(row)?,
        template: template(row)?,
        state: State::from_name(&state).ok_or(StoreError::Corrupt("state"))?,
        attempt_count: count(row)?,
        enqueued_at: row.try_get("enqueued_at")?,
        sent_at: row.try_get("sent_at")?,
        last_error: row.try_get("last_error")?,
    })
}

fn claimed(id: MessageId, row: &AnyRow, params: Params) -> Result<Claimed, StoreError> {
    let recipient: String = row.try_get("recipient")?;
    Ok(Claimed {
        id,
        template: template(row)?,
        recipient: Recipient::parse(&recipient).map_err(|_| StoreError::Corrupt("recipient"))?,
        params,
        attempt: count(row)?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::conformance;

    async fn fresh() -> SqlOutboxStore {
        let config = DbConfig::with_schema("notification");
        SqlOutboxStore::connect(&config, KeyRing::ephemeral())
            .await
            .unwrap()
    }

    /// One test per conformance check, on a fresh in-memory SQLite store.
    macro_rules! sqlite_conformance {
        ($($check:ident),* $(,)?) => {$(
            #[tokio::test]
            async fn $check() {
                conformance::$check(&fresh().await).await;
            }
        )*};
    }

    sqlite_conformance!(
        enqueue_is_idempotent_by_key,
        enqueued_message_is_pending_and_due,
        delivery_is_none_for_unknown_id,
        due_lists_earliest_first_within_limit,
        claim_is_won_by_exactly_one_claimer,
        claimed_message_is_not_due_until_lease_ends,
        expired_lease_can_be_claimed_again,
        sent_message_records_time_and_drops_params,
        rescheduled_message_records_error_and_due_time,
        failed_message_is_never_due_again,
        stale_claim_cannot_record_outcome,
    );

    fn ring(ids: &[&str]) -> KeyRing {
        let keys: Vec<_> = ids
            .iter()
            .map(|id| countersign_kit::seal::EncryptionKeyConfig {
                id: id.to_string(),
                key: base64::engine::general_purpose::STANDARD
                    .encode([id.as_bytes()[0]; 32])
                    .into(),
            })
            .collect();
        KeyRing::from_config(&keys).unwrap()
    }

    /// Enqueues a conformance request (code `012345`) under `key` with
    /// `writer` and claims it with `reader`.
    async fn enqueue_and_claim(
        key: &str,
        writer: &SqlOutboxStore,
        reader: &SqlOutboxStore,
    ) -> Claimed {
        let enqueued = writer.enqueue(&conformance::request(key), 0).await.unwrap();
        let due = Due {
            id: enqueued.id,
            next_attempt_at: 0,
        };
        reader.claim(&due, 1).await.unwrap().unwrap()
    }

    #[tokio::test]
    async fn params_are_stored_sealed_and_claimed_in_clear() {
        let store = SqlOutboxStore::connect(&DbConfig::with_schema("n"), ring(&["a"]))
            .await
            .unwrap();

        let claimed = enqueue_and_claim("k", &store, &store).await;

        let stored: String = sqlx::query_scalar("SELECT params FROM outbox")
            .fetch_one(&store.pool)
            .await
            .unwrap();
        assert!(stored.starts_with("a."), "{stored}");
        assert!(!stored.contains("012345") && !stored.contains("code"));
        assert_eq!(claimed.params.get("code"), Some("012345"));
    }

    #[tokio::test]
    async fn params_open_after_rotation_and_are_dropped_when_key_is_gone() {
        let store = SqlOutboxStore::connect(&DbConfig::with_schema("n"), ring(&["a"]))
            .await
            .unwrap();
        let rotated = SqlOutboxStore {
            keys: Arc::new(ring(&["a", "b"])),
            ..store.clone()
        };
        let key_gone = SqlOutboxStore {
            keys: Arc::new(ring(&["b"])),
            ..store.clone()
        };

        let opened = enqueue_and_claim("k1", &store, &rotated).await;
        let after_rotation = enqueue_and_claim("k2", &rotated, &key_gone).await;
        let lost = enqueue_and_claim("k3", &store, &key_gone).await;

        assert_eq!(opened.params.get("code"), Some("012345"));
        assert_eq!(after_rotation.params.get("code"), Some("012345"));
        assert_eq!(lost.params, Params::default());
    }

    #[tokio::test]
    async fn delivery_unavailable_when_pool_closed() {
        let store = fresh().await;
        store.close().await;

        let result = store.delivery(MessageId::new(0)).await;

        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
    }
}
