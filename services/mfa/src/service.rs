//! Starting the service: configuration checked, storage connected and
//! migrated, clients of the other services made, then gRPC served.

use std::{future::Future, sync::Arc};

use tokio::net::TcpListener;

use countersign_kit::{
    clock::SharedClock,
    db::{self, DbError},
    grpc::{self, ServeError},
    seal::{KeyRing, KeyRingError},
};
use countersign_plans::Plans;

use crate::{
    code::{CodeKey, ShortCodeKey},
    config::Config,
    domain::{Deps, Mfa, Settings},
    grpc::{
        SERVICE_NAMES,
        clients::{GrpcMailer, GrpcSessions},
    },
    store::{CodeStore, memory::MemoryCodeStore, redis::RedisCodeStore, sql},
};

/// Widest TOTP window accepted, in steps either side.
pub const MAX_WINDOW_STEPS: u8 = 10;

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {field} {why}")]
    Invalid {
        field: &'static str,
        why: &'static str,
    },
    #[error("invalid configuration: plans")]
    Plans(#[from] countersign_plans::ConfigError),
    #[error("invalid configuration")]
    Keys(#[from] KeyRingError),
    #[error("invalid configuration")]
    CodeKey(#[from] ShortCodeKey),
    #[error("invalid configuration: redis_url")]
    RedisUrl(#[source] redis::RedisError),
    #[error("invalid configuration: {0}")]
    ServiceUrl(&'static str, #[source] tonic::transport::Error),
    #[error("cannot open the database")]
    Db(#[from] DbError),
    #[error("cannot serve")]
    Serve(#[from] ServeError),
    #[error("cannot read the listening address")]
    Listener(#[source] std::io::Error),
}

/// The mfa service, ready to serve.
pub struct Service {
    mfa: Arc<Mfa>,
}

impl Service {
    /// Checks the configuration, connects storage and runs migrations.
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        let settings = settings(&config)?;
        let plans = Plans::new(&config.plans)?;
        let keys = key_ring(&config)?;
        let code_key = code_key(&config)?;
        let codes = code_store(&config, &clock)?;
        let auth =
            grpc::channel(&config.auth_url).map_err(|e| StartError::ServiceUrl("auth_url", e))?;
        let notification = grpc::channel(&config.notification_url)
            .map_err(|e| StartError::ServiceUrl("notification_url", e))?;
        let pool = db::connect(&config.db, &sql::MIGRATIONS).await?;
        tracing::info!(db = ?config.db, redis = config.redis_url.is_some(),
            redis_prefix = %config.redis_prefix, auth_url = %config.auth_url,
            notification_url = %config.notification_url, keys = ?keys,
            window_steps = settings.window_steps, "mfa configured");
        let deps = Deps {
            factors: Arc::new(sql::SqlFactorStore::new(pool)),
            codes,
            keys,
            code_key,
            sessions: Arc::new(GrpcSessions::new(auth)),
            mailer: Arc::new(GrpcMailer::new(notification)),
            plans,
            clock,
        };
        Ok(Self {
            mfa: Arc::new(Mfa::new(deps, settings)),
        })
    }

    /// Serves gRPC, with health and reflection, until `shutdown` completes
    /// and requests in flight have finished.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let address = listener.local_addr().map_err(StartError::Listener)?;
        tracing::info!(%address, "mfa listening");
        let routes = crate::grpc::routes(self.mfa);
        grpc::serve(listener, routes, &SERVICE_NAMES, shutdown).await?;
        tracing::info!("mfa stopped");
        Ok(())
    }
}

fn invalid(field: &'static str, why: &'static str) -> StartError {
    StartError::Invalid { field, why }
}

fn settings(config: &Config) -> Result<Settings, StartError> {
    if config.issuer.is_empty() || config.issuer.contains(':') {
        return Err(invalid("issuer", "must be non-empty without a colon"));
    }
    if config.totp_window_steps > MAX_WINDOW_STEPS {
        return Err(invalid("totp_window_steps", "must be at most 10"));
    }
    if config.enrollment_ttl.is_zero() {
        return Err(invalid("enrollment_ttl", "must be positive"));
    }
    if config.email_code_ttl.is_zero() {
        return Err(invalid("email_code_ttl", "must be positive"));
    }
    if config.email_code_max_guesses == 0 {
        return Err(invalid("email_code_max_guesses", "must be at least 1"));
    }
    if config.redis_prefix.is_empty() {
        return Err(invalid("redis_prefix", "must be non-empty"));
    }
    Ok(Settings {
        issuer: config.issuer.clone(),
        window_steps: config.totp_window_steps,
        enrollment_ttl: config.enrollment_ttl,
        email_code_ttl: config.email_code_ttl,
        email_code_max_guesses: config.email_code_max_guesses,
    })
}

fn key_ring(config: &Config) -> Result<KeyRing, StartError> {
    if config.encryption_keys.is_empty() {
        tracing::warn!(
            "no encryption_keys configured: TOTP secrets are sealed under a random key \
             and every enrolled authenticator stops working when the process restarts"
        );
        return Ok(KeyRing::ephemeral());
    }
    Ok(KeyRing::from_config(&config.encryption_keys)?)
}

fn code_key(config: &Config) -> Result<CodeKey, StartError> {
    match &config.code_key {
        Some(key) => Ok(CodeKey::from_config(key)?),
        None => {
            tracing::warn!(
                "no code_key configured: emailed codes are hashed under a random key \
                 and do not survive a restart or work on another replica"
            );
            Ok(CodeKey::random())
        }
    }
}

fn code_store(config: &Config, clock: &SharedClock) -> Result<Arc<dyn CodeStore>, StartError> {
    match &config.redis_url {
        Some(url) => {
            let store =
                RedisCodeStore::new(url, &config.redis_prefix).map_err(StartError::RedisUrl)?;
            Ok(Arc::new(store))
        }
        None => Ok(Arc::new(MemoryCodeStore::new(clock.clone()))),
    }
}

#[cfg(test)]
mod tests {
    use secrecy::SecretString;

    use countersign_kit::clock::SystemClock;

    use super::*;
    use countersign_kit::seal::EncryptionKeyConfig;

    async fn build(config: Config) -> Result<Service, StartError> {
        Service::build(config, Arc::new(SystemClock)).await
    }

    #[tokio::test]
    async fn build_succeeds_on_embedded_defaults() {
        assert!(build(Config::default()).await.is_ok());
    }

    #[tokio::test]
    async fn build_names_bad_setting() {
        let config = Config {
            issuer: "Acme:Corp".into(),
            ..Config::default()
        };

        let error = build(config).await.err().unwrap();

        assert!(error.to_string().contains("issuer"), "{error}");
    }

    #[tokio::test]
    async fn build_refuses_short_code_key_and_bad_encryption_key() {
        let short_code_key = Config {
            code_key: Some(SecretString::from("short")),
            ..Config::default()
        };
        let bad_key = Config {
            encryption_keys: vec![EncryptionKeyConfig {
                id: "k1".into(),
                key: SecretString::from("not base64!"),
            }],
            ..Config::default()
        };

        assert!(matches!(
            build(short_code_key).await,
            Err(StartError::CodeKey(_))
        ));
        assert!(matches!(build(bad_key).await, Err(StartError::Keys(_))));
    }
}
