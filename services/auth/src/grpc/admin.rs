//! `countersign.auth.v1.AdminService`.

use secrecy::SecretString;
use tonic::{Request, Response, Status};

use countersign_kit::{
    clock::timestamp,
    grpc::{bearer, client_address},
};
use countersign_proto::auth::v1::{self as pb, admin_service_server::AdminService};

use super::{
    AuthApi, convert, records,
    status::{INVALID_OPERATOR, INVALID_SESSION, operator_error},
};
use crate::domain::{NewMemberRequest, NewOrganizationRequest};

/// The operator token of `authorization: Bearer` metadata.
fn operator_token<T>(request: &Request<T>) -> Result<SecretString, Status> {
    bearer(request.metadata())
        .map(SecretString::from)
        .ok_or_else(|| Status::unauthenticated(INVALID_OPERATOR))
}

#[tonic::async_trait]
impl AdminService for AuthApi {
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        let operator = operator_token(&request)?;
        let request = request.into_inner();

        let new = NewOrganizationRequest {
            name: convert::organization_name(&request.name)?,
            plan: request.plan.trim().to_string(),
            owner_email: convert::email("owner_email", &request.owner_email)?,
            owner_password: convert::new_password("owner_password", &request.owner_password)?,
        };

        let (organization, owner) = self
            .auth
            .create_organization(&operator, new)
            .await
            .map_err(operator_error)?;

        Ok(Response::new(pb::CreateOrganizationResponse {
            organization: Some(convert::organization(&organization)),
            owner: Some(convert::member(&owner)),
        }))
    }

    async fn add_member(
        &self,
        request: Request<pb::AddMemberRequest>,
    ) -> Result<Response<pb::AddMemberResponse>, Status> {
        let token = convert::session_token(&request)?;
        let address = client_address(&request);
        let request = request.into_inner();

        let new = NewMemberRequest {
            email: convert::email("email", &request.email)?,
            password: convert::new_password("password", &request.password)?,
            role: convert::role(&request.role)?,
        };

        let member = self
            .auth
            .add_member(&token, new, address.as_deref())
            .await?;

        Ok(Response::new(pb::AddMemberResponse {
            member: Some(convert::member(&member)),
        }))
    }

    async fn set_organization_plan(
        &self,
        request: Request<pb::SetOrganizationPlanRequest>,
    ) -> Result<Response<pb::SetOrganizationPlanResponse>, Status> {
        let operator = operator_token(&request)?;
        let request = request.into_inner();

        let organization_id = convert::id_field("organization_id", &request.organization_id)?;
        let plan = request.plan.trim();

        let organization = self
            .auth
            .set_organization_plan(&operator, &organization_id, plan)
            .await
            .map_err(operator_error)?;

        Ok(Response::new(pb::SetOrganizationPlanResponse {
            organization: Some(convert::organization(&organization)),
        }))
    }

    async fn invite_member(
        &self,
        request: Request<pb::InviteMemberRequest>,
    ) -> Result<Response<pb::InviteMemberResponse>, Status> {
        let token = convert::session_token(&request)?;
        let address = client_address(&request);
        let request = request.into_inner();

        let email = convert::email("email", &request.email)?;
        let role = convert::role(&request.role)?;

        let expires_at = self
            .auth
            .invite_member(&token, &email, role, address.as_deref())
            .await?;

        Ok(Response::new(pb::InviteMemberResponse {
            expire_time: Some(timestamp(expires_at)),
        }))
    }

    async fn list_members(
        &self,
        request: Request<pb::ListMembersRequest>,
    ) -> Result<Response<pb::ListMembersResponse>, Status> {
        let token = convert::session_token(&request)?;
        let request = request.into_inner();

        let size = records::page_size(request.page_size)?;
        let after = records::page_token(&request.page_token)?;

        let page = self
            .auth
            .list_members(&token, size, after.as_deref())
            .await?;

        Ok(Response::new(pb::ListMembersResponse {
            members: page.items.iter().map(convert::member).collect(),
            next_page_token: page.next.unwrap_or_default(),
        }))
    }

    async fn set_mfa_policy(
        &self,
        request: Request<pb::SetMfaPolicyRequest>,
    ) -> Result<Response<pb::SetMfaPolicyResponse>, Status> {
        let token = convert::session_token(&request)?;
        let address = client_address(&request);
        let request = request.into_inner();

        let policy = records::policy(request.policy.as_ref())?;

        let policy = self
            .auth
            .set_mfa_policy(&token, policy, address.as_deref())
            .await?;

        Ok(Response::new(pb::SetMfaPolicyResponse {
            policy: Some(records::policy_reply(&policy)),
        }))
    }

    async fn reset_member_mfa(
        &self,
        request: Request<pb::ResetMemberMfaRequest>,
    ) -> Result<Response<pb::ResetMemberMfaResponse>, Status> {
        let token = convert::session_token(&request)?;
        let address = client_address(&request);
        let request = request.into_inner();

        let member_id = convert::member_id(&request.member_id)?;

        let reset = self
            .auth
            .reset_member_mfa(&token, &member_id, address.as_deref())
            .await?;

        Ok(Response::new(pb::ResetMemberMfaResponse {
            had_mfa: reset.had_mfa,
            ended_sessions: u32::try_from(reset.ended_sessions).unwrap_or(u32::MAX),
        }))
    }

    async fn unlock_member(
        &self,
        request: Request<pb::UnlockMemberRequest>,
    ) -> Result<Response<pb::UnlockMemberResponse>, Status> {
        // A session or the operator token: the domain tells which.
        let caller = bearer(request.metadata())
            .map(SecretString::from)
            .ok_or_else(|| Status::unauthenticated(INVALID_SESSION))?;
        let address = client_address(&request);
        let request = request.into_inner();

        let member_id = convert::member_id(&request.member_id)?;

        let was_locked = self
            .auth
            .unlock_member(&caller, &member_id, address.as_deref())
            .await?;

        Ok(Response::new(pb::UnlockMemberResponse { was_locked }))
    }

    async fn get_adoption_report(
        &self,
        request: Request<pb::GetAdoptionReportRequest>,
    ) -> Result<Response<pb::GetAdoptionReportResponse>, Status> {
        let token = convert::session_token(&request)?;

        let report = self.auth.adoption_report(&token).await?;

        Ok(Response::new(records::adoption_report(&report)))
    }

    async fn list_audit_events(
        &self,
        request: Request<pb::ListAuditEventsRequest>,
    ) -> Result<Response<pb::ListAuditEventsResponse>, Status> {
        let token = convert::session_token(&request)?;
        let request = request.into_inner();

        let filter = records::audit_filter(&request)?;
        let size = records::page_size(request.page_size)?;
        let after = records::page_token(&request.page_token)?;

        let page = self
            .auth
            .list_audit_events(&token, &filter, size, after.as_deref())
            .await?;

        Ok(Response::new(records::audit_page(page)))
    }
}
