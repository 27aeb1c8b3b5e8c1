//! The auth service as its own process.

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use countersign_auth::{Config, Service};
use countersign_kit::{clock::SystemClock, config, grpc, status::ErrorChain, telemetry};

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(telemetry::LogFormat::Json);
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %ErrorChain(e.as_ref()), "auth service stopped");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let file = std::env::var_os("COUNTERSIGN_CONFIG").map(PathBuf::from);
    let config: Config = config::load(file.as_deref(), Some("auth"))?;
    let (listener, _) = grpc::bind(&config.listen).await?;
    let service = Service::build(config, Arc::new(SystemClock)).await?;
    service.serve(listener, grpc::shutdown_signal()).await?;
    Ok(())
}
