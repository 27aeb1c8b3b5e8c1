//! Countersign's notification service: email through a durable outbox.
//!
//! Other services ask for an email by template, recipient, parameters and
//! idempotency key; it is stored at once and a background worker delivers it
//! to an SMTP relay (or prints it, in the embedded default), retrying with
//! backoff until it is sent or given up. Delivery is at least once.
//!
//! Layout:
//! - [`config`] the settings;
//! - [`email`] the checked request (template, recipient, parameters, key);
//! - [`templates`] the words of each email, text and HTML;
//! - [`store`] the outbox storage trait, its SQL implementation and, behind
//!   the `conformance` feature, the checks every backend must pass;
//! - [`outbox`] enqueueing and reading deliveries, as the API sees them;
//! - [`worker`] the loop that claims, sends and records due messages;
//! - [`retry`] the backoff between attempts;
//! - [`mailer`] the SMTP and console mailers;
//! - `grpc` the API, its conversions and its one error-to-status mapping.

pub mod config;
pub mod email;
mod grpc;
pub mod mailer;
pub mod outbox;
pub mod retry;
pub mod store;
pub mod templates;
pub mod worker;

use std::{future::Future, sync::Arc, time::Duration};

use lettre::message::Mailbox;
use tokio::{net::TcpListener, sync::Notify};
use tonic::{server::NamedService, service::Routes};

use countersign_kit::{
    clock::SharedClock,
    db::DbError,
    grpc::ServeError,
    seal::{KeyRing, KeyRingError},
};
use countersign_proto::notification::v1::notification_service_server::NotificationServiceServer;

pub use config::Config;

use crate::{
    grpc::NotificationApi,
    mailer::{ConsoleMailer, Mailer, SmtpMailer},
    outbox::Outbox,
    retry::RetryPolicy,
    store::SqlOutboxStore,
    worker::{Worker, WorkerSettings},
};

/// Time a claimed message stays claimed beyond the mailer's own deadline, so
/// a slow but live worker keeps its message.
const LEASE_MARGIN: Duration = Duration::from_secs(30);

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid configuration: {0}")]
    Config(&'static str),
    #[error("invalid configuration: from is not a mailbox")]
    From(#[source] lettre::address::AddressError),
    #[error("invalid configuration: smtp.url is not a usable relay url")]
    Smtp(#[source] lettre::transport::smtp::Error),
    #[error("invalid configuration: params_keys")]
    Keys(#[from] KeyRingError),
    #[error("cannot open the outbox database")]
    Db(#[from] DbError),
    #[error("cannot serve gRPC")]
    Serve(#[from] ServeError),
}

/// The notification service, storage connected and migrated.
pub struct Service {
    store: SqlOutboxStore,
    outbox: Outbox,
    worker: Worker,
}

impl Service {
    /// Checks the configuration, builds the mailer, connects storage and
    /// runs migrations.
    pub async fn build(config: Config, clock: SharedClock) -> Result<Self, StartError> {
        check(&config)?;
        let from: Mailbox = config.from.parse().map_err(StartError::From)?;
        let (mailer, deadline): (Arc<dyn Mailer>, Duration) = match &config.smtp {
            Some(smtp) => {
                let mailer = SmtpMailer::new(smtp).map_err(StartError::Smtp)?;
                (Arc::new(mailer), smtp.timeout)
            }
            None => (Arc::new(ConsoleMailer), Duration::ZERO),
        };
        let keys = if config.params_keys.is_empty() {
            tracing::warn!(
                "no params_keys configured: outbox parameters are sealed under a random key, \
                 so messages still pending when the process stops are never sent"
            );
            KeyRing::ephemeral()
        } else {
            KeyRing::from_config(&config.params_keys)?
        };
        let store = SqlOutboxStore::connect(&config.db, keys).await?;
        let wake = Arc::new(Notify::new());
        let shared = Arc::new(store.clone());
        let outbox = Outbox::new(shared.clone(), clock.clone(), wake.clone());
        let settings = WorkerSettings {
            from,
            retry: RetryPolicy {
                max_attempts: config.max_attempts,
                base: config.retry_base,
                max: config.retry_max,
            },
            poll_interval: config.poll_interval,
            lease: deadline + LEASE_MARGIN,
        };
        let worker = Worker::new(shared, mailer, clock, wake, settings);
        tracing::info!(db = ?config.db, smtp = ?config.smtp, "notification service ready");
        Ok(Self {
            store,
            outbox,
            worker,
        })
    }

    /// Serves gRPC (with health and reflection) and runs the outbox worker
    /// until `shutdown` completes; then the worker stops after the message in
    /// hand and requests in flight finish.
    pub async fn serve(
        self,
        listener: TcpListener,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> Result<(), StartError> {
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let worker = tokio::spawn(self.worker.run(stopped));
        let server = NotificationServiceServer::new(NotificationApi::new(self.outbox))
            .max_decoding_message_size(countersign_kit::grpc::MAX_REQUEST_BYTES);
        let name = <NotificationServiceServer<NotificationApi> as NamedService>::NAME;
        let shutdown = async move {
            shutdown.await;
            let _ = stop.send(true);
        };
        let served =
            countersign_kit::grpc::serve(listener, Routes::new(server), &[name], shutdown).await;
        // The worker's stop signal was sent, or dropped with the server.
        if let Err(error) = worker.await {
            tracing::error!(%error, "outbox worker ended abnormally");
        }
        self.store.close().await;
        Ok(served?)
    }
}

fn check(config: &Config) -> Result<(), StartError> {
    if config.max_attempts == 0 {
        return Err(StartError::Config("max_attempts must be at least 1"));
    }
    if config.poll_interval.is_zero() {
        return Err(StartError::Config("poll_interval must be positive"));
    }
    if config.retry_base.is_zero() || config.retry_max < config.retry_base {
        return Err(StartError::Config(
            "retry_base must be positive and no more than retry_max",
        ));
    }
    if config
        .smtp
        .as_ref()
        .is_some_and(|smtp| smtp.timeout.is_zero())
    {
        return Err(StartError::Config("smtp.timeout must be positive"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use countersign_kit::clock::SystemClock;

    use super::*;

    async fn build(config: Config) -> Result<Service, StartError> {
        Service::build(config, Arc::new(SystemClock)).await
    }

    #[tokio::test]
    async fn build_fails_naming_setting_when_max_attempts_zero() {
        let config = Config {
            max_attempts: 0,
            ..Config::default()
        };

        let error = build(config).await.err().unwrap();

        assert!(error.to_string().contains("max_attempts"), "{error}");
    }

    #[tokio::test]
    async fn build_fails_when_from_not_a_mailbox() {
        let config = Config {
            from: "Countersign".to_string(),
            ..Config::default()
        };

        let error = build(config).await.err().unwrap();

        assert!(matches!(error, StartError::From(_)), "{error}");
    }

    #[tokio::test]
    async fn build_fails_without_echoing_url_when_smtp_scheme_unknown() {
        let config = Config {
            smtp: Some(config::SmtpConfig::new("ftp://me:hunter2@relay")),
            ..Config::default()
        };

        let error = build(config).await.err().unwrap();

        let chain = countersign_kit::status::ErrorChain(&error).to_string();
        assert!(matches!(error, StartError::Smtp(_)));
        assert!(!chain.contains("hunter2"), "{chain}");
    }
}
