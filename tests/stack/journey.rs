//! The whole journey of a member: sign in, turn MFA on, sign in with the
//! authenticator or an emailed code, change phones, and plan gating.

use tonic::Code;

use countersign_proto::mfa::v1::GetStatusRequest;
use countersign_tests::stack::{Backend, Stack, bearer};

use crate::gateway::{
    self, STEP, answer, assert_status, authenticator, begin, challenge, code_now, confirm, enroll,
    send_email_code, session, validate,
};

async fn journey(backend: Backend) {
    let stack = Stack::start(backend).await;
    let owner = stack.organization("essential").await;
    let token = session(&stack, &owner).await;
    let other_device = session(&stack, &owner).await;

    let status = stack
        .mfa_client()
        .get_status(bearer(GetStatusRequest {}, &token))
        .await
        .unwrap();
    assert!(!status.into_inner().enabled);

    // Enable MFA: scan, confirm, receive the notice; other sessions end.
    let enrollment = begin(&stack, &token).await.unwrap();
    assert!(enrollment.otpauth_uri.starts_with("otpauth://totp/"));
    assert!(enrollment.qr_png.starts_with(b"\x89PNG"));
    let app = authenticator(&enrollment);
    confirm(&stack, &token, &code_now(&stack, &app))
        .await
        .unwrap();
    let enabled = stack.mail.nth_mail_to(&owner, 1).await;
    assert!(
        enabled.subject().contains("verification is on"),
        "{}",
        enabled.subject()
    );
    validate(&stack, &token).await.unwrap();
    assert_status(
        validate(&stack, &other_device).await,
        Code::Unauthenticated,
        None,
    );
    let status = stack
        .mfa_client()
        .get_status(bearer(GetStatusRequest {}, &token))
        .await
        .unwrap();
    assert_eq!(
        status.into_inner().factors,
        ["totp", "email_code", "recovery_code"]
    );

    // Log in with the authenticator; the same code cannot be used twice.
    stack.clock.advance(STEP);
    let first = challenge(&stack, &owner).await;
    assert_eq!(first.methods, ["totp", "email_code", "recovery_code"]);
    let code = code_now(&stack, &app);
    let signed_in = answer(&stack, &first, "totp", &code).await.unwrap();
    assert_eq!(signed_in.factors, ["pwd", "otp"]);
    let replay = challenge(&stack, &owner).await;
    assert_status(
        answer(&stack, &replay, "totp", &code).await,
        Code::Unauthenticated,
        None,
    );

    // Verify another way: an emailed code.
    send_email_code(&stack, &replay).await.unwrap();
    let mail = stack.mail.nth_mail_to(&owner, 2).await;
    let emailed = mail.code().expect("a code in the email");
    let by_email = answer(&stack, &replay, "email_code", &emailed)
        .await
        .unwrap();
    assert_eq!(by_email.factors, ["pwd", "email_code"]);

    // Change phones: disable with a current code, then enroll a new secret.
    stack.clock.advance(STEP);
    gateway::disable(&stack, &by_email.token, &code_now(&stack, &app))
        .await
        .unwrap();
    let disabled = stack.mail.nth_mail_to(&owner, 3).await;
    assert!(
        disabled.subject().contains("verification is off"),
        "{}",
        disabled.subject()
    );
    let fresh = session(&stack, &owner).await;
    let new_app = enroll(&stack, &fresh).await;
    assert_ne!(new_app.secret, app.secret);
    let after_change = challenge(&stack, &owner).await;
    let old_code = code_now(&stack, &app);
    assert_status(
        answer(&stack, &after_change, "totp", &old_code).await,
        Code::Unauthenticated,
        None,
    );
    let new_code = code_now(&stack, &new_app);
    answer(&stack, &after_change, "totp", &new_code)
        .await
        .unwrap();
}

#[tokio::test]
async fn journey_completes_on_embedded_default() {
    journey(Backend::Embedded).await;
}

#[tokio::test]
async fn journey_completes_on_postgres_and_redis() {
    journey(Backend::Real).await;
}

async fn plan_gating(backend: Backend) {
    let stack = Stack::start(backend).await;
    let prime = stack.organization("prime").await;
    let professional = stack.organization("professional").await;

    let denied = begin(&stack, &session(&stack, &prime).await).await;
    let allowed = begin(&stack, &session(&stack, &professional).await).await;

    let status = denied.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("essential"),
        "{}",
        status.message()
    );
    assert!(allowed.is_ok());
}

#[tokio::test]
async fn plan_gating_refuses_prime_on_embedded_default() {
    plan_gating(Backend::Embedded).await;
}

#[tokio::test]
async fn plan_gating_refuses_prime_on_postgres_and_redis() {
    plan_gating(Backend::Real).await;
}

async fn leading_zero(backend: Backend) {
    let stack = Stack::start(backend).await;
    let owner = stack.organization("essential").await;
    let app = enroll(&stack, &session(&stack, &owner).await).await;
    let mut steps = 0;
    while !code_now(&stack, &app).starts_with('0') {
        stack.clock.advance(STEP);
        steps += 1;
        assert!(steps < 500, "no code with a leading zero in 500 steps");
    }

    let pending = challenge(&stack, &owner).await;
    let code = code_now(&stack, &app);
    let signed_in = answer(&stack, &pending, "totp", &code).await;

    assert!(code.starts_with('0') && code.len() == 6);
    assert!(signed_in.is_ok(), "{signed_in:?}");
}

#[tokio::test]
async fn code_with_leading_zero_is_accepted_on_embedded_default() {
    leading_zero(Backend::Embedded).await;
}

#[tokio::test]
async fn code_with_leading_zero_is_accepted_on_postgres_and_redis() {
    leading_zero(Backend::Real).await;
}

#[tokio::test]
async fn logout_ends_session() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = stack.organization("essential").await;
    let token = session(&stack, &owner).await;

    stack
        .auth_client()
        .logout(bearer(
            countersign_proto::auth::v1::LogoutRequest {},
            &token,
        ))
        .await
        .unwrap();

    assert_status(
        gateway::validate(&stack, &token).await,
        Code::Unauthenticated,
        None,
    );
}
