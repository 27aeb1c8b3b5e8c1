//! The audit log as an admin reads it: every security action of the login
//! and second-factor flows, newest first, filtered by member, kind and
//! time, paged with a cursor, and never a secret.

use std::time::Duration;

use countersign_kit::clock::Clock;
use countersign_proto::{
    auth::v1::{AddMemberRequest, AuditEvent, ListAuditEventsRequest},
    mfa::v1::{ConfirmEnrollmentRequest, RegenerateRecoveryCodesRequest},
};
use countersign_tests::stack::{Backend, PASSWORD, Stack, bearer};

use crate::{
    gateway::{
        STEP, answer, authenticator, begin, challenge, code_now, login_from, send_email_code,
        session,
    },
    org::{at, fresh_email, whoami},
};

const HOME: &str = "203.0.113.9";

async fn events(stack: &Stack, admin: &str, request: ListAuditEventsRequest) -> Vec<AuditEvent> {
    crate::org::audit_page(stack, admin, request).await.events
}

fn kinds(events: &[AuditEvent]) -> Vec<&str> {
    events.iter().map(|e| e.kind.as_str()).collect()
}

#[tokio::test]
async fn audit_log_records_factor_actions_and_filters_them() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let gus_email = fresh_email("gus");
    let add = AddMemberRequest {
        email: gus_email.clone(),
        password: PASSWORD.to_string(),
        role: "member".to_string(),
    };
    let mut add = bearer(add, &owner);
    let forwarded = tonic::metadata::MetadataValue::from_static(HOME);
    add.metadata_mut().insert("x-forwarded-for", forwarded);
    let gus = stack.admin_client().add_member(add).await.unwrap();
    let gus_id = gus.into_inner().member.unwrap().id;
    let wrong = login_from(&stack, &gus_email, "not the password", HOME).await;
    assert!(wrong.is_err());
    stack.clock.advance(Duration::from_secs(60));
    let split = stack.clock.now_ms();

    // Enroll, keeping the recovery codes.
    let gus_session = session(&stack, &gus_email).await;
    let enrollment = begin(&stack, &gus_session).await.unwrap();
    let app = authenticator(&enrollment);
    let confirming = code_now(&stack, &app);
    let confirm = ConfirmEnrollmentRequest {
        code: confirming.clone(),
    };
    let codes = stack
        .mfa_client()
        .confirm_enrollment(bearer(confirm, &gus_session))
        .await
        .unwrap()
        .into_inner()
        .recovery_codes;
    stack.clock.advance(STEP);

    // Five wrong codes lock the second factor; an emailed code is sent.
    let pending = challenge(&stack, &gus_email).await;
    send_email_code(&stack, &pending).await.unwrap();
    for _ in 0..5 {
        assert!(answer(&stack, &pending, "totp", "000000").await.is_err());
    }
    stack.clock.advance(Duration::from_secs(16 * 60));
    let pending = challenge(&stack, &gus_email).await;
    let signed_in = answer(&stack, &pending, "recovery_code", &codes[0])
        .await
        .unwrap();
    let regenerate = RegenerateRecoveryCodesRequest {
        code: code_now(&stack, &app),
    };
    stack
        .mfa_client()
        .regenerate_recovery_codes(bearer(regenerate, &signed_in.token))
        .await
        .unwrap();

    let all = crate::org::audit_kinds(&stack, &owner).await;
    for kind in [
        "member_added",
        "login_failed",
        "login_succeeded",
        "mfa_enabled",
        "email_code_sent",
        "mfa_locked",
        "recovery_code_used",
        "recovery_codes_regenerated",
    ] {
        assert!(all.iter().any(|k| k == kind), "no {kind} in {all:?}");
    }
    assert_eq!(all[0], "recovery_codes_regenerated");
    let locked = ListAuditEventsRequest {
        kinds: vec!["mfa_locked".to_string()],
        ..Default::default()
    };
    let locked = events(&stack, &owner, locked).await;
    // Auth forwards the address of the login whose answers locked it.
    assert_eq!(locked.len(), 1);
    assert_eq!(locked[0].client_address, "127.0.0.1");

    // By kind: both password and code failures, from where they came.
    let failed = ListAuditEventsRequest {
        kinds: vec!["login_failed".to_string()],
        ..Default::default()
    };
    let failed = events(&stack, &owner, failed).await;
    assert!(failed.len() >= 6, "{:?}", kinds(&failed));
    assert!(
        failed
            .iter()
            .all(|e| e.outcome == "failure" && e.subject_id == gus_id)
    );
    let password = failed.last().unwrap();
    assert_eq!(
        (
            password.client_address.as_str(),
            password.detail["factor"].as_str()
        ),
        (HOME, "pwd")
    );
    assert!(
        failed
            .iter()
            .any(|e| e.detail.get("factor").map(String::as_str) == Some("otp"))
    );

    // By member and by time: what happened to gus before `split`.
    let early = ListAuditEventsRequest {
        member_id: gus_id.clone(),
        end_time: Some(at(split)),
        ..Default::default()
    };
    let early = events(&stack, &owner, early).await;
    assert_eq!(kinds(&early), ["login_failed", "member_added"]);
    assert_eq!(early[1].client_address, HOME);
    assert_eq!(early[1].actor_id, whoami(&stack, &owner).await.id);
    let late = ListAuditEventsRequest {
        member_id: gus_id.clone(),
        start_time: Some(at(split)),
        ..Default::default()
    };
    let late = events(&stack, &owner, late).await;
    assert!(late.iter().all(|e| e.time.unwrap().seconds >= split / 1000));
    let owner_id = whoami(&stack, &owner).await.id;
    let owners = events(
        &stack,
        &owner,
        ListAuditEventsRequest {
            member_id: owner_id,
            ..Default::default()
        },
    )
    .await;
    assert!(owners.iter().all(|e| e.kind != "mfa_locked"));

    // Pages of three, newest first, add up to the whole log.
    let paged = crate::org::audit_events(&stack, &owner, 3).await;
    assert_eq!(
        kinds(&paged),
        all.iter().map(String::as_str).collect::<Vec<_>>()
    );
    let times: Vec<_> = paged.iter().map(|e| e.time.unwrap().seconds).collect();
    assert!(times.windows(2).all(|w| w[0] >= w[1]), "{times:?}");

    // No secret in any event.
    let shown = format!("{paged:?}");
    for secret in [
        PASSWORD,
        "not the password",
        &confirming,
        &codes[0],
        &enrollment.secret,
    ] {
        assert!(!shown.contains(secret), "an audit event holds a secret");
    }
    assert!(!shown.contains(&signed_in.token));
}
