//! `countersign-mfa`: the mfa service on its own. Reads the defaults,
//! the optional TOML file named by `COUNTERSIGN_CONFIG` (table `[mfa]`)
//! and `COUNTERSIGN_MFA__*` variables, then serves until SIGINT or SIGTERM.

use std::{error::Error, process::ExitCode, sync::Arc};

use countersign_kit::{
    clock::SystemClock,
    config,
    grpc::{bind, shutdown_signal},
    telemetry::{self, LogFormat},
};
use countersign_mfa::{Config, Service};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(LogFormat::Json);
    telemetry::exit_code("countersign-mfa", run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config: Config = config::load(config::file_from_env().as_deref(), Some("mfa"))?;
    let (listener, _) = bind(&config.listen).await?;
    Service::build(config, Arc::new(SystemClock))
        .await?
        .serve(listener, shutdown_signal())
        .await?;
    Ok(())
}
