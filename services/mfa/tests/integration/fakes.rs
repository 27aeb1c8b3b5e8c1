//! Fake auth and notification services on loopback, and the mfa service
//! between them.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex},
};

use tonic::{
    Request, Response, Status, metadata::MetadataValue, service::Routes, transport::Channel,
};

use countersign_kit::{
    clock::ManualClock,
    grpc::{bind, channel, serve},
};
use countersign_mfa::{Config, Service};
use countersign_proto::{
    auth::v1::{
        self as auth, Member, Organization, ValidateSessionRequest, ValidateSessionResponse,
        auth_internal_service_server::{AuthInternalService, AuthInternalServiceServer},
        auth_service_server::{AuthService, AuthServiceServer},
    },
    mfa::v1::{
        mfa_internal_service_client::MfaInternalServiceClient, mfa_service_client::MfaServiceClient,
    },
    notification::v1::{
        self as notification, EnqueueEmailRequest, EnqueueEmailResponse,
        notification_service_server::{NotificationService, NotificationServiceServer},
    },
};

/// Session of a member on the essential plan.
pub const TOKEN: &str = "session-essential";
/// Session of a member on the prime plan.
pub const PRIME_TOKEN: &str = "session-prime";
/// Session of the member that may only enroll, as auth gives a member
/// whose organization requires MFA.
pub const ENROLLMENT_TOKEN: &str = "session-enrollment";
/// The member every session belongs to.
pub const MEMBER: &str = "member-0001";
/// The "this wasn't me" link the fake auth makes unless told otherwise.
pub const REPORT_URL: &str = "https://countersign.test/report?token=report-token-secret";

/// What the fake auth service was asked, and the link it answers.
pub struct AuthLog {
    pub validated: Mutex<u32>,
    pub ended: Mutex<Vec<auth::EndSessionsRequest>>,
    pub audits: Mutex<Vec<auth::RecordAuditEventRequest>>,
    /// The CreateReportLink answer; empty means none configured.
    pub report_url: Mutex<String>,
}

impl Default for AuthLog {
    fn default() -> Self {
        Self {
            validated: Mutex::default(),
            ended: Mutex::default(),
            audits: Mutex::default(),
            report_url: Mutex::new(REPORT_URL.into()),
        }
    }
}

impl AuthLog {
    /// The kinds of the audit events recorded so far.
    pub fn audit_kinds(&self) -> Vec<String> {
        let audits = self.audits.lock().unwrap();
        audits.iter().map(|a| a.kind.clone()).collect()
    }
}

#[derive(Clone, Default)]
struct FakeAuth(Arc<AuthLog>);

#[tonic::async_trait]
impl AuthService for FakeAuth {
    async fn login(
        &self,
        _: Request<auth::LoginRequest>,
    ) -> Result<Response<auth::LoginResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn answer_challenge(
        &self,
        _: Request<auth::AnswerChallengeRequest>,
    ) -> Result<Response<auth::AnswerChallengeResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn send_challenge_email_code(
        &self,
        _: Request<auth::SendChallengeEmailCodeRequest>,
    ) -> Result<Response<auth::SendChallengeEmailCodeResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn validate_session(
        &self,
        request: Request<ValidateSessionRequest>,
    ) -> Result<Response<ValidateSessionResponse>, Status> {
        *self.0.validated.lock().unwrap() += 1;
        let request = request.into_inner();
        let (plan, scope) = match request.token.as_str() {
            TOKEN => ("essential", "full"),
            PRIME_TOKEN => ("prime", "full"),
            ENROLLMENT_TOKEN if request.accept_enrollment_scope => ("essential", "enrollment"),
            ENROLLMENT_TOKEN => return Err(Status::permission_denied("enrollment session")),
            _ => return Err(Status::unauthenticated("session expired")),
        };
        Ok(Response::new(ValidateSessionResponse {
            member: Some(Member {
                id: MEMBER.into(),
                organization_id: "org-1".into(),
                email: "ada@example.com".into(),
                role: "member".into(),
                ..Default::default()
            }),
            organization: Some(Organization {
                id: "org-1".into(),
                name: "Acme".into(),
                plan: plan.into(),
            }),
            scope: scope.into(),
            ..Default::default()
        }))
    }
    async fn logout(
        &self,
        _: Request<auth::LogoutRequest>,
    ) -> Result<Response<auth::LogoutResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn accept_invitation(
        &self,
        _: Request<auth::AcceptInvitationRequest>,
    ) -> Result<Response<auth::AcceptInvitationResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
    async fn report_unrecognized_activity(
        &self,
        _: Request<auth::ReportUnrecognizedActivityRequest>,
    ) -> Result<Response<auth::ReportUnrecognizedActivityResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
}

#[tonic::async_trait]
impl AuthInternalService for FakeAuth {
    async fn end_sessions(
        &self,
        request: Request<auth::EndSessionsRequest>,
    ) -> Result<Response<auth::EndSessionsResponse>, Status> {
        self.0.ended.lock().unwrap().push(request.into_inner());
        Ok(Response::new(auth::EndSessionsResponse { ended_count: 2 }))
    }
    async fn record_audit_event(
        &self,
        request: Request<auth::RecordAuditEventRequest>,
    ) -> Result<Response<auth::RecordAuditEventResponse>, Status> {
        self.0.audits.lock().unwrap().push(request.into_inner());
        Ok(Response::new(auth::RecordAuditEventResponse {}))
    }
    async fn create_report_link(
        &self,
        _: Request<auth::CreateReportLinkRequest>,
    ) -> Result<Response<auth::CreateReportLinkResponse>, Status> {
        let url = self.0.report_url.lock().unwrap().clone();
        Ok(Response::new(auth::CreateReportLinkResponse { url }))
    }
}

/// Emails the fake notification service took.
#[derive(Clone, Default)]
pub struct Outbox(Arc<Mutex<Vec<EnqueueEmailRequest>>>);

impl Outbox {
    pub fn templates(&self) -> Vec<notification::EmailTemplate> {
        self.0
            .lock()
            .unwrap()
            .iter()
            .map(|e| e.template())
            .collect()
    }

    pub fn last(&self) -> EnqueueEmailRequest {
        self.0.lock().unwrap().last().cloned().unwrap()
    }
}

#[tonic::async_trait]
impl NotificationService for Outbox {
    async fn enqueue_email(
        &self,
        request: Request<EnqueueEmailRequest>,
    ) -> Result<Response<EnqueueEmailResponse>, Status> {
        self.0.lock().unwrap().push(request.into_inner());
        Ok(Response::new(EnqueueEmailResponse {
            message_id: "msg-1".into(),
        }))
    }
    async fn get_delivery(
        &self,
        _: Request<notification::GetDeliveryRequest>,
    ) -> Result<Response<notification::GetDeliveryResponse>, Status> {
        Err(Status::unimplemented("fake"))
    }
}

async fn spawn(routes: Routes) -> String {
    let (listener, address) = bind("127.0.0.1:0").await.unwrap();
    tokio::spawn(serve(listener, routes, &[], std::future::pending()));
    format!("http://{address}")
}

/// The mfa service between fakes, and clients of it.
pub struct Stack {
    pub user: MfaServiceClient<Channel>,
    pub internal: MfaInternalServiceClient<Channel>,
    pub clock: Arc<ManualClock>,
    pub auth: Arc<AuthLog>,
    pub outbox: Outbox,
}

/// A stack on the embedded storage; `auth_up` false points mfa at a port
/// where nothing listens.
pub async fn stack(auth_up: bool) -> Stack {
    stack_with(auth_up, Config::default()).await
}

/// A stack on `config`, its service addresses replaced by the fakes'.
pub async fn stack_with(auth_up: bool, config: Config) -> Stack {
    let auth = FakeAuth::default();
    let auth_log = auth.0.clone();
    let outbox = Outbox::default();
    let auth_routes = Routes::new(AuthServiceServer::new(auth.clone()))
        .add_service(AuthInternalServiceServer::new(auth));
    let auth_url = if auth_up {
        spawn(auth_routes).await
    } else {
        let (listener, address) = bind("127.0.0.1:0").await.unwrap();
        drop(listener);
        format!("http://{address}")
    };
    let notification_url = spawn(Routes::new(NotificationServiceServer::new(outbox.clone()))).await;
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let config = Config {
        auth_url,
        notification_url,
        ..config
    };
    let service = Service::build(config, clock.clone()).await.unwrap();
    let (listener, address) = bind("127.0.0.1:0").await.unwrap();
    tokio::spawn(service.serve(listener, std::future::pending()));
    let mfa = channel(&format!("http://{address}")).unwrap();
    Stack {
        user: MfaServiceClient::new(mfa.clone()),
        internal: MfaInternalServiceClient::new(mfa),
        clock,
        auth: auth_log,
        outbox,
    }
}

/// A request carrying `token` as bearer metadata.
pub fn with_token<T>(message: T, token: &str) -> Request<T> {
    let mut request = Request::new(message);
    let value: MetadataValue<_> = format!("Bearer {token}").parse().unwrap();
    request.metadata_mut().insert("authorization", value);
    request
}

/// The end user's address, as the gateway forwards it.
pub const USER_ADDRESS: &str = "198.51.100.23";

/// A request with `token` as bearer, forwarded for [`USER_ADDRESS`].
pub fn from_user<T>(message: T, token: &str) -> Request<T> {
    let mut request = with_token(message, token);
    let forwarded = MetadataValue::try_from(format!("{USER_ADDRESS}, 10.0.0.1")).unwrap();
    request.metadata_mut().insert("x-forwarded-for", forwarded);
    request
}

/// Emailed-code parameters of the last email.
pub fn params(outbox: &Outbox) -> HashMap<String, String> {
    outbox.last().params
}
