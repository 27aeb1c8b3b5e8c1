//! Invitations: an owner or admin invites an email into their organization;
//! the invitee gets a one-time link, stored only as its digest, and sets a
//! password with it. Inviting the same email again voids the earlier link.

use secrecy::SecretString;

use countersign_kit::{clock::millis, token};

use super::{
    AdminError, AuditEntry, AuditKind, Auth, Email, Links, Member, Password, Role, SECURITY_TARGET,
    admin::{ONLY_OWNERS_GRANT_ADMIN, may_grant},
};
use crate::{
    notices::{Notice, NoticeError},
    store::{InvitationRecord, Joining, StoreError},
};

const DAY_SECS: u64 = 24 * 3600;

impl From<NoticeError> for AdminError {
    fn from(error: NoticeError) -> Self {
        match error {
            NoticeError::Unavailable => AdminError::Unavailable,
            other => AdminError::Internal(other.into()),
        }
    }
}

impl Auth {
    /// Invites `email` into the caller's organization as `role`; when the
    /// link expires, in milliseconds since the epoch. The email of a member
    /// of this organization is refused as taken.
    pub async fn invite_member(
        &self,
        session_token: &SecretString,
        email: &Email,
        role: Role,
        client_address: Option<&str>,
    ) -> Result<i64, AdminError> {
        let caller = self.admin_caller(session_token).await?;
        if !may_grant(caller.member.role, role) {
            return Err(AdminError::Forbidden(ONLY_OWNERS_GRANT_ADMIN));
        }
        // A member of another organization is invited like anyone, so the
        // answer tells nothing of other organizations; accepting then fails
        // as a bad link, which only the invitee sees.
        let existing = self.store.member_by_email(email.as_str()).await?;
        if existing.is_some_and(|m| m.member.organization_id == caller.organization.id) {
            return Err(AdminError::EmailTaken);
        }

        let token = token::generate();
        let now = self.clock.now_ms();
        let ttl = self.links.invitation_ttl;
        let invitation = InvitationRecord {
            token_digest: token::digest(&token),
            organization_id: caller.organization.id.clone(),
            email: email.as_str().to_string(),
            role,
            invited_by: caller.member.id.clone(),
            created_at: now,
            expires_at: now.saturating_add(millis(ttl)),
        };
        self.store.put_invitation(&invitation).await?;
        let notice = Notice::Invitation {
            organization: caller.organization.name.clone(),
            url: Links::with_token(&self.links.invitation_url, &token),
            expire_days: ttl.as_secs().div_ceil(DAY_SECS).max(1),
        };
        let key = format!("auth:invitation:{}", &invitation.token_digest[..32]);
        self.notices.send(email.as_str(), notice, &key).await?;
        tracing::info!(target: SECURITY_TARGET, actor = %caller.member.id, "invitation sent");
        self.audit(
            AuditEntry::by(AuditKind::InvitationSent, &caller.member)
                .from_address(client_address)
                .with("email", email.as_str())
                .with("role", role.as_str()),
        )
        .await?;
        Ok(invitation.expires_at)
    }

    /// Makes the invitee of a live invitation a member with `password`; the
    /// link works once.
    pub async fn accept_invitation(
        &self,
        invitation_token: &SecretString,
        password: &Password,
        client_address: Option<&str>,
    ) -> Result<Member, AdminError> {
        let digest = token::digest(invitation_token);
        let now = self.clock.now_ms();
        // Checked before hashing, so bogus links cost no hash.
        if self.store.live_invitation(&digest, now).await?.is_none() {
            return Err(AdminError::InvalidLink);
        }
        let joining = Joining {
            member_id: uuid::Uuid::now_v7().to_string(),
            password_hash: SecretString::from(self.hasher.hash(password).await?),
            now,
        };
        let member = match self.store.accept_invitation(&digest, &joining).await {
            Ok(Some(member)) => member,
            Ok(None) => return Err(AdminError::InvalidLink),
            Err(StoreError::Conflict) => return Err(AdminError::EmailTaken),
            Err(other) => return Err(other.into()),
        };
        tracing::info!(target: SECURITY_TARGET, member_id = %member.id, "invitation accepted");
        self.audit(
            AuditEntry::by(AuditKind::InvitationAccepted, &member)
                .from_address(client_address)
                .with("role", member.role.as_str()),
        )
        .await?;
        Ok(member)
    }
}
