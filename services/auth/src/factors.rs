//! The second-factor port: what auth asks of the mfa service, as a trait so
//! the domain knows nothing of gRPC, and [`MfaClient`], its implementation
//! over the mfa service's internal API.

use std::time::Duration;

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};
use tonic::{Code, Status, transport::Channel};
use tonic_types::StatusExt;

use countersign_kit::status::field_violation;
use countersign_proto::mfa::v1::{
    GetFactorsRequest, ListFactorsRequest, ResetFactorsRequest, SendEmailCodeRequest,
    VerifyFactorRequest, mfa_internal_service_client::MfaInternalServiceClient,
};

use crate::domain::Method;

/// Why the mfa service did not vouch for a code.
#[derive(Debug, thiserror::Error)]
pub enum FactorError {
    /// Wrong, expired or reused code, or no such factor.
    #[error("code rejected")]
    Rejected,
    /// The code is not of the shape a code has.
    #[error("malformed code: {0}")]
    Malformed(String),
    /// Too many attempts; when to retry, if the mfa service said.
    #[error("too many attempts")]
    Throttled(Option<Duration>),
    /// The mfa service, or what it depends on, is down.
    #[error("mfa service unavailable")]
    Unavailable,
    /// Anything else.
    #[error("mfa service failed")]
    Other(#[source] Status),
}

/// What auth needs from the second factors of a member.
#[async_trait]
pub trait SecondFactors: Send + Sync {
    /// The methods a challenge may offer this member; empty without MFA.
    async fn methods(&self, member_id: &str) -> Result<Vec<Method>, FactorError>;

    /// Checks a code for the member, whose email gets the notice should
    /// this attempt lock their second factor; the end user's address goes
    /// into the audit event of such a lock.
    async fn verify(
        &self,
        member_id: &str,
        email: &str,
        method: Method,
        code: &SecretString,
        client_address: Option<&str>,
    ) -> Result<(), FactorError>;

    /// Mails the member a one-time code; when it expires, in milliseconds
    /// since the epoch.
    async fn send_email_code(&self, member_id: &str, email: &str) -> Result<i64, FactorError>;

    /// Voids the member's second factors and recovery codes; whether they
    /// had MFA.
    async fn reset(&self, member_id: &str) -> Result<bool, FactorError>;

    /// The methods of each member, in the order given; at most
    /// [`MAX_LISTED_MEMBERS`] members per call.
    async fn list(&self, member_ids: &[String]) -> Result<Vec<Vec<Method>>, FactorError>;
}

/// Most members whose factors one [`SecondFactors::list`] call asks for.
pub const MAX_LISTED_MEMBERS: usize = 500;

fn methods_of(names: &[String]) -> Vec<Method> {
    names.iter().filter_map(|f| Method::parse(f)).collect()
}

/// [`SecondFactors`] over the mfa service's internal gRPC API.
#[derive(Clone)]
pub struct MfaClient {
    client: MfaInternalServiceClient<Channel>,
}

impl MfaClient {
    /// A client over a channel to the mfa service.
    pub fn new(channel: Channel) -> Self {
        Self {
            client: MfaInternalServiceClient::new(channel),
        }
    }
}

/// The retry delay a status carries in its details, if any.
pub(crate) fn retry_delay(status: &Status) -> Option<Duration> {
    status.get_error_details().retry_info()?.retry_delay
}

fn factor_error(status: Status) -> FactorError {
    if countersign_kit::status::is_unavailable(&status) {
        return FactorError::Unavailable;
    }
    match status.code() {
        Code::Unauthenticated => FactorError::Rejected,
        Code::InvalidArgument => {
            let why =
                field_violation(&status).map_or_else(|| status.message().to_string(), |v| v.1);
            FactorError::Malformed(why)
        }
        Code::ResourceExhausted => FactorError::Throttled(retry_delay(&status)),
        _ => FactorError::Other(status),
    }
}

#[async_trait]
impl SecondFactors for MfaClient {
    async fn methods(&self, member_id: &str) -> Result<Vec<Method>, FactorError> {
        let request = GetFactorsRequest {
            member_id: member_id.to_string(),
        };
        let reply = self
            .client
            .clone()
            .get_factors(request)
            .await
            .map_err(factor_error)?;
        Ok(methods_of(&reply.into_inner().factors))
    }

    async fn verify(
        &self,
        member_id: &str,
        email: &str,
        method: Method,
        code: &SecretString,
        client_address: Option<&str>,
    ) -> Result<(), FactorError> {
        let request = VerifyFactorRequest {
            member_id: member_id.to_string(),
            method: method.as_str().to_string(),
            code: code.expose_secret().to_string(),
            email: email.to_string(),
            client_address: client_address.unwrap_or_default().to_string(),
        };
        self.client
            .clone()
            .verify_factor(request)
            .await
            .map_err(factor_error)?;
        Ok(())
    }

    async fn send_email_code(&self, member_id: &str, email: &str) -> Result<i64, FactorError> {
        let request = SendEmailCodeRequest {
            member_id: member_id.to_string(),
            email: email.to_string(),
        };
        let reply = self
            .client
            .clone()
            .send_email_code(request)
            .await
            .map_err(factor_error)?;
        let expire = reply.into_inner().expire_time.unwrap_or_default();
        Ok(expire.seconds * 1000 + i64::from(expire.nanos / 1_000_000))
    }

    async fn reset(&self, member_id: &str) -> Result<bool, FactorError> {
        let request = ResetFactorsRequest {
            member_id: member_id.to_string(),
        };
        let reply = self
            .client
            .clone()
            .reset_factors(request)
            .await
            .map_err(factor_error)?;
        Ok(reply.into_inner().had_factor)
    }

    async fn list(&self, member_ids: &[String]) -> Result<Vec<Vec<Method>>, FactorError> {
        let request = ListFactorsRequest {
            member_ids: member_ids.to_vec(),
        };
        let reply = self
            .client
            .clone()
            .list_factors(request)
            .await
            .map_err(factor_error)?
            .into_inner();
        if reply.members.len() != member_ids.len() {
            let status = Status::internal("mfa listed other members than asked");
            return Err(FactorError::Other(status));
        }
        Ok(reply
            .members
            .iter()
            .map(|m| methods_of(&m.factors))
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use countersign_kit::status::{invalid_argument, resource_exhausted};

    use super::*;
    use crate::domain::{AnswerError, SendCodeError};

    #[test]
    fn factor_error_reads_retry_delay_of_lockout() {
        let locked = resource_exhausted("second factor locked", Duration::from_secs(900));

        let error = factor_error(locked);

        assert!(matches!(error, FactorError::Throttled(Some(d)) if d == Duration::from_secs(900)));
    }

    #[test]
    fn lockout_reaches_caller_with_same_retry_delay() {
        let locked = resource_exhausted("second factor locked", Duration::from_secs(900));
        let cooldown = resource_exhausted("resend too soon", Duration::from_secs(45));

        let answered = Status::from(AnswerError::from(factor_error(locked)));
        let sent = Status::from(SendCodeError::from(factor_error(cooldown)));

        assert_eq!(answered.code(), Code::ResourceExhausted);
        assert_eq!(retry_delay(&answered), Some(Duration::from_secs(900)));
        assert_eq!(sent.code(), Code::ResourceExhausted);
        assert_eq!(retry_delay(&sent), Some(Duration::from_secs(45)));
    }

    #[test]
    fn malformed_code_reaches_caller_naming_code_field() {
        let malformed = invalid_argument("code", "must be a recovery code");

        let status = Status::from(AnswerError::from(factor_error(malformed)));

        let (field, why) = field_violation(&status).unwrap();
        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(field, "code");
        assert_eq!(why, "must be a recovery code");
    }

    #[test]
    fn factor_error_sorts_rejected_and_unavailable() {
        assert!(matches!(
            factor_error(Status::unauthenticated("invalid code")),
            FactorError::Rejected
        ));
        assert!(matches!(
            factor_error(Status::unavailable("down")),
            FactorError::Unavailable
        ));
    }
}
