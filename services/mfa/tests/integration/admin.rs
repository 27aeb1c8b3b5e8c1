//! What auth asks on an admin's behalf, over gRPC: ResetFactors voids a
//! member's authenticator, pending enrollment and recovery codes, and
//! ListFactors tells many members' factors at once; both refuse malformed,
//! hostile and oversized input as INVALID_ARGUMENT naming the field.

use tonic::{Code, Status};

use countersign_kit::status::field_violation;
use countersign_mfa::{grpc::MAX_INTERNAL_REQUEST_BYTES, model::MAX_MEMBER_ID_LEN};
use countersign_proto::{
    mfa::v1::{
        GetStatusRequest, GetStatusResponse, ListFactorsRequest, ResetFactorsRequest,
        ResetFactorsResponse,
    },
    notification::v1::EmailTemplate,
};

use super::{
    api::{app_code, begin, confirm, enable_with, verify},
    fakes::{MEMBER, Stack, TOKEN, stack, with_token},
};

/// Member ids a hostile or broken caller might send.
fn malformed_ids() -> Vec<String> {
    let shapes = ["", " ", "a b", "member\n", "\u{0}", "é", "m\u{202e}1"];
    let mut ids: Vec<String> = shapes.iter().map(|s| s.to_string()).collect();
    ids.extend(["a".repeat(129), "a".repeat(10_000)]);
    ids
}

fn assert_names_field(status: &Status, field: &str) {
    assert_eq!(status.code(), Code::InvalidArgument, "{status:?}");
    assert_eq!(field_violation(status).unwrap().0, field);
}

async fn reset(stack: &mut Stack, member_id: &str) -> Result<ResetFactorsResponse, Status> {
    let request = ResetFactorsRequest {
        member_id: member_id.into(),
    };
    let reply = stack.internal.reset_factors(request).await?;
    Ok(reply.into_inner())
}

async fn status(stack: &mut Stack) -> GetStatusResponse {
    let request = with_token(GetStatusRequest {}, TOKEN);
    stack.user.get_status(request).await.unwrap().into_inner()
}

async fn list(stack: &mut Stack, ids: Vec<String>) -> Result<Vec<(String, Vec<String>)>, Status> {
    let request = ListFactorsRequest { member_ids: ids };
    let reply = stack.internal.list_factors(request).await?.into_inner();
    let listed = reply.members.into_iter();
    Ok(listed.map(|m| (m.member_id, m.factors)).collect())
}

/// Turns MFA on for the member and moves to the next step; returns that
/// step's TOTP code and the recovery codes shown.
async fn enable(stack: &mut Stack) -> (String, Vec<String>) {
    let (enrollment, codes) = enable_with(stack, TOKEN).await;
    (app_code(stack, &enrollment), codes)
}

#[tokio::test]
async fn reset_factors_voids_authenticator_and_recovery_codes_and_answers_true_once() {
    let mut stack = stack(true).await;
    let (fresh, codes) = enable(&mut stack).await;

    let first = reset(&mut stack, MEMBER).await.unwrap();
    let again = reset(&mut stack, MEMBER).await.unwrap();

    assert!(first.had_factor && !again.had_factor);
    let status = status(&mut stack).await;
    assert!(!status.enabled && !status.enrollment_pending);
    assert!(status.factors.is_empty());
    assert_eq!(status.recovery_codes_remaining, 0);
    let totp = stack.internal.verify_factor(verify("totp", &fresh)).await;
    assert_eq!(totp.unwrap_err().code(), Code::Unauthenticated);
    let used = stack
        .internal
        .verify_factor(verify("recovery_code", &codes[0]))
        .await;
    assert_eq!(used.unwrap_err().code(), Code::Unauthenticated);
    assert_eq!(stack.outbox.templates(), [EmailTemplate::MfaEnabled]);
    assert_eq!(stack.auth.audit_kinds(), ["mfa_enabled"]);
}

#[tokio::test]
async fn reset_factors_voids_pending_enrollment_and_allows_enrolling_anew() {
    let mut stack = stack(true).await;
    let abandoned = begin(&mut stack).await;

    let reset = reset(&mut stack, MEMBER).await.unwrap();

    assert!(!reset.had_factor);
    assert!(!status(&mut stack).await.enrollment_pending);
    let code = app_code(&stack, &abandoned);
    let stale = confirm(&mut stack, &code).await;
    assert_eq!(stale.unwrap_err().code(), Code::FailedPrecondition);
    enable(&mut stack).await;
    assert!(status(&mut stack).await.enabled);
}

#[tokio::test]
async fn reset_factors_answers_false_for_member_never_seen() {
    let mut stack = stack(true).await;

    let reset = reset(&mut stack, "member-never-seen").await.unwrap();

    assert!(!reset.had_factor);
}

#[tokio::test]
async fn reset_factors_names_member_id_of_malformed_input() {
    let mut stack = stack(true).await;

    for id in malformed_ids() {
        let status = reset(&mut stack, &id).await.unwrap_err();

        assert_names_field(&status, "member_id");
    }
}

#[tokio::test]
async fn list_factors_answers_in_order_asked_with_empty_factors_without_mfa() {
    let mut stack = stack(true).await;
    enable(&mut stack).await;
    let asked = ["stranger", MEMBER, "other", MEMBER].map(String::from);

    let listed = list(&mut stack, asked.to_vec()).await.unwrap();

    let ids: Vec<&str> = listed.iter().map(|(id, _)| id.as_str()).collect();
    assert_eq!(ids, asked);
    let all = ["totp", "email_code", "recovery_code"].map(String::from);
    assert!(listed[0].1.is_empty() && listed[2].1.is_empty());
    assert_eq!((&listed[1].1[..], &listed[3].1[..]), (&all[..], &all[..]));
}

#[tokio::test]
async fn list_factors_answers_empty_list_with_empty_list() {
    let mut stack = stack(true).await;

    let listed = list(&mut stack, Vec::new()).await.unwrap();

    assert!(listed.is_empty());
}

#[tokio::test]
async fn list_factors_accepts_500_ids_and_refuses_501() {
    let mut stack = stack(true).await;
    let ids = |n: usize| (0..n).map(|i| format!("m{i:05}")).collect::<Vec<_>>();

    let five_hundred = list(&mut stack, ids(500)).await.unwrap();
    let too_many = list(&mut stack, ids(501)).await.unwrap_err();

    assert_eq!(five_hundred.len(), 500);
    assert_eq!(five_hundred[499].0, "m00499");
    assert_names_field(&too_many, "member_ids");
}

#[tokio::test]
async fn list_factors_names_member_ids_when_any_id_is_malformed() {
    let mut stack = stack(true).await;

    for id in malformed_ids() {
        let asked = vec![MEMBER.to_string(), id.clone()];

        let status = list(&mut stack, asked).await.unwrap_err();

        assert_names_field(&status, "member_ids");
        let shown = status.message();
        assert!(
            id.trim().is_empty() || !shown.contains(id.as_str()),
            "{shown}"
        );
    }
}

#[tokio::test]
async fn list_factors_reads_500_ids_of_the_longest_shape_and_refuses_one_more() {
    let mut stack = stack(true).await;
    let ids = |n: usize| {
        let id = |i: usize| format!("{i:05}{}", "x".repeat(MAX_MEMBER_ID_LEN - 5));
        (0..n).map(id).collect::<Vec<_>>()
    };

    let five_hundred = list(&mut stack, ids(500)).await.unwrap();
    let too_many = list(&mut stack, ids(501)).await.unwrap_err();

    assert_eq!(five_hundred.len(), 500);
    assert_names_field(&too_many, "member_ids");
}

#[tokio::test]
async fn list_factors_refuses_message_past_the_size_limit_without_echoing_it() {
    let mut stack = stack(true).await;
    let huge = vec!["a".repeat(MAX_INTERNAL_REQUEST_BYTES)];

    let refused = list(&mut stack, huge).await.unwrap_err();

    assert_eq!(refused.code(), Code::OutOfRange, "{refused:?}");
    assert!(!refused.message().contains("aaaa"), "{}", refused.message());
}
