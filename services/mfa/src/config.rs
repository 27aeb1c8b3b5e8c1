//! The mfa service's settings: where it listens, where its storage and the
//! other services are, TOTP parameters, emailed-code limits, the lockout
//! after failed attempts, and keys.

use std::time::Duration;

use secrecy::SecretString;
use serde::Deserialize;

use countersign_kit::{db::DbConfig, seal::EncryptionKeyConfig};
use countersign_plans::PlansConfig;

/// Address the gRPC server binds.
pub const DEFAULT_LISTEN: &str = "127.0.0.1:50052";
/// Postgres schema of the mfa tables.
pub const DEFAULT_SCHEMA: &str = "mfa";
/// Prefix of every Redis key the service writes.
pub const DEFAULT_REDIS_PREFIX: &str = "countersign:mfa";
/// Where the auth service listens.
pub const DEFAULT_AUTH_URL: &str = "http://127.0.0.1:50051";
/// Where the notification service listens.
pub const DEFAULT_NOTIFICATION_URL: &str = "http://127.0.0.1:50053";
/// Issuer shown by authenticator apps.
pub const DEFAULT_ISSUER: &str = "Countersign";
/// TOTP steps accepted on either side of the current one.
pub const DEFAULT_TOTP_WINDOW_STEPS: u8 = 1;
/// How long a begun enrollment waits for its confirming code.
pub const DEFAULT_ENROLLMENT_TTL: Duration = Duration::from_secs(10 * 60);
/// How long an emailed code stays valid, counted from its issue.
pub const DEFAULT_EMAIL_CODE_TTL: Duration = Duration::from_secs(10 * 60);
/// Wrong guesses allowed on a member's outstanding emailed codes.
pub const DEFAULT_EMAIL_CODE_MAX_GUESSES: u32 = 5;
/// Shortest wait between two emailed codes to one member.
pub const DEFAULT_EMAIL_CODE_RESEND_COOLDOWN: Duration = Duration::from_secs(60);
/// Emailed codes one member may be sent per hour.
pub const DEFAULT_EMAIL_CODE_HOURLY_QUOTA: u32 = 5;
/// Failed second-factor attempts, all factors together, that lock a member.
pub const DEFAULT_LOCKOUT_THRESHOLD: u32 = 5;
/// The span within which those failures must fall.
pub const DEFAULT_LOCKOUT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long a member's second factor stays locked.
pub const DEFAULT_LOCKOUT_DURATION: Duration = Duration::from_secs(15 * 60);

/// Settings of the mfa service.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Address to serve gRPC on. Default: `127.0.0.1:50052`.
    pub listen: String,
    /// Where factors and enrollments are kept. Default: in-memory SQLite,
    /// Postgres schema `mfa`.
    pub db: DbConfig,
    /// `redis://…` URL of the store for emailed codes. Default: none, which
    /// keeps them in an in-process store, lost on restart and not shared
    /// between replicas.
    pub redis_url: Option<SecretString>,
    /// Prefix of every Redis key. Default: `countersign:mfa`.
    pub redis_prefix: String,
    /// URL of the auth service. Default: `http://127.0.0.1:50051`.
    pub auth_url: String,
    /// URL of the notification service. Default: `http://127.0.0.1:50053`.
    pub notification_url: String,
    /// Issuer name in `otpauth://` URIs: any text but empty or holding a
    /// colon, which the key URI format forbids. Default: `Countersign`.
    pub issuer: String,
    /// TOTP steps (of 30 s) accepted before and after the current one.
    /// Default: 1.
    pub totp_window_steps: u8,
    /// Lifetime of a begun enrollment. Default: 10 min.
    #[serde(with = "humantime_serde")]
    pub enrollment_ttl: Duration,
    /// Lifetime of an emailed code, from its issue. Default: 10 min.
    #[serde(with = "humantime_serde")]
    pub email_code_ttl: Duration,
    /// Wrong guesses, counted over all of a member's outstanding emailed
    /// codes and kept across resends, after which even a right code is
    /// refused until they lapse. Default: 5.
    pub email_code_max_guesses: u32,
    /// Shortest wait between two emailed codes to one member; zero turns
    /// the cooldown off. Default: 60 s.
    #[serde(with = "humantime_serde")]
    pub email_code_resend_cooldown: Duration,
    /// Emailed codes one member may be sent per hour (a fixed window from
    /// the first send). Default: 5.
    pub email_code_hourly_quota: u32,
    /// Failed second-factor attempts (wrong, expired or reused codes of any
    /// factor, together) that lock the member's second factor. Default: 5.
    pub lockout_threshold: u32,
    /// Span, from the first failure, within which `lockout_threshold`
    /// failures lock. Default: 15 min.
    #[serde(with = "humantime_serde")]
    pub lockout_window: Duration,
    /// How long a lock lasts; every attempt is refused meanwhile, right
    /// codes included. Default: 15 min.
    #[serde(with = "humantime_serde")]
    pub lockout_duration: Duration,
    /// HMAC key (at least 32 bytes of text) under which emailed codes are
    /// stored. Default: none, which draws a random key at start, so codes
    /// issued before a restart, or by another replica, stop working.
    pub code_key: Option<SecretString>,
    /// AES-256-GCM keys for TOTP secrets. The LAST key encrypts; every key
    /// decrypts, so a key is rotated by appending a new one and dropping
    /// the old one once no secret uses it. Default: empty, which draws a
    /// random key at start, so stored secrets die with the process.
    pub encryption_keys: Vec<EncryptionKeyConfig>,
    /// Plan tiers and the tier MFA needs. Default: MFA from `essential`.
    pub plans: PlansConfig,
}

impl Default for Config {
    fn default() -> Self {
        Self {
            listen: DEFAULT_LISTEN.to_string(),
            db: DbConfig::with_schema(DEFAULT_SCHEMA),
            redis_url: None,
            redis_prefix: DEFAULT_REDIS_PREFIX.to_string(),
            auth_url: DEFAULT_AUTH_URL.to_string(),
            notification_url: DEFAULT_NOTIFICATION_URL.to_string(),
            issuer: DEFAULT_ISSUER.to_string(),
            totp_window_steps: DEFAULT_TOTP_WINDOW_STEPS,
            enrollment_ttl: DEFAULT_ENROLLMENT_TTL,
            email_code_ttl: DEFAULT_EMAIL_CODE_TTL,
            email_code_max_guesses: DEFAULT_EMAIL_CODE_MAX_GUESSES,
            email_code_resend_cooldown: DEFAULT_EMAIL_CODE_RESEND_COOLDOWN,
            email_code_hourly_quota: DEFAULT_EMAIL_CODE_HOURLY_QUOTA,
            lockout_threshold: DEFAULT_LOCKOUT_THRESHOLD,
            lockout_window: DEFAULT_LOCKOUT_WINDOW,
            lockout_duration: DEFAULT_LOCKOUT_DURATION,
            code_key: None,
            encryption_keys: Vec::new(),
            plans: PlansConfig::default(),
        }
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;

    #[test]
    fn config_debug_hides_keys() {
        let config = Config {
            code_key: Some(SecretString::from("code-key-hunter2")),
            encryption_keys: vec![EncryptionKeyConfig {
                id: "k1".into(),
                key: SecretString::from("aes-key-hunter2"),
            }],
            redis_url: Some(SecretString::from("redis://:hunter2@db")),
            ..Config::default()
        };

        let shown = format!("{config:?}");

        assert!(!shown.contains("hunter2"));
        assert!(shown.contains("k1"));
        assert_eq!(
            config.code_key.map(|k| k.expose_secret().to_string()),
            Some("code-key-hunter2".to_string())
        );
    }

    #[test]
    fn config_defaults_match_constants() {
        let config = Config::default();

        assert_eq!(config.listen, "127.0.0.1:50052");
        assert_eq!(config.db.schema, "mfa");
        assert_eq!(config.totp_window_steps, 1);
        assert_eq!(config.email_code_max_guesses, 5);
        assert_eq!(config.email_code_ttl, Duration::from_secs(600));
        assert_eq!(config.email_code_resend_cooldown, Duration::from_secs(60));
        assert_eq!(config.email_code_hourly_quota, 5);
        assert_eq!(config.lockout_threshold, 5);
        assert_eq!(config.lockout_window, Duration::from_secs(900));
        assert_eq!(config.lockout_duration, Duration::from_secs(900));
        assert!(config.redis_url.is_none());
    }
}
