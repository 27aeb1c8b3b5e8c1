//! The auth service's settings.

use std::time::Duration;

use countersign_kit::db::DbConfig;
use countersign_plans::PlansConfig;
use secrecy::SecretString;
use serde::Deserialize;

/// Default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Default address of the mfa service.
pub const DEFAULT_MFA_URL: &str = "http://127.0.0.1:50052";
/// Default lifetime of a session.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Default lifetime of a login challenge.
pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
/// Default number of answers a challenge takes before it is spent.
pub const DEFAULT_CHALLENGE_MAX_ATTEMPTS: u32 = 5;

/// The auth service's settings.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to listen on. Default: `127.0.0.1:50051`.
    pub listen: String,
    /// Where organizations, members and sessions live. Default: in-memory
    /// SQLite; schema `auth` on Postgres.
    pub db: DbConfig,
    /// URL of the mfa service. Default: `http://127.0.0.1:50052`.
    pub mfa_url: String,
    /// Lifetime of a session. Default: 12 h.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// Lifetime of a login challenge. Default: 5 min.
    #[serde(with = "humantime_serde")]
    pub challenge_ttl: Duration,
    /// Answers a challenge takes before it is spent. Default: 5.
    pub challenge_max_attempts: u32,
    /// Bearer token of operators, who create organizations. Default: none,
    /// which turns operator calls off.
    pub operator_token: Option<SecretString>,
    /// Plan tiers. Default: `prime < essential < professional`.
    pub plans: PlansConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_string(),
            db: DbConfig::with_schema("auth"),
            mfa_url: DEFAULT_MFA_URL.to_string(),
            session_ttl: DEFAULT_SESSION_TTL,
            challenge_ttl: DEFAULT_CHALLENGE_TTL,
            challenge_max_attempts: DEFAULT_CHALLENGE_MAX_ATTEMPTS,
            operator_token: None,
            plans: PlansConfig::default(),
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("db", &self.db)
            .field("mfa_url", &self.mfa_url)
            .field("session_ttl", &self.session_ttl)
            .field("challenge_ttl", &self.challenge_ttl)
            .field("challenge_max_attempts", &self.challenge_max_attempts)
            .field(
                "operator_token",
                &self.operator_token.as_ref().map(|_| "[redacted]"),
            )
            .field("plans", &self.plans)
            .finish()
    }
}
