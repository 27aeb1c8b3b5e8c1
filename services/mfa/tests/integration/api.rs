//! The gRPC API end to end: mfa served on loopback between fake auth and
//! notification services, codes computed as an authenticator app would.

use std::time::Duration;

use tonic::Code;
use totp_rs::{Algorithm, Secret, TOTP};

use countersign_kit::clock::Clock;
use countersign_proto::{
    mfa::v1::{
        BeginEnrollmentRequest, BeginEnrollmentResponse, ConfirmEnrollmentRequest, DisableRequest,
        GetFactorsRequest, GetStatusRequest, SendEmailCodeRequest, VerifyFactorRequest,
    },
    notification::v1::EmailTemplate,
};

use super::fakes::{MEMBER, PRIME_TOKEN, Stack, TOKEN, from_user, params, stack, with_token};

/// The code an authenticator app shows now for the enrollment's secret.
pub(super) fn app_code(stack: &Stack, enrollment: &BeginEnrollmentResponse) -> String {
    let secret = Secret::Encoded(enrollment.secret.clone())
        .to_bytes()
        .unwrap();
    let app = TOTP::new(Algorithm::SHA1, 6, 1, 30, secret, None, "ada".into()).unwrap();
    app.generate(stack.clock.now_secs())
}

/// A VerifyFactor request for the test member.
pub(super) fn verify(method: &str, code: &str) -> VerifyFactorRequest {
    VerifyFactorRequest {
        member_id: MEMBER.into(),
        method: method.into(),
        code: code.into(),
        email: "ada@example.com".into(),
        client_address: String::new(),
    }
}

pub(super) async fn begin(stack: &mut Stack) -> BeginEnrollmentResponse {
    let request = with_token(BeginEnrollmentRequest {}, TOKEN);
    stack
        .user
        .begin_enrollment(request)
        .await
        .unwrap()
        .into_inner()
}

pub(super) async fn confirm(stack: &mut Stack, code: &str) -> Result<(), tonic::Status> {
    let request = with_token(ConfirmEnrollmentRequest { code: code.into() }, TOKEN);
    stack.user.confirm_enrollment(request).await.map(|_| ())
}

/// Begins and confirms an enrollment with `token`, as [`from_user`] sends
/// it, then moves a step on; returns the enrollment and the recovery codes.
pub(super) async fn enable_with(
    stack: &mut Stack,
    token: &str,
) -> (BeginEnrollmentResponse, Vec<String>) {
    let begun = stack
        .user
        .begin_enrollment(from_user(BeginEnrollmentRequest {}, token))
        .await;
    let enrollment = begun.unwrap().into_inner();
    let code = app_code(stack, &enrollment);
    let request = from_user(ConfirmEnrollmentRequest { code }, token);
    let reply = stack.user.confirm_enrollment(request).await.unwrap();
    stack.clock.advance(Duration::from_secs(30));
    (enrollment, reply.into_inner().recovery_codes)
}

#[tokio::test]
async fn get_status_is_unauthenticated_without_asking_auth_when_token_missing() {
    let mut stack = stack(true).await;

    let status = stack
        .user
        .get_status(GetStatusRequest {})
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(*stack.auth.validated.lock().unwrap(), 0);
}

#[tokio::test]
async fn get_status_is_unauthenticated_when_auth_rejects_token() {
    let mut stack = stack(true).await;

    let status = stack
        .user
        .get_status(with_token(GetStatusRequest {}, "expired"))
        .await;

    assert_eq!(status.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(*stack.auth.validated.lock().unwrap(), 1);
}

#[tokio::test]
async fn get_status_is_unavailable_when_auth_is_down() {
    let mut stack = stack(false).await;

    let status = stack
        .user
        .get_status(with_token(GetStatusRequest {}, TOKEN))
        .await;

    assert_eq!(status.unwrap_err().code(), Code::Unavailable);
}

#[tokio::test]
async fn begin_enrollment_names_needed_plan_when_plan_is_prime() {
    let mut stack = stack(true).await;

    let request = with_token(BeginEnrollmentRequest {}, PRIME_TOKEN);
    let status = stack.user.begin_enrollment(request).await.unwrap_err();

    assert_eq!(status.code(), Code::FailedPrecondition);
    assert_eq!(
        status.message(),
        "multi-factor authentication needs the essential plan or higher"
    );
}

#[tokio::test]
async fn confirm_enrollment_refuses_malformed_wrong_and_unbegun_codes() {
    let mut stack = stack(true).await;
    let unbegun = confirm(&mut stack, "123456").await.unwrap_err();
    let enrollment = begin(&mut stack).await;
    let right: u32 = app_code(&stack, &enrollment).parse().unwrap();

    let malformed = confirm(&mut stack, "12a456").await.unwrap_err();
    let wrong = confirm(&mut stack, &format!("{:06}", (right + 1) % 1_000_000)).await;

    assert_eq!(unbegun.code(), Code::FailedPrecondition);
    assert_eq!(malformed.code(), Code::InvalidArgument);
    assert!(malformed.message().contains("code"));
    assert_eq!(wrong.unwrap_err().code(), Code::Unauthenticated);
}

#[tokio::test]
async fn enrollment_turns_mfa_on_ends_other_sessions_and_mails_notice() {
    let mut stack = stack(true).await;
    let enrollment = begin(&mut stack).await;
    assert!(
        enrollment
            .otpauth_uri
            .starts_with("otpauth://totp/Countersign:")
    );
    assert!(enrollment.qr_png.starts_with(b"\x89PNG"));

    let code = app_code(&stack, &enrollment);
    confirm(&mut stack, &format!("{} {}", &code[..3], &code[3..]))
        .await
        .unwrap();

    let status = stack
        .user
        .get_status(with_token(GetStatusRequest {}, TOKEN))
        .await;
    let status = status.unwrap().into_inner();
    assert!(status.enabled && !status.enrollment_pending);
    assert_eq!(status.factors, ["totp", "email_code", "recovery_code"]);
    let ended = stack.auth.ended.lock().unwrap().clone();
    assert_eq!(ended.len(), 1);
    assert_eq!(
        (
            ended[0].member_id.as_str(),
            ended[0].keep_session_token.as_str()
        ),
        (MEMBER, TOKEN)
    );
    assert_eq!(stack.outbox.templates(), [EmailTemplate::MfaEnabled]);
    assert_eq!(stack.outbox.last().recipient, "ada@example.com");
}

#[tokio::test]
async fn verify_factor_accepts_each_totp_step_once() {
    let mut stack = stack(true).await;
    let enrollment = begin(&mut stack).await;
    let confirming = app_code(&stack, &enrollment);
    confirm(&mut stack, &confirming).await.unwrap();

    let replayed = stack
        .internal
        .verify_factor(verify("totp", &confirming))
        .await;
    stack.clock.advance(Duration::from_secs(30));
    let fresh = app_code(&stack, &enrollment);
    let first = stack.internal.verify_factor(verify("totp", &fresh)).await;
    let again = stack.internal.verify_factor(verify("totp", &fresh)).await;

    assert_eq!(replayed.unwrap_err().code(), Code::Unauthenticated);
    assert!(first.is_ok());
    let again = again.unwrap_err();
    assert_eq!(again.code(), Code::Unauthenticated);
    assert_eq!(again.message(), "code not accepted");
}

#[tokio::test]
async fn email_code_is_mailed_and_accepted_once() {
    let mut stack = stack(true).await;
    let enrollment = begin(&mut stack).await;
    let code = app_code(&stack, &enrollment);
    confirm(&mut stack, &code).await.unwrap();
    let request = SendEmailCodeRequest {
        member_id: MEMBER.into(),
        email: "ada@example.com".into(),
    };

    let sent = stack
        .internal
        .send_email_code(request)
        .await
        .unwrap()
        .into_inner();

    let expire = sent.expire_time.unwrap();
    assert_eq!(expire.seconds * 1000, stack.clock.now_ms() + 600_000);
    assert_eq!(stack.outbox.last().template(), EmailTemplate::EmailCode);
    let params = params(&stack.outbox);
    assert_eq!(params["expire_minutes"], "10");
    let code = &params["code"];
    let dashed = format!("{}-{}", &code[..3], &code[3..]);
    assert!(
        stack
            .internal
            .verify_factor(verify("email_code", &dashed))
            .await
            .is_ok()
    );
    let reused = stack
        .internal
        .verify_factor(verify("email_code", code))
        .await;
    assert_eq!(reused.unwrap_err().code(), Code::Unauthenticated);
}

#[tokio::test]
async fn disable_needs_fresh_code_and_turns_mfa_off() {
    let mut stack = stack(true).await;
    let enrollment = begin(&mut stack).await;
    let confirming = app_code(&stack, &enrollment);
    confirm(&mut stack, &confirming).await.unwrap();

    let disable = |code: &str| with_token(DisableRequest { code: code.into() }, TOKEN);
    let replayed = stack.user.disable(disable(&confirming)).await.unwrap_err();
    stack.clock.advance(Duration::from_secs(30));
    let fresh = app_code(&stack, &enrollment);
    stack.user.disable(disable(&fresh)).await.unwrap();
    let again = stack.user.disable(disable("000000")).await.unwrap_err();

    assert_eq!(replayed.code(), Code::Unauthenticated);
    assert_eq!(again.code(), Code::FailedPrecondition);
    let factors = stack
        .internal
        .get_factors(GetFactorsRequest {
            member_id: MEMBER.into(),
        })
        .await;
    assert!(factors.unwrap().into_inner().factors.is_empty());
    assert_eq!(
        stack.outbox.templates(),
        [EmailTemplate::MfaEnabled, EmailTemplate::MfaDisabled]
    );
}

#[tokio::test]
async fn verify_factor_names_field_of_malformed_input() {
    let mut stack = stack(true).await;

    let method = stack
        .internal
        .verify_factor(verify("sms", "123456"))
        .await
        .unwrap_err();
    let code = stack
        .internal
        .verify_factor(verify("totp", "１２３４５６"))
        .await
        .unwrap_err();
    let member = stack
        .internal
        .get_factors(GetFactorsRequest {
            member_id: String::new(),
        })
        .await
        .unwrap_err();

    assert_eq!(method.code(), Code::InvalidArgument);
    assert!(method.message().contains("method"));
    assert!(code.message().contains("code"));
    assert!(member.message().contains("member_id"));
}
