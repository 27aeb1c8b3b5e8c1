//! The one place where errors become `tonic::Status`. Authentication
//! failures leave with one constant message per RPC whatever the cause;
//! unreachable storage or services leave as UNAVAILABLE; our own faults are
//! logged once here and leave as "internal error". A locked second factor
//! and a paced code send leave as RESOURCE_EXHAUSTED with the wait as
//! `RetryInfo`; a session that may only enroll, used for more, leaves as
//! PERMISSION_DENIED.

use tonic::Status;

use countersign_kit::status::{internal, resource_exhausted, unavailable};

use crate::{
    domain::{
        BeginError, ConfirmError, DisableError, FactorsError, ListFactorsError, Locked,
        RegenerateError, ResetError, SendCodeError, SessionError, StatusError, VerifyError,
    },
    ports::RemoteError,
    store::StoreError,
};

/// UNAUTHENTICATED message of GetStatus.
pub const GET_STATUS_DENIED: &str = "session is not valid";
/// UNAUTHENTICATED message of BeginEnrollment.
pub const BEGIN_ENROLLMENT_DENIED: &str = "session is not valid";
/// UNAUTHENTICATED message of ConfirmEnrollment.
pub const CONFIRM_ENROLLMENT_DENIED: &str = "session or code not accepted";
/// UNAUTHENTICATED message of Disable.
pub const DISABLE_DENIED: &str = "session or code not accepted";
/// UNAUTHENTICATED message of RegenerateRecoveryCodes.
pub const REGENERATE_DENIED: &str = "session or code not accepted";
/// UNAUTHENTICATED message of VerifyFactor.
pub const VERIFY_FACTOR_DENIED: &str = "code not accepted";
/// RESOURCE_EXHAUSTED message while the second factor is locked.
pub const LOCKED: &str = "too many failed attempts, try again later";
/// RESOURCE_EXHAUSTED message of SendEmailCode within the resend cooldown.
pub const RESEND_TOO_SOON: &str = "a code was sent moments ago, try again later";
/// RESOURCE_EXHAUSTED message of SendEmailCode past the hourly quota.
pub const SEND_QUOTA_SPENT: &str = "too many codes sent, try again later";
/// PERMISSION_DENIED message when a session that may only enroll asks for
/// more.
pub const ENROLLMENT_ONLY: &str = "this session may only enroll an authenticator";
/// FAILED_PRECONDITION message when MFA is on already.
pub const ALREADY_ON: &str = "MFA is already on";
/// FAILED_PRECONDITION message when MFA is off.
pub const NOT_ON: &str = "MFA is not on";
/// FAILED_PRECONDITION message when no enrollment waits.
pub const NOT_BEGUN: &str = "no enrollment has been begun, or it has lapsed";

fn session(error: SessionError, denied: &'static str) -> Status {
    match error {
        SessionError::MissingToken | SessionError::Auth(RemoteError::Unauthenticated(_)) => {
            Status::unauthenticated(denied)
        }
        SessionError::EnrollmentOnly => Status::permission_denied(ENROLLMENT_ONLY),
        SessionError::Auth(remote) => remote_status(remote),
    }
}

fn locked(error: Locked) -> Status {
    resource_exhausted(LOCKED, error.retry_after)
}

fn remote_status(error: RemoteError) -> Status {
    match error {
        RemoteError::Unavailable(_) => unavailable(),
        other => internal(&other),
    }
}

fn store(error: StoreError) -> Status {
    match error {
        StoreError::Unavailable(cause) => {
            tracing::warn!(error = %cause, "storage unreachable");
            unavailable()
        }
        failed @ StoreError::Failed(_) => internal(&failed),
    }
}

impl From<StatusError> for Status {
    fn from(error: StatusError) -> Self {
        match error {
            StatusError::Session(e) => session(e, GET_STATUS_DENIED),
            StatusError::Store(e) => store(e),
        }
    }
}

impl From<BeginError> for Status {
    fn from(error: BeginError) -> Self {
        match error {
            BeginError::Session(e) => session(e, BEGIN_ENROLLMENT_DENIED),
            BeginError::PlanTooLow(denied) => Status::failed_precondition(denied.to_string()),
            BeginError::AlreadyOn => Status::failed_precondition(ALREADY_ON),
            BeginError::Store(e) => store(e),
            e @ BeginError::Internal(_) => internal(&e),
        }
    }
}

impl From<ConfirmError> for Status {
    fn from(error: ConfirmError) -> Self {
        match error {
            ConfirmError::Session(e) => session(e, CONFIRM_ENROLLMENT_DENIED),
            ConfirmError::NotBegun => Status::failed_precondition(NOT_BEGUN),
            ConfirmError::AlreadyOn => Status::failed_precondition(ALREADY_ON),
            ConfirmError::WrongCode | ConfirmError::CodeReused => {
                Status::unauthenticated(CONFIRM_ENROLLMENT_DENIED)
            }
            ConfirmError::Store(e) => store(e),
            e @ ConfirmError::Internal(_) => internal(&e),
        }
    }
}

/// The mapping of an error declared by `fresh_code_error!` in
/// `domain::errors`; `denied` is the RPC's UNAUTHENTICATED message.
macro_rules! from_fresh_code_error {
    ($error:ident, $denied:expr) => {
        impl From<$error> for Status {
            fn from(error: $error) -> Self {
                match error {
                    $error::Session(e) => session(e, $denied),
                    $error::NotOn => Status::failed_precondition(NOT_ON),
                    $error::WrongCode | $error::CodeReused => Status::unauthenticated($denied),
                    $error::Locked(e) => locked(e),
                    $error::Store(e) => store(e),
                    e @ $error::Internal(_) => internal(&e),
                }
            }
        }
    };
}

from_fresh_code_error!(DisableError, DISABLE_DENIED);
from_fresh_code_error!(RegenerateError, REGENERATE_DENIED);

impl From<FactorsError> for Status {
    fn from(error: FactorsError) -> Self {
        match error {
            FactorsError::Store(e) => store(e),
        }
    }
}

impl From<ResetError> for Status {
    fn from(error: ResetError) -> Self {
        match error {
            ResetError::Store(e) => store(e),
        }
    }
}

impl From<ListFactorsError> for Status {
    fn from(error: ListFactorsError) -> Self {
        match error {
            ListFactorsError::Store(e) => store(e),
        }
    }
}

impl From<VerifyError> for Status {
    fn from(error: VerifyError) -> Self {
        match error {
            VerifyError::NoFactor
            | VerifyError::WrongCode
            | VerifyError::CodeReused
            | VerifyError::CodeMissing
            | VerifyError::TooManyGuesses => Status::unauthenticated(VERIFY_FACTOR_DENIED),
            VerifyError::Locked(e) => locked(e),
            VerifyError::Store(e) => store(e),
            e @ VerifyError::Internal(_) => internal(&e),
        }
    }
}

impl From<SendCodeError> for Status {
    fn from(error: SendCodeError) -> Self {
        match error {
            SendCodeError::TooSoon { retry_after } => {
                resource_exhausted(RESEND_TOO_SOON, retry_after)
            }
            SendCodeError::QuotaSpent { retry_after } => {
                resource_exhausted(SEND_QUOTA_SPENT, retry_after)
            }
            SendCodeError::Store(e) => store(e),
            SendCodeError::Mail(e) => remote_status(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tonic::Code;
    use tonic_types::StatusExt;

    use super::*;

    #[test]
    fn confirm_error_gives_one_message_for_every_authentication_failure() {
        let causes = [
            ConfirmError::Session(SessionError::MissingToken),
            ConfirmError::Session(SessionError::Auth(RemoteError::Unauthenticated("auth"))),
            ConfirmError::WrongCode,
            ConfirmError::CodeReused,
        ];

        for cause in causes {
            let status = Status::from(cause);

            assert_eq!(status.code(), Code::Unauthenticated);
            assert_eq!(status.message(), CONFIRM_ENROLLMENT_DENIED);
        }
    }

    #[test]
    fn verify_error_hides_cause_of_refusal() {
        for cause in [
            VerifyError::NoFactor,
            VerifyError::TooManyGuesses,
            VerifyError::CodeMissing,
        ] {
            let status = Status::from(cause);

            assert_eq!(status.code(), Code::Unauthenticated);
            assert_eq!(status.message(), VERIFY_FACTOR_DENIED);
        }
    }

    #[test]
    fn unreachable_dependencies_give_unavailable() {
        let io = || Box::new(std::io::Error::other("down"));
        let statuses = [
            Status::from(StatusError::Session(SessionError::Auth(
                RemoteError::Unavailable("auth"),
            ))),
            Status::from(VerifyError::Store(StoreError::Unavailable(io()))),
            Status::from(SendCodeError::Mail(RemoteError::Unavailable(
                "notification",
            ))),
        ];

        for status in statuses {
            assert_eq!(status.code(), Code::Unavailable);
        }
    }

    #[test]
    fn lockouts_and_paced_sends_give_resource_exhausted_with_retry_delay() {
        let wait = Duration::from_secs(754);
        let cases = [
            (
                Status::from(VerifyError::Locked(Locked { retry_after: wait })),
                LOCKED,
            ),
            (
                Status::from(DisableError::Locked(Locked { retry_after: wait })),
                LOCKED,
            ),
            (
                Status::from(SendCodeError::TooSoon { retry_after: wait }),
                RESEND_TOO_SOON,
            ),
            (
                Status::from(SendCodeError::QuotaSpent { retry_after: wait }),
                SEND_QUOTA_SPENT,
            ),
        ];

        for (status, message) in cases {
            let retry = status.get_error_details().retry_info().cloned();

            assert_eq!(status.code(), Code::ResourceExhausted);
            assert_eq!(status.message(), message);
            assert_eq!(retry.unwrap().retry_delay, Some(wait));
        }
    }

    #[test]
    fn internal_faults_give_constant_message() {
        let failed = StoreError::Failed(Box::new(std::io::Error::other("syntax error at SELECT")));

        let status = Status::from(DisableError::Store(failed));

        assert_eq!(status.code(), Code::Internal);
        assert_eq!(status.message(), "internal error");
    }

    #[test]
    fn preconditions_name_what_is_missing() {
        assert_eq!(
            Status::from(BeginError::AlreadyOn).message(),
            "MFA is already on"
        );
        assert_eq!(
            Status::from(DisableError::NotOn).code(),
            Code::FailedPrecondition
        );
        assert_eq!(
            Status::from(ConfirmError::NotBegun).code(),
            Code::FailedPrecondition
        );
    }

    #[test]
    fn enrollment_session_used_beyond_enrolling_gives_permission_denied() {
        let statuses = [
            Status::from(DisableError::Session(SessionError::EnrollmentOnly)),
            Status::from(RegenerateError::Session(SessionError::EnrollmentOnly)),
        ];

        for status in statuses {
            assert_eq!(status.code(), Code::PermissionDenied);
            assert_eq!(status.message(), ENROLLMENT_ONLY);
        }
    }

    #[test]
    fn admin_calls_give_unavailable_when_storage_is_unreachable() {
        let io = || Box::new(std::io::Error::other("down"));

        let reset = Status::from(ResetError::Store(StoreError::Unavailable(io())));
        let list = Status::from(ListFactorsError::Store(StoreError::Unavailable(io())));

        assert_eq!(
            (reset.code(), list.code()),
            (Code::Unavailable, Code::Unavailable)
        );
    }
}
