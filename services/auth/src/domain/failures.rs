//! Password failure limits. Wrong passwords are counted per account (the
//! normalized email, whether or not a member has it, so a limit tells
//! nothing of who is a member) and per client address; past a limit,
//! logins are refused for a while before any password is hashed. These
//! limits are separate from the second-factor lockouts the mfa service
//! keeps.

use std::time::Duration;

use super::{Auth, Email, SECURITY_TARGET};
use crate::store::{FailureKey, FailureScope, StoreError};

/// How wrong passwords add up under one key: `limit` of them within
/// `window` of the first refuse logins for `lockout`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FailureRule {
    pub limit: u32,
    pub window: Duration,
    pub lockout: Duration,
}

/// The keys a login's failures count under: its email, and its client
/// address when known.
fn failure_keys<'a>(email: &'a Email, client_address: Option<&'a str>) -> Vec<FailureKey<'a>> {
    let account = FailureKey {
        scope: FailureScope::Account,
        subject: email.as_str(),
    };
    let address = client_address.map(|subject| FailureKey {
        scope: FailureScope::Address,
        subject,
    });
    std::iter::once(account).chain(address).collect()
}

impl Auth {
    fn failure_rule(&self, scope: FailureScope) -> &FailureRule {
        match scope {
            FailureScope::Account => &self.limits.account_failures,
            FailureScope::Address => &self.limits.address_failures,
        }
    }

    /// How long logins for `email` from `client_address` stay refused, if
    /// they are refused at `now`.
    pub(super) async fn login_refusal(
        &self,
        email: &Email,
        client_address: Option<&str>,
        now: i64,
    ) -> Result<Option<Duration>, StoreError> {
        let mut until = None;
        for key in failure_keys(email, client_address) {
            until = until.max(self.store.login_blocked_until(&key, now).await?);
        }
        Ok(until.map(|until| remaining(until, now)))
    }

    /// Counts a wrong password against the email and the client address,
    /// and forgets counters that no longer matter.
    pub(super) async fn count_login_failure(
        &self,
        email: &Email,
        client_address: Option<&str>,
        now: i64,
    ) -> Result<(), StoreError> {
        for key in failure_keys(email, client_address) {
            let rule = self.failure_rule(key.scope);
            let count = self.store.record_login_failure(&key, rule, now).await?;
            if count.blocked_until.is_some() && count.failures >= rule.limit {
                tracing::info!(
                    target: SECURITY_TARGET,
                    scope = key.scope.as_str(),
                    client_address,
                    failures = count.failures,
                    "password failure limit reached, logins refused"
                );
            }
        }
        self.store.prune_login_failures(now).await?;
        Ok(())
    }

    /// Forgets the wrong passwords counted against an email.
    pub(super) async fn clear_account_failures(&self, email: &Email) -> Result<(), StoreError> {
        let key = FailureKey {
            scope: FailureScope::Account,
            subject: email.as_str(),
        };
        self.store.clear_login_failures(&key).await
    }
}

/// The time from `now` to `until`, both in milliseconds since the epoch.
fn remaining(until: i64, now: i64) -> Duration {
    Duration::from_millis(u64::try_from(until.saturating_sub(now)).unwrap_or(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failure_keys_name_email_and_address_when_known() {
        let email = Email::parse("Ann@Example.com").unwrap();

        let both = failure_keys(&email, Some("203.0.113.7"));
        let only_email = failure_keys(&email, None);

        assert_eq!(both.len(), 2);
        assert_eq!(both[0].subject, "ann@example.com");
        assert_eq!(both[1].scope, FailureScope::Address);
        assert_eq!(both[1].subject, "203.0.113.7");
        assert_eq!(only_email.len(), 1);
    }

    #[test]
    fn remaining_is_zero_when_past() {
        assert_eq!(remaining(5_000, 2_000), Duration::from_secs(3));
        assert_eq!(remaining(1_000, 2_000), Duration::ZERO);
    }
}
