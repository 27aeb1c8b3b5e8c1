//! `countersign.auth.v1.AuthInternalService`, for the other services.

use tonic::{Request, Response, Status};

use countersign_proto::auth::v1::{self as pb, auth_internal_service_server::AuthInternalService};

use super::{AuthApi, convert};

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

        let ended = self.auth.end_sessions(&member_id, keep.as_ref()).await?;

        Ok(Response::new(pb::EndSessionsResponse {
            ended_count: u32::try_from(ended).unwrap_or(u32::MAX),
        }))
    }
}
