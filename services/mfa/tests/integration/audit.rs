//! What mfa tells auth over gRPC besides validating sessions: the audit
//! events of enabling and disabling MFA, of a new set of recovery codes
//! and of a lock, with the end user's forwarded address; the "this wasn't
//! me" links mailed in its notices; and sessions that may only enroll.

use tonic::Code;

use countersign_proto::{
    auth::v1::RecordAuditEventRequest,
    mfa::v1::{DisableRequest, GetStatusRequest, RegenerateRecoveryCodesRequest},
    notification::v1::EmailTemplate,
};

use super::{
    api::{app_code, enable_with, verify},
    fakes::{
        ENROLLMENT_TOKEN, MEMBER, REPORT_URL, Stack, TOKEN, USER_ADDRESS, from_user, params, stack,
        with_token,
    },
};

fn audits(stack: &Stack) -> Vec<RecordAuditEventRequest> {
    stack.auth.audits.lock().unwrap().clone()
}

/// Fails if `event` shows any of `secrets`.
fn assert_hides(event: &RecordAuditEventRequest, secrets: &[&str]) {
    let shown = format!("{event:?}");
    for secret in secrets {
        assert!(!shown.contains(secret), "{shown} shows a secret");
    }
}

fn last_email_of(stack: &Stack, template: EmailTemplate) -> Option<EmailTemplate> {
    stack
        .outbox
        .templates()
        .last()
        .copied()
        .filter(|t| *t == template)
}

#[tokio::test]
async fn enrollment_records_mfa_enabled_from_forwarded_address() {
    let mut stack = stack(true).await;

    let (enrollment, codes) = enable_with(&mut stack, TOKEN).await;

    let events = audits(&stack);
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(
        (event.member_id.as_str(), event.kind.as_str()),
        (MEMBER, "mfa_enabled")
    );
    assert_eq!(
        (event.outcome.as_str(), event.client_address.as_str()),
        ("success", USER_ADDRESS)
    );
    assert_eq!(event.detail.get("factor").map(String::as_str), Some("totp"));
    assert_hides(event, &[&enrollment.secret, &codes[0], TOKEN]);
}

#[tokio::test]
async fn disable_records_mfa_disabled_and_mails_report_link() {
    let mut stack = stack(true).await;
    let (enrollment, _) = enable_with(&mut stack, TOKEN).await;

    let code = app_code(&stack, &enrollment);
    let request = from_user(DisableRequest { code: code.clone() }, TOKEN);
    stack.user.disable(request).await.unwrap();

    assert_eq!(stack.auth.audit_kinds(), ["mfa_enabled", "mfa_disabled"]);
    let event = audits(&stack).pop().unwrap();
    assert_eq!(event.client_address, USER_ADDRESS);
    assert_hides(&event, &[&code, &enrollment.secret, REPORT_URL]);
    assert!(last_email_of(&stack, EmailTemplate::MfaDisabled).is_some());
    assert_eq!(params(&stack.outbox)["report_url"], REPORT_URL);
}

#[tokio::test]
async fn disable_mails_notice_without_link_when_auth_has_no_report_url() {
    let mut stack = stack(true).await;
    stack.auth.report_url.lock().unwrap().clear();
    let (enrollment, _) = enable_with(&mut stack, TOKEN).await;

    let code = app_code(&stack, &enrollment);
    stack
        .user
        .disable(with_token(DisableRequest { code }, TOKEN))
        .await
        .unwrap();

    assert!(last_email_of(&stack, EmailTemplate::MfaDisabled).is_some());
    assert!(!params(&stack.outbox).contains_key("report_url"));
}

#[tokio::test]
async fn recovery_code_use_mails_report_link() {
    let mut stack = stack(true).await;
    let (_, codes) = enable_with(&mut stack, TOKEN).await;

    let used = stack
        .internal
        .verify_factor(verify("recovery_code", &codes[0]))
        .await;

    assert!(used.is_ok());
    assert!(last_email_of(&stack, EmailTemplate::RecoveryCodeUsed).is_some());
    let params = params(&stack.outbox);
    assert_eq!(
        (params["remaining"].as_str(), params["report_url"].as_str()),
        ("9", REPORT_URL)
    );
}

#[tokio::test]
async fn regenerate_records_new_set_without_the_codes() {
    let mut stack = stack(true).await;
    let (enrollment, old) = enable_with(&mut stack, TOKEN).await;

    let code = app_code(&stack, &enrollment);
    let request = from_user(RegenerateRecoveryCodesRequest { code }, TOKEN);
    let new = stack.user.regenerate_recovery_codes(request).await.unwrap();

    let event = audits(&stack).pop().unwrap();
    assert_eq!(event.kind, "recovery_codes_regenerated");
    assert_eq!(
        event.detail.get("recovery_codes").map(String::as_str),
        Some("10")
    );
    let new = new.into_inner().recovery_codes;
    assert_hides(&event, &[&old[0], &new[0], &new[9]]);
}

#[tokio::test]
async fn lock_after_failed_codes_is_recorded_once_as_failure() {
    let mut stack = stack(true).await;
    let (enrollment, _) = enable_with(&mut stack, TOKEN).await;
    let right: u32 = app_code(&stack, &enrollment).parse().unwrap();
    let wrong = format!("{:06}", (right + 500_000) % 1_000_000);

    for _ in 0..6 {
        let refused = stack.internal.verify_factor(verify("totp", &wrong)).await;
        assert!(refused.is_err());
    }

    let locks: Vec<_> = audits(&stack)
        .into_iter()
        .filter(|e| e.kind == "mfa_locked")
        .collect();
    assert_eq!(locks.len(), 1);
    assert_eq!(
        (locks[0].outcome.as_str(), locks[0].client_address.as_str()),
        ("failure", "")
    );
    assert_eq!(
        locks[0].detail.get("locked_minutes").map(String::as_str),
        Some("15")
    );
    assert_hides(&locks[0], &[&wrong]);
}

#[tokio::test]
async fn enrollment_session_enrolls_but_may_not_disable() {
    let mut stack = stack(true).await;

    let (enrollment, _) = enable_with(&mut stack, ENROLLMENT_TOKEN).await;

    let status = stack
        .user
        .get_status(with_token(GetStatusRequest {}, ENROLLMENT_TOKEN))
        .await;
    assert!(status.unwrap().into_inner().enabled);
    let code = app_code(&stack, &enrollment);
    let request = with_token(DisableRequest { code }, ENROLLMENT_TOKEN);
    let refused = stack.user.disable(request).await.unwrap_err();
    assert_eq!(refused.code(), Code::PermissionDenied);
    let request = with_token(GetStatusRequest {}, TOKEN);
    assert!(
        stack
            .user
            .get_status(request)
            .await
            .unwrap()
            .into_inner()
            .enabled
    );
}
