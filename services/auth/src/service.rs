//! Wiring: storage, the mfa client and the domain, served over gRPC.

use std::{future::Future, sync::Arc};

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
    domain::{Auth, Limits},
    factors::MfaClient,
    grpc::AuthApi,
    store::{SqlStore, sql::MIGRATIONS},
};

/// Why the service could not start or stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    #[error("invalid plans configuration")]
    Plans(#[from] PlansError),
    #[error("invalid mfa_url")]
    MfaUrl(#[from] tonic::transport::Error),
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
        let plans = Plans::new(&config.plans)?;
        let factors = MfaClient::new(grpc::channel(&config.mfa_url)?);
        let pool = db::connect(&config.db, &MIGRATIONS).await?;
        let limits = Limits {
            session_ttl: config.session_ttl,
            challenge_ttl: config.challenge_ttl,
            challenge_max_attempts: config.challenge_max_attempts,
        };
        let auth = Auth::new(
            Arc::new(SqlStore::new(pool)),
            Arc::new(factors),
            clock,
            plans,
            limits,
            config.operator_token,
        );
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
