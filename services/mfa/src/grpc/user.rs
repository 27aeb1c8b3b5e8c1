//! MfaService: a signed-in member manages their own second factor and its
//! recovery codes. Every call names its session as `authorization: Bearer`
//! metadata, which the domain has the auth service validate.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use countersign_proto::mfa::v1::{
    BeginEnrollmentRequest, BeginEnrollmentResponse, ConfirmEnrollmentRequest,
    ConfirmEnrollmentResponse, DisableRequest, DisableResponse, GetStatusRequest,
    GetStatusResponse, RegenerateRecoveryCodesRequest, RegenerateRecoveryCodesResponse,
    mfa_service_server::MfaService,
};

use super::convert::{code, recovery_codes, session_token};
use crate::domain::{BeginError, ConfirmError, DisableError, Mfa, RegenerateError, StatusError};

/// The user-facing gRPC service.
pub struct UserApi {
    mfa: Arc<Mfa>,
}

impl UserApi {
    /// The service over the domain.
    pub fn new(mfa: Arc<Mfa>) -> Self {
        Self { mfa }
    }
}

#[tonic::async_trait]
impl MfaService for UserApi {
    async fn get_status(
        &self,
        request: Request<GetStatusRequest>,
    ) -> Result<Response<GetStatusResponse>, Status> {
        let metadata = request.metadata();

        let token = session_token(metadata).map_err(StatusError::from)?;

        let status = self.mfa.status(&token).await?;

        Ok(Response::new(status.into()))
    }

    async fn begin_enrollment(
        &self,
        request: Request<BeginEnrollmentRequest>,
    ) -> Result<Response<BeginEnrollmentResponse>, Status> {
        let metadata = request.metadata();

        let token = session_token(metadata).map_err(BeginError::from)?;

        let enrollment = self.mfa.begin_enrollment(&token).await?;

        Ok(Response::new(enrollment.into()))
    }

    async fn confirm_enrollment(
        &self,
        request: Request<ConfirmEnrollmentRequest>,
    ) -> Result<Response<ConfirmEnrollmentResponse>, Status> {
        let (metadata, _, message) = request.into_parts();

        let token = session_token(&metadata).map_err(ConfirmError::from)?;
        let code = code(&message.code)?;

        let recovery = self.mfa.confirm_enrollment(&token, &code).await?;

        Ok(Response::new(ConfirmEnrollmentResponse {
            recovery_codes: recovery_codes(&recovery),
        }))
    }

    async fn disable(
        &self,
        request: Request<DisableRequest>,
    ) -> Result<Response<DisableResponse>, Status> {
        let (metadata, _, message) = request.into_parts();

        let token = session_token(&metadata).map_err(DisableError::from)?;
        let code = code(&message.code)?;

        self.mfa.disable(&token, &code).await?;

        Ok(Response::new(DisableResponse {}))
    }

    async fn regenerate_recovery_codes(
        &self,
        request: Request<RegenerateRecoveryCodesRequest>,
    ) -> Result<Response<RegenerateRecoveryCodesResponse>, Status> {
        let (metadata, _, message) = request.into_parts();

        let token = session_token(&metadata).map_err(RegenerateError::from)?;
        let code = code(&message.code)?;

        let recovery = self.mfa.regenerate_recovery_codes(&token, &code).await?;

        Ok(Response::new(RegenerateRecoveryCodesResponse {
            recovery_codes: recovery_codes(&recovery),
        }))
    }
}
