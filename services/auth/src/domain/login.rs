//! The login state machine: password, then a challenge when the member has
//! a second factor, answered with a code the mfa service vouches for.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};

use countersign_kit::{clock::millis, token};

use super::{Auth, Email, IssuedSession, Method, Password, Proof};
use crate::{
    factors::FactorError,
    store::{ChallengeRecord, StoreError},
};

/// What a correct password leads to.
pub enum LoginOutcome {
    /// No second factor: signed in.
    Session(IssuedSession),
    /// A second factor is needed.
    Challenge(Challenge),
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
    #[error("a dependency is unavailable")]
    Unavailable,
    #[error("login failed")]
    Internal(#[source] anyhow::Error),
}

/// Why a challenge answer failed.
#[derive(Debug, thiserror::Error)]
pub enum AnswerError {
    #[error("invalid challenge or code")]
    Rejected,
    #[error("method not offered by this challenge")]
    MethodNotOffered,
    #[error("malformed code: {0}")]
    MalformedCode(String),
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
    #[error("too many codes sent")]
    Throttled(Option<Duration>),
    #[error("a dependency is unavailable")]
    Unavailable,
    #[error("sending the code failed")]
    Internal(#[source] anyhow::Error),
}

macro_rules! from_lower_errors {
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

from_lower_errors!(LoginError);
from_lower_errors!(AnswerError);
from_lower_errors!(SendCodeError);

impl From<FactorError> for LoginError {
    fn from(error: FactorError) -> Self {
        match error {
            FactorError::Unavailable => LoginError::Unavailable,
            other => LoginError::Internal(other.into()),
        }
    }
}

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
    /// Checks a password; opens a challenge when the member has MFA.
    pub async fn login(
        &self,
        email: &Email,
        password: &Password,
    ) -> Result<LoginOutcome, LoginError> {
        let record = self.store.member_by_email(email.as_str()).await?;
        let stored = record.as_ref().map(|r| r.password_hash.expose_secret());
        let matched = self
            .hasher
            .verify(password, stored)
            .await
            .map_err(LoginError::Internal)?;
        let Some(record) = record.filter(|_| matched) else {
            tracing::info!(target: "security", outcome = "denied", "password login refused");
            return Err(LoginError::InvalidCredentials);
        };

        let member_id = record.member.id;
        let methods = self.factors.methods(&member_id).await?;
        if methods.is_empty() {
            let session = self
                .issue_session(&member_id, vec![Proof::Password])
                .await?;
            return Ok(LoginOutcome::Session(session));
        }
        Ok(LoginOutcome::Challenge(
            self.open_challenge(&member_id, methods).await?,
        ))
    }

    async fn open_challenge(
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
        tracing::info!(target: "security", member_id, "second factor challenged");
        Ok(Challenge {
            token,
            methods: record.methods,
            expires_at: record.expires_at,
        })
    }

    /// Completes a challenge with a code; each answer counts against the
    /// challenge, and only the first correct answer gets a session.
    pub async fn answer_challenge(
        &self,
        challenge_token: &SecretString,
        method: Method,
        code: &SecretString,
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

        self.factors
            .verify(&challenge.member_id, method, code)
            .await?;
        if !self.store.consume_challenge(&digest).await? {
            return Err(AnswerError::Rejected);
        }
        let proofs = vec![Proof::Password, method.proof()];
        Ok(self.issue_session(&challenge.member_id, proofs).await?)
    }

    /// Emails a code for a pending challenge; when the code expires.
    pub async fn send_challenge_email_code(
        &self,
        challenge_token: &SecretString,
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
            .ok_or(SendCodeError::InvalidChallenge)?;
        Ok(self
            .factors
            .send_email_code(&member.id, &member.email)
            .await?)
    }
}
