//! Logging setup: JSON lines for servers, readable text for a terminal.
//! The filter comes from `COUNTERSIGN_LOG` (default `info`).

use tracing_subscriber::{EnvFilter, fmt};

/// The environment variable holding the log filter.
pub const LOG_ENV: &str = "COUNTERSIGN_LOG";
/// The filter used when `COUNTERSIGN_LOG` is unset.
pub const DEFAULT_FILTER: &str = "info";

/// How log lines are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogFormat {
    /// One JSON object per line, for log collectors.
    Json,
    /// Human-readable lines, for a terminal.
    Text,
}

/// Installs the global subscriber. A second call does nothing.
pub fn init(format: LogFormat) {
    let filter =
        EnvFilter::try_from_env(LOG_ENV).unwrap_or_else(|_| EnvFilter::new(DEFAULT_FILTER));
    let builder = fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _already_set = match format {
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
        LogFormat::Text => builder.compact().try_init(),
    };
}

/// The exit code of a binary that ran `result`, printing the error chain of
/// a failure to stderr, prefixed with the binary's name.
pub fn exit_code(
    name: &str,
    result: Result<(), Box<dyn std::error::Error>>,
) -> std::process::ExitCode {
    match result {
        Ok(()) => std::process::ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("{name}: {}", crate::status::ErrorChain(error.as_ref()));
            std::process::ExitCode::FAILURE
        }
    }
}
