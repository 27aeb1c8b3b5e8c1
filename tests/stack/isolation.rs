//! An admin acts within their own organization only: every admin call
//! aimed at another organization's member is refused exactly as an unknown
//! member is, and listings show nothing of the other. Malformed, hostile
//! and oversized input to the organization calls is refused by field.

use tonic::{Code, Status};

use countersign_proto::auth::v1::{
    AcceptInvitationRequest, AddMemberRequest, CreateReportLinkRequest, GetAdoptionReportRequest,
    InviteMemberRequest, ListAuditEventsRequest, ListMembersRequest, RecordAuditEventRequest,
    ReportUnrecognizedActivityRequest, SetMfaPolicyRequest,
    auth_internal_service_client::AuthInternalServiceClient,
};
use countersign_tests::stack::{Backend, PASSWORD, Stack, bearer, channel};

use crate::{
    gateway::{assert_status, enroll, session, violated_field},
    org::{adoption, at, fresh_email, join, reset, set_policy, unlock, whoami},
};

/// The status and message of a refusal, to compare two refusals.
fn refusal<T: std::fmt::Debug>(result: Result<T, Status>) -> (Code, String) {
    let status = result.expect_err("expected a refusal");
    (status.code(), status.message().to_string())
}

#[tokio::test]
async fn admin_cannot_reach_another_organization() {
    let stack = Stack::start(Backend::Embedded).await;
    let ours = session(&stack, &stack.organization("essential").await).await;
    let theirs_email = stack.organization("essential").await;
    let theirs = session(&stack, &theirs_email).await;
    let (victim, victim_session) = join(&stack, &theirs, &fresh_email("victim"), "member").await;
    enroll(&stack, &victim_session).await;
    let unknown = "0190b5d0-0000-7000-8000-000000000000";

    let reset_other = refusal(reset(&stack, &ours, &victim.id).await);
    let reset_unknown = refusal(reset(&stack, &ours, unknown).await);
    assert_eq!(reset_other.0, Code::PermissionDenied);
    assert_eq!(reset_other, reset_unknown);
    assert_eq!(
        refusal(unlock(&stack, &ours, &victim.id).await),
        refusal(unlock(&stack, &ours, unknown).await)
    );

    let members = stack
        .admin_client()
        .list_members(bearer(ListMembersRequest::default(), &ours))
        .await
        .unwrap()
        .into_inner()
        .members;
    assert_eq!(members.len(), 1);
    assert_eq!(adoption(&stack, &ours).await.member_count, 1);
    let theirs_events = ListAuditEventsRequest {
        member_id: victim.id.clone(),
        ..Default::default()
    };
    let events = crate::org::audit_page(&stack, &ours, theirs_events)
        .await
        .events;
    assert!(events.is_empty());
    let our_org = whoami(&stack, &ours).await.organization_id;
    let all = crate::org::audit_kinds(&stack, &ours).await;
    assert_eq!(all, ["login_succeeded", "organization_created"]);
    assert_ne!(our_org, victim.organization_id);

    // Inviting their member's email answers as for anyone, and its link
    // does not move the member; adding it is refused, as emails are unique
    // across the installation.
    let invite = InviteMemberRequest {
        email: victim.email.clone(),
        role: String::new(),
    };
    let invited = stack
        .admin_client()
        .invite_member(bearer(invite, &ours))
        .await;
    assert!(invited.is_ok(), "{invited:?}");
    let link = crate::org::emailed_token(&stack, &victim.email, 3).await;
    assert_status(
        crate::org::accept(&stack, &link, PASSWORD).await,
        Code::Unauthenticated,
        Some("invalid or expired link"),
    );
    let add = AddMemberRequest {
        email: victim.email.clone(),
        password: PASSWORD.to_string(),
        role: String::new(),
    };
    let added = stack.admin_client().add_member(bearer(add, &ours)).await;
    assert_status(added, Code::AlreadyExists, None);
    assert_eq!(adoption(&stack, &ours).await.member_count, 1);

    // Our policy does not bind them; their member keeps working.
    set_policy(&stack, &ours, true, None).await.unwrap();
    session(&stack, &theirs_email).await;
    assert!(!adoption(&stack, &theirs).await.policy.unwrap().required);
    crate::gateway::challenge(&stack, &victim.email).await;
    assert!(reset(&stack, &theirs, &victim.id).await.unwrap().had_mfa);
}

#[tokio::test]
async fn members_and_anonymous_callers_are_refused_every_admin_call() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let (member, plain) = join(&stack, &owner, &fresh_email("plain"), "member").await;
    let mut admin = stack.admin_client();

    for token in [plain.as_str(), "not-a-session"] {
        let expected = if token == plain {
            Code::PermissionDenied
        } else {
            Code::Unauthenticated
        };
        let invite = InviteMemberRequest {
            email: fresh_email("x"),
            role: String::new(),
        };
        assert_status(
            admin.invite_member(bearer(invite, token)).await,
            expected,
            None,
        );
        let add = AddMemberRequest {
            email: fresh_email("y"),
            password: PASSWORD.to_string(),
            role: String::new(),
        };
        assert_status(admin.add_member(bearer(add, token)).await, expected, None);
        let list = ListMembersRequest::default();
        assert_status(
            admin.list_members(bearer(list, token)).await,
            expected,
            None,
        );
        let policy = SetMfaPolicyRequest {
            policy: Some(Default::default()),
        };
        assert_status(
            admin.set_mfa_policy(bearer(policy, token)).await,
            expected,
            None,
        );
        assert_status(reset(&stack, token, &member.id).await, expected, None);
        assert_status(unlock(&stack, token, &member.id).await, expected, None);
        let report = GetAdoptionReportRequest {};
        assert_status(
            admin.get_adoption_report(bearer(report, token)).await,
            expected,
            None,
        );
        let audit = ListAuditEventsRequest::default();
        assert_status(
            admin.list_audit_events(bearer(audit, token)).await,
            expected,
            None,
        );
    }
}

#[tokio::test]
async fn organization_calls_refuse_malformed_and_oversized_fields() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let mut admin = stack.admin_client();
    let mut auth = stack.auth_client();
    let huge = "a".repeat(10_000);

    let invite = |email: &str, role: &str| InviteMemberRequest {
        email: email.to_string(),
        role: role.to_string(),
    };
    for (request, field) in [
        (invite("not an email", ""), "email"),
        (invite(&format!("{huge}@x.example"), ""), "email"),
        (invite("ok@x.example", "superuser"), "role"),
    ] {
        assert_eq!(
            violated_field(admin.invite_member(bearer(request, &owner)).await),
            field
        );
    }
    for id in ["", "x'; --", &huge, "id with space", "ünïcode"] {
        assert_eq!(
            violated_field(reset(&stack, &owner, id).await),
            "member_id",
            "{id:?}"
        );
        assert_eq!(
            violated_field(unlock(&stack, &owner, id).await),
            "member_id"
        );
    }

    let list = |size: u32, token: &str| ListMembersRequest {
        page_size: size,
        page_token: token.to_string(),
    };
    assert_eq!(
        violated_field(admin.list_members(bearer(list(501, ""), &owner)).await),
        "page_size"
    );
    for token in ["../x", "abc", "-1", "0190b5d0-0000-7000-8000-000000000000"] {
        assert_eq!(
            violated_field(admin.list_members(bearer(list(5, token), &owner)).await),
            "page_token",
            "{token}"
        );
    }

    let audit = |f: fn(&mut ListAuditEventsRequest)| {
        let mut request = ListAuditEventsRequest::default();
        f(&mut request);
        request
    };
    for (request, field) in [
        (audit(|r| r.page_size = 10_000), "page_size"),
        (audit(|r| r.page_token = "-1".into()), "page_token"),
        (audit(|r| r.page_token = "abc".into()), "page_token"),
        (
            audit(|r| r.kinds = vec!["login_failed".into(), "drop_tables".into()]),
            "kinds",
        ),
        (
            audit(|r| r.kinds = vec!["login_failed".into(); 33]),
            "kinds",
        ),
        (audit(|r| r.member_id = "bad id".into()), "member_id"),
        (
            audit(|r| {
                r.start_time = Some(prost_types::Timestamp {
                    seconds: -5,
                    nanos: 0,
                })
            }),
            "start_time",
        ),
        (
            audit(|r| {
                r.start_time = Some(at(2_000_000_000_000));
                r.end_time = Some(at(1_000_000_000_000));
            }),
            "end_time",
        ),
    ] {
        assert_eq!(
            violated_field(admin.list_audit_events(bearer(request, &owner)).await),
            field
        );
    }

    let no_policy = SetMfaPolicyRequest { policy: None };
    assert_eq!(
        violated_field(admin.set_mfa_policy(bearer(no_policy, &owner)).await),
        "policy"
    );
    let far = SetMfaPolicyRequest {
        policy: Some(countersign_proto::auth::v1::MfaPolicy {
            required: true,
            grace_time: Some(prost_types::Timestamp {
                seconds: i64::MAX,
                nanos: 0,
            }),
        }),
    };
    assert_eq!(
        violated_field(admin.set_mfa_policy(bearer(far, &owner)).await),
        "policy.grace_time"
    );
    assert!(!adoption(&stack, &owner).await.policy.unwrap().required);

    let accept = |token: &str, password: &str| AcceptInvitationRequest {
        invitation_token: token.to_string(),
        password: password.to_string(),
    };
    assert_eq!(
        violated_field(auth.accept_invitation(accept("", PASSWORD)).await),
        "invitation_token"
    );
    assert_eq!(
        violated_field(auth.accept_invitation(accept(&huge, PASSWORD)).await),
        "invitation_token"
    );
    assert_eq!(
        violated_field(auth.accept_invitation(accept("tok en", PASSWORD)).await),
        "invitation_token"
    );
    assert_status(
        auth.accept_invitation(accept("never-issued-token", PASSWORD))
            .await,
        Code::Unauthenticated,
        Some("invalid or expired link"),
    );
    let report = |token: &str| ReportUnrecognizedActivityRequest {
        report_token: token.to_string(),
    };
    assert_eq!(
        violated_field(auth.report_unrecognized_activity(report(&huge)).await),
        "report_token"
    );
    assert_status(
        auth.report_unrecognized_activity(report("never-issued-token"))
            .await,
        Code::Unauthenticated,
        Some("invalid or expired link"),
    );
}

#[tokio::test]
async fn internal_calls_refuse_malformed_input_and_kinds_mfa_does_not_report() {
    let stack = Stack::start(Backend::Embedded).await;
    let owner = session(&stack, &stack.organization("essential").await).await;
    let owner_id = whoami(&stack, &owner).await.id;
    let mut internal = AuthInternalServiceClient::new(channel(stack.auth));
    let record = |f: fn(&mut RecordAuditEventRequest)| {
        let mut request = RecordAuditEventRequest {
            member_id: owner_id.clone(),
            kind: "mfa_enabled".to_string(),
            outcome: "success".to_string(),
            client_address: "203.0.113.7".to_string(),
            detail: [("factor".to_string(), "totp".to_string())].into(),
        };
        f(&mut request);
        request
    };

    internal.record_audit_event(record(|_| {})).await.unwrap();
    for (request, field) in [
        (record(|r| r.member_id = "x'; --".into()), "member_id"),
        (record(|r| r.kind = "policy_changed".into()), "kind"),
        (record(|r| r.kind = "MFA_ENABLED".into()), "kind"),
        (record(|r| r.outcome = "maybe".into()), "outcome"),
        (
            record(|r| r.client_address = "a\u{1}b".into()),
            "client_address",
        ),
        (
            record(|r| r.client_address = "1".repeat(257)),
            "client_address",
        ),
        (
            record(|r| r.detail = [("Bad Key".into(), "v".into())].into()),
            "detail",
        ),
        (
            record(|r| r.detail = [("k".into(), "v".repeat(257))].into()),
            "detail",
        ),
        (
            record(|r| r.detail = [("k".into(), "line\nbreak".into())].into()),
            "detail",
        ),
    ] {
        assert_eq!(
            violated_field(internal.record_audit_event(request).await),
            field
        );
    }
    let unknown = record(|r| r.member_id = "0190b5d0-0000-7000-8000-000000000000".into());
    assert_status(
        internal.record_audit_event(unknown).await,
        Code::PermissionDenied,
        None,
    );
    let events = crate::org::audit_events(&stack, &owner, 100).await;
    let enabled: Vec<_> = events.iter().filter(|e| e.kind == "mfa_enabled").collect();
    assert_eq!(enabled.len(), 1);
    assert_eq!(enabled[0].client_address, "203.0.113.7");
    assert_eq!(enabled[0].detail["factor"], "totp");

    let link = |id: &str| CreateReportLinkRequest {
        member_id: id.to_string(),
    };
    let url = internal.create_report_link(link(&owner_id)).await.unwrap();
    assert!(url.into_inner().url.contains("?token="));
    assert_eq!(
        violated_field(internal.create_report_link(link("")).await),
        "member_id"
    );
    let nobody = link("0190b5d0-0000-7000-8000-000000000000");
    assert_status(
        internal.create_report_link(nobody).await,
        Code::PermissionDenied,
        None,
    );
}
