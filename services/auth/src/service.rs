//! Wiring: storage, the mfa client and the domain, served over gRPC.

use std::{future::Future, sync::Arc, time::Duration};

use tokio::net::TcpListener;
use tonic::server::NamedService;

use countersign_kit::{
    clock::SharedClock,
    db::{self, DbError},
    grpc::{self, MAX_REQUEST_BYTES, ServeError},
};
use countersign_plans::{ConfigError as PlansError, Plans};
use countersign_proto::auth::v1::{
    admin_service_server::AdminServiceServer,
    auth_internal_service_server::AuthInternalServiceServer,
    auth_service_server::AuthServiceServer,
};

use crate::{
    Config,
    domain::{Auth, FailureRule, HashError, HashPoolSize, Limits, Links, Parts, PasswordHasher},
    factors::MfaClient,
    grpc::AuthApi,
    notices::NotificationClient,
    store::{SqlStore, sql::MIGRATIONS},
};

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid {field}: {why}")]
    Invalid {
        field: &'static str,
        why: &'static str,
    },
    #[error("cannot prepare password hashing")]
    Hasher(#[from] HashError),
    #[error("invalid plans configuration")]
    Plans(#[from] PlansError),
    #[error("invalid {0}")]
    Url(&'static str, #[source] tonic::transport::Error),
    #[error(transparent)]
    Db(#[from] DbError),
    #[error(transparent)]
    Serve(#[from] ServeError),
}

/// The auth service, storage connected and migrated.
pub struct Service {
    auth: Arc<Auth>,
}

impl Service {
    /// Connects storage, runs migrations and builds the domain.
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        let limits = limits(&config)?;
        let links = links(&config)?;
        let plans = Plans::new(&config.plans)?;
        let mfa = grpc::channel(&config.mfa_url).map_err(|e| StartError::Url("mfa_url", e))?;
        let notification = grpc::channel(&config.notification_url)
            .map_err(|e| StartError::Url("notification_url", e))?;
        let hasher = PasswordHasher::start(hash_pool_size(&config)?).await?;
        let pool = db::connect(&config.db, &MIGRATIONS).await?;
        let auth = Auth::new(Parts {
            store: Arc::new(SqlStore::new(pool)),
            factors: Arc::new(MfaClient::new(mfa)),
            notices: Arc::new(NotificationClient::new(notification)),
            hasher,
            clock,
            plans,
            limits,
            links,
            operator_token: config.operator_token,
        });
        Ok(Self {
            auth: Arc::new(auth),
        })
    }

    /// The domain, for the command line's bootstrap and the dev stack.
    pub fn domain(&self) -> Arc<Auth> {
        Arc::clone(&self.auth)
    }

    /// Serves until `shutdown` completes.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let api = AuthApi::new(self.auth);
        let routes = tonic::service::Routes::new(
            AuthServiceServer::new(api.clone()).max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            AdminServiceServer::new(api.clone()).max_decoding_message_size(MAX_REQUEST_BYTES),
        )
        .add_service(
            AuthInternalServiceServer::new(api).max_decoding_message_size(MAX_REQUEST_BYTES),
        );
        let names = [
            <AuthServiceServer<AuthApi> as NamedService>::NAME,
            <AdminServiceServer<AuthApi> as NamedService>::NAME,
            <AuthInternalServiceServer<AuthApi> as NamedService>::NAME,
        ];
        if let Ok(addr) = listener.local_addr() {
            tracing::info!(%addr, "auth service listening");
        }
        grpc::serve(listener, routes, &names, shutdown).await?;
        Ok(())
    }
}

fn invalid(field: &'static str, why: &'static str) -> StartError {
    StartError::Invalid { field, why }
}

fn limits(config: &Config) -> Result<Limits, StartError> {
    if config.challenge_max_attempts == 0 {
        return Err(invalid("challenge_max_attempts", "must be at least 1"));
    }
    Ok(Limits {
        session_ttl: config.session_ttl,
        challenge_ttl: config.challenge_ttl,
        challenge_max_attempts: config.challenge_max_attempts,
        account_failures: failure_rule(
            ("account_failure_limit", config.account_failure_limit),
            ("account_failure_window", config.account_failure_window),
            ("account_lockout", config.account_lockout),
        )?,
        address_failures: failure_rule(
            ("address_failure_limit", config.address_failure_limit),
            ("address_failure_window", config.address_failure_window),
            ("address_lockout", config.address_lockout),
        )?,
    })
}

/// A failure rule from its three settings, each with its name.
fn failure_rule(
    (limit_field, limit): (&'static str, u32),
    (window_field, window): (&'static str, Duration),
    (lockout_field, lockout): (&'static str, Duration),
) -> Result<FailureRule, StartError> {
    if limit == 0 {
        return Err(invalid(limit_field, "must be at least 1"));
    }
    if window.is_zero() {
        return Err(invalid(window_field, "must be positive"));
    }
    if lockout.is_zero() {
        return Err(invalid(lockout_field, "must be positive"));
    }
    Ok(FailureRule {
        limit,
        window,
        lockout,
    })
}

/// Longest link base: room for the token within the 256 characters an
/// email parameter may have.
const MAX_LINK_BASE: usize = 200;

fn link_base(field: &'static str, url: &str) -> Result<String, StartError> {
    let scheme = url.starts_with("https://") || url.starts_with("http://");
    if !scheme || url.len() > MAX_LINK_BASE || !url.bytes().all(|b| b.is_ascii_graphic()) {
        return Err(invalid(
            field,
            "must be an http or https URL of at most 200 characters without spaces",
        ));
    }
    if url.contains('#') || url.contains('"') || url.contains('<') || url.contains('>') {
        return Err(invalid(field, "must not contain '#', '\"', '<' or '>'"));
    }
    Ok(url.to_string())
}

fn links(config: &Config) -> Result<Links, StartError> {
    if config.invitation_ttl < Duration::from_secs(60) {
        return Err(invalid("invitation_ttl", "must be at least 1 minute"));
    }
    if config.report_ttl < Duration::from_secs(60) {
        return Err(invalid("report_ttl", "must be at least 1 minute"));
    }
    if config.invitation_ttl > Duration::from_secs(365 * 24 * 3600) {
        return Err(invalid("invitation_ttl", "must be at most 365 days"));
    }
    Ok(Links {
        invitation_url: link_base("invitation_url", &config.invitation_url)?,
        invitation_ttl: config.invitation_ttl,
        report_url: link_base("report_url", &config.report_url)?,
        report_ttl: config.report_ttl,
    })
}

fn hash_pool_size(config: &Config) -> Result<HashPoolSize, StartError> {
    if config.hash_workers == 0 {
        return Err(invalid("hash_workers", "must be at least 1"));
    }
    Ok(HashPoolSize {
        workers: config.hash_workers,
        queue: config.hash_queue,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limits_name_the_bad_setting() {
        let zero_limit = Config {
            address_failure_limit: 0,
            ..Config::default()
        };
        let zero_lockout = Config {
            account_lockout: Duration::ZERO,
            ..Config::default()
        };

        let shown = |config: &Config| limits(config).unwrap_err().to_string();

        assert_eq!(
            shown(&zero_limit),
            "invalid address_failure_limit: must be at least 1"
        );
        assert_eq!(
            shown(&zero_lockout),
            "invalid account_lockout: must be positive"
        );
    }

    #[test]
    fn links_refuse_bases_that_break_an_email_link() {
        let with_base = |url: &str| Config {
            invitation_url: url.to_string(),
            ..Config::default()
        };

        assert!(links(&Config::default()).is_ok());
        for bad in [
            "ftp://x",
            "https://a b",
            "https://x/#frag",
            "javascript:alert(1)",
        ] {
            let error = links(&with_base(bad)).unwrap_err().to_string();
            assert!(
                error.starts_with("invalid invitation_url"),
                "{bad}: {error}"
            );
        }
        assert!(links(&with_base(&format!("https://x/{}", "a".repeat(200)))).is_err());
    }

    #[test]
    fn hash_pool_size_refuses_no_workers() {
        let config = Config {
            hash_workers: 0,
            ..Config::default()
        };

        assert!(matches!(
            hash_pool_size(&config),
            Err(StartError::Invalid {
                field: "hash_workers",
                ..
            })
        ));
    }
}
