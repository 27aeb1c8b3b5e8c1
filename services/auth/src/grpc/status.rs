//! The one place auth's errors become `Status`. Authentication failures
//! leave with one constant message per call, whatever the cause; our own
//! faults are logged here and leave as "internal error".

use tonic::Status;

use countersign_kit::status::{internal, invalid_argument, resource_exhausted, unavailable};

use crate::domain::{AdminError, AnswerError, LoginError, SendCodeError, SessionError};

/// Answer to a wrong email or password.
pub const INVALID_CREDENTIALS: &str = "invalid email or password";
/// Answer to a bad, expired or spent challenge, or a wrong code.
pub const INVALID_CHALLENGE: &str = "invalid challenge or code";
/// Answer to a missing, bad or expired session token.
pub const INVALID_SESSION: &str = "invalid session";
/// Answer to a bad operator token.
pub const INVALID_OPERATOR: &str = "invalid operator token";

const TOO_MANY_ATTEMPTS: &str = "too many attempts, try again later";
const DEFAULT_RETRY: std::time::Duration = std::time::Duration::from_secs(60);

impl From<LoginError> for Status {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => Status::unauthenticated(INVALID_CREDENTIALS),
            LoginError::Unavailable => unavailable(),
            LoginError::Internal(_) => internal(&error),
        }
    }
}

impl From<AnswerError> for Status {
    fn from(error: AnswerError) -> Self {
        match error {
            AnswerError::Rejected => Status::unauthenticated(INVALID_CHALLENGE),
            AnswerError::MethodNotOffered => {
                invalid_argument("method", "is not offered by this challenge")
            }
            AnswerError::MalformedCode(why) => invalid_argument("code", &why),
            AnswerError::Throttled(retry) => {
                resource_exhausted(TOO_MANY_ATTEMPTS, retry.unwrap_or(DEFAULT_RETRY))
            }
            AnswerError::Unavailable => unavailable(),
            AnswerError::Internal(_) => internal(&error),
        }
    }
}

impl From<SendCodeError> for Status {
    fn from(error: SendCodeError) -> Self {
        match error {
            SendCodeError::InvalidChallenge => Status::unauthenticated(INVALID_CHALLENGE),
            SendCodeError::MethodNotOffered => {
                Status::failed_precondition("this challenge does not offer emailed codes")
            }
            SendCodeError::Throttled(retry) => {
                resource_exhausted(TOO_MANY_ATTEMPTS, retry.unwrap_or(DEFAULT_RETRY))
            }
            SendCodeError::Unavailable => unavailable(),
            SendCodeError::Internal(_) => internal(&error),
        }
    }
}

impl From<SessionError> for Status {
    fn from(error: SessionError) -> Self {
        match error {
            SessionError::InvalidToken => Status::unauthenticated(INVALID_SESSION),
            SessionError::Unavailable(_) => unavailable(),
            SessionError::Internal(_) => internal(&error),
        }
    }
}

impl From<AdminError> for Status {
    fn from(error: AdminError) -> Self {
        match error {
            AdminError::Unauthenticated => Status::unauthenticated(INVALID_SESSION),
            AdminError::NotAllowed => Status::permission_denied("not allowed"),
            AdminError::UnknownPlan(_) => invalid_argument("plan", "is not a known plan"),
            AdminError::EmailTaken => Status::already_exists("the email is already in use"),
            AdminError::Unavailable => unavailable(),
            AdminError::Internal(_) => internal(&error),
        }
    }
}

/// Operator calls answer a bad token in their own words.
pub fn operator_error(error: AdminError) -> Status {
    match error {
        AdminError::Unauthenticated => Status::unauthenticated(INVALID_OPERATOR),
        other => other.into(),
    }
}
