//! Administration: operators create organizations with their owner; owners
//! and admins add members to their own organization. Every admin call acts
//! within the caller's organization only: a member of another one is
//! refused exactly like an unknown member.

use secrecy::{ExposeSecret, SecretString};
use subtle::ConstantTimeEq;

use super::{
    AuditEntry, AuditKind, Auth, Email, HashError, Member, MfaPolicy, Organization, Password, Role,
    SECURITY_TARGET, SessionError, SessionView,
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
    /// A session that may only enroll a second factor.
    #[error("session may only enroll a second factor")]
    Restricted,
    /// What the caller asked is never allowed, in these words.
    #[error("{0}")]
    Forbidden(&'static str),
    /// The plan lacks the feature; names the plan needed.
    #[error("{0}")]
    PlanTooLow(String),
    #[error("no such organization")]
    UnknownOrganization,
    /// An invitation or report link that is unknown, spent or expired.
    #[error("invalid or expired link")]
    InvalidLink,
    /// A page token that no page of this listing gave.
    #[error("invalid page token")]
    InvalidCursor,
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
            SessionError::Restricted => AdminError::Restricted,
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
        self.check_operator(operator_token)?;
        self.bootstrap_organization(request).await
    }

    /// Refuses a caller whose token is not the operator token.
    pub(super) fn check_operator(&self, operator_token: &SecretString) -> Result<(), AdminError> {
        let Some(expected) = &self.operator_token else {
            return Err(AdminError::Unauthenticated);
        };
        let given = operator_token.expose_secret().as_bytes();
        if !bool::from(given.ct_eq(expected.expose_secret().as_bytes())) {
            return Err(AdminError::Unauthenticated);
        }
        Ok(())
    }

    /// The session of an owner or admin, or why not.
    pub(super) async fn admin_caller(
        &self,
        session_token: &SecretString,
    ) -> Result<SessionView, AdminError> {
        let caller = self.validate_session(session_token).await?;
        match caller.member.role {
            Role::Owner | Role::Admin => Ok(caller),
            Role::Member => Err(AdminError::NotAllowed),
        }
    }

    /// A member of `organization_id`; a member of another organization is
    /// refused like an unknown one, so that nothing tells them apart.
    pub(super) async fn member_of(
        &self,
        organization_id: &str,
        member_id: &str,
    ) -> Result<Member, AdminError> {
        self.store
            .member_by_id(member_id)
            .await?
            .filter(|m| m.organization_id == organization_id)
            .ok_or(AdminError::NotAllowed)
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
            policy: MfaPolicy::default(),
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
        self.audit(AuditEntry {
            subject_id: Some(owner.member.id.clone()),
            ..AuditEntry::operator(AuditKind::OrganizationCreated, &organization.id)
                .with("plan", organization.plan.clone())
        })
        .await?;
        Ok((organization, owner.member))
    }

    /// Adds a member to the caller's organization. Owners may add admins
    /// and members; admins may add members.
    pub async fn add_member(
        &self,
        session_token: &SecretString,
        request: NewMemberRequest,
        client_address: Option<&str>,
    ) -> Result<Member, AdminError> {
        let caller = self.admin_caller(session_token).await?.member;
        if !may_grant(caller.role, request.role) {
            return Err(AdminError::Forbidden(ONLY_OWNERS_GRANT_ADMIN));
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
        self.audit(
            AuditEntry::on(AuditKind::MemberAdded, &caller, &record.member.id)
                .from_address(client_address)
                .with("role", request.role.as_str()),
        )
        .await?;
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
                locked: false,
            },
            password_hash: SecretString::from(hash),
        })
    }
}

/// Why a caller may not make someone an admin.
pub(super) const ONLY_OWNERS_GRANT_ADMIN: &str = "only an owner can make someone an admin";

/// Whether a caller of role `caller` may make someone `granted`: owners
/// make admins and members, admins make members, nobody makes an owner.
pub(super) fn may_grant(caller: Role, granted: Role) -> bool {
    match (caller, granted) {
        (_, Role::Owner) => false,
        (Role::Owner, _) => true,
        (Role::Admin, Role::Member) => true,
        _ => false,
    }
}
