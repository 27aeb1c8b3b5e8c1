//! SQL storage on PostgreSQL or SQLite through one sqlx `Any` pool, so each
//! service writes its queries once (portable SQL, `$n` parameters, times as
//! integer milliseconds) and ships one migration set per backend.
//!
//! On Postgres every service lives in its own schema, set as the search path
//! of each pooled connection; migrations run at start under sqlx's advisory
//! lock. On SQLite each service has its own database, in memory by default.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use sqlx::{
    AnyPool, Executor,
    any::{AnyPoolOptions, install_default_drivers},
    migrate::Migrator,
};

/// The database used when configuration names none: a private in-memory
/// SQLite database, gone when the process exits.
pub const DEFAULT_DATABASE_URL: &str = "sqlite::memory:";
/// Pooled connections per service.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 10;
/// How long a query waits for a free or new connection before the request
/// fails as unavailable.
pub const DEFAULT_ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// Where a service keeps its tables.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DbConfig {
    /// `postgres://…` or `sqlite:…`. Default: in-memory SQLite.
    pub url: SecretString,
    /// Postgres schema of the service's tables; ignored on SQLite.
    pub schema: String,
    /// Pool size. Default: 10.
    pub max_connections: u32,
    /// Wait for a connection before giving up. Default: 3 s.
    #[serde(with = "humantime_serde")]
    pub acquire_timeout: Duration,
}

impl DbConfig {
    /// The default database with the given schema name.
    pub fn with_schema(schema: &str) -> Self {
        Self {
            url: SecretString::from(DEFAULT_DATABASE_URL),
            schema: schema.to_string(),
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: DEFAULT_ACQUIRE_TIMEOUT,
        }
    }

    /// The same database under another URL.
    pub fn with_url(mut self, url: &str) -> Self {
        self.url = SecretString::from(url);
        self
    }

    /// Whether this is a Postgres database.
    pub fn is_postgres(&self) -> bool {
        let url = self.url.expose_secret();
        url.starts_with("postgres://") || url.starts_with("postgresql://")
    }
}

impl Default for DbConfig {
    fn default() -> Self {
        Self::with_schema("public")
    }
}

impl std::fmt::Debug for DbConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let backend = if self.is_postgres() {
            "postgres"
        } else {
            "sqlite"
        };
        f.debug_struct("DbConfig")
            .field("backend", &backend)
            .field("schema", &self.schema)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

/// Why a database could not be opened.
#[derive(Debug, thiserror::Error)]
pub enum DbError {
    #[error("schema name {0:?} is not a lowercase identifier")]
    BadSchema(String),
    #[error("cannot connect to the database")]
    Connect(#[source] sqlx::Error),
    #[error("cannot migrate the database")]
    Migrate(#[source] sqlx::migrate::MigrateError),
}

/// The two migration sets of a service.
pub struct Migrations {
    /// For PostgreSQL.
    pub postgres: &'static Migrator,
    /// For SQLite.
    pub sqlite: &'static Migrator,
}

/// Opens the pool and brings the schema up to date.
pub async fn connect(config: &DbConfig, migrations: &Migrations) -> Result<AnyPool, DbError> {
    install_default_drivers();
    let url = config.url.expose_secret();
    let mut options = AnyPoolOptions::new()
        .max_connections(config.max_connections)
        .acquire_timeout(config.acquire_timeout);
    let migrator = if config.is_postgres() {
        let schema = checked_schema(&config.schema)?;
        create_schema(url, &schema, config.acquire_timeout).await?;
        let set_path = format!("SET search_path TO \"{schema}\"");
        options = options.after_connect(move |conn, _| {
            let set_path = set_path.clone();
            Box::pin(async move { conn.execute(set_path.as_str()).await.map(|_| ()) })
        });
        migrations.postgres
    } else {
        if is_in_memory(url) {
            // Each connection to `:memory:` is a database of its own: keep
            // exactly one, forever.
            options = options
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
        }
        migrations.sqlite
    };
    let pool = options.connect(url).await.map_err(DbError::Connect)?;
    migrator.run(&pool).await.map_err(DbError::Migrate)?;
    Ok(pool)
}

/// Whether an error means the database could not be reached, as opposed to
/// a fault in the query or the data. A broken conversation (`Protocol`,
/// such as a connection closed during the handshake) counts as unreachable.
pub fn is_unavailable(error: &sqlx::Error) -> bool {
    matches!(
        error,
        sqlx::Error::Io(_)
            | sqlx::Error::Tls(_)
            | sqlx::Error::Protocol(_)
            | sqlx::Error::PoolTimedOut
            | sqlx::Error::PoolClosed
            | sqlx::Error::WorkerCrashed
    )
}

/// Whether an error is a unique-constraint violation.
pub fn is_unique_violation(error: &sqlx::Error) -> bool {
    match error {
        sqlx::Error::Database(db) => db.is_unique_violation(),
        _ => false,
    }
}

fn checked_schema(schema: &str) -> Result<String, DbError> {
    let mut bytes = schema.bytes();
    let first_ok = bytes
        .next()
        .is_some_and(|b| b.is_ascii_lowercase() || b == b'_');
    let rest_ok = bytes.all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_');
    if first_ok && rest_ok && schema.len() <= 63 {
        Ok(schema.to_string())
    } else {
        Err(DbError::BadSchema(schema.to_string()))
    }
}

async fn create_schema(url: &str, schema: &str, timeout: Duration) -> Result<(), DbError> {
    let pool = AnyPoolOptions::new()
        .max_connections(1)
        .acquire_timeout(timeout)
        .connect(url)
        .await
        .map_err(DbError::Connect)?;
    let created = pool
        .execute(format!("CREATE SCHEMA IF NOT EXISTS \"{schema}\"").as_str())
        .await;
    pool.close().await;
    match created {
        Ok(_) => Ok(()),
        // Two services racing to create one schema: the loser finds it made.
        Err(e) if is_unique_violation(&e) => Ok(()),
        Err(e) => Err(DbError::Connect(e)),
    }
}

fn is_in_memory(url: &str) -> bool {
    url.contains(":memory:") || url.contains("mode=memory")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn checked_schema_refuses_quotes_and_capitals() {
        assert!(checked_schema("auth_1").is_ok());
        assert!(checked_schema("Auth").is_err());
        assert!(checked_schema("a\"b").is_err());
        assert!(checked_schema("").is_err());
        assert!(checked_schema("1a").is_err());
    }

    #[test]
    fn debug_hides_url() {
        let config = DbConfig::with_schema("auth").with_url("postgres://u:hunter2@db/x");

        let shown = format!("{config:?}");

        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("postgres"));
    }
}
