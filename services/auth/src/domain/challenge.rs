//! Login challenges: opened after a correct password when the member has a
//! second factor, answered with a code the mfa service vouches for, or used
//! to have a code emailed.

use std::time::Duration;

use secrecy::SecretString;

use countersign_kit::{clock::millis, token};

use super::{
    AuditEntry, AuditKind, Auth, Challenge, IssuedSession, Method, Outcome, Proof, SECURITY_TARGET,
    Scope,
};
use crate::{
    factors::FactorError,
    store::{ChallengeRecord, StoreError},
};

/// Why a challenge answer failed.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("invalid challenge or code")]
    Rejected,
    #[error("method not offered by this challenge")]
    MethodNotOffered,
    #[error("malformed code: {0}")]
    MalformedCode(String),
    /// The member's second factor is locked; when to retry, if mfa said.
    #[error("too many attempts")]
    Throttled(Option<Duration>),
    #[error("a dependency is unavailable")]
    Unavailable,
    #[error("challenge answer failed")]
    Internal(#[source] anyhow::Error),
}

/// Why an emailed code could not be sent.
#[derive(Debug, thiserror::Error)]
pub enum SendCodeError {
    #[error("invalid challenge")]
    InvalidChallenge,
    #[error("method not offered by this challenge")]
    MethodNotOffered,
    /// A resend too soon or too many codes; when to retry, if mfa said.
    #[error("too many codes sent")]
    Throttled(Option<Duration>),
    #[error("a dependency is unavailable")]
    Unavailable,
    #[error("sending the code failed")]
    Internal(#[source] anyhow::Error),
}

macro_rules! from_store_error {
    ($error:ident) => {
        impl From<StoreError> for $error {
            fn from(error: StoreError) -> Self {
                match error {
                    StoreError::Unavailable(_) => $error::Unavailable,
                    other => $error::Internal(other.into()),
                }
            }
        }
    };
}

from_store_error!(AnswerError);
from_store_error!(SendCodeError);

impl From<FactorError> for AnswerError {
    fn from(error: FactorError) -> Self {
        match error {
            FactorError::Rejected => AnswerError::Rejected,
            FactorError::Malformed(why) => AnswerError::MalformedCode(why),
            FactorError::Throttled(retry) => AnswerError::Throttled(retry),
            FactorError::Unavailable => AnswerError::Unavailable,
            other => AnswerError::Internal(other.into()),
        }
    }
}

impl From<FactorError> for SendCodeError {
    fn from(error: FactorError) -> Self {
        match error {
            FactorError::Throttled(retry) => SendCodeError::Throttled(retry),
            FactorError::Unavailable => SendCodeError::Unavailable,
            other => SendCodeError::Internal(other.into()),
        }
    }
}

impl Auth {
    pub(super) async fn open_challenge(
        &self,
        member_id: &str,
        methods: Vec<Method>,
    ) -> Result<Challenge, StoreError> {
        let token = token::generate();
        let now = self.clock.now_ms();
        let record = ChallengeRecord {
            token_digest: token::digest(&token),
            member_id: member_id.to_string(),
            methods,
            attempts: 0,
            created_at: now,
            expires_at: now.saturating_add(millis(self.limits.challenge_ttl)),
        };
        self.store.insert_challenge(&record).await?;
        tracing::info!(target: SECURITY_TARGET, member_id, "second factor challenged");
        Ok(Challenge {
            token,
            methods: record.methods,
            expires_at: record.expires_at,
        })
    }

    /// Completes a challenge with a code sent from `client_address`; each
    /// answer counts against the challenge, and only the first correct
    /// answer gets a session.
    pub async fn answer_challenge(
        &self,
        challenge_token: &SecretString,
        method: Method,
        code: &SecretString,
        client_address: Option<&str>,
    ) -> Result<IssuedSession, AnswerError> {
        let answered = self
            .check_answer(challenge_token, method, code, client_address)
            .await;
        let method = method.as_str();
        match &answered {
            Ok(_) => tracing::info!(
                target: SECURITY_TARGET,
                outcome = "accepted",
                method,
                client_address,
                "challenge answered"
            ),
            Err(error) => tracing::info!(
                target: SECURITY_TARGET,
                outcome = "denied",
                method,
                client_address,
                reason = %error,
                "challenge answer refused"
            ),
        }
        answered
    }

    async fn check_answer(
        &self,
        challenge_token: &SecretString,
        method: Method,
        code: &SecretString,
        client_address: Option<&str>,
    ) -> Result<IssuedSession, AnswerError> {
        let digest = token::digest(challenge_token);
        let now = self.clock.now_ms();
        let challenge = self
            .store
            .record_challenge_attempt(&digest, now, self.limits.challenge_max_attempts)
            .await?
            .ok_or(AnswerError::Rejected)?;
        if !challenge.methods.contains(&method) {
            return Err(AnswerError::MethodNotOffered);
        }

        let member = self
            .store
            .member_by_id(&challenge.member_id)
            .await?
            .filter(|m| !m.locked)
            .ok_or(AnswerError::Rejected)?;
        let verified = self
            .factors
            .verify(&member.id, &member.email, method, code, client_address)
            .await;
        if let Err(error) = verified {
            if matches!(error, FactorError::Rejected | FactorError::Throttled(_)) {
                let entry = AuditEntry::by(AuditKind::LoginFailed, &member)
                    .outcome(Outcome::Failure)
                    .from_address(client_address)
                    .with("factor", method.proof().as_str());
                self.audit(entry).await?;
            }
            return Err(error.into());
        }
        // The mfa service has spent a recovery code by now, whatever
        // happens to this answer next.
        if method == Method::RecoveryCode {
            let entry =
                AuditEntry::by(AuditKind::RecoveryCodeUsed, &member).from_address(client_address);
            self.audit(entry).await?;
        }
        if !self.store.consume_challenge(&digest).await? {
            return Err(AnswerError::Rejected);
        }
        let proofs = vec![Proof::Password, method.proof()];
        let session = self.issue_session(&member.id, proofs, Scope::Full).await?;
        let factors = session
            .proofs
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>();
        let entry = AuditEntry::by(AuditKind::LoginSucceeded, &member)
            .from_address(client_address)
            .with("factors", factors.join(","))
            .with("scope", Scope::Full.as_str());
        self.audit(entry).await?;
        Ok(session)
    }

    /// Emails a code for a pending challenge, asked from `client_address`;
    /// when the code expires.
    pub async fn send_challenge_email_code(
        &self,
        challenge_token: &SecretString,
        client_address: Option<&str>,
    ) -> Result<i64, SendCodeError> {
        let digest = token::digest(challenge_token);
        let now = self.clock.now_ms();
        let challenge = self
            .store
            .live_challenge(&digest, now, self.limits.challenge_max_attempts)
            .await?
            .ok_or(SendCodeError::InvalidChallenge)?;
        if !challenge.methods.contains(&Method::EmailCode) {
            return Err(SendCodeError::MethodNotOffered);
        }

        let member = self
            .store
            .member_by_id(&challenge.member_id)
            .await?
            .filter(|m| !m.locked)
            .ok_or(SendCodeError::InvalidChallenge)?;
        let expires_at = self
            .factors
            .send_email_code(&member.id, &member.email)
            .await?;
        self.audit(AuditEntry::by(AuditKind::EmailCodeSent, &member).from_address(client_address))
            .await?;
        Ok(expires_at)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::{
        LoginOutcome,
        testing::{
            FakeFactors, Harness, OWNER, PASSWORD, ROOMY, Verdict, email, harness, password,
        },
    };

    async fn challenged(methods: Vec<Method>, verdict: Verdict) -> (Harness, SecretString) {
        let h = harness(ROOMY, FakeFactors::offering(methods, verdict)).await;
        let outcome = h.auth.login(&email(OWNER), &password(PASSWORD), None).await;
        let Ok(LoginOutcome::Challenge(challenge)) = outcome else {
            panic!("expected a challenge");
        };
        (h, challenge.token)
    }

    async fn answer(
        h: &Harness,
        token: &SecretString,
        method: Method,
    ) -> Result<IssuedSession, AnswerError> {
        let code = SecretString::from("abcde-fghjk");
        h.auth
            .answer_challenge(token, method, &code, Some("203.0.113.7"))
            .await
    }

    #[tokio::test]
    async fn answer_challenge_proves_recovery_code_when_offered() {
        let offered = vec![Method::Totp, Method::EmailCode, Method::RecoveryCode];
        let (h, token) = challenged(offered, |_, _| Ok(())).await;

        let session = answer(&h, &token, Method::RecoveryCode).await.unwrap();

        assert_eq!(session.proofs, [Proof::Password, Proof::RecoveryCode]);
        let checked = h.factors.checked.lock().unwrap().clone();
        let expected = (
            OWNER.to_string(),
            Method::RecoveryCode,
            "abcde-fghjk".to_string(),
        );
        assert_eq!(checked, [expected]);
    }

    #[tokio::test]
    async fn answer_challenge_refuses_recovery_code_when_not_offered() {
        let (h, token) = challenged(vec![Method::Totp], |_, _| Ok(())).await;

        let refused = answer(&h, &token, Method::RecoveryCode).await;

        assert!(matches!(refused, Err(AnswerError::MethodNotOffered)));
        assert!(h.factors.checked.lock().unwrap().is_empty());
    }

    #[tokio::test]
    async fn answer_challenge_passes_malformed_code_through() {
        let offered = vec![Method::Totp, Method::RecoveryCode];
        let (h, token) = challenged(offered, |_, _| {
            Err(FactorError::Malformed(
                "must be a recovery code".to_string(),
            ))
        })
        .await;

        let refused = answer(&h, &token, Method::RecoveryCode).await;

        let Err(AnswerError::MalformedCode(why)) = refused else {
            panic!("expected a malformed code");
        };
        assert_eq!(why, "must be a recovery code");
    }

    #[tokio::test]
    async fn answer_challenge_passes_lockout_delay_through() {
        let (h, token) = challenged(vec![Method::Totp], |_, _| {
            Err(FactorError::Throttled(Some(Duration::from_secs(42))))
        })
        .await;

        let refused = answer(&h, &token, Method::Totp).await;

        assert!(matches!(
            refused,
            Err(AnswerError::Throttled(Some(d))) if d == Duration::from_secs(42)
        ));
    }

    #[tokio::test]
    async fn answer_refused_when_member_locked_after_challenge_opened() {
        let methods = vec![Method::Totp, Method::EmailCode];
        let (h, token) = challenged(methods.clone(), |_, _| Ok(())).await;
        let owner = h.auth.store.member_by_email(OWNER).await.unwrap().unwrap();
        let now = h.auth.clock.now_ms();
        // A challenge a racing login stored just after the lock.
        h.auth
            .store
            .lock_member(&owner.member.id, now)
            .await
            .unwrap();
        let late = token::generate();
        let record = ChallengeRecord {
            token_digest: token::digest(&late),
            member_id: owner.member.id.clone(),
            methods,
            attempts: 0,
            created_at: now,
            expires_at: now + 60_000,
        };
        h.auth.store.insert_challenge(&record).await.unwrap();

        let answered = answer(&h, &late, Method::Totp).await;
        let sent = h.auth.send_challenge_email_code(&late, None).await;
        let spent = answer(&h, &token, Method::Totp).await;

        assert!(matches!(answered, Err(AnswerError::Rejected)));
        assert!(
            matches!(sent, Err(SendCodeError::InvalidChallenge)),
            "{sent:?}"
        );
        assert!(matches!(spent, Err(AnswerError::Rejected)));
        assert!(h.factors.checked.lock().unwrap().is_empty());
    }
}
