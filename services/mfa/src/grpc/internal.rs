//! MfaInternalService: what the auth service asks during a login, and on
//! an admin's behalf (resetting a member, listing many members' factors).
//! It is unauthenticated at the gRPC level; deployments keep it internal
//! with NetworkPolicies and gateway routes.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use countersign_kit::clock::timestamp;
use countersign_proto::mfa::v1::{
    GetFactorsRequest, GetFactorsResponse, ListFactorsRequest, ListFactorsResponse,
    ResetFactorsRequest, ResetFactorsResponse, SendEmailCodeRequest, SendEmailCodeResponse,
    VerifyFactorRequest, VerifyFactorResponse, mfa_internal_service_server::MfaInternalService,
};

use super::convert::{
    Answer, SendCodeInput, VerifyInput, listed_factors, member_id, member_ids, method_names,
};
use crate::domain::Mfa;

/// The internal gRPC service.
pub struct InternalApi {
    mfa: Arc<Mfa>,
}

impl InternalApi {
    /// The service over the domain.
    pub fn new(mfa: Arc<Mfa>) -> Self {
        Self { mfa }
    }
}

#[tonic::async_trait]
impl MfaInternalService for InternalApi {
    async fn get_factors(
        &self,
        request: Request<GetFactorsRequest>,
    ) -> Result<Response<GetFactorsResponse>, Status> {
        let message = request.into_inner();

        let member = member_id(&message.member_id)?;

        let factors = self.mfa.factors(&member).await?;

        Ok(Response::new(GetFactorsResponse {
            factors: method_names(&factors),
        }))
    }

    async fn verify_factor(
        &self,
        request: Request<VerifyFactorRequest>,
    ) -> Result<Response<VerifyFactorResponse>, Status> {
        let message = request.into_inner();

        let input = VerifyInput::try_from(message)?;

        let (member, email) = (&input.member, &input.email);
        let address = input.client_address.as_deref();
        match &input.answer {
            Answer::Code(method, code) => {
                self.mfa
                    .verify(member, *method, code, email, address)
                    .await?
            }
            Answer::RecoveryCode(code) => {
                self.mfa
                    .verify_recovery_code(member, code, email, address)
                    .await?
            }
        }

        Ok(Response::new(VerifyFactorResponse {}))
    }

    async fn send_email_code(
        &self,
        request: Request<SendEmailCodeRequest>,
    ) -> Result<Response<SendEmailCodeResponse>, Status> {
        let message = request.into_inner();

        let input = SendCodeInput::try_from(message)?;

        let expires_at_ms = self.mfa.send_email_code(&input.member, input.email).await?;

        Ok(Response::new(SendEmailCodeResponse {
            expire_time: Some(timestamp(expires_at_ms)),
        }))
    }

    async fn reset_factors(
        &self,
        request: Request<ResetFactorsRequest>,
    ) -> Result<Response<ResetFactorsResponse>, Status> {
        let message = request.into_inner();

        let member = member_id(&message.member_id)?;

        let had_factor = self.mfa.reset_factors(&member).await?;

        Ok(Response::new(ResetFactorsResponse { had_factor }))
    }

    async fn list_factors(
        &self,
        request: Request<ListFactorsRequest>,
    ) -> Result<Response<ListFactorsResponse>, Status> {
        let message = request.into_inner();

        let members = member_ids(&message)?;

        let listed = self.mfa.list_factors(&members).await?;

        Ok(Response::new(listed_factors(listed)))
    }
}
