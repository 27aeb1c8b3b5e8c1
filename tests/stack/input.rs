//! Malformed, hostile and oversized input: a clear status naming the
//! field, one constant message for authentication failures, nothing lost.

use std::time::Duration;

use tonic::Code;

use countersign_proto::{
    auth::v1::auth_internal_service_client::AuthInternalServiceClient,
    auth::v1::{AddMemberRequest, CreateOrganizationRequest, EndSessionsRequest, LoginRequest},
    mfa::v1::{DisableRequest, GetStatusRequest},
};
use countersign_tests::stack::{Backend, PASSWORD, Stack, bearer, channel};

use crate::gateway::{
    answer, assert_status, begin, challenge, confirm, enroll, exhausted, login, send_email_code,
    session, violated_field,
};

const INVALID_CREDENTIALS: &str = "invalid email or password";

#[tokio::test]
async fn login_answers_unknown_email_like_wrong_password() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = stack.organization("essential").await;

    let wrong = login(&stack, &owner, "not the password").await;
    let unknown = login(&stack, "nobody@example.com", PASSWORD).await;

    assert_status(wrong, Code::Unauthenticated, Some(INVALID_CREDENTIALS));
    assert_status(unknown, Code::Unauthenticated, Some(INVALID_CREDENTIALS));
}

#[tokio::test]
async fn login_folds_email_case_and_spaces() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = stack.organization("essential").await;

    let shouted = format!("  {}  ", owner.to_uppercase());

    assert!(login(&stack, &shouted, PASSWORD).await.is_ok());
}

#[tokio::test]
async fn login_names_field_of_malformed_input() {
    let stack = Stack::start(Backend::Embedded).await;

    let empty_email = login(&stack, "", PASSWORD).await;
    let hostile_email = login(&stack, "x'; DROP TABLE members; --", PASSWORD).await;
    let long_email = login(
        &stack,
        &format!("{}@example.com", "a".repeat(300)),
        PASSWORD,
    )
    .await;
    let empty_password = login(&stack, "ann@example.com", "").await;

    assert_eq!(violated_field(empty_email), "email");
    assert_eq!(violated_field(hostile_email), "email");
    assert_eq!(violated_field(long_email), "email");
    assert_eq!(violated_field(empty_password), "password");
}

#[tokio::test]
async fn oversized_request_is_refused_before_any_work() {
    let stack = Stack::start(Backend::Embedded).await;
    let request = LoginRequest {
        email: "ann@example.com".to_string(),
        password: "p".repeat(64 * 1024),
    };

    let status = stack.auth_client().login(request).await.unwrap_err();

    assert_eq!(status.code(), Code::OutOfRange, "{status:?}");
}

#[tokio::test]
async fn codes_of_wrong_shape_name_the_code_field() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = stack.organization("essential").await;
    let token = session(&stack, &owner).await;
    begin(&stack, &token).await.unwrap();

    for bad in ["12a456", "1234567", "12345", "１２３４５６", "123 45x"] {
        assert_eq!(
            violated_field(confirm(&stack, &token, bad).await),
            "code",
            "{bad}"
        );
    }
}

#[tokio::test]
async fn challenge_answers_name_the_bad_field_and_deny_wrong_codes() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = stack.organization("essential").await;
    enroll(&stack, &session(&stack, &owner).await).await;
    let pending = challenge(&stack, &owner).await;

    assert_eq!(
        violated_field(answer(&stack, &pending, "totp", "12a456").await),
        "code"
    );
    assert_eq!(
        violated_field(answer(&stack, &pending, "sms", "123456").await),
        "method"
    );
    assert_eq!(
        violated_field(answer(&stack, &pending, "totp", "").await),
        "code"
    );
    let mut forged = pending.clone();
    forged.challenge_token = "not-a-real-challenge".to_string();
    let message = Some("invalid challenge or code");
    assert_status(
        answer(&stack, &forged, "totp", "123456").await,
        Code::Unauthenticated,
        message,
    );
    assert_status(
        send_email_code(&stack, &forged).await,
        Code::Unauthenticated,
        message,
    );
    forged.challenge_token = "a b".to_string();
    assert_eq!(
        violated_field(answer(&stack, &forged, "totp", "123456").await),
        "challenge_token"
    );
}

#[tokio::test]
async fn second_factor_locks_after_five_wrong_codes_then_reopens() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = stack.organization("essential").await;
    let app = enroll(&stack, &session(&stack, &owner).await).await;
    let pending = challenge(&stack, &owner).await;
    let right = crate::gateway::code_now(&stack, &app);
    let wrong = if right == "000000" {
        "111111"
    } else {
        "000000"
    };
    for _ in 0..4 {
        assert_status(
            answer(&stack, &pending, "totp", wrong).await,
            Code::Unauthenticated,
            None,
        );
    }

    let fifth = answer(&stack, &pending, "totp", wrong).await;
    let later = challenge(&stack, &owner).await;
    let right_while_locked = answer(&stack, &later, "totp", &right).await;

    assert!(exhausted(fifth) <= Duration::from_secs(15 * 60));
    assert!(exhausted(right_while_locked) > Duration::ZERO);
    let notice = stack.mail.nth_mail_to(&owner, 2).await;
    assert!(notice.subject().contains("paused"), "{}", notice.subject());
    stack.clock.advance(Duration::from_secs(15 * 60));
    let reopened = challenge(&stack, &owner).await;
    let fresh = crate::gateway::code_now(&stack, &app);
    answer(&stack, &reopened, "totp", &fresh).await.unwrap();
}

#[tokio::test]
async fn mfa_calls_without_valid_session_are_unauthenticated() {
    let stack = Stack::start(Backend::Embedded).await;
    let mut mfa = stack.mfa_client();

    let missing = mfa
        .get_status(tonic::Request::new(GetStatusRequest {}))
        .await;
    let forged = mfa
        .get_status(bearer(GetStatusRequest {}, "forged-token"))
        .await;
    let hostile = mfa
        .disable(bearer(
            DisableRequest {
                code: "123456".into(),
            },
            "x\"y",
        ))
        .await;

    assert_status(missing, Code::Unauthenticated, None);
    assert_status(forged, Code::Unauthenticated, None);
    assert_status(hostile, Code::Unauthenticated, None);
}

#[tokio::test]
async fn mfa_state_changes_refused_when_state_does_not_allow() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = stack.organization("essential").await;
    let token = session(&stack, &owner).await;

    let confirm_unbegun = confirm(&stack, &token, "123456").await;
    let disable_off = stack
        .mfa_client()
        .disable(bearer(
            DisableRequest {
                code: "123456".into(),
            },
            &token,
        ))
        .await;
    enroll(&stack, &token).await;
    let begin_again = begin(&stack, &token).await;

    assert_status(confirm_unbegun, Code::FailedPrecondition, None);
    assert_status(disable_off, Code::FailedPrecondition, None);
    assert_status(begin_again, Code::FailedPrecondition, None);
}

#[tokio::test]
async fn admin_calls_check_operator_and_role() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = stack.organization("essential").await;
    let owner_token = session(&stack, &owner).await;
    let organization = CreateOrganizationRequest {
        name: "Ledger & Co".into(),
        plan: "essential".into(),
        owner_email: "someone@example.com".into(),
        owner_password: PASSWORD.into(),
    };
    let mut admin = stack.admin_client();

    let no_operator = admin.create_organization(organization.clone()).await;
    let wrong_operator = admin
        .create_organization(bearer(organization.clone(), "guess"))
        .await;
    let unknown_plan = admin
        .create_organization(bearer(
            CreateOrganizationRequest {
                plan: "platinum".into(),
                ..organization.clone()
            },
            countersign_tests::stack::OPERATOR_TOKEN,
        ))
        .await;
    let member = AddMemberRequest {
        email: "clerk@example.com".into(),
        password: PASSWORD.into(),
        role: String::new(),
    };
    admin
        .add_member(bearer(member.clone(), &owner_token))
        .await
        .unwrap();
    let clerk_token = session(&stack, "clerk@example.com").await;
    let by_member = admin
        .add_member(bearer(
            AddMemberRequest {
                email: "x@example.com".into(),
                ..member.clone()
            },
            &clerk_token,
        ))
        .await;
    let duplicate = admin.add_member(bearer(member.clone(), &owner_token)).await;
    let weak = admin
        .add_member(bearer(
            AddMemberRequest {
                password: "short".into(),
                ..member
            },
            &owner_token,
        ))
        .await;

    assert_status(no_operator, Code::Unauthenticated, None);
    assert_status(
        wrong_operator,
        Code::Unauthenticated,
        Some("invalid operator token"),
    );
    assert_eq!(violated_field(unknown_plan), "plan");
    assert_status(by_member, Code::PermissionDenied, None);
    assert_status(duplicate, Code::AlreadyExists, None);
    assert_eq!(violated_field(weak), "password");
}

#[tokio::test]
async fn end_sessions_refuses_malformed_member_id() {
    let stack = Stack::start(Backend::Embedded).await;
    let mut internal = AuthInternalServiceClient::new(channel(stack.auth));

    let request = |member_id: &str, keep: &str, proof: &str| EndSessionsRequest {
        member_id: member_id.into(),
        keep_session_token: keep.into(),
        kept_session_proof: proof.into(),
    };
    let member = "0190b5d0-0000-7000-8000-000000000000";

    for (request, field) in [
        (request("'; --", "", ""), "member_id"),
        (request(member, "not a token", ""), "keep_session_token"),
        (request(member, "abc", "pwd"), "kept_session_proof"),
        (request(member, "abc", "sms"), "kept_session_proof"),
        (request(member, "", "otp"), "kept_session_proof"),
    ] {
        assert_eq!(violated_field(internal.end_sessions(request).await), field);
    }
}

#[tokio::test]
async fn login_stops_at_deadline_the_caller_sent() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = stack.organization("essential").await;
    let mut request = tonic::Request::new(LoginRequest {
        email: owner,
        password: PASSWORD.to_string(),
    });
    // The header alone, with no client-side timer: only the server can
    // enforce it. One millisecond is shorter than one Argon2id hash.
    request.metadata_mut().insert(
        "grpc-timeout",
        tonic::metadata::MetadataValue::from_static("1m"),
    );

    let result = stack.auth_client().login(request).await;

    assert_status(result, Code::Cancelled, Some("Timeout expired"));
}
