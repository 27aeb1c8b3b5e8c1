//! The lockout and the pacing of emailed codes through the gRPC API:
//! RESOURCE_EXHAUSTED with the wait as `RetryInfo`, the lock notice mailed
//! once, and nothing stored or sent for a member without a factor.

use std::time::Duration;

use secrecy::SecretString;
use tonic::{Code, Status};
use tonic_types::StatusExt;

use countersign_kit::clock::Clock;
use countersign_mfa::Config;
use countersign_proto::{
    mfa::v1::{
        BeginEnrollmentResponse, DisableRequest, GetStatusRequest, SendEmailCodeRequest,
        VerifyFactorRequest,
    },
    notification::v1::EmailTemplate,
};

use super::{
    api::{app_code, begin, confirm, verify},
    fakes::{MEMBER, Stack, TOKEN, params, stack, stack_with, with_token},
    redis_url, unique,
};

const MINUTE: Duration = Duration::from_secs(60);

fn retry_delay(status: &Status) -> Option<Duration> {
    status.get_error_details().retry_info()?.retry_delay
}

fn on_redis() -> Config {
    Config {
        redis_url: Some(SecretString::from(redis_url())),
        redis_prefix: format!("countersign:mfa-test:{}", unique("api")),
        ..Config::default()
    }
}

/// A stack on `config` whose member has MFA on, one step after enrolling.
async fn enabled(config: Config) -> (Stack, BeginEnrollmentResponse) {
    let mut stack = stack_with(true, config).await;
    let enrollment = begin(&mut stack).await;
    let code = app_code(&stack, &enrollment);
    confirm(&mut stack, &code).await.unwrap();
    stack.clock.advance(Duration::from_secs(30));
    (stack, enrollment)
}

/// A code that is not `code`.
fn wrong(code: &str) -> String {
    let right: u32 = code.parse().unwrap();
    format!("{:06}", (right + 500_000) % 1_000_000)
}

fn lock_notices(stack: &Stack) -> usize {
    let templates = stack.outbox.templates();
    templates
        .iter()
        .filter(|t| **t == EmailTemplate::MfaLocked)
        .count()
}

async fn locks_after_five_failures(config: Config) {
    let (mut stack, enrollment) = enabled(config).await;
    let right = app_code(&stack, &enrollment);
    let mut refusals = Vec::new();
    for _ in 0..5 {
        let refused = stack
            .internal
            .verify_factor(verify("totp", &wrong(&right)))
            .await;
        refusals.push(refused.unwrap_err());
    }

    let right_but_locked = stack.internal.verify_factor(verify("totp", &right)).await;

    for refusal in &refusals[..4] {
        assert_eq!(refusal.code(), Code::Unauthenticated);
        assert_eq!(refusal.message(), "code not accepted");
    }
    assert_eq!(refusals[4].code(), Code::ResourceExhausted);
    assert_eq!(retry_delay(&refusals[4]), Some(15 * MINUTE));
    let right_but_locked = right_but_locked.unwrap_err();
    assert_eq!(right_but_locked.code(), Code::ResourceExhausted);
    assert_eq!(lock_notices(&stack), 1);
    assert_eq!(stack.outbox.last().recipient, "ada@example.com");
    assert_eq!(params(&stack.outbox)["locked_minutes"], "15");

    stack.clock.advance(5 * MINUTE);
    let later = stack
        .internal
        .verify_factor(verify("totp", &app_code(&stack, &enrollment)))
        .await
        .unwrap_err();
    assert_eq!(retry_delay(&later), Some(10 * MINUTE));
    stack.clock.advance(10 * MINUTE);
    let fresh = app_code(&stack, &enrollment);
    assert!(
        stack
            .internal
            .verify_factor(verify("totp", &fresh))
            .await
            .is_ok()
    );
    assert_eq!(lock_notices(&stack), 1);
}

#[tokio::test]
async fn verify_factor_locks_member_after_five_failures_in_process() {
    locks_after_five_failures(Config::default()).await;
}

#[tokio::test]
async fn verify_factor_locks_member_after_five_failures_on_redis() {
    locks_after_five_failures(on_redis()).await;
}

#[tokio::test]
async fn verify_factor_counts_failures_of_every_factor_together() {
    let (mut stack, enrollment) = enabled(Config::default()).await;
    let right = app_code(&stack, &enrollment);
    let send = SendEmailCodeRequest {
        member_id: MEMBER.into(),
        email: "ada@example.com".into(),
    };
    stack.internal.send_email_code(send).await.unwrap();
    let emailed = params(&stack.outbox)["code"].clone();

    for (method, code) in [
        ("totp", wrong(&right)),
        ("email_code", wrong(&emailed)),
        ("totp", wrong(&right)),
        ("email_code", wrong(&emailed)),
    ] {
        let refused = stack.internal.verify_factor(verify(method, &code)).await;
        assert_eq!(refused.unwrap_err().code(), Code::Unauthenticated);
    }
    let fifth = stack
        .internal
        .verify_factor(verify("totp", &wrong(&right)))
        .await;
    let emailed_but_locked = stack
        .internal
        .verify_factor(verify("email_code", &emailed))
        .await;

    assert_eq!(fifth.unwrap_err().code(), Code::ResourceExhausted);
    assert_eq!(
        emailed_but_locked.unwrap_err().code(),
        Code::ResourceExhausted
    );
}

#[tokio::test]
async fn disable_is_resource_exhausted_once_locked_and_mfa_stays_on() {
    let (mut stack, enrollment) = enabled(Config::default()).await;
    let right = app_code(&stack, &enrollment);
    let disable = |code: &str| with_token(DisableRequest { code: code.into() }, TOKEN);
    for _ in 0..4 {
        let refused = stack
            .user
            .disable(disable(&wrong(&right)))
            .await
            .unwrap_err();
        assert_eq!(refused.code(), Code::Unauthenticated);
    }

    let fifth = stack
        .user
        .disable(disable(&wrong(&right)))
        .await
        .unwrap_err();
    let right_but_locked = stack.user.disable(disable(&right)).await.unwrap_err();

    assert_eq!(fifth.code(), Code::ResourceExhausted);
    assert_eq!(retry_delay(&right_but_locked), Some(15 * MINUTE));
    let status = stack
        .user
        .get_status(with_token(GetStatusRequest {}, TOKEN))
        .await;
    assert!(status.unwrap().into_inner().enabled);
    assert_eq!(lock_notices(&stack), 1);
}

fn send_request() -> SendEmailCodeRequest {
    SendEmailCodeRequest {
        member_id: MEMBER.into(),
        email: "ada@example.com".into(),
    }
}

#[tokio::test]
async fn send_email_code_is_resource_exhausted_within_cooldown_and_past_quota() {
    let (mut stack, _) = enabled(Config::default()).await;
    stack
        .internal
        .send_email_code(send_request())
        .await
        .unwrap();

    stack.clock.advance(Duration::from_secs(15));
    let too_soon = stack.internal.send_email_code(send_request()).await;
    stack.clock.advance(Duration::from_secs(45));
    for _ in 0..4 {
        stack
            .internal
            .send_email_code(send_request())
            .await
            .unwrap();
        stack.clock.advance(MINUTE);
    }
    let spent = stack.internal.send_email_code(send_request()).await;

    let too_soon = too_soon.unwrap_err();
    assert_eq!(too_soon.code(), Code::ResourceExhausted);
    assert_eq!(retry_delay(&too_soon), Some(Duration::from_secs(45)));
    let spent = spent.unwrap_err();
    assert_eq!(spent.code(), Code::ResourceExhausted);
    assert_eq!(retry_delay(&spent), Some(55 * MINUTE));
    assert_ne!(too_soon.message(), spent.message());
    let codes = stack.outbox.templates();
    let sent = codes.iter().filter(|t| **t == EmailTemplate::EmailCode);
    assert_eq!(sent.count(), 5);
}

#[tokio::test]
async fn send_email_code_answers_member_without_factor_alike_and_sends_nothing() {
    let mut stack = stack(true).await;

    let first = stack.internal.send_email_code(send_request()).await;
    let again = stack.internal.send_email_code(send_request()).await;

    let expire = first.unwrap().into_inner().expire_time.unwrap();
    assert_eq!(expire.seconds * 1000, stack.clock.now_ms() + 600_000);
    assert!(again.unwrap().into_inner().expire_time.is_some());
    assert!(stack.outbox.templates().is_empty());
}

#[tokio::test]
async fn verify_factor_names_email_field_when_missing_malformed_or_oversized() {
    let mut stack = stack(true).await;
    let oversized = format!("{}@example.com", "a".repeat(300));

    for email in ["", "ada", "ada @example.com", oversized.as_str()] {
        let request = VerifyFactorRequest {
            email: email.into(),
            ..verify("totp", "123456")
        };

        let status = stack.internal.verify_factor(request).await.unwrap_err();

        assert_eq!(status.code(), Code::InvalidArgument, "email {email:?}");
        let (field, _) = countersign_kit::status::field_violation(&status).unwrap();
        assert_eq!(field, "email");
    }
}
