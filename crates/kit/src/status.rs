//! Builders for the `Status` values of the API contract, carrying the
//! standard error details (`BadRequest` field violations, `RetryInfo`) that
//! gateways and clients read.

use std::time::Duration;

use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};

/// The message of every internal error; the cause goes to the log only.
pub const INTERNAL_MESSAGE: &str = "internal error";
/// The message of every unavailable-dependency error.
pub const UNAVAILABLE_MESSAGE: &str = "service temporarily unavailable, try again";

/// INVALID_ARGUMENT naming the field and what is wrong with it.
pub fn invalid_argument(field: &str, description: &str) -> Status {
    let details = ErrorDetails::with_bad_request_violation(field, description);
    Status::with_error_details(
        Code::InvalidArgument,
        format!("invalid {field}: {description}"),
        details,
    )
}

/// The first field violation of an INVALID_ARGUMENT: the field and what is
/// wrong with it.
pub fn field_violation(status: &Status) -> Option<(String, String)> {
    let details = status.get_error_details();
    let violation = details.bad_request()?.field_violations.first()?;
    Some((violation.field.clone(), violation.description.clone()))
}

/// RESOURCE_EXHAUSTED telling the caller when to try again.
pub fn resource_exhausted(message: &str, retry_after: Duration) -> Status {
    let details = ErrorDetails::with_retry_info(Some(retry_after));
    Status::with_error_details(Code::ResourceExhausted, message, details)
}

/// UNAVAILABLE: a dependency is down; the caller may retry.
pub fn unavailable() -> Status {
    Status::unavailable(UNAVAILABLE_MESSAGE)
}

/// INTERNAL with the constant message, logging the cause chain once.
pub fn internal(cause: &(dyn std::error::Error + 'static)) -> Status {
    tracing::error!(error = %ErrorChain(cause), "internal error");
    Status::internal(INTERNAL_MESSAGE)
}

/// Whether the status of a call to another service means it could not be
/// reached in time, so the caller may answer UNAVAILABLE and be retried.
pub fn is_unavailable(status: &Status) -> bool {
    matches!(
        status.code(),
        Code::Unavailable | Code::DeadlineExceeded | Code::Cancelled
    )
}

/// Displays an error and its sources, `outer: inner: innermost`.
pub struct ErrorChain<'a>(pub &'a (dyn std::error::Error + 'static));

impl std::fmt::Display for ErrorChain<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)?;
        let mut source = self.0.source();
        while let Some(cause) = source {
            write!(f, ": {cause}")?;
            source = cause.source();
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_argument_names_field_in_details() {
        let status = invalid_argument("code", "must be 6 digits");

        let (field, description) = field_violation(&status).unwrap();

        assert_eq!(status.code(), Code::InvalidArgument);
        assert_eq!(field, "code");
        assert_eq!(description, "must be 6 digits");
        assert!(status.message().contains("code"));
    }

    #[test]
    fn resource_exhausted_carries_retry_delay() {
        let status = resource_exhausted("too many attempts", Duration::from_secs(60));

        let retry = status.get_error_details().retry_info().cloned().unwrap();

        assert_eq!(retry.retry_delay, Some(Duration::from_secs(60)));
    }

    #[test]
    fn is_unavailable_only_for_unreachable_or_late_calls() {
        assert!(is_unavailable(&Status::unavailable("down")));
        assert!(is_unavailable(&Status::deadline_exceeded("late")));
        assert!(!is_unavailable(&Status::internal("bug")));
        assert!(!is_unavailable(&Status::unauthenticated("no")));
    }

    #[test]
    fn error_chain_shows_sources() {
        let inner = std::io::Error::other("disk on fire");
        let outer = crate::db::DbError::Connect(sqlx::Error::Io(inner));

        let shown = ErrorChain(&outer).to_string();

        assert!(shown.starts_with("cannot connect to the database: "));
        assert!(shown.ends_with("disk on fire"));
    }
}
