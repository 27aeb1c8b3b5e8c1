//! The other services over gRPC, behind the domain's [`Sessions`] and
//! [`Mailer`] traits. Channels connect lazily, so services may start in any
//! order, and every call has the deadline set by `kit::grpc::channel`.

use async_trait::async_trait;
use secrecy::SecretString;
use tonic::{Code, Status, transport::Channel};

use countersign_proto::{
    auth::v1::{
        CreateReportLinkRequest, EndSessionsRequest, RecordAuditEventRequest,
        ValidateSessionRequest, ValidateSessionResponse,
        auth_internal_service_client::AuthInternalServiceClient,
        auth_service_client::AuthServiceClient,
    },
    notification::v1::{
        EmailTemplate, EnqueueEmailRequest, notification_service_client::NotificationServiceClient,
    },
};

use crate::{
    model::{Caller, EmailAddress, MemberId, SessionScope, SessionToken},
    ports::{AuditRecord, Mailer, OutgoingEmail, RemoteError, Sessions, Template},
};

const AUTH: &str = "auth";
const NOTIFICATION: &str = "notification";

/// The auth service over gRPC.
#[derive(Debug, Clone)]
pub struct GrpcSessions {
    sessions: AuthServiceClient<Channel>,
    internal: AuthInternalServiceClient<Channel>,
}

impl GrpcSessions {
    /// Clients of the auth service on `channel`.
    pub fn new(channel: Channel) -> Self {
        Self {
            sessions: AuthServiceClient::new(channel.clone()),
            internal: AuthInternalServiceClient::new(channel),
        }
    }
}

fn remote_error(service: &'static str, status: &Status) -> RemoteError {
    if countersign_kit::status::is_unavailable(status) {
        return RemoteError::Unavailable(service);
    }
    match status.code() {
        Code::Unauthenticated => RemoteError::Unauthenticated(service),
        code => RemoteError::Failed {
            service,
            code: format!("{code:?}"),
            message: status.message().to_string(),
        },
    }
}

fn bad_reply(why: &str) -> RemoteError {
    RemoteError::Failed {
        service: AUTH,
        code: "bad reply".to_string(),
        message: why.to_string(),
    }
}

/// The scope of a session as auth names it; an auth that predates scopes
/// sends none, and its sessions are full.
fn scope(name: &str) -> Result<SessionScope, RemoteError> {
    match name {
        "full" | "" => Ok(SessionScope::Full),
        "enrollment" => Ok(SessionScope::Enrollment),
        _ => Err(bad_reply("unknown session scope")),
    }
}

fn caller(reply: ValidateSessionResponse) -> Result<Caller, RemoteError> {
    let member = reply.member.ok_or_else(|| bad_reply("no member"))?;
    let organization = reply
        .organization
        .ok_or_else(|| bad_reply("no organization"))?;
    Ok(Caller {
        member_id: MemberId::parse(&member.id).map_err(|_| bad_reply("bad member id"))?,
        email: EmailAddress::parse(&member.email).map_err(|_| bad_reply("bad email"))?,
        plan: organization.plan,
        scope: scope(&reply.scope)?,
    })
}

fn audit_request(event: AuditRecord) -> RecordAuditEventRequest {
    let detail = event.detail.into_iter();
    RecordAuditEventRequest {
        member_id: event.member.as_str().to_string(),
        kind: event.kind.name().to_string(),
        outcome: event.outcome.name().to_string(),
        client_address: event.client_address.unwrap_or_default(),
        detail: detail
            .map(|(name, value)| (name.to_string(), value))
            .collect(),
    }
}

#[async_trait]
impl Sessions for GrpcSessions {
    async fn validate(&self, token: &SessionToken) -> Result<Caller, RemoteError> {
        let request = ValidateSessionRequest {
            token: token.expose().to_string(),
            accept_enrollment_scope: true,
        };
        let reply = self
            .sessions
            .clone()
            .validate_session(request)
            .await
            .map_err(|s| remote_error(AUTH, &s))?;
        caller(reply.into_inner())
    }

    async fn end_others(&self, member: &MemberId, keep: &SessionToken) -> Result<u32, RemoteError> {
        // The kept session has just confirmed an enrollment with a code.
        let request = EndSessionsRequest {
            member_id: member.as_str().to_string(),
            keep_session_token: keep.expose().to_string(),
            kept_session_proof: "otp".to_string(),
        };
        let reply = self
            .internal
            .clone()
            .end_sessions(request)
            .await
            .map_err(|s| remote_error(AUTH, &s))?;
        Ok(reply.into_inner().ended_count)
    }

    async fn record_audit(&self, event: AuditRecord) -> Result<(), RemoteError> {
        self.internal
            .clone()
            .record_audit_event(audit_request(event))
            .await
            .map_err(|s| remote_error(AUTH, &s))?;
        Ok(())
    }

    async fn report_link(&self, member: &MemberId) -> Result<Option<SecretString>, RemoteError> {
        let request = CreateReportLinkRequest {
            member_id: member.as_str().to_string(),
        };
        let reply = self
            .internal
            .clone()
            .create_report_link(request)
            .await
            .map_err(|s| remote_error(AUTH, &s))?;
        let url = reply.into_inner().url;
        Ok((!url.is_empty()).then(|| SecretString::from(url)))
    }
}

/// The notification service over gRPC.
#[derive(Debug, Clone)]
pub struct GrpcMailer {
    client: NotificationServiceClient<Channel>,
}

impl GrpcMailer {
    /// A client of the notification service on `channel`.
    pub fn new(channel: Channel) -> Self {
        Self {
            client: NotificationServiceClient::new(channel),
        }
    }
}

fn template(template: Template) -> EmailTemplate {
    match template {
        Template::EmailCode => EmailTemplate::EmailCode,
        Template::MfaEnabled => EmailTemplate::MfaEnabled,
        Template::MfaDisabled => EmailTemplate::MfaDisabled,
        Template::MfaLocked => EmailTemplate::MfaLocked,
        Template::RecoveryCodeUsed => EmailTemplate::RecoveryCodeUsed,
    }
}

#[async_trait]
impl Mailer for GrpcMailer {
    async fn enqueue(&self, email: OutgoingEmail) -> Result<(), RemoteError> {
        let params = email
            .exposed_params()
            .map(|(name, value)| (name.to_string(), value.to_string()))
            .collect();
        let request = EnqueueEmailRequest {
            template: template(email.template).into(),
            recipient: email.recipient.as_str().to_string(),
            params,
            idempotency_key: email.idempotency_key.clone(),
        };
        self.client
            .clone()
            .enqueue_email(request)
            .await
            .map_err(|s| remote_error(NOTIFICATION, &s))?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use countersign_proto::auth::v1::{Member, Organization};

    use super::*;
    use crate::ports::{AuditKind, AuditOutcome};

    #[test]
    fn remote_error_sorts_codes() {
        let of = |code| remote_error(AUTH, &Status::new(code, "x"));

        assert!(matches!(
            of(Code::Unauthenticated),
            RemoteError::Unauthenticated(_)
        ));
        assert!(matches!(
            of(Code::DeadlineExceeded),
            RemoteError::Unavailable(_)
        ));
        assert!(matches!(of(Code::Internal), RemoteError::Failed { .. }));
    }

    #[test]
    fn template_sends_lock_notice_as_its_notification_template() {
        assert_eq!(template(Template::MfaLocked), EmailTemplate::MfaLocked);
    }

    #[test]
    fn caller_refuses_reply_without_member() {
        let reply = ValidateSessionResponse {
            organization: Some(Organization::default()),
            ..Default::default()
        };

        assert!(matches!(caller(reply), Err(RemoteError::Failed { .. })));
    }

    #[test]
    fn caller_reads_member_and_plan() {
        let reply = ValidateSessionResponse {
            member: Some(Member {
                id: "m1".into(),
                email: "ada@example.com".into(),
                ..Default::default()
            }),
            organization: Some(Organization {
                plan: "essential".into(),
                ..Default::default()
            }),
            ..Default::default()
        };

        let caller = caller(reply).unwrap();

        assert_eq!(
            (caller.member_id.as_str(), caller.plan.as_str()),
            ("m1", "essential")
        );
        assert_eq!(caller.scope, SessionScope::Full);
    }

    #[test]
    fn scope_reads_enrollment_and_refuses_unknown_names() {
        assert_eq!(scope("enrollment").unwrap(), SessionScope::Enrollment);
        assert_eq!(scope("full").unwrap(), SessionScope::Full);
        assert!(matches!(scope("admin"), Err(RemoteError::Failed { .. })));
    }

    #[test]
    fn audit_request_carries_names_address_and_detail() {
        let member = MemberId::parse("m1").unwrap();
        let event = AuditRecord::new(AuditKind::MfaLocked, &member)
            .outcome(AuditOutcome::Failure)
            .with("locked_minutes", "15");

        let request = audit_request(event);

        assert_eq!(
            (request.kind.as_str(), request.outcome.as_str()),
            ("mfa_locked", "failure")
        );
        assert_eq!(request.client_address, "");
        assert_eq!(request.detail["locked_minutes"], "15");
    }
}
