//! What an organization's admins and the operator do, through the admin
//! API, in one place, so the organization scenarios read as journeys.

use prost_types::Timestamp;
use tonic::Status;

use countersign_proto::auth::v1::{
    AcceptInvitationRequest, AuditEvent, GetAdoptionReportRequest, GetAdoptionReportResponse,
    InviteMemberRequest, ListAuditEventsRequest, ListAuditEventsResponse, Member, MfaPolicy,
    ReportUnrecognizedActivityRequest, ResetMemberMfaRequest, ResetMemberMfaResponse,
    SetMfaPolicyRequest, SetOrganizationPlanRequest, UnlockMemberRequest, ValidateSessionRequest,
};
use countersign_tests::stack::{OPERATOR_TOKEN, PASSWORD, Stack, bearer};

use crate::gateway::session;

/// The member behind a full session.
pub async fn whoami(stack: &Stack, token: &str) -> Member {
    let request = ValidateSessionRequest {
        token: token.to_string(),
        accept_enrollment_scope: true,
    };
    let reply = stack.auth_client().validate_session(request).await.unwrap();
    reply.into_inner().member.unwrap()
}

pub async fn invite(stack: &Stack, admin: &str, email: &str, role: &str) -> Result<(), Status> {
    let request = InviteMemberRequest {
        email: email.to_string(),
        role: role.to_string(),
    };
    stack
        .admin_client()
        .invite_member(bearer(request, admin))
        .await?;
    Ok(())
}

pub async fn accept(stack: &Stack, token: &str, password: &str) -> Result<Member, Status> {
    let request = AcceptInvitationRequest {
        invitation_token: token.to_string(),
        password: password.to_string(),
    };
    let reply = stack.auth_client().accept_invitation(request).await?;
    Ok(reply.into_inner().member.unwrap())
}

/// The link token of the `n`-th email to `email`, waiting for it.
pub async fn emailed_token(stack: &Stack, email: &str, n: usize) -> String {
    let mail = stack.mail.nth_mail_to(email, n).await;
    mail.link_token()
        .unwrap_or_else(|| panic!("no link in mail {n} to {email}: {}", mail.subject()))
}

/// Invites `email` as `role`, accepts with the test password from the
/// emailed link, and logs in: the member and a session token.
pub async fn join(stack: &Stack, admin: &str, email: &str, role: &str) -> (Member, String) {
    invite(stack, admin, email, role).await.unwrap();
    let token = emailed_token(stack, email, 1).await;
    let member = accept(stack, &token, PASSWORD).await.unwrap();
    let session = session(stack, email).await;
    (member, session)
}

/// A fresh email address at `domain`.
pub fn fresh_email(name: &str) -> String {
    format!("{name}.{}@ledger.example", uuid::Uuid::new_v4().simple())
}

/// A time in milliseconds since the epoch, as a protobuf timestamp.
pub fn at(ms: i64) -> Timestamp {
    countersign_kit::clock::timestamp(ms)
}

pub async fn set_policy(
    stack: &Stack,
    admin: &str,
    required: bool,
    grace_ms: Option<i64>,
) -> Result<(), Status> {
    let request = SetMfaPolicyRequest {
        policy: Some(MfaPolicy {
            required,
            grace_time: grace_ms.map(at),
        }),
    };
    stack
        .admin_client()
        .set_mfa_policy(bearer(request, admin))
        .await?;
    Ok(())
}

pub async fn set_plan(stack: &Stack, organization_id: &str, plan: &str) -> Result<(), Status> {
    let request = SetOrganizationPlanRequest {
        organization_id: organization_id.to_string(),
        plan: plan.to_string(),
    };
    stack
        .admin_client()
        .set_organization_plan(bearer(request, OPERATOR_TOKEN))
        .await?;
    Ok(())
}

pub async fn reset(
    stack: &Stack,
    admin: &str,
    member_id: &str,
) -> Result<ResetMemberMfaResponse, Status> {
    let request = ResetMemberMfaRequest {
        member_id: member_id.to_string(),
    };
    let reply = stack
        .admin_client()
        .reset_member_mfa(bearer(request, admin))
        .await?;
    Ok(reply.into_inner())
}

pub async fn unlock(stack: &Stack, admin: &str, member_id: &str) -> Result<bool, Status> {
    let request = UnlockMemberRequest {
        member_id: member_id.to_string(),
    };
    let reply = stack
        .admin_client()
        .unlock_member(bearer(request, admin))
        .await?;
    Ok(reply.into_inner().was_locked)
}

pub async fn report_activity(stack: &Stack, token: &str) -> Result<(), Status> {
    let request = ReportUnrecognizedActivityRequest {
        report_token: token.to_string(),
    };
    stack
        .auth_client()
        .report_unrecognized_activity(request)
        .await?;
    Ok(())
}

pub async fn adoption(stack: &Stack, admin: &str) -> GetAdoptionReportResponse {
    stack
        .admin_client()
        .get_adoption_report(bearer(GetAdoptionReportRequest {}, admin))
        .await
        .unwrap()
        .into_inner()
}

/// One page of the caller's organization's audit events.
pub async fn audit_page(
    stack: &Stack,
    admin: &str,
    request: ListAuditEventsRequest,
) -> ListAuditEventsResponse {
    stack
        .admin_client()
        .list_audit_events(bearer(request, admin))
        .await
        .unwrap()
        .into_inner()
}

/// Every audit event of the caller's organization, newest first, read in
/// pages of `page_size`, each checked to hold no more.
pub async fn audit_events(stack: &Stack, admin: &str, page_size: u32) -> Vec<AuditEvent> {
    let mut events = Vec::new();
    let mut page_token = String::new();
    loop {
        let request = ListAuditEventsRequest {
            page_size,
            page_token: page_token.clone(),
            ..Default::default()
        };
        let page = audit_page(stack, admin, request).await;
        assert!(page.events.len() <= page_size as usize);
        events.extend(page.events);
        if page.next_page_token.is_empty() {
            return events;
        }
        page_token = page.next_page_token;
    }
}

/// Every audit event kind of the caller's organization, newest first.
pub async fn audit_kinds(stack: &Stack, admin: &str) -> Vec<String> {
    let events = audit_events(stack, admin, 100).await;
    events.into_iter().map(|e| e.kind).collect()
}
