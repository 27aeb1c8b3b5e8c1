//! Administration: operators create organizations with their owner; owners
//! and admins add members to their own organization.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::{
    Auth, Email, HashError, Member, Organization, Password, Role, SECURITY_TARGET, SessionError,
};
use crate::store::{MemberRecord, StoreError};

/// An organization to create, with its owner.
#[derive(Debug)]
pub struct NewOrganizationRequest {
    pub name: String,
    pub plan: String,
    pub owner_email: Email,
    pub owner_password: Password,
}

/// A member to add.
#[derive(Debug)]
pub struct NewMemberRequest {
    pub email: Email,
    pub password: Password,
    pub role: Role,
}

/// Why an administrative action failed.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    #[error("invalid credentials")]
    Unauthenticated,
    #[error("not allowed")]
    NotAllowed,
    #[error("unknown plan {0:?}")]
    UnknownPlan(String),
    #[error("the email is already in use")]
    EmailTaken,
    /// Every password hashing slot is taken; try again shortly.
    #[error("too many passwords being hashed")]
    Busy,
    #[error("a dependency is unavailable")]
    Unavailable,
    #[error("administrative action failed")]
    Internal(#[source] anyhow::Error),
}

impl From<StoreError> for AdminError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::Unavailable(_) => AdminError::Unavailable,
            StoreError::Conflict => AdminError::EmailTaken,
            other => AdminError::Internal(other.into()),
        }
    }
}

impl From<HashError> for AdminError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Busy => AdminError::Busy,
            HashError::Failed(cause) => AdminError::Internal(cause),
        }
    }
}

impl From<SessionError> for AdminError {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::InvalidToken => AdminError::Unauthenticated,
            SessionError::Unavailable(_) => AdminError::Unavailable,
            other => AdminError::Internal(other.into()),
        }
    }
}

impl Auth {
    /// Creates an organization for a caller holding the operator token.
    pub async fn create_organization(
        &self,
        operator_token: &SecretString,
        request: NewOrganizationRequest,
    ) -> Result<(Organization, Member), AdminError> {
        let Some(expected) = &self.operator_token else {
            return Err(AdminError::Unauthenticated);
        };
        let given = operator_token.expose_secret().as_bytes();
        if !bool::from(given.ct_eq(expected.expose_secret().as_bytes())) {
            return Err(AdminError::Unauthenticated);
        }
        self.bootstrap_organization(request).await
    }

    /// Creates an organization and its owner with no caller to check: for
    /// the operator's command line and the development stack.
    pub async fn bootstrap_organization(
        &self,
        request: NewOrganizationRequest,
    ) -> Result<(Organization, Member), AdminError> {
        if !self.plans.is_known(&request.plan) {
            return Err(AdminError::UnknownPlan(request.plan));
        }
        let organization = Organization {
            id: uuid::Uuid::now_v7().to_string(),
            name: request.name,
            plan: request.plan,
        };
        let owner = self
            .member_record(
                &organization.id,
                request.owner_email,
                &request.owner_password,
                Role::Owner,
            )
            .await?;
        let now = self.clock.now_ms();
        self.store
            .create_organization(&organization, &owner, now)
            .await?;
        tracing::info!(target: SECURITY_TARGET, organization_id = %organization.id, "organization created");
        Ok((organization, owner.member))
    }

    /// Adds a member to the caller's organization. Owners may add admins
    /// and members; admins may add members.
    pub async fn add_member(
        &self,
        session_token: &SecretString,
        request: NewMemberRequest,
    ) -> Result<Member, AdminError> {
        let caller = self.validate_session(session_token).await?.member;
        let allowed = match (caller.role, request.role) {
            (_, Role::Owner) => false,
            (Role::Owner, _) => true,
            (Role::Admin, Role::Member) => true,
            _ => false,
        };
        if !allowed {
            return Err(AdminError::NotAllowed);
        }

        let record = self
            .member_record(
                &caller.organization_id,
                request.email,
                &request.password,
                request.role,
            )
            .await?;
        self.store
            .insert_member(&record, self.clock.now_ms())
            .await?;
        tracing::info!(
            target: SECURITY_TARGET,
            actor = %caller.id,
            member_id = %record.member.id,
            "member added"
        );
        Ok(record.member)
    }

    async fn member_record(
        &self,
        organization_id: &str,
        email: Email,
        password: &Password,
        role: Role,
    ) -> Result<MemberRecord, AdminError> {
        let hash = self.hasher.hash(password).await?;
        Ok(MemberRecord {
            member: Member {
                id: uuid::Uuid::now_v7().to_string(),
                organization_id: organization_id.to_string(),
                email: email.as_str().to_string(),
                role,
            },
            password_hash: SecretString::from(hash),
        })
    }
}
