//! `countersign.auth.v1.AuthService`.

use tonic::{Request, Response, Status};

use countersign_kit::{clock::timestamp, grpc::client_address};
use countersign_proto::auth::v1::{self as pb, auth_service_server::AuthService};

use super::{AuthApi, convert, status::link_error};

#[tonic::async_trait]
impl AuthService for AuthApi {
    async fn login(
        &self,
        request: Request<pb::LoginRequest>,
    ) -> Result<Response<pb::LoginResponse>, Status> {
        let address = client_address(&request);
        let request = request.into_inner();

        let email = convert::email("email", &request.email)?;
        let password = convert::submitted_password("password", &request.password)?;

        let outcome = self
            .auth
            .login(&email, &password, address.as_deref())
            .await?;

        Ok(Response::new(convert::login_reply(outcome)))
    }

    async fn answer_challenge(
        &self,
        request: Request<pb::AnswerChallengeRequest>,
    ) -> Result<Response<pb::AnswerChallengeResponse>, Status> {
        let address = client_address(&request);
        let request = request.into_inner();

        let token = convert::token_field("challenge_token", &request.challenge_token)?;
        let method = convert::method(&request.method)?;
        let code = convert::code(&request.code)?;

        let session = self
            .auth
            .answer_challenge(&token, method, &code, address.as_deref())
            .await?;

        Ok(Response::new(pb::AnswerChallengeResponse {
            session: Some(convert::session(session)),
        }))
    }

    async fn send_challenge_email_code(
        &self,
        request: Request<pb::SendChallengeEmailCodeRequest>,
    ) -> Result<Response<pb::SendChallengeEmailCodeResponse>, Status> {
        let address = client_address(&request);
        let request = request.into_inner();

        let token = convert::token_field("challenge_token", &request.challenge_token)?;

        let expires_at = self
            .auth
            .send_challenge_email_code(&token, address.as_deref())
            .await?;

        Ok(Response::new(pb::SendChallengeEmailCodeResponse {
            code_expire_time: Some(timestamp(expires_at)),
        }))
    }

    async fn validate_session(
        &self,
        request: Request<pb::ValidateSessionRequest>,
    ) -> Result<Response<pb::ValidateSessionResponse>, Status> {
        let request = request.into_inner();

        let token = convert::token_field("token", &request.token)?;

        let view = if request.accept_enrollment_scope {
            self.auth.validate_session_of_any_scope(&token).await?
        } else {
            self.auth.validate_session(&token).await?
        };

        Ok(Response::new(convert::session_view(&view)))
    }

    async fn logout(
        &self,
        request: Request<pb::LogoutRequest>,
    ) -> Result<Response<pb::LogoutResponse>, Status> {
        let token = convert::session_token(&request)?;

        self.auth.logout(&token).await?;

        Ok(Response::new(pb::LogoutResponse {}))
    }

    async fn accept_invitation(
        &self,
        request: Request<pb::AcceptInvitationRequest>,
    ) -> Result<Response<pb::AcceptInvitationResponse>, Status> {
        let address = client_address(&request);
        let request = request.into_inner();

        let token = convert::token_field("invitation_token", &request.invitation_token)?;
        let password = convert::new_password("password", &request.password)?;

        let member = self
            .auth
            .accept_invitation(&token, &password, address.as_deref())
            .await
            .map_err(link_error)?;

        Ok(Response::new(pb::AcceptInvitationResponse {
            member: Some(convert::member(&member)),
        }))
    }

    async fn report_unrecognized_activity(
        &self,
        request: Request<pb::ReportUnrecognizedActivityRequest>,
    ) -> Result<Response<pb::ReportUnrecognizedActivityResponse>, Status> {
        let address = client_address(&request);
        let request = request.into_inner();

        let token = convert::token_field("report_token", &request.report_token)?;

        self.auth
            .report_unrecognized_activity(&token, address.as_deref())
            .await
            .map_err(link_error)?;

        Ok(Response::new(pb::ReportUnrecognizedActivityResponse {}))
    }
}
