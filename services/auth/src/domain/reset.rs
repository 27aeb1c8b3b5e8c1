//! When a member loses control: an admin resets a member's MFA (a lost
//! phone), the member reports activity that was not theirs through the
//! one-time link of a security email (which locks the account), and an
//! admin unlocks the account again.

use secrecy::SecretString;

use countersign_kit::{clock::millis, token};

use super::{AdminError, AuditEntry, AuditKind, Auth, Links, Member, Role, SECURITY_TARGET};
use crate::{factors::FactorError, notices::Notice};

impl From<FactorError> for AdminError {
    fn from(error: FactorError) -> Self {
        match error {
            FactorError::Unavailable => AdminError::Unavailable,
            other => AdminError::Internal(other.into()),
        }
    }
}

/// What an admin reset did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResetOutcome {
    /// Whether the member had MFA.
    pub had_mfa: bool,
    /// Sessions ended.
    pub ended_sessions: u64,
}

impl Auth {
    /// Voids a member's second factors and recovery codes and ends their
    /// sessions; the member gets an email with a "this wasn't me" link. An
    /// admin cannot reset their own MFA, and only an owner resets an
    /// admin's.
    pub async fn reset_member_mfa(
        &self,
        session_token: &SecretString,
        member_id: &str,
        client_address: Option<&str>,
    ) -> Result<ResetOutcome, AdminError> {
        let caller = self.admin_caller(session_token).await?.member;
        let member = self.member_of(&caller.organization_id, member_id).await?;
        if member.id == caller.id {
            return Err(AdminError::Forbidden(
                "an admin cannot reset their own MFA; disable it with a current code",
            ));
        }
        if member.role != Role::Member && caller.role != Role::Owner {
            return Err(AdminError::Forbidden(
                "only an owner can reset the MFA of an admin or owner",
            ));
        }

        let had_mfa = self.factors.reset(&member.id).await?;
        let ended_sessions = self.store.delete_member_sessions(&member.id, None).await?;
        self.store.delete_member_challenges(&member.id).await?;
        tracing::info!(
            target: SECURITY_TARGET,
            actor = %caller.id,
            member_id = %member.id,
            had_mfa,
            ended_sessions,
            "member's MFA reset"
        );
        self.audit(
            AuditEntry::on(AuditKind::MfaReset, &caller, &member.id)
                .from_address(client_address)
                .with("had_mfa", had_mfa.to_string()),
        )
        .await?;
        // Nothing was voided without MFA: no notice, and no new link.
        if had_mfa {
            self.send_reset_notice(&member).await;
        }
        Ok(ResetOutcome {
            had_mfa,
            ended_sessions,
        })
    }

    /// Emails the member that their MFA was reset. The reset stands when
    /// the email cannot be enqueued; the failure is logged.
    async fn send_reset_notice(&self, member: &Member) {
        let now = self.clock.now_ms();
        let sent = async {
            let report_url = self.report_link(&member.id).await?;
            let key = format!("auth:mfa_reset:{}:{now}", member.id);
            let notice = Notice::MfaReset { report_url };
            self.notices.send(&member.email, notice, &key).await?;
            Ok::<_, AdminError>(())
        };
        if let Err(error) = sent.await {
            tracing::warn!(member_id = %member.id, %error, "MFA reset notice not enqueued");
        }
    }

    /// A one-time "this wasn't me" link for a member's security email,
    /// for the mfa service; an unknown member is refused.
    pub async fn create_report_link(&self, member_id: &str) -> Result<SecretString, AdminError> {
        if self.store.member_by_id(member_id).await?.is_none() {
            return Err(AdminError::NotAllowed);
        }
        self.report_link(member_id).await
    }

    /// A one-time "this wasn't me" link for a known member.
    async fn report_link(&self, member_id: &str) -> Result<SecretString, AdminError> {
        let token = token::generate();
        let now = self.clock.now_ms();
        let expires_at = now.saturating_add(millis(self.links.report_ttl));
        self.store
            .insert_report_token(&token::digest(&token), member_id, now, expires_at)
            .await?;
        Ok(Links::with_token(&self.links.report_url, &token))
    }

    /// Spends a "this wasn't me" link: ends all the member's sessions and
    /// challenges and locks the account until an admin unlocks it.
    pub async fn report_unrecognized_activity(
        &self,
        report_token: &SecretString,
        client_address: Option<&str>,
    ) -> Result<(), AdminError> {
        let now = self.clock.now_ms();
        let member_id = self
            .store
            .take_report_token(&token::digest(report_token), now)
            .await?
            .ok_or(AdminError::InvalidLink)?;
        let member = self
            .store
            .member_by_id(&member_id)
            .await?
            .ok_or(AdminError::InvalidLink)?;
        let newly_locked = self.store.lock_member(&member.id, now).await?;
        tracing::warn!(
            target: SECURITY_TARGET,
            member_id = %member.id,
            newly_locked,
            "member reported activity that was not theirs; account locked"
        );
        self.audit(
            AuditEntry::by(AuditKind::ActivityReported, &member)
                .from_address(client_address)
                .with("locked", "true"),
        )
        .await?;
        Ok(())
    }

    /// Lifts the lock of a reported account and voids its outstanding
    /// report links; whether it was locked. `caller_token` is an admin's
    /// session, and only an owner unlocks an admin or another owner; or it
    /// is the operator token, which unlocks anyone: the way out for an
    /// organization whose only owner reported activity.
    pub async fn unlock_member(
        &self,
        caller_token: &SecretString,
        member_id: &str,
        client_address: Option<&str>,
    ) -> Result<bool, AdminError> {
        if self.check_operator(caller_token).is_ok() {
            return self.unlock_member_as_operator(member_id).await;
        }
        let caller = self.admin_caller(caller_token).await?.member;
        let member = self.member_of(&caller.organization_id, member_id).await?;
        if member.role != Role::Member && caller.role != Role::Owner {
            return Err(AdminError::Forbidden(
                "only an owner can unlock an admin or owner",
            ));
        }
        let entry = AuditEntry::on(AuditKind::MemberUnlocked, &caller, &member.id)
            .from_address(client_address);
        self.unlock(&member, entry).await
    }

    /// Lifts the lock of any member, for the operator.
    async fn unlock_member_as_operator(&self, member_id: &str) -> Result<bool, AdminError> {
        let member = self
            .store
            .member_by_id(member_id)
            .await?
            .ok_or(AdminError::NotAllowed)?;
        let entry = AuditEntry {
            subject_id: Some(member.id.clone()),
            ..AuditEntry::operator(AuditKind::MemberUnlocked, &member.organization_id)
        };
        self.unlock(&member, entry).await
    }

    async fn unlock(&self, member: &Member, entry: AuditEntry) -> Result<bool, AdminError> {
        let was_locked = self.store.unlock_member(&member.id).await?;
        if was_locked {
            tracing::info!(
                target: SECURITY_TARGET,
                actor = entry.actor_id.as_deref().unwrap_or("operator"),
                member_id = %member.id,
                "member unlocked"
            );
            self.audit(entry).await?;
        }
        Ok(was_locked)
    }
}

#[cfg(test)]
mod tests {
    use secrecy::ExposeSecret;

    use super::*;
    use crate::domain::{
        LoginError, LoginOutcome, Method,
        testing::{FakeFactors, Harness, OWNER, PASSWORD, ROOMY, email, harness, password},
    };

    async fn owner_session(h: &Harness) -> SecretString {
        match h.auth.login(&email(OWNER), &password(PASSWORD), None).await {
            Ok(LoginOutcome::Session { session, .. }) => session.token,
            _ => panic!("expected a session"),
        }
    }

    #[tokio::test]
    async fn report_link_locks_account_once_and_unlock_restores_it() {
        let h = harness(ROOMY, FakeFactors::none()).await;
        let token = owner_session(&h).await;
        let owner = h.auth.validate_session(&token).await.unwrap().member;
        let link = h.auth.create_report_link(&owner.id).await.unwrap();
        let report_token = SecretString::from(
            link.expose_secret()
                .split("token=")
                .nth(1)
                .unwrap()
                .to_string(),
        );

        h.auth
            .report_unrecognized_activity(&report_token, None)
            .await
            .unwrap();
        let again = h
            .auth
            .report_unrecognized_activity(&report_token, None)
            .await;
        let login = h.auth.login(&email(OWNER), &password(PASSWORD), None).await;

        assert!(matches!(again, Err(AdminError::InvalidLink)), "{again:?}");
        assert!(matches!(login, Err(LoginError::Locked)));
        assert!(h.auth.validate_session(&token).await.is_err());
    }

    #[tokio::test]
    async fn reset_notice_goes_to_member_with_link() {
        let h = harness(
            ROOMY,
            FakeFactors::offering(vec![Method::Totp], |_, _| Ok(())),
        )
        .await;
        let owner = h
            .auth
            .store
            .member_by_email(OWNER)
            .await
            .unwrap()
            .unwrap()
            .member;

        h.auth.send_reset_notice(&owner).await;

        let sent = h.notices.sent.lock().unwrap().clone();
        assert_eq!(sent, vec![(OWNER.to_string(), "mfa_reset")]);
    }
}
