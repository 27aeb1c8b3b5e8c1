//! Layered configuration: the struct's own defaults, then an optional TOML
//! file, then `COUNTERSIGN_` environment variables, where `__` separates the
//! levels (`COUNTERSIGN_MFA__REDIS_URL` sets `mfa.redis_url`).
//!
//! Only the binaries call [`load`]; tests build their configs directly.

use std::path::Path;

use figment::{
    Figment,
    providers::{Env, Format, Toml},
};
use serde::de::DeserializeOwned;

/// The prefix of every environment variable Countersign reads.
pub const ENV_PREFIX: &str = "COUNTERSIGN_";

/// Variables with the prefix that are read elsewhere, not settings: the log
/// filter and the path of the configuration file.
pub const NOT_SETTINGS: [&str; 2] = ["log", "config"];

/// The variable naming the optional TOML settings file.
pub const FILE_ENV: &str = "COUNTERSIGN_CONFIG";

/// The settings file named by `COUNTERSIGN_CONFIG`, if any.
pub fn file_from_env() -> Option<std::path::PathBuf> {
    std::env::var_os(FILE_ENV).map(std::path::PathBuf::from)
}

/// A configuration that could not be read, naming the offending key.
#[derive(Debug, thiserror::Error)]
#[error("invalid configuration: {0}")]
pub struct ConfigError(#[from] Box<figment::Error>);

/// Reads `T` from the layers. `section` picks one table of the file and the
/// environment (`"auth"` reads `[auth]` and `COUNTERSIGN_AUTH__*`); `None`
/// reads the whole.
pub fn load<T: DeserializeOwned>(
    file: Option<&Path>,
    section: Option<&str>,
) -> Result<T, ConfigError> {
    let mut figment = Figment::new();
    if let Some(file) = file {
        figment = figment.merge(Toml::file_exact(file));
    }
    let env = Env::prefixed(ENV_PREFIX).ignore(&NOT_SETTINGS).split("__");
    figment = figment.merge(env);
    if let Some(section) = section {
        figment = figment.focus(section);
    }
    figment.extract().map_err(|e| ConfigError(Box::new(e)))
}
