//! Starting the service: configuration checked, storage connected and
//! migrated, clients of the other services made, then gRPC served while a
//! background pass re-seals secrets under the newest encryption key.

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
    domain::{Deps, Mfa, RESEAL_BATCH, Settings},
    grpc::{
        SERVICE_NAMES,
        clients::{GrpcMailer, GrpcSessions},
    },
    store::{
        CodeStore, LockoutPolicy, LockoutStore, memory::MemoryCodeStore, redis::RedisCodeStore, sql,
    },
};

/// Widest TOTP window accepted, in steps either side.
pub const MAX_WINDOW_STEPS: u8 = 10;
/// Why an issuer with a colon is refused.
const ISSUER_COLON: &str =
    "must not contain ':', which the otpauth key URI format forbids in an issuer";

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
        let (codes, lockouts) = short_lived_store(&config)?;
        let auth =
            grpc::channel(&config.auth_url).map_err(|e| StartError::ServiceUrl("auth_url", e))?;
        let notification = grpc::channel(&config.notification_url)
            .map_err(|e| StartError::ServiceUrl("notification_url", e))?;
        let pool = db::connect(&config.db, &sql::MIGRATIONS).await?;
        tracing::info!(db = ?config.db, redis = config.redis_url.is_some(),
            redis_prefix = %config.redis_prefix, auth_url = %config.auth_url,
            notification_url = %config.notification_url, keys = ?keys,
            window_steps = settings.window_steps, lockout = ?settings.lockout, "mfa configured");
        let deps = Deps {
            factors: Arc::new(sql::SqlFactorStore::new(pool)),
            codes,
            lockouts,
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
    /// and requests in flight have finished. Meanwhile, once, re-seals the
    /// secrets still sealed under older keys.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let address = listener.local_addr().map_err(StartError::Listener)?;
        tracing::info!(%address, "mfa listening");
        tokio::spawn(reseal_secrets(self.mfa.clone()));
        let routes = crate::grpc::routes(self.mfa);
        grpc::serve(listener, routes, &SERVICE_NAMES, shutdown).await?;
        tracing::info!("mfa stopped");
        Ok(())
    }
}

/// One re-sealing pass; its outcome is only logged, serving goes on.
async fn reseal_secrets(mfa: Arc<Mfa>) {
    match mfa.reseal_secrets(RESEAL_BATCH).await {
        Ok(done) if done.unopened > 0 => tracing::warn!(
            resealed = done.resealed,
            unopened = done.unopened,
            "some secrets did not open for re-sealing"
        ),
        Ok(done) => tracing::info!(
            resealed = done.resealed,
            "secrets resealed under newest key"
        ),
        Err(error) => tracing::warn!(?error, "secrets not resealed"),
    }
}

fn invalid(field: &'static str, why: &'static str) -> StartError {
    StartError::Invalid { field, why }
}

/// `Err(invalid(field, why))` unless `ok`.
fn require(ok: bool, field: &'static str, why: &'static str) -> Result<(), StartError> {
    if ok { Ok(()) } else { Err(invalid(field, why)) }
}

fn settings(config: &Config) -> Result<Settings, StartError> {
    require(!config.issuer.is_empty(), "issuer", "must not be empty")?;
    require(!config.issuer.contains(':'), "issuer", ISSUER_COLON)?;
    let window_ok = config.totp_window_steps <= MAX_WINDOW_STEPS;
    require(window_ok, "totp_window_steps", "must be at most 10")?;
    for (field, span) in [
        ("enrollment_ttl", config.enrollment_ttl),
        ("email_code_ttl", config.email_code_ttl),
        ("lockout_window", config.lockout_window),
        ("lockout_duration", config.lockout_duration),
    ] {
        require(!span.is_zero(), field, "must be positive")?;
    }
    for (field, count) in [
        ("email_code_max_guesses", config.email_code_max_guesses),
        ("email_code_hourly_quota", config.email_code_hourly_quota),
        ("lockout_threshold", config.lockout_threshold),
    ] {
        require(count >= 1, field, "must be at least 1")?;
    }
    require(
        !config.redis_prefix.is_empty(),
        "redis_prefix",
        "must be non-empty",
    )?;
    Ok(Settings {
        issuer: config.issuer.clone(),
        window_steps: config.totp_window_steps,
        enrollment_ttl: config.enrollment_ttl,
        email_code_ttl: config.email_code_ttl,
        email_code_max_guesses: config.email_code_max_guesses,
        email_code_cooldown: config.email_code_resend_cooldown,
        email_code_hourly_quota: config.email_code_hourly_quota,
        lockout: LockoutPolicy {
            threshold: config.lockout_threshold,
            window: config.lockout_window,
            duration: config.lockout_duration,
        },
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

/// The store of emailed codes and the lockout store, one object.
type ShortLived = (Arc<dyn CodeStore>, Arc<dyn LockoutStore>);

/// The store of emailed codes and lockouts: Redis when configured, else
/// in process.
fn short_lived_store(config: &Config) -> Result<ShortLived, StartError> {
    match &config.redis_url {
        Some(url) => {
            let store =
                RedisCodeStore::new(url, &config.redis_prefix).map_err(StartError::RedisUrl)?;
            let store = Arc::new(store);
            Ok((store.clone(), store))
        }
        None => {
            let store = Arc::new(MemoryCodeStore::new());
            Ok((store.clone(), store))
        }
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
    async fn build_refuses_issuer_with_colon_naming_issuer_and_why() {
        let config = Config {
            issuer: "Acme:Corp".into(),
            ..Config::default()
        };

        let error = build(config).await.err().unwrap();

        assert_eq!(
            error.to_string(),
            "invalid configuration: issuer must not contain ':', which the otpauth key URI \
             format forbids in an issuer"
        );
    }

    #[tokio::test]
    async fn build_accepts_issuer_with_spaces_symbols_and_accents() {
        let config = Config {
            issuer: "Zürich & Co / \"Finance\" 100% #1?".into(),
            ..Config::default()
        };

        assert!(build(config).await.is_ok());
    }

    #[tokio::test]
    async fn build_names_bad_limit_setting() {
        let zero = std::time::Duration::ZERO;
        let cases = [
            (
                "lockout_threshold",
                Config {
                    lockout_threshold: 0,
                    ..Config::default()
                },
            ),
            (
                "lockout_window",
                Config {
                    lockout_window: zero,
                    ..Config::default()
                },
            ),
            (
                "lockout_duration",
                Config {
                    lockout_duration: zero,
                    ..Config::default()
                },
            ),
            (
                "email_code_hourly_quota",
                Config {
                    email_code_hourly_quota: 0,
                    ..Config::default()
                },
            ),
        ];

        for (field, config) in cases {
            let error = build(config).await.err().unwrap();

            assert!(error.to_string().contains(field), "{error}");
        }
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
