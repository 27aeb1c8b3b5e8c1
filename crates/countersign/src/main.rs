//! `countersign`: runs one service (`auth`, `mfa`, `notification`), all
//! three in one process (`dev`), or creates the first organization
//! (`bootstrap`).
//!
//! Settings come from the optional TOML file named by `--config` or
//! `COUNTERSIGN_CONFIG`, then `COUNTERSIGN_<SERVICE>__<KEY>` variables.

mod dev;
mod settings;

use std::{path::PathBuf, process::ExitCode, sync::Arc};

use clap::{Parser, Subcommand};

use countersign_kit::{clock::SystemClock, config, grpc, telemetry};
use settings::Settings;

#[derive(Parser)]
#[command(
    name = "countersign",
    version,
    about = "Multi-factor authentication services"
)]
struct Cli {
    /// TOML settings file.
    #[arg(long, env = config::FILE_ENV, global = true)]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Run the auth service.
    Auth,
    /// Run the mfa service.
    Mfa,
    /// Run the notification service.
    Notification,
    /// Run all three services in one process, with a demo organization.
    Dev,
    /// Create an organization and its owner, printing the owner's password.
    Bootstrap(dev::BootstrapArgs),
}

#[tokio::main]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let format = match cli.command {
        Command::Dev | Command::Bootstrap(_) => telemetry::LogFormat::Text,
        _ => telemetry::LogFormat::Json,
    };
    telemetry::init(format);
    telemetry::exit_code("countersign", run(cli).await)
}

async fn run(cli: Cli) -> Result<(), Box<dyn std::error::Error>> {
    let settings = Settings::load(cli.config.as_deref())?;
    let clock = Arc::new(SystemClock);
    match cli.command {
        Command::Auth => {
            let (listener, _) = grpc::bind(&settings.auth.listen).await?;
            let service = countersign_auth::Service::build(settings.auth, clock).await?;
            service.serve(listener, grpc::shutdown_signal()).await?;
        }
        Command::Mfa => {
            let (listener, _) = grpc::bind(&settings.mfa.listen).await?;
            let service = countersign_mfa::Service::build(settings.mfa, clock).await?;
            service.serve(listener, grpc::shutdown_signal()).await?;
        }
        Command::Notification => {
            let (listener, _) = grpc::bind(&settings.notification.listen).await?;
            let service =
                countersign_notification::Service::build(settings.notification, clock).await?;
            service.serve(listener, grpc::shutdown_signal()).await?;
        }
        Command::Dev => dev::run(settings, clock).await?,
        Command::Bootstrap(args) => dev::bootstrap(settings, clock, args).await?,
    }
    Ok(())
}
