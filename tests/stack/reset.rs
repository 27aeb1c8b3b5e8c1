//! When a member loses control of an account: an admin resets their MFA
//! after a lost phone, and the "this wasn't me" link of a security email
//! signs them out everywhere and locks the account until an admin unlocks
//! it.

use tonic::Code;

use countersign_proto::{
    auth::v1::{ListAuditEventsRequest, ListMembersRequest},
    mfa::v1::GetStatusRequest,
};
use countersign_tests::stack::{Backend, OPERATOR_TOKEN, PASSWORD, Stack, bearer};

use crate::{
    gateway::{STEP, assert_status, code_now, disable, enroll, login, session, validate},
    org::{audit_kinds, emailed_token, fresh_email, join, report_activity, reset, unlock},
};

async fn admin_resets_lost_phone_and_member_reports_it(backend: Backend) {
    let stack = Stack::start(backend).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let ann_email = fresh_email("ann");
    let (_, admin) = join(&stack, &owner, &fresh_email("adm"), "admin").await;
    let (ann, ann_session) = join(&stack, &owner, &ann_email, "member").await;
    enroll(&stack, &ann_session).await;
    stack.mail.nth_mail_to(&ann_email, 2).await;

    stack.clock.advance(STEP);
    let pending = crate::gateway::challenge(&stack, &ann_email).await;
    let done = reset(&stack, &admin, &ann.id).await.unwrap();

    assert!(done.had_mfa);
    assert_eq!(done.ended_sessions, 1);
    assert_status(
        validate(&stack, &ann_session).await,
        Code::Unauthenticated,
        None,
    );
    // The challenge opened before the reset went with it.
    let answered = crate::gateway::send_email_code(&stack, &pending).await;
    assert_status(answered, Code::Unauthenticated, None);
    let notice = stack.mail.nth_mail_to(&ann_email, 3).await;
    assert!(
        notice.subject().contains("was reset"),
        "{}",
        notice.subject()
    );
    let fresh = session(&stack, &ann_email).await;
    let status = stack
        .mfa_client()
        .get_status(bearer(GetStatusRequest {}, &fresh))
        .await
        .unwrap()
        .into_inner();
    assert!(!status.enabled);
    assert_eq!(status.recovery_codes_remaining, 0);
    assert!(!reset(&stack, &admin, &ann.id).await.unwrap().had_mfa);

    // "This wasn't me": every session ends and the account locks.
    let report = notice.link_token().unwrap();
    report_activity(&stack, &report).await.unwrap();
    assert_status(validate(&stack, &fresh).await, Code::Unauthenticated, None);
    // The right password is answered like a wrong one.
    for password in [PASSWORD, "wrong password"] {
        assert_status(
            login(&stack, &ann_email, password).await,
            Code::Unauthenticated,
            Some("invalid email or password"),
        );
    }
    assert_status(
        report_activity(&stack, &report).await,
        Code::Unauthenticated,
        None,
    );
    let members = stack
        .admin_client()
        .list_members(bearer(ListMembersRequest::default(), &admin))
        .await
        .unwrap()
        .into_inner()
        .members;
    assert!(members.iter().any(|m| m.id == ann.id && m.locked));

    let locked_out = ListAuditEventsRequest {
        member_id: ann.id.clone(),
        kinds: vec!["login_failed".to_string()],
        ..Default::default()
    };
    let failures = crate::org::audit_page(&stack, &admin, locked_out)
        .await
        .events;
    let reasons: Vec<_> = failures
        .iter()
        .map(|e| e.detail.get("reason").cloned())
        .collect();
    assert_eq!(reasons, [None, Some("locked".to_string())]);

    assert!(unlock(&stack, &admin, &ann.id).await.unwrap());
    assert!(!unlock(&stack, &admin, &ann.id).await.unwrap());
    session(&stack, &ann_email).await;

    let kinds = audit_kinds(&stack, &owner).await;
    for kind in [
        "mfa_reset",
        "activity_reported",
        "member_unlocked",
        "mfa_enabled",
    ] {
        assert!(kinds.iter().any(|k| k == kind), "no {kind} in {kinds:?}");
    }
}

#[tokio::test]
async fn admin_resets_lost_phone_and_member_reports_it_on_embedded() {
    admin_resets_lost_phone_and_member_reports_it(Backend::Embedded).await;
}

#[tokio::test]
async fn admin_resets_lost_phone_and_member_reports_it_on_postgres_and_redis() {
    admin_resets_lost_phone_and_member_reports_it(Backend::Real).await;
}

#[tokio::test]
async fn reset_refused_for_self_and_for_admins_unless_owner() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner_email = stack.organization("essential").await;
    let owner = session(&stack, &owner_email).await;
    let owner_id = crate::org::whoami(&stack, &owner).await.id;
    let (first, admin) = join(&stack, &owner, &fresh_email("adm1"), "admin").await;
    let (second, _) = join(&stack, &owner, &fresh_email("adm2"), "admin").await;
    let (_, member) = join(&stack, &owner, &fresh_email("mem"), "member").await;

    // Self, an admin of another admin or of the owner, a member.
    for (caller, whom) in [
        (&admin, &first.id),
        (&owner, &owner_id),
        (&admin, &second.id),
        (&admin, &owner_id),
        (&member, &second.id),
    ] {
        assert_status(
            reset(&stack, caller, whom).await,
            Code::PermissionDenied,
            None,
        );
    }
    assert!(!reset(&stack, &owner, &second.id).await.unwrap().had_mfa);
    assert_status(
        unlock(&stack, &admin, &second.id).await,
        Code::PermissionDenied,
        None,
    );
}

#[tokio::test]
async fn disabled_notice_carries_link_that_locks_account_and_unlock_voids_the_rest() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let email = fresh_email("dan");
    let (dan, token) = join(&stack, &owner, &email, "member").await;
    let app = enroll(&stack, &token).await;
    disable(&stack, &token, &code_now(&stack, &app))
        .await
        .unwrap();
    stack.clock.advance(STEP);
    let disabled_link = emailed_token(&stack, &email, 3).await;
    enroll(&stack, &token).await;
    assert!(reset(&stack, &owner, &dan.id).await.unwrap().had_mfa);
    let reset_link = emailed_token(&stack, &email, 5).await;

    report_activity(&stack, &disabled_link).await.unwrap();

    assert_status(validate(&stack, &token).await, Code::Unauthenticated, None);
    assert_status(
        login(&stack, &email, PASSWORD).await,
        Code::Unauthenticated,
        None,
    );
    let kinds = audit_kinds(&stack, &owner).await;
    assert_eq!(kinds[..2], ["login_failed", "activity_reported"]);
    assert!(kinds.contains(&"mfa_disabled".to_string()));
    assert!(unlock(&stack, &owner, &dan.id).await.unwrap());
    assert_status(
        report_activity(&stack, &reset_link).await,
        Code::Unauthenticated,
        None,
    );
    session(&stack, &email).await;
}

#[tokio::test]
async fn operator_unlocks_an_organization_whose_only_owner_is_locked() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner_email = stack.organization("essential").await;
    let owner = session(&stack, &owner_email).await;
    let owner_id = crate::org::whoami(&stack, &owner).await.id;
    let app = enroll(&stack, &owner).await;
    disable(&stack, &owner, &code_now(&stack, &app))
        .await
        .unwrap();
    report_activity(&stack, &emailed_token(&stack, &owner_email, 2).await)
        .await
        .unwrap();
    assert_status(
        login(&stack, &owner_email, PASSWORD).await,
        Code::Unauthenticated,
        None,
    );

    assert_status(
        unlock(&stack, "not-the-operator", &owner_id).await,
        Code::Unauthenticated,
        None,
    );
    assert!(unlock(&stack, OPERATOR_TOKEN, &owner_id).await.unwrap());

    let owner = session(&stack, &owner_email).await;
    let kinds = audit_kinds(&stack, &owner).await;
    assert!(kinds.contains(&"member_unlocked".to_string()));
}
