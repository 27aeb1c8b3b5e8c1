//! The service's settings, read once at start. Tests build them directly.

use std::{fmt, time::Duration};

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use countersign_kit::{db::DbConfig, seal::EncryptionKeyConfig};

/// Address the gRPC server listens on.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50053";
/// Postgres schema of the outbox.
pub const DEFAULT_SCHEMA: &str = "notification";
/// Sender of every email.
pub const DEFAULT_FROM: &str = "Countersign <no-reply@countersign.localhost>";
/// How often the worker looks for due messages when nothing wakes it.
pub const DEFAULT_POLL_INTERVAL: Duration = Duration::from_secs(1);
/// Delivery attempts before a message is given up as failed.
pub const DEFAULT_MAX_ATTEMPTS: u32 = 8;
/// Wait after the first failed attempt; doubled after each further one.
pub const DEFAULT_RETRY_BASE: Duration = Duration::from_secs(2);
/// Longest wait between two attempts.
pub const DEFAULT_RETRY_MAX: Duration = Duration::from_secs(5 * 60);
/// Deadline of one delivery to the SMTP relay.
pub const DEFAULT_SMTP_TIMEOUT: Duration = Duration::from_secs(10);

/// Settings of the notification service.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// `host:port` of the gRPC server. Default: `127.0.0.1:50053`.
    pub listen: String,
    /// Where the outbox lives. Default: in-memory SQLite, schema
    /// `notification` on Postgres.
    pub db: DbConfig,
    /// The SMTP relay. Default: none, emails are printed to the console.
    pub smtp: Option<SmtpConfig>,
    /// `From` of every email, a mailbox such as `Name <addr@host>`.
    /// Default: `Countersign <no-reply@countersign.localhost>`.
    pub from: String,
    /// Interval between two looks for due messages when no enqueue wakes
    /// the worker. Default: 1 s.
    #[serde(with = "humantime_serde")]
    pub poll_interval: Duration,
    /// Attempts before a message is marked failed. Default: 8.
    pub max_attempts: u32,
    /// Wait after the first failed attempt, doubled after each further
    /// one. Default: 2 s.
    #[serde(with = "humantime_serde")]
    pub retry_base: Duration,
    /// Cap on the wait between attempts. Default: 5 min.
    #[serde(with = "humantime_serde")]
    pub retry_max: Duration,
    /// AES-256-GCM keys that seal message parameters (which may hold a
    /// sign-in code) in the outbox until the message is sent. The LAST key
    /// seals; every key opens, so rotate by appending. Default: empty,
    /// which draws a random key at start: messages still pending when the
    /// process stops can then never be sent, and replicas cannot send each
    /// other's messages.
    pub params_keys: Vec<EncryptionKeyConfig>,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_string(),
            db: DbConfig::with_schema(DEFAULT_SCHEMA),
            smtp: None,
            from: DEFAULT_FROM.to_string(),
            poll_interval: DEFAULT_POLL_INTERVAL,
            max_attempts: DEFAULT_MAX_ATTEMPTS,
            retry_base: DEFAULT_RETRY_BASE,
            retry_max: DEFAULT_RETRY_MAX,
            params_keys: Vec::new(),
        }
    }
}

/// An SMTP relay.
#[derive(Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SmtpConfig {
    /// lettre connection URL: `smtp://host:port` (plain),
    /// `smtp://host:port?tls=required` (STARTTLS), `smtps://user:pass@host`
    /// (TLS from the start); user and password percent-encoded. Required.
    pub url: SecretString,
    /// Deadline of one whole delivery: connecting, the greeting and every
    /// command. Default: 10 s.
    #[serde(default = "default_smtp_timeout", with = "humantime_serde")]
    pub timeout: Duration,
}

impl SmtpConfig {
    /// A relay at `url` with the default timeout.
    pub fn new(url: &str) -> Self {
        Self {
            url: SecretString::from(url),
            timeout: DEFAULT_SMTP_TIMEOUT,
        }
    }
}

fn default_smtp_timeout() -> Duration {
    DEFAULT_SMTP_TIMEOUT
}

impl fmt::Debug for SmtpConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpConfig")
            .field(
                "relay",
                &relay_without_credentials(self.url.expose_secret()),
            )
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The URL with everything up to the last `@` of its authority dropped, so
/// no user or password shows, even one written without percent-encoding.
fn relay_without_credentials(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparsable url>".to_string();
    };
    let host = rest.rsplit_once('@').map_or(rest, |(_, host)| host);
    format!("{scheme}://{host}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn smtp_debug_hides_credentials_when_percent_encoded() {
        let smtp = SmtpConfig::new("smtps://mailer:hunter2@relay.example:465");

        let shown = format!("{smtp:?}");

        assert!(!shown.contains("hunter2"));
        assert!(!shown.contains("mailer"));
        assert!(shown.contains("smtps://relay.example:465"));
    }

    #[test]
    fn smtp_debug_hides_credentials_when_password_has_slash_and_at() {
        let smtp = SmtpConfig::new("smtps://me:hun/ter@2@relay.example?tls=required");

        let shown = format!("{smtp:?}");

        assert!(!shown.contains("hun"));
        assert!(!shown.contains("ter"));
        assert!(shown.contains("relay.example"));
    }

    #[test]
    fn smtp_debug_hides_url_without_scheme() {
        let smtp = SmtpConfig::new("me:hunter2@relay");

        let shown = format!(
            "{:?}",
            Config {
                smtp: Some(smtp),
                ..Config::default()
            }
        );

        assert!(!shown.contains("hunter2"));
    }

    #[test]
    fn config_defaults_when_empty_and_rejects_unknown_keys() {
        let empty: Config = serde_json::from_str("{}").unwrap();
        let unknown = serde_json::from_str::<Config>(r#"{"smtp_url": "x"}"#);

        assert_eq!(empty.listen, DEFAULT_LISTEN);
        assert_eq!(empty.max_attempts, DEFAULT_MAX_ATTEMPTS);
        assert!(empty.smtp.is_none());
        assert!(unknown.is_err());
    }

    #[test]
    fn smtp_timeout_defaults_when_only_url_given() {
        let config: Config = serde_json::from_str(
            r#"{"smtp": {"url": "smtp://relay:25"}, "poll_interval": "250ms"}"#,
        )
        .unwrap();

        let smtp = config.smtp.unwrap();

        assert_eq!(smtp.timeout, DEFAULT_SMTP_TIMEOUT);
        assert_eq!(config.poll_interval, Duration::from_millis(250));
    }
}
