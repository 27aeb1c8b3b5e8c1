//! `countersign-notification`: the notification service on its own. Reads the defaults,
//! the optional TOML file named by `COUNTERSIGN_CONFIG` (table `[notification]`)
//! and `COUNTERSIGN_NOTIFICATION__*` variables, then serves until SIGINT or SIGTERM.

use std::{error::Error, process::ExitCode, sync::Arc};

use countersign_kit::{
    clock::SystemClock,
    config,
    grpc::{bind, shutdown_signal},
    telemetry::{self, LogFormat},
};
use countersign_notification::{Config, Service};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(LogFormat::Json);
    telemetry::exit_code("countersign-notification", run().await)
}

async fn run() -> Result<(), Box<dyn Error>> {
    let config: Config = config::load(config::file_from_env().as_deref(), Some("notification"))?;
    let (listener, _) = bind(&config.listen).await?;
    Service::build(config, Arc::new(SystemClock))
        .await?
        .serve(listener, shutdown_signal())
        .await?;
    Ok(())
}
