//! Password logins: the failure limits first, then the password, then a
//! session, or a challenge when the member has a second factor (answered
//! in [`super::challenge`]), or a session that may only enroll when the
//! organization requires MFA of a member who has none.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use super::{
    AuditEntry, AuditKind, Auth, Email, HashError, IssuedSession, Member, Method, Outcome,
    Password, Proof, SECURITY_TARGET, Scope, policy::Enforcement,
};
use crate::{factors::FactorError, store::StoreError};

/// What a correct password leads to.
pub enum LoginOutcome {
    /// No second factor: signed in. While the organization's grace period
    /// runs, the time from which enrolling becomes required.
    Session {
        session: IssuedSession,
        enrollment_deadline: Option<i64>,
    },
    /// A second factor is needed.
    Challenge(Challenge),
    /// The organization requires MFA and the member has none: a session
    /// of [`Scope::Enrollment`].
    EnrollmentRequired(IssuedSession),
}

/// A challenge just opened; the token is shown to its holder once.
pub struct Challenge {
    pub token: SecretString,
    pub methods: Vec<Method>,
    pub expires_at: i64,
}

/// Why a login failed.
#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error("invalid email or password")]
    InvalidCredentials,
    /// Too many wrong passwords for the email or from the address; how
    /// long logins stay refused.
    #[error("too many failed logins")]
    TooManyFailures(Duration),
    /// Every password hashing slot is taken; try again shortly.
    #[error("too many logins at once")]
    Busy,
    /// The password was right but the account is locked until an admin
    /// unlocks it.
    #[error("account locked")]
    Locked,
    #[error("a dependency is unavailable")]
    Unavailable,
    #[error("login failed")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for LoginError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => LoginError::Unavailable,
            other => LoginError::Internal(other.into()),
        }
    }
}

impl From<FactorError> for LoginError {
    fn from(error: FactorError) -> Self {
        match error {
            FactorError::Unavailable => LoginError::Unavailable,
            other => LoginError::Internal(other.into()),
        }
    }
}

impl From<HashError> for LoginError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => LoginError::Busy,
            HashError::Failed(cause) => LoginError::Internal(cause),
        }
    }
}

impl Auth {
    /// Checks a password from `client_address`, unless too many wrong ones
    /// came for the email or from the address; opens a challenge when the
    /// member has MFA. Unknown emails cost and count like wrong passwords.
    pub async fn login(
        &self,
        email: &Email,
        password: &Password,
        client_address: Option<&str>,
    ) -> Result<LoginOutcome, LoginError> {
        let now = self.clock.now_ms();
        if let Some(retry) = self.login_refusal(email, client_address, now).await? {
            tracing::info!(
                target: SECURITY_TARGET,
                outcome = "refused",
                client_address,
                "password login refused after too many failures"
            );
            return Err(LoginError::TooManyFailures(retry));
        }
        let record = self.store.member_by_email(email.as_str()).await?;
        let known: Option<Member> = record.as_ref().map(|r| r.member.clone());
        let stored = record.as_ref().map(|r| r.password_hash.expose_secret());
        let matched = self.hasher.verify(password, stored).await?;
        let Some(record) = record.filter(|_| matched) else {
            self.count_login_failure(email, client_address, now).await?;
            tracing::info!(
                target: SECURITY_TARGET,
                outcome = "denied",
                client_address,
                "password login denied"
            );
            if let Some(member) = &known {
                self.audit(
                    AuditEntry::by(AuditKind::LoginFailed, member)
                        .outcome(Outcome::Failure)
                        .from_address(client_address)
                        .with("factor", Proof::Password.as_str()),
                )
                .await?;
            }
            return Err(LoginError::InvalidCredentials);
        };

        let member = record.member;
        if member.locked {
            // Counted like a wrong password, so that neither the answer nor
            // the failure limit tells that the password was right.
            self.count_login_failure(email, client_address, now).await?;
            tracing::info!(
                target: SECURITY_TARGET,
                outcome = "locked",
                member_id = %member.id,
                client_address,
                "password right but account locked"
            );
            self.audit(
                AuditEntry::by(AuditKind::LoginFailed, &member)
                    .outcome(Outcome::Failure)
                    .from_address(client_address)
                    .with("factor", Proof::Password.as_str())
                    .with("reason", "locked"),
            )
            .await?;
            return Err(LoginError::Locked);
        }
        self.clear_account_failures(email).await?;
        tracing::info!(
            target: SECURITY_TARGET,
            outcome = "accepted",
            member_id = %member.id,
            client_address,
            "password accepted"
        );
        let methods = self.factors.methods(&member.id).await?;
        if !methods.is_empty() {
            return Ok(LoginOutcome::Challenge(
                self.open_challenge(&member.id, methods).await?,
            ));
        }
        let enforcement = self.enforcement(&member.organization_id, now).await?;
        let scope = match enforcement {
            Enforcement::Now => Scope::Enrollment,
            Enforcement::None | Enforcement::From(_) => Scope::Full,
        };
        let session = self
            .issue_session(&member.id, vec![Proof::Password], scope)
            .await?;
        self.audit(
            AuditEntry::by(AuditKind::LoginSucceeded, &member)
                .from_address(client_address)
                .with("factors", Proof::Password.as_str())
                .with("scope", scope.as_str()),
        )
        .await?;
        Ok(match enforcement {
            Enforcement::Now => LoginOutcome::EnrollmentRequired(session),
            Enforcement::From(deadline) => LoginOutcome::Session {
                session,
                enrollment_deadline: Some(deadline),
            },
            Enforcement::None => LoginOutcome::Session {
                session,
                enrollment_deadline: None,
            },
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use super::*;
    use crate::domain::{
        HashPoolSize,
        testing::{
            ACCOUNT_LIMIT, ADDRESS_LIMIT, FakeFactors, Harness, LOCKOUT, OWNER, PASSWORD, ROOMY,
            email, harness, password,
        },
    };

    const HOME: Option<&str> = Some("203.0.113.7");

    async fn attempt(h: &Harness, who: &str, text: &str, from: Option<&str>) -> LoginError {
        match h.auth.login(&email(who), &password(text), from).await {
            Ok(_) => panic!("expected {who} to be refused"),
            Err(error) => error,
        }
    }

    async fn fail_times(h: &Harness, who: &str, times: u32, from: Option<&str>) {
        for _ in 0..times {
            let error = attempt(h, who, "wrong password", from).await;
            assert!(matches!(error, LoginError::InvalidCredentials), "{error:?}");
        }
    }

    async fn signs_in(h: &Harness, from: Option<&str>) -> bool {
        let outcome = h.auth.login(&email(OWNER), &password(PASSWORD), from).await;
        matches!(outcome, Ok(LoginOutcome::Session { .. }))
    }

    #[tokio::test]
    async fn login_refuses_account_before_hashing_when_limit_reached() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        fail_times(&h, OWNER, ACCOUNT_LIMIT, None).await;
        h.clock.advance(Duration::from_secs(60));

        let _all_slots = h.auth.hasher.exhaust();
        let locked = attempt(&h, OWNER, PASSWORD, HOME).await;
        let other = attempt(&h, "someone@ledger.example", PASSWORD, HOME).await;

        let LoginError::TooManyFailures(retry) = locked else {
            panic!("expected too many failures, got {locked:?}");
        };
        assert_eq!(retry, LOCKOUT - Duration::from_secs(60));
        assert!(matches!(other, LoginError::Busy), "{other:?}");
    }

    #[tokio::test]
    async fn login_counts_unknown_email_like_known() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        let unknown = "Nobody@Ledger.example";

        fail_times(&h, unknown, ACCOUNT_LIMIT, None).await;
        let refused = attempt(&h, "nobody@ledger.example ", "anything", None).await;

        assert!(
            matches!(refused, LoginError::TooManyFailures(_)),
            "{refused:?}"
        );
        assert!(signs_in(&h, None).await);
    }

    #[tokio::test]
    async fn login_clears_account_failures_when_password_right() {
        let h = harness(ROOMY, FakeFactors::none()).await;

        fail_times(&h, OWNER, ACCOUNT_LIMIT - 1, None).await;
        assert!(signs_in(&h, None).await);
        fail_times(&h, OWNER, ACCOUNT_LIMIT - 1, None).await;

        assert!(signs_in(&h, None).await);
    }

    #[tokio::test]
    async fn login_refuses_address_after_failures_across_emails() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        for n in 0..ADDRESS_LIMIT {
            fail_times(&h, &format!("guess{n}@ledger.example"), 1, HOME).await;
        }

        let from_home = attempt(&h, OWNER, PASSWORD, HOME).await;

        assert!(
            matches!(from_home, LoginError::TooManyFailures(_)),
            "{from_home:?}"
        );
        assert!(signs_in(&h, Some("198.51.100.9")).await);
    }

    #[tokio::test]
    async fn login_allowed_again_when_lockout_over() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        fail_times(&h, OWNER, ACCOUNT_LIMIT, HOME).await;

        h.clock.advance(LOCKOUT - Duration::from_millis(1));
        let still = attempt(&h, OWNER, PASSWORD, HOME).await;
        h.clock.advance(Duration::from_millis(1));

        assert!(matches!(still, LoginError::TooManyFailures(_)), "{still:?}");
        assert!(signs_in(&h, HOME).await);
    }

    #[tokio::test]
    async fn login_forgets_failures_when_window_over() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        fail_times(&h, OWNER, ACCOUNT_LIMIT - 1, None).await;

        h.clock.advance(LOCKOUT);
        fail_times(&h, OWNER, ACCOUNT_LIMIT - 1, None).await;

        assert!(signs_in(&h, None).await);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn login_flood_refuses_some_busy_and_answers_rest_when_pool_tiny() {
        let tiny = HashPoolSize {
            workers: 1,
            queue: 1,
        };
        let h = harness(tiny, FakeFactors::none()).await;

        let mut flood = tokio::task::JoinSet::new();
        for _ in 0..16 {
            let auth = Arc::clone(&h.auth);
            flood.spawn(async move { auth.login(&email(OWNER), &password(PASSWORD), HOME).await });
        }
        let outcomes = flood.join_all().await;

        let busy = outcomes
            .iter()
            .filter(|o| matches!(o, Err(LoginError::Busy)))
            .count();
        let signed_in = outcomes
            .iter()
            .filter(|o| matches!(o, Ok(LoginOutcome::Session { .. })))
            .count();
        assert!(busy > 0, "no login was refused as busy");
        assert!(signed_in > 0, "no login was answered");
        assert_eq!(busy + signed_in, outcomes.len());
    }

    #[tokio::test]
    async fn locked_account_counts_right_password_as_failure() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        let owner = h.auth.store.member_by_email(OWNER).await.unwrap().unwrap();
        h.auth.store.lock_member(&owner.member.id, 1).await.unwrap();

        fail_times(&h, OWNER, ACCOUNT_LIMIT - 1, None).await;
        let right = attempt(&h, OWNER, PASSWORD, None).await;
        let next = attempt(&h, OWNER, "wrong password", None).await;

        assert!(matches!(right, LoginError::Locked), "{right:?}");
        assert!(matches!(next, LoginError::TooManyFailures(_)), "{next:?}");
    }
}
