//! The three services started on free loopback ports, as `countersign dev`
//! runs them, against either backend:
//!
//! - [`Backend::Embedded`]: in-memory SQLite and the in-process code store;
//! - [`Backend::Real`]: Postgres and Redis on this machine, with a schema
//!   and a key prefix of the test's own.
//!
//! Email always goes through SMTP to a [`MailServer`] the stack starts.
//! Time is a [`ManualClock`] the test moves.

use std::{net::SocketAddr, sync::Arc, time::Duration};

use secrecy::SecretString;
use tokio::{net::TcpListener, sync::watch};
use tonic::{Request, metadata::MetadataValue, transport::Channel};

use countersign_kit::{clock::ManualClock, db::DbConfig};
use countersign_proto::{
    auth::v1::{
        CreateOrganizationRequest, admin_service_client::AdminServiceClient,
        auth_service_client::AuthServiceClient,
    },
    mfa::v1::mfa_service_client::MfaServiceClient,
};

use crate::mail::MailServer;

/// The shared Postgres of the machine.
pub const POSTGRES_URL: &str = "postgres://postgres@127.0.0.1:5432/test";
/// The shared Redis of the machine.
pub const REDIS_URL: &str = "redis://127.0.0.1:6379";
/// The operator token of test stacks.
pub const OPERATOR_TOKEN: &str = "test-operator-token";
/// Password of every member the tests create.
pub const PASSWORD: &str = "correct horse battery";

/// Which storage the stack runs on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    Embedded,
    Real,
}

/// Where the stack's storage lives, so a test can reroute it through a
/// proxy or read it directly.
#[derive(Debug, Clone)]
pub struct Storage {
    pub database_url: String,
    pub redis_url: Option<String>,
    pub tag: String,
}

impl Storage {
    /// Storage of its own for one test.
    pub fn new(backend: Backend) -> Self {
        let tag = format!("t{}", &uuid::Uuid::new_v4().simple().to_string()[..12]);
        match backend {
            Backend::Embedded => Self {
                database_url: countersign_kit::db::DEFAULT_DATABASE_URL.to_string(),
                redis_url: None,
                tag,
            },
            Backend::Real => Self {
                database_url: POSTGRES_URL.to_string(),
                redis_url: Some(REDIS_URL.to_string()),
                tag,
            },
        }
    }

    fn db(&self, service: &str) -> DbConfig {
        let mut db =
            DbConfig::with_schema(&format!("{}_{service}", self.tag)).with_url(&self.database_url);
        db.acquire_timeout = Duration::from_secs(1);
        db
    }
}

/// A running stack.
pub struct Stack {
    pub auth: SocketAddr,
    pub mfa: SocketAddr,
    pub notification: SocketAddr,
    pub mail: MailServer,
    pub clock: Arc<ManualClock>,
    pub storage: Storage,
    stop: watch::Sender<()>,
}

async fn listener() -> (TcpListener, SocketAddr) {
    countersign_kit::grpc::bind("127.0.0.1:0").await.unwrap()
}

async fn until(mut stopped: watch::Receiver<()>) {
    let _ = stopped.changed().await;
}

impl Stack {
    /// Starts a stack on fresh storage of `backend`.
    pub async fn start(backend: Backend) -> Self {
        Self::start_on(Storage::new(backend)).await
    }

    /// Starts a stack on the given storage.
    pub async fn start_on(storage: Storage) -> Self {
        Self::launch(storage, |_| {}).await
    }

    /// Starts a stack on fresh storage of `backend` whose auth service runs
    /// with the settings `tune` makes to the stack's own.
    pub async fn start_tuned(
        backend: Backend,
        tune: impl FnOnce(&mut countersign_auth::Config),
    ) -> Self {
        Self::launch(Storage::new(backend), tune).await
    }

    async fn launch(storage: Storage, tune: impl FnOnce(&mut countersign_auth::Config)) -> Self {
        crate::logs::capture();
        let mail = MailServer::start();
        let clock = Arc::new(ManualClock::new(now_ms()));
        let (auth_listener, auth) = listener().await;
        let (mfa_listener, mfa) = listener().await;
        let (mail_listener, notification) = listener().await;
        let (stop, stopped) = watch::channel(());

        let notification_config = countersign_notification::Config {
            listen: notification.to_string(),
            db: storage.db("notification"),
            smtp: Some(countersign_notification::config::SmtpConfig {
                url: SecretString::from(mail.url()),
                timeout: Duration::from_secs(5),
            }),
            poll_interval: Duration::from_millis(200),
            ..Default::default()
        };
        let service = countersign_notification::Service::build(notification_config, clock.clone())
            .await
            .unwrap();
        tokio::spawn(service.serve(mail_listener, until(stopped.clone())));

        let mfa_config = countersign_mfa::Config {
            listen: mfa.to_string(),
            db: storage.db("mfa"),
            redis_url: storage.redis_url.clone().map(SecretString::from),
            redis_prefix: format!("countersign:{}", storage.tag),
            auth_url: format!("http://{auth}"),
            notification_url: format!("http://{notification}"),
            ..Default::default()
        };
        let service = countersign_mfa::Service::build(mfa_config, clock.clone())
            .await
            .unwrap();
        tokio::spawn(service.serve(mfa_listener, until(stopped.clone())));

        let mut auth_config = countersign_auth::Config {
            listen: auth.to_string(),
            db: storage.db("auth"),
            mfa_url: format!("http://{mfa}"),
            notification_url: format!("http://{notification}"),
            operator_token: Some(SecretString::from(OPERATOR_TOKEN)),
            ..Default::default()
        };
        tune(&mut auth_config);
        let service = countersign_auth::Service::build(auth_config, clock.clone())
            .await
            .unwrap();
        tokio::spawn(service.serve(auth_listener, until(stopped)));

        Self {
            auth,
            mfa,
            notification,
            mail,
            clock,
            storage,
            stop,
        }
    }

    /// Stops the services.
    pub fn stop(&self) {
        let _ = self.stop.send(());
    }

    /// A client of the auth service.
    pub fn auth_client(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(channel(self.auth))
    }

    /// A client of the admin service.
    pub fn admin_client(&self) -> AdminServiceClient<Channel> {
        AdminServiceClient::new(channel(self.auth))
    }

    /// A client of the mfa service.
    pub fn mfa_client(&self) -> MfaServiceClient<Channel> {
        MfaServiceClient::new(channel(self.mfa))
    }

    /// Creates an organization on `plan`; its owner's email.
    pub async fn organization(&self, plan: &str) -> String {
        let owner = format!("owner.{}@{plan}.example", uuid::Uuid::new_v4().simple());
        let request = CreateOrganizationRequest {
            name: "Ledger & Co".to_string(),
            plan: plan.to_string(),
            owner_email: owner.clone(),
            owner_password: PASSWORD.to_string(),
        };
        self.admin_client()
            .create_organization(bearer(request, OPERATOR_TOKEN))
            .await
            .unwrap();
        owner
    }
}

impl Drop for Stack {
    fn drop(&mut self) {
        self.stop();
    }
}

/// A channel to a service of the stack.
pub fn channel(addr: SocketAddr) -> Channel {
    countersign_kit::grpc::channel(&format!("http://{addr}")).unwrap()
}

/// A request carrying `authorization: Bearer <token>`.
pub fn bearer<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value = MetadataValue::try_from(format!("Bearer {token}")).unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

#[allow(clippy::disallowed_methods)]
fn now_ms() -> i64 {
    let since = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap();
    i64::try_from(since.as_millis()).unwrap()
}
