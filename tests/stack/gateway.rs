//! What a gateway does on a member's behalf, in one place, so scenarios
//! read as the journey they check.

use std::time::Duration;

use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};
use totp_rs::TOTP;

use countersign_kit::clock::Clock;
use countersign_proto::{
    auth::v1::{
        AnswerChallengeRequest, Challenge, LoginRequest, SendChallengeEmailCodeRequest, Session,
        ValidateSessionRequest, auth_service_client::AuthServiceClient, login_response,
    },
    mfa::v1::{
        BeginEnrollmentRequest, BeginEnrollmentResponse, ConfirmEnrollmentRequest, DisableRequest,
    },
};
use countersign_tests::stack::{PASSWORD, Stack, bearer};

/// One TOTP time step.
pub const STEP: Duration = Duration::from_secs(30);

/// What a login answered.
#[derive(Debug)]
pub enum Login {
    Session(Session),
    Challenge(Challenge),
    /// A session that may only enroll a second factor.
    EnrollmentRequired(Session),
}

pub async fn login(stack: &Stack, email: &str, password: &str) -> Result<Login, Status> {
    login_through(stack.auth_client(), email, password, None).await
}

/// Logs in on behalf of an end user at address `from`.
pub async fn login_from(
    stack: &Stack,
    email: &str,
    password: &str,
    from: &str,
) -> Result<Login, Status> {
    login_through(stack.auth_client(), email, password, Some(from)).await
}

/// Logs in through `client`, forwarding the end user's address `from`
/// (behind one more proxy) when there is one.
pub async fn login_through(
    mut client: AuthServiceClient<Channel>,
    email: &str,
    password: &str,
    from: Option<&str>,
) -> Result<Login, Status> {
    let mut request = Request::new(LoginRequest {
        email: email.to_string(),
        password: password.to_string(),
    });
    if let Some(from) = from {
        let forwarded = MetadataValue::try_from(format!("{from}, 10.0.0.1")).unwrap();
        request.metadata_mut().insert("x-forwarded-for", forwarded);
    }
    let reply = client.login(request).await?.into_inner();
    match reply.result.unwrap() {
        login_response::Result::Session(s) => Ok(Login::Session(s)),
        login_response::Result::Challenge(c) => Ok(Login::Challenge(c)),
        login_response::Result::EnrollmentRequired(s) => Ok(Login::EnrollmentRequired(s)),
    }
}

/// Logs in with the test password, expecting a session.
pub async fn session(stack: &Stack, email: &str) -> String {
    match login(stack, email, PASSWORD).await.unwrap() {
        Login::Session(s) => s.token,
        other => panic!("expected a session, got {other:?}"),
    }
}

/// Logs in with the test password, expecting a challenge.
pub async fn challenge(stack: &Stack, email: &str) -> Challenge {
    match login(stack, email, PASSWORD).await.unwrap() {
        Login::Challenge(c) => c,
        other => panic!("expected a challenge, got {other:?}"),
    }
}

pub async fn answer(
    stack: &Stack,
    challenge: &Challenge,
    method: &str,
    code: &str,
) -> Result<Session, Status> {
    let request = AnswerChallengeRequest {
        challenge_token: challenge.challenge_token.clone(),
        method: method.to_string(),
        code: code.to_string(),
    };
    let reply = stack.auth_client().answer_challenge(request).await?;
    Ok(reply.into_inner().session.unwrap())
}

pub async fn send_email_code(stack: &Stack, challenge: &Challenge) -> Result<(), Status> {
    let request = SendChallengeEmailCodeRequest {
        challenge_token: challenge.challenge_token.clone(),
    };
    stack
        .auth_client()
        .send_challenge_email_code(request)
        .await?;
    Ok(())
}

pub async fn validate(stack: &Stack, token: &str) -> Result<(), Status> {
    let request = ValidateSessionRequest {
        token: token.to_string(),
        accept_enrollment_scope: false,
    };
    stack.auth_client().validate_session(request).await?;
    Ok(())
}

pub async fn begin(stack: &Stack, token: &str) -> Result<BeginEnrollmentResponse, Status> {
    let reply = stack
        .mfa_client()
        .begin_enrollment(bearer(BeginEnrollmentRequest {}, token))
        .await?;
    Ok(reply.into_inner())
}

pub async fn confirm(stack: &Stack, token: &str, code: &str) -> Result<(), Status> {
    let request = ConfirmEnrollmentRequest {
        code: code.to_string(),
    };
    stack
        .mfa_client()
        .confirm_enrollment(bearer(request, token))
        .await?;
    Ok(())
}

/// Turns MFA off with a current code.
pub async fn disable(stack: &Stack, token: &str, code: &str) -> Result<(), Status> {
    let request = DisableRequest {
        code: code.to_string(),
    };
    stack.mfa_client().disable(bearer(request, token)).await?;
    Ok(())
}

/// The authenticator app: reads the enrollment's URI as a phone would.
pub fn authenticator(enrollment: &BeginEnrollmentResponse) -> TOTP {
    TOTP::from_url_unchecked(&enrollment.otpauth_uri).unwrap()
}

/// The code the authenticator shows at the stack's current time.
pub fn code_now(stack: &Stack, app: &TOTP) -> String {
    app.generate(stack.clock.now_secs())
}

/// Enrolls the member behind `token`; the authenticator. Moves the clock
/// one step on, so the next code is fresh.
pub async fn enroll(stack: &Stack, token: &str) -> TOTP {
    let enrollment = begin(stack, token).await.unwrap();
    let app = authenticator(&enrollment);
    confirm(stack, token, &code_now(stack, &app)).await.unwrap();
    stack.clock.advance(STEP);
    app
}

/// Asserts a status code and, where given, the exact message.
pub fn assert_status<T: std::fmt::Debug>(
    result: Result<T, Status>,
    code: Code,
    message: Option<&str>,
) {
    let status = result.expect_err("expected an error status");
    assert_eq!(status.code(), code, "{status:?}");
    if let Some(message) = message {
        assert_eq!(status.message(), message);
    }
}

/// Asserts RESOURCE_EXHAUSTED; the retry delay its details carry.
pub fn exhausted<T: std::fmt::Debug>(result: Result<T, Status>) -> Duration {
    let status = result.expect_err("expected RESOURCE_EXHAUSTED");
    assert_eq!(status.code(), Code::ResourceExhausted, "{status:?}");
    let details = tonic_types::StatusExt::get_error_details(&status);
    details
        .retry_info()
        .and_then(|info| info.retry_delay)
        .expect("a retry delay in the details")
}

/// The field named by an INVALID_ARGUMENT's details.
pub fn violated_field<T: std::fmt::Debug>(result: Result<T, Status>) -> String {
    let status = result.expect_err("expected INVALID_ARGUMENT");
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    countersign_kit::status::field_violation(&status).unwrap().0
}
