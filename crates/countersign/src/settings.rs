//! The settings of all three services, read in one go.

use std::path::Path;

use serde::Deserialize;

use countersign_kit::config::{self, ConfigError};

/// Every service's settings, one table each.
#[derive(Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Settings {
    pub auth: countersign_auth::Config,
    pub mfa: countersign_mfa::Config,
    pub notification: countersign_notification::Config,
}

impl Settings {
    /// Reads the file, if any, and `COUNTERSIGN_` variables.
    pub fn load(file: Option<&Path>) -> Result<Self, ConfigError> {
        config::load(file, None)
    }
}
