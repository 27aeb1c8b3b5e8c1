//! `countersign-mfa`: the mfa service on its own. Reads configuration from
//! the defaults, the optional TOML file named by `COUNTERSIGN_CONFIG`
//! (table `[mfa]`) and `COUNTERSIGN_MFA__*` variables, then serves until
//! SIGINT or SIGTERM.

use std::{error::Error, path::PathBuf, process::ExitCode, sync::Arc};

use countersign_kit::{
    clock::SystemClock,
    config,
    grpc::{bind, shutdown_signal},
    status::ErrorChain,
    telemetry::{self, LogFormat},
};
use countersign_mfa::{Config, Service};

/// The variable naming the configuration file.
const CONFIG_ENV: &str = "COUNTERSIGN_CONFIG";

#[tokio::main]
async fn main() -> ExitCode {
    telemetry::init(LogFormat::Json);
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("countersign-mfa: {}", ErrorChain(error.as_ref()));
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), Box<dyn Error>> {
    let file = std::env::var_os(CONFIG_ENV).map(PathBuf::from);
    let config: Config = config::load(file.as_deref(), Some("mfa"))?;
    let listen = config.listen.clone();
    let service = Service::build(config, Arc::new(SystemClock)).await?;
    let (listener, _) = bind(&listen).await?;
    service.serve(listener, shutdown_signal()).await?;
    Ok(())
}
