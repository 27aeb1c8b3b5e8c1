//! `countersign-notification`: runs the notification service alone.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use countersign_kit::{
    clock::SystemClock,
    grpc::{bind, shutdown_signal},
    status::ErrorChain,
    telemetry::{self, LogFormat},
};
use countersign_notification::{Config, Service};

/// Names the configuration file, if any.
const CONFIG_ENV: &str = "COUNTERSIGN_CONFIG";

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(LogFormat::Json);
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("countersign-notification: {}", ErrorChain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::var_os(CONFIG_ENV).map(PathBuf::from);
    let config: Config = countersign_kit::config::load(file.as_deref(), Some("notification"))?;
    let listen = config.listen.clone();
    let service = Service::build(config, Arc::new(SystemClock)).await?;
    let (listener, address) = bind(&listen).await?;
    tracing::info!(%address, "listening");
    service.serve(listener, shutdown_signal()).await?;
    Ok(())
}
