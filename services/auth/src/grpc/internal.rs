//! `countersign.auth.v1.AuthInternalService`, for the other services.

use secrecy::ExposeSecret;

use countersign_kit::grpc::client_address_field;
use tonic::{Request, Response, Status};

use countersign_proto::auth::v1::{self as pb, auth_internal_service_server::AuthInternalService};

use super::{AuthApi, convert, records};

#[tonic::async_trait]
impl AuthInternalService for AuthApi {
    async fn end_sessions(
        &self,
        request: Request<pb::EndSessionsRequest>,
    ) -> Result<Response<pb::EndSessionsResponse>, Status> {
        let request = request.into_inner();

        let member_id = convert::member_id(&request.member_id)?;
        let keep = match request.keep_session_token.as_str() {
            "" => None,
            token => Some(convert::token_field("keep_session_token", token)?),
        };
        let proof = convert::kept_session_proof(&request.kept_session_proof, keep.is_some())?;

        let ended = self
            .auth
            .end_sessions(&member_id, keep.as_ref(), proof)
            .await?;

        Ok(Response::new(pb::EndSessionsResponse {
            ended_count: u32::try_from(ended).unwrap_or(u32::MAX),
        }))
    }

    async fn record_audit_event(
        &self,
        request: Request<pb::RecordAuditEventRequest>,
    ) -> Result<Response<pb::RecordAuditEventResponse>, Status> {
        let request = request.into_inner();

        let member_id = convert::member_id(&request.member_id)?;
        let kind = records::reported_kind(&request.kind)?;
        let outcome = records::outcome(&request.outcome)?;
        let address = client_address_field(&request.client_address)?;
        let detail = records::detail(&request.detail)?;

        self.auth
            .record_mfa_event(&member_id, kind, outcome, address.as_deref(), detail)
            .await?;

        Ok(Response::new(pb::RecordAuditEventResponse {}))
    }

    async fn create_report_link(
        &self,
        request: Request<pb::CreateReportLinkRequest>,
    ) -> Result<Response<pb::CreateReportLinkResponse>, Status> {
        let request = request.into_inner();

        let member_id = convert::member_id(&request.member_id)?;

        let url = self.auth.create_report_link(&member_id).await?;

        Ok(Response::new(pb::CreateReportLinkResponse {
            url: url.expose_secret().to_string(),
        }))
    }
}
