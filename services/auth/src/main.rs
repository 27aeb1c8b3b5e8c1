//! `countersign-auth`: the auth service on its own. Reads the defaults,
//! the optional TOML file named by `COUNTERSIGN_CONFIG` (table `[auth]`)
//! and `COUNTERSIGN_AUTH__*` variables, then serves until SIGINT or SIGTERM.

use std::{error::Error, process::ExitCode, sync::Arc};

use countersign_auth::{Config, Service};
use countersign_kit::{
    clock::SystemClock,
    config,
    grpc::{bind, shutdown_signal},
    telemetry::{self, LogFormat},
};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(LogFormat::Json);
    telemetry::exit_code("countersign-auth", run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config: Config = config::load(config::file_from_env().as_deref(), Some("auth"))?;
    let (listener, _) = bind(&config.listen).await?;
    Service::build(config, Arc::new(SystemClock))
        .await?
        .serve(listener, shutdown_signal())
        .await?;
    Ok(())
}
