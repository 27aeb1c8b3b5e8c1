//! Sessions: issued after a complete login, validated for the gateway and
//! the other services, ended by logout or by a security change.

use secrecy::SecretString;

use countersign_kit::{clock::millis, token};

use super::{Auth, Proof, SECURITY_TARGET};
use crate::store::{SessionRecord, StoreError};

pub use crate::store::SessionRow as SessionView;

/// A session just issued; the token is shown to its holder once.
pub struct IssuedSession {
    pub token: SecretString,
    pub proofs: Vec<Proof>,
    pub expires_at: i64,
}

/// Why a session could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("invalid session")]
    InvalidToken,
    #[error("storage unavailable")]
    Unavailable(#[source] StoreError),
    #[error("session lookup failed")]
    Internal(#[source] StoreError),
}

impl From<StoreError> for SessionError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => SessionError::Unavailable(error),
            _ => SessionError::Internal(error),
        }
    }
}

impl Auth {
    /// Issues a session to a member who has proven `proofs`.
    pub(crate) async fn issue_session(
        &self,
        member_id: &str,
        proofs: Vec<Proof>,
    ) -> Result<IssuedSession, StoreError> {
        let token = token::generate();
        let now = self.clock.now_ms();
        let record = SessionRecord {
            token_digest: token::digest(&token),
            member_id: member_id.to_string(),
            proofs,
            created_at: now,
            expires_at: now.saturating_add(millis(self.limits.session_ttl)),
        };
        self.store.insert_session(&record).await?;
        tracing::info!(target: SECURITY_TARGET, member_id, "session issued");
        Ok(IssuedSession {
            token,
            proofs: record.proofs,
            expires_at: record.expires_at,
        })
    }

    /// The member, organization and proofs behind a live session.
    pub async fn validate_session(
        &self,
        token: &SecretString,
    ) -> Result<SessionView, SessionError> {
        let now = self.clock.now_ms();
        self.store
            .live_session(&token::digest(token), now)
            .await?
            .ok_or(SessionError::InvalidToken)
    }

    /// Ends the session; an unknown token is refused like any bad token.
    pub async fn logout(&self, token: &SecretString) -> Result<(), SessionError> {
        let session = self.validate_session(token).await?;
        self.store.delete_session(&token::digest(token)).await?;
        tracing::info!(target: SECURITY_TARGET, member_id = %session.member.id, "logged out");
        Ok(())
    }

    /// Ends every session of a member but `keep`; how many ended.
    pub async fn end_sessions(
        &self,
        member_id: &str,
        keep: Option<&SecretString>,
    ) -> Result<u64, SessionError> {
        let keep = keep.map(token::digest);
        let ended = self
            .store
            .delete_member_sessions(member_id, keep.as_deref())
            .await?;
        tracing::info!(target: SECURITY_TARGET, member_id, ended, "other sessions ended");
        Ok(ended)
    }
}
