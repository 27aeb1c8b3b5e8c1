//! `countersign.auth.v1.AdminService`.

use secrecy::SecretString;
use tonic::{Request, Response, Status};

use countersign_kit::grpc::bearer;
use countersign_proto::auth::v1::{self as pb, admin_service_server::AdminService};

use super::{
    AuthApi, convert,
    status::{INVALID_OPERATOR, operator_error},
};
use crate::domain::{NewMemberRequest, NewOrganizationRequest};

#[tonic::async_trait]
impl AdminService for AuthApi {
    async fn create_organization(
        &self,
        request: Request<pb::CreateOrganizationRequest>,
    ) -> Result<Response<pb::CreateOrganizationResponse>, Status> {
        let operator = bearer(request.metadata()).map(SecretString::from);
        let request = request.into_inner();

        let operator = operator.ok_or_else(|| Status::unauthenticated(INVALID_OPERATOR))?;
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
        let request = request.into_inner();

        let new = NewMemberRequest {
            email: convert::email("email", &request.email)?,
            password: convert::new_password("password", &request.password)?,
            role: convert::role(&request.role)?,
        };

        let member = self.auth.add_member(&token, new).await?;

        Ok(Response::new(pb::AddMemberResponse {
            member: Some(convert::member(&member)),
        }))
    }
}
