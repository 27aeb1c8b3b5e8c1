//! MfaService: a signed-in member manages their own second factor and its
//! recovery codes. Every call names its session as `authorization: Bearer`
//! metadata, which the domain has the auth service validate, and may carry
//! the end user's address as `x-forwarded-for`, for the audit log.

use std::sync::Arc;

use tonic::{Request, Response, Status};

use countersign_proto::mfa::v1::{
    BeginEnrollmentRequest, BeginEnrollmentResponse, ConfirmEnrollmentRequest,
    ConfirmEnrollmentResponse, DisableRequest, DisableResponse, GetStatusRequest,
    GetStatusResponse, RegenerateRecoveryCodesRequest, RegenerateRecoveryCodesResponse,
    mfa_service_server::MfaService,
};

use super::convert::{code, recovery_codes, requester};
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
        let requester = requester(&request).map_err(StatusError::from)?;

        let status = self.mfa.status(&requester).await?;

        Ok(Response::new(status.into()))
    }

    async fn begin_enrollment(
        &self,
        request: Request<BeginEnrollmentRequest>,
    ) -> Result<Response<BeginEnrollmentResponse>, Status> {
        let requester = requester(&request).map_err(BeginError::from)?;

        let enrollment = self.mfa.begin_enrollment(&requester).await?;

        Ok(Response::new(enrollment.into()))
    }

    async fn confirm_enrollment(
        &self,
        request: Request<ConfirmEnrollmentRequest>,
    ) -> Result<Response<ConfirmEnrollmentResponse>, Status> {
        let message = request.get_ref();

        let requester = requester(&request).map_err(ConfirmError::from)?;
        let code = code(&message.code)?;

        let recovery = self.mfa.confirm_enrollment(&requester, &code).await?;

        Ok(Response::new(ConfirmEnrollmentResponse {
            recovery_codes: recovery_codes(&recovery),
        }))
    }

    async fn disable(
        &self,
        request: Request<DisableRequest>,
    ) -> Result<Response<DisableResponse>, Status> {
        let message = request.get_ref();

        let requester = requester(&request).map_err(DisableError::from)?;
        let code = code(&message.code)?;

        self.mfa.disable(&requester, &code).await?;

        Ok(Response::new(DisableResponse {}))
    }

    async fn regenerate_recovery_codes(
        &self,
        request: Request<RegenerateRecoveryCodesRequest>,
    ) -> Result<Response<RegenerateRecoveryCodesResponse>, Status> {
        let message = request.get_ref();

        let requester = requester(&request).map_err(RegenerateError::from)?;
        let code = code(&message.code)?;

        let recovery = self
            .mfa
            .regenerate_recovery_codes(&requester, &code)
            .await?;

        Ok(Response::new(RegenerateRecoveryCodesResponse {
            recovery_codes: recovery_codes(&recovery),
        }))
    }
}
