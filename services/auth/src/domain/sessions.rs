//! Sessions: issued after a complete login, validated for the gateway and
//! the other services, ended by logout or by a security change.

use secrecy::SecretString;

use countersign_kit::{clock::millis, token};

use super::{Auth, Proof, SECURITY_TARGET, Scope, policy::Enforcement};
use crate::store::{SessionRecord, StoreError};

pub use crate::store::SessionRow as SessionView;

/// A session just issued; the token is shown to its holder once.
pub struct IssuedSession {
    pub token: SecretString,
    pub proofs: Vec<Proof>,
    pub scope: Scope,
    pub expires_at: i64,
}

/// Why a session could not be used.
#[derive(Debug, thiserror::Error)]
pub enum SessionError {
    #[error("invalid session")]
    InvalidToken,
    /// A session of [`Scope::Enrollment`] used for something else.
    #[error("session may only enroll a second factor")]
    Restricted,
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
    /// Issues a session of `scope` to a member who has proven `proofs`.
    pub(crate) async fn issue_session(
        &self,
        member_id: &str,
        proofs: Vec<Proof>,
        scope: Scope,
    ) -> Result<IssuedSession, StoreError> {
        let token = token::generate();
        let now = self.clock.now_ms();
        let record = SessionRecord {
            token_digest: token::digest(&token),
            member_id: member_id.to_string(),
            proofs,
            scope,
            created_at: now,
            expires_at: now.saturating_add(millis(self.limits.session_ttl)),
        };
        self.store.insert_session(&record).await?;
        tracing::info!(target: SECURITY_TARGET, member_id, scope = scope.as_str(), "session issued");
        Ok(IssuedSession {
            token,
            proofs: record.proofs,
            scope,
            expires_at: record.expires_at,
        })
    }

    /// The member, organization and proofs behind a live session of
    /// [`Scope::Full`].
    pub async fn validate_session(
        &self,
        token: &SecretString,
    ) -> Result<SessionView, SessionError> {
        self.validate_session_of_any_scope(token)
            .await
            .and_then(|view| match view.scope {
                Scope::Full => Ok(view),
                Scope::Enrollment => Err(SessionError::Restricted),
            })
    }

    /// The member, organization and proofs behind a live session of
    /// either scope: for the mfa service, which serves enrollment.
    pub async fn validate_session_of_any_scope(
        &self,
        token: &SecretString,
    ) -> Result<SessionView, SessionError> {
        let now = self.clock.now_ms();
        // A lock ends the member's sessions; one issued by a login that
        // raced the lock is refused here.
        let mut view = self
            .store
            .live_session(&token::digest(token), now)
            .await?
            .filter(|view| !view.member.locked)
            .ok_or(SessionError::InvalidToken)?;
        // A session proven by password alone, issued before the policy
        // bound, may only enroll from then on, like the logins after it.
        let password_only = view.proofs.iter().all(|p| *p == Proof::Password);
        if password_only && self.enforcement_of(&view.organization, now) == Enforcement::Now {
            view.scope = Scope::Enrollment;
        }
        Ok(view)
    }

    /// Ends the session, of either scope; an unknown token is refused like
    /// any bad token.
    pub async fn logout(&self, token: &SecretString) -> Result<(), SessionError> {
        let session = self.validate_session_of_any_scope(token).await?;
        self.store.delete_session(&token::digest(token)).await?;
        tracing::info!(target: SECURITY_TARGET, member_id = %session.member.id, "logged out");
        Ok(())
    }

    /// Ends every session of a member but `keep`, which stays only if of
    /// [`Scope::Full`] and then counts `proof` among its factors; how many
    /// ended.
    pub async fn end_sessions(
        &self,
        member_id: &str,
        keep: Option<&SecretString>,
        proof: Option<Proof>,
    ) -> Result<u64, SessionError> {
        let keep = keep.map(token::digest);
        let ended = self
            .store
            .delete_member_sessions(member_id, keep.as_deref())
            .await?;
        if let (Some(keep), Some(proof)) = (&keep, proof) {
            self.store.add_session_proof(keep, member_id, proof).await?;
        }
        tracing::info!(target: SECURITY_TARGET, member_id, ended, "other sessions ended");
        Ok(ended)
    }
}
