//! An organization requires MFA: members without it see the deadline while
//! the grace period runs, then get a session that can only enroll; members
//! with MFA are unaffected. The plan decides whether the policy binds.

use std::time::Duration;

use tonic::{Code, Request};

use countersign_kit::clock::Clock;
use countersign_proto::{
    auth::v1::{
        GetAdoptionReportRequest, LoginRequest, LoginResponse, LogoutRequest,
        ValidateSessionRequest, login_response,
    },
    mfa::v1::GetStatusRequest,
};
use countersign_tests::stack::{Backend, OPERATOR_TOKEN, PASSWORD, Stack, bearer};

use crate::{
    gateway::{STEP, answer, assert_status, begin, challenge, code_now, enroll, session, validate},
    org::{adoption, audit_kinds, fresh_email, join, set_plan, set_policy, whoami},
};

/// Shorter than a session lives, so sessions from before the deadline
/// are still alive after it.
const GRACE: Duration = Duration::from_secs(6 * 3600);

async fn login_reply(stack: &Stack, email: &str) -> LoginResponse {
    let request = LoginRequest {
        email: email.to_string(),
        password: PASSWORD.to_string(),
    };
    stack
        .auth_client()
        .login(request)
        .await
        .unwrap()
        .into_inner()
}

/// Logs in a member the policy now binds; the restricted session.
async fn restricted(stack: &Stack, email: &str) -> String {
    match crate::gateway::login(stack, email, PASSWORD).await.unwrap() {
        crate::gateway::Login::EnrollmentRequired(s) => {
            assert_eq!(s.scope, "enrollment");
            s.token
        }
        other => panic!("expected enrollment required, got {other:?}"),
    }
}

async fn validate_any_scope(stack: &Stack, token: &str) -> Result<String, tonic::Status> {
    let request = ValidateSessionRequest {
        token: token.to_string(),
        accept_enrollment_scope: true,
    };
    let reply = stack.auth_client().validate_session(request).await?;
    Ok(reply.into_inner().scope)
}

async fn policy_binds_after_grace(backend: Backend) {
    let stack = Stack::start(backend).await;
    let owner_email = stack.organization("essential").await;
    let owner = session(&stack, &owner_email).await;
    let (ann_email, eve_email, cal_email) =
        (fresh_email("ann"), fresh_email("eve"), fresh_email("cal"));
    join(&stack, &owner, &ann_email, "member").await;
    join(&stack, &owner, &cal_email, "member").await;
    let (_, eve) = join(&stack, &owner, &eve_email, "member").await;
    let eve_app = enroll(&stack, &eve).await;
    let owner_app = enroll(&stack, &owner).await;
    let deadline = stack.clock.now_ms() + i64::try_from(GRACE.as_millis()).unwrap();

    set_policy(&stack, &owner, true, Some(deadline))
        .await
        .unwrap();

    // Before the deadline: a normal session that carries the deadline.
    let before = login_reply(&stack, &ann_email).await;
    let Some(login_response::Result::Session(early)) = &before.result else {
        panic!("expected a session, got {before:?}");
    };
    validate(&stack, &early.token).await.unwrap();
    assert_eq!(
        before.mfa_enrollment_deadline,
        Some(crate::org::at(deadline))
    );
    let eve_login = challenge(&stack, &eve_email).await;
    answer(&stack, &eve_login, "totp", &code_now(&stack, &eve_app))
        .await
        .unwrap();
    let report = adoption(&stack, &owner).await;
    let in_grace: Vec<_> = report
        .members_in_grace
        .iter()
        .map(|g| (g.member.clone().unwrap().email, g.deadline))
        .collect();
    assert!(in_grace.contains(&(ann_email.clone(), Some(crate::org::at(deadline)))));
    assert!(!in_grace.iter().any(|(email, _)| *email == eve_email));
    assert!(report.policy_enforced);

    // After it: a session that only enrolls. The owner, with MFA, signs in
    // as before.
    stack.clock.set(deadline);
    let owner_login = challenge(&stack, &owner_email).await;
    let owner = answer(&stack, &owner_login, "totp", &code_now(&stack, &owner_app))
        .await
        .unwrap()
        .token;
    let ann = restricted(&stack, &ann_email).await;
    assert_status(validate(&stack, &ann).await, Code::PermissionDenied, None);
    // The session from before the deadline may now only enroll too.
    assert_status(
        validate(&stack, &early.token).await,
        Code::PermissionDenied,
        None,
    );
    assert_eq!(
        validate_any_scope(&stack, &early.token).await.unwrap(),
        "enrollment"
    );
    let admin_call = stack
        .admin_client()
        .get_adoption_report(bearer(GetAdoptionReportRequest {}, &ann))
        .await;
    assert_status(admin_call, Code::PermissionDenied, None);
    assert_eq!(
        validate_any_scope(&stack, &ann).await.unwrap(),
        "enrollment"
    );
    let status = stack
        .mfa_client()
        .get_status(bearer(GetStatusRequest {}, &ann))
        .await
        .unwrap();
    assert!(!status.into_inner().enabled);
    assert!(adoption(&stack, &owner).await.members_in_grace.is_empty());

    // Enrolling ends the restricted session; the next login asks for a code.
    let app = enroll(&stack, &ann).await;
    assert_status(
        validate_any_scope(&stack, &ann).await,
        Code::Unauthenticated,
        None,
    );
    let ann_login = challenge(&stack, &ann_email).await;
    stack.clock.advance(STEP);
    answer(&stack, &ann_login, "totp", &code_now(&stack, &app))
        .await
        .unwrap();
    let eve_login = challenge(&stack, &eve_email).await;
    assert_eq!(eve_login.methods[0], "totp");

    // A restricted session can log out.
    let cal = restricted(&stack, &cal_email).await;
    stack
        .auth_client()
        .logout(bearer(LogoutRequest {}, &cal))
        .await
        .unwrap();
    assert_status(
        validate_any_scope(&stack, &cal).await,
        Code::Unauthenticated,
        None,
    );

    // Turning the policy off restores normal logins; MFA stays on.
    set_policy(&stack, &owner, false, None).await.unwrap();
    let after = login_reply(&stack, &cal_email).await;
    assert!(matches!(
        after.result,
        Some(login_response::Result::Session(_))
    ));
    assert_eq!(after.mfa_enrollment_deadline, None);
    challenge(&stack, &ann_email).await;
    assert_eq!(
        audit_kinds(&stack, &owner)
            .await
            .iter()
            .filter(|k| *k == "policy_changed")
            .count(),
        2
    );
}

#[tokio::test]
async fn policy_binds_after_grace_on_embedded() {
    policy_binds_after_grace(Backend::Embedded).await;
}

#[tokio::test]
async fn policy_binds_after_grace_on_postgres_and_redis() {
    policy_binds_after_grace(Backend::Real).await;
}

#[tokio::test]
async fn policy_without_grace_binds_at_once_but_not_members_with_mfa() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner_email = stack.organization("essential").await;
    let owner = session(&stack, &owner_email).await;
    let (_, admin) = join(&stack, &owner, &fresh_email("adm"), "admin").await;
    enroll(&stack, &owner).await;
    enroll(&stack, &admin).await;
    // Confirming with a code proved the authenticator in the session kept.
    let request = ValidateSessionRequest {
        token: admin.clone(),
        accept_enrollment_scope: false,
    };
    let view = stack.auth_client().validate_session(request).await.unwrap();
    assert_eq!(view.into_inner().factors, ["pwd", "otp"]);

    set_policy(&stack, &admin, true, None).await.unwrap();

    let newcomer = fresh_email("new");
    crate::org::invite(&stack, &admin, &newcomer, "member")
        .await
        .unwrap();
    let token = crate::org::emailed_token(&stack, &newcomer, 1).await;
    crate::org::accept(&stack, &token, PASSWORD).await.unwrap();
    restricted(&stack, &newcomer).await;
    challenge(&stack, &owner_email).await;
}

#[tokio::test]
async fn downgrade_keeps_factors_stops_policy_and_upgrade_restores() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner_email = stack.organization("essential").await;
    let owner = session(&stack, &owner_email).await;
    let organization = whoami(&stack, &owner).await.organization_id;
    let (dee_email, fay_email) = (fresh_email("dee"), fresh_email("fay"));
    let (_, dee) = join(&stack, &owner, &dee_email, "member").await;
    join(&stack, &owner, &fay_email, "member").await;
    let dee_app = enroll(&stack, &dee).await;
    enroll(&stack, &owner).await;
    set_policy(&stack, &owner, true, None).await.unwrap();

    set_plan(&stack, &organization, "prime").await.unwrap();

    let dee_login = challenge(&stack, &dee_email).await;
    answer(&stack, &dee_login, "totp", &code_now(&stack, &dee_app))
        .await
        .unwrap();
    let fay = session(&stack, &fay_email).await;
    let refused = begin(&stack, &fay).await;
    let status = refused.unwrap_err();
    assert_eq!(status.code(), Code::FailedPrecondition);
    assert!(
        status.message().contains("essential"),
        "{}",
        status.message()
    );
    let policy = set_policy(&stack, &owner, false, None).await.unwrap_err();
    assert_eq!(policy.code(), Code::FailedPrecondition);
    assert!(
        policy.message().contains("essential"),
        "{}",
        policy.message()
    );
    let report = adoption(&stack, &owner).await;
    assert!(report.policy.unwrap().required);
    assert!(!report.policy_enforced);

    set_plan(&stack, &organization, "essential").await.unwrap();

    restricted(&stack, &fay_email).await;
    assert!(adoption(&stack, &owner).await.policy_enforced);
    set_policy(&stack, &owner, true, None).await.unwrap();
    let kinds = audit_kinds(&stack, &owner).await;
    assert_eq!(kinds.iter().filter(|k| *k == "plan_changed").count(), 2);
}

#[tokio::test]
async fn plan_change_needs_operator_and_known_plan_and_organization() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let organization = whoami(&stack, &owner).await.organization_id;
    let change = |token: &str, id: &str, plan: &str| {
        let request = countersign_proto::auth::v1::SetOrganizationPlanRequest {
            organization_id: id.to_string(),
            plan: plan.to_string(),
        };
        let mut client = stack.admin_client();
        let request = bearer(request, token);
        async move { client.set_organization_plan(request).await }
    };

    assert_status(
        change(&owner, &organization, "prime").await,
        Code::Unauthenticated,
        None,
    );
    let unauthenticated = stack
        .admin_client()
        .set_organization_plan(Request::new(Default::default()))
        .await;
    assert_status(unauthenticated, Code::Unauthenticated, None);
    let unknown_plan = change(OPERATOR_TOKEN, &organization, "platinum").await;
    assert_eq!(crate::gateway::violated_field(unknown_plan), "plan");
    let unknown_org = change(OPERATOR_TOKEN, "no-such-org", "prime").await;
    assert_status(unknown_org, Code::NotFound, None);
    let bad_id = change(OPERATOR_TOKEN, "x'; DROP TABLE organizations; --", "prime").await;
    assert_eq!(crate::gateway::violated_field(bad_id), "organization_id");
}
