//! The auth service's settings.

use std::{num::NonZeroUsize, time::Duration};

use countersign_kit::db::DbConfig;
use countersign_plans::PlansConfig;

use crate::domain::Links;
use secrecy::SecretString;
use serde::Deserialize;

/// Default listening address.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50051";
/// Default address of the mfa service.
pub const DEFAULT_MFA_URL: &str = "http://127.0.0.1:50052";
/// Default address of the notification service.
pub const DEFAULT_NOTIFICATION_URL: &str = "http://127.0.0.1:50053";
/// Default page where invitees set their password; the token is appended.
pub const DEFAULT_INVITATION_URL: &str = "http://localhost:8080/accept-invitation";
/// Default page of the "this wasn't me" link; the token is appended.
pub const DEFAULT_REPORT_URL: &str = "http://localhost:8080/report-activity";
/// Default lifetime of an invitation.
pub const DEFAULT_INVITATION_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default lifetime of a "this wasn't me" link.
pub const DEFAULT_REPORT_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// Default lifetime of a session.
pub const DEFAULT_SESSION_TTL: Duration = Duration::from_secs(12 * 3600);
/// Default lifetime of a login challenge.
pub const DEFAULT_CHALLENGE_TTL: Duration = Duration::from_secs(5 * 60);
/// Default number of answers a challenge takes before it is spent.
pub const DEFAULT_CHALLENGE_MAX_ATTEMPTS: u32 = 5;
/// Default number of wrong passwords for one email that refuse its logins.
pub const DEFAULT_ACCOUNT_FAILURE_LIMIT: u32 = 10;
/// Default number of wrong passwords from one client address that refuse
/// its logins.
pub const DEFAULT_ADDRESS_FAILURE_LIMIT: u32 = 100;
/// Default time, from the first wrong password, in which failures count
/// towards a limit.
pub const DEFAULT_FAILURE_WINDOW: Duration = Duration::from_secs(15 * 60);
/// Default time logins stay refused once a failure limit is reached.
pub const DEFAULT_FAILURE_LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Default number of password hashes allowed to wait for a free worker.
pub const DEFAULT_HASH_QUEUE: usize = 64;

/// Default number of password hashes computed at once: the parallelism the
/// machine offers, or 1 when it cannot be told.
pub fn default_hash_workers() -> usize {
    std::thread::available_parallelism().map_or(1, NonZeroUsize::get)
}

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
    /// URL of the notification service. Default: `http://127.0.0.1:50053`.
    pub notification_url: String,
    /// Page of the product where an invitee sets a password; emails link
    /// to it with `token=<invitation token>` added to its query. Default:
    /// `http://localhost:8080/accept-invitation`.
    pub invitation_url: String,
    /// Lifetime of an invitation. Default: 7 days.
    #[serde(with = "humantime_serde")]
    pub invitation_ttl: Duration,
    /// Page of the product that reports activity a member does not
    /// recognize; security emails link to it with `token=<report token>`.
    /// Default: `http://localhost:8080/report-activity`.
    pub report_url: String,
    /// Lifetime of a "this wasn't me" link. Default: 7 days.
    #[serde(with = "humantime_serde")]
    pub report_ttl: Duration,
    /// Lifetime of a session. Default: 12 h.
    #[serde(with = "humantime_serde")]
    pub session_ttl: Duration,
    /// Lifetime of a login challenge. Default: 5 min.
    #[serde(with = "humantime_serde")]
    pub challenge_ttl: Duration,
    /// Answers a challenge takes before it is spent. Default: 5.
    pub challenge_max_attempts: u32,
    /// Wrong passwords for one email, within `account_failure_window`,
    /// after which its logins are refused. Unknown emails count alike.
    /// Default: 10.
    pub account_failure_limit: u32,
    /// Time from an email's first counted failure in which failures add
    /// up. Default: 15 min.
    #[serde(with = "humantime_serde")]
    pub account_failure_window: Duration,
    /// How long an email's logins are refused once its limit is reached.
    /// Default: 15 min.
    #[serde(with = "humantime_serde")]
    pub account_lockout: Duration,
    /// Wrong passwords from one client address, within
    /// `address_failure_window`, after which its logins are refused.
    /// Default: 100.
    pub address_failure_limit: u32,
    /// Time from an address's first counted failure in which failures add
    /// up. Default: 15 min.
    #[serde(with = "humantime_serde")]
    pub address_failure_window: Duration,
    /// How long an address's logins are refused once its limit is reached.
    /// Default: 15 min.
    #[serde(with = "humantime_serde")]
    pub address_lockout: Duration,
    /// Password hashes (Argon2id, 19 MiB each) computed at once. Default:
    /// the machine's available parallelism.
    pub hash_workers: usize,
    /// Password hashes allowed to wait for a worker; a call that would wait
    /// beyond this is refused at once as RESOURCE_EXHAUSTED. Default: 64.
    pub hash_queue: usize,
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
            notification_url: DEFAULT_NOTIFICATION_URL.to_string(),
            invitation_url: DEFAULT_INVITATION_URL.to_string(),
            invitation_ttl: DEFAULT_INVITATION_TTL,
            report_url: DEFAULT_REPORT_URL.to_string(),
            report_ttl: DEFAULT_REPORT_TTL,
            session_ttl: DEFAULT_SESSION_TTL,
            challenge_ttl: DEFAULT_CHALLENGE_TTL,
            challenge_max_attempts: DEFAULT_CHALLENGE_MAX_ATTEMPTS,
            account_failure_limit: DEFAULT_ACCOUNT_FAILURE_LIMIT,
            account_failure_window: DEFAULT_FAILURE_WINDOW,
            account_lockout: DEFAULT_FAILURE_LOCKOUT,
            address_failure_limit: DEFAULT_ADDRESS_FAILURE_LIMIT,
            address_failure_window: DEFAULT_FAILURE_WINDOW,
            address_lockout: DEFAULT_FAILURE_LOCKOUT,
            hash_workers: default_hash_workers(),
            hash_queue: DEFAULT_HASH_QUEUE,
            operator_token: None,
            plans: PlansConfig::default(),
        }
    }
}

/// The links of the default configuration.
impl Default for Links {
    fn default() -> Self {
        Self {
            invitation_url: DEFAULT_INVITATION_URL.to_string(),
            invitation_ttl: DEFAULT_INVITATION_TTL,
            report_url: DEFAULT_REPORT_URL.to_string(),
            report_ttl: DEFAULT_REPORT_TTL,
        }
    }
}

impl std::fmt::Debug for Config {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Config")
            .field("listen", &self.listen)
            .field("db", &self.db)
            .field("mfa_url", &self.mfa_url)
            .field("notification_url", &self.notification_url)
            .field("invitation_url", &self.invitation_url)
            .field("invitation_ttl", &self.invitation_ttl)
            .field("report_url", &self.report_url)
            .field("report_ttl", &self.report_ttl)
            .field("session_ttl", &self.session_ttl)
            .field("challenge_ttl", &self.challenge_ttl)
            .field("challenge_max_attempts", &self.challenge_max_attempts)
            .field("account_failure_limit", &self.account_failure_limit)
            .field("account_failure_window", &self.account_failure_window)
            .field("account_lockout", &self.account_lockout)
            .field("address_failure_limit", &self.address_failure_limit)
            .field("address_failure_window", &self.address_failure_window)
            .field("address_lockout", &self.address_lockout)
            .field("hash_workers", &self.hash_workers)
            .field("hash_queue", &self.hash_queue)
            .field(
                "operator_token",
                &self.operator_token.as_ref().map(|_| "[redacted]"),
            )
            .field("plans", &self.plans)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_matches_constants() {
        let config = Config::default();

        assert_eq!(config.account_failure_limit, 10);
        assert_eq!(config.address_failure_limit, 100);
        assert_eq!(config.account_lockout, Duration::from_secs(900));
        assert_eq!(config.address_failure_window, Duration::from_secs(900));
        assert_eq!(config.hash_queue, 64);
        assert!(config.hash_workers >= 1);
    }

    #[test]
    fn debug_hides_operator_token() {
        let config = Config {
            operator_token: Some(SecretString::from("hunter2-operator")),
            ..Config::default()
        };

        let shown = format!("{config:?}");

        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("hash_queue"));
    }
}
