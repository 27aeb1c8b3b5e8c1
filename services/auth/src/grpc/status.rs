//! The one place auth's errors become `Status`. Authentication failures
//! leave with one constant message per call, whatever the cause; our own
//! faults are logged here and leave as "internal error".

use std::time::Duration;

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
/// Answer to an unknown, spent or expired invitation or report link.
pub const INVALID_LINK: &str = "invalid or expired link";
/// Answer to a restricted session used beyond enrollment.
pub const ENROLLMENT_ONLY: &str = "this session may only enroll a second factor";

const TOO_MANY_ATTEMPTS: &str = "too many attempts, try again later";
const TOO_MANY_FAILED_LOGINS: &str = "too many failed logins, try again later";
const TOO_MANY_CODES: &str = "too many codes sent, try again later";
const BUSY: &str = "too many requests at once, try again shortly";
/// When to retry when mfa named no time.
const DEFAULT_RETRY: Duration = Duration::from_secs(60);
/// When to retry when every password hashing slot is taken.
const BUSY_RETRY: Duration = Duration::from_secs(1);

impl From<LoginError> for Status {
    fn from(error: LoginError) -> Self {
        match error {
            LoginError::InvalidCredentials => Status::unauthenticated(INVALID_CREDENTIALS),
            LoginError::TooManyFailures(retry) => resource_exhausted(TOO_MANY_FAILED_LOGINS, retry),
            LoginError::Busy => resource_exhausted(BUSY, BUSY_RETRY),
            // A locked account does not confirm that the password was
            // right: whoever reported it may be facing someone who has it.
            LoginError::Locked => Status::unauthenticated(INVALID_CREDENTIALS),
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
                resource_exhausted(TOO_MANY_CODES, retry.unwrap_or(DEFAULT_RETRY))
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
            SessionError::Restricted => Status::permission_denied(ENROLLMENT_ONLY),
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
            AdminError::Restricted => Status::permission_denied(ENROLLMENT_ONLY),
            AdminError::Forbidden(why) => Status::permission_denied(why),
            AdminError::PlanTooLow(ref why) => Status::failed_precondition(why.clone()),
            AdminError::UnknownOrganization => Status::not_found("no such organization"),
            AdminError::InvalidLink => Status::unauthenticated(INVALID_LINK),
            AdminError::InvalidCursor => invalid_argument("page_token", "is not a page token"),
            AdminError::UnknownPlan(_) => invalid_argument("plan", "is not a known plan"),
            AdminError::EmailTaken => Status::already_exists("the email is already in use"),
            AdminError::Busy => resource_exhausted(BUSY, BUSY_RETRY),
            AdminError::Unavailable => unavailable(),
            AdminError::Internal(_) => internal(&error),
        }
    }
}

/// Link calls (invitations, reports) answer a taken email like a bad link,
/// so a link tells nothing about who is a member elsewhere.
pub fn link_error(error: AdminError) -> Status {
    match error {
        AdminError::EmailTaken => Status::unauthenticated(INVALID_LINK),
        other => other.into(),
    }
}

/// Operator calls answer a bad token in their own words.
pub fn operator_error(error: AdminError) -> Status {
    match error {
        AdminError::Unauthenticated => Status::unauthenticated(INVALID_OPERATOR),
        other => other.into(),
    }
}

#[cfg(test)]
mod tests {
    use tonic::Code;

    use super::*;
    use crate::factors::retry_delay;

    #[test]
    fn answer_throttled_keeps_retry_delay_from_mfa() {
        let status = Status::from(AnswerError::Throttled(Some(Duration::from_secs(42))));

        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(retry_delay(&status), Some(Duration::from_secs(42)));
    }

    #[test]
    fn send_code_throttled_keeps_retry_delay_from_mfa() {
        let status = Status::from(SendCodeError::Throttled(Some(Duration::from_secs(30))));

        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(retry_delay(&status), Some(Duration::from_secs(30)));
    }

    #[test]
    fn throttled_without_delay_gets_default_retry() {
        let status = Status::from(AnswerError::Throttled(None));

        assert_eq!(retry_delay(&status), Some(DEFAULT_RETRY));
    }

    #[test]
    fn login_too_many_failures_tells_remaining_time() {
        let status = Status::from(LoginError::TooManyFailures(Duration::from_millis(90_500)));

        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(retry_delay(&status), Some(Duration::from_millis(90_500)));
    }

    #[test]
    fn login_busy_is_resource_exhausted_with_short_retry() {
        let status = Status::from(LoginError::Busy);

        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(retry_delay(&status), Some(BUSY_RETRY));
    }

    #[test]
    fn answer_malformed_code_names_code_field() {
        let status = Status::from(AnswerError::MalformedCode("must be a recovery code".into()));

        let (field, why) = countersign_kit::status::field_violation(&status).unwrap();

        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(field, "code");
        assert_eq!(why, "must be a recovery code");
    }
}
