//! Throttling at auth's door: wrong passwords limited per account and per
//! client address, answered RESOURCE_EXHAUSTED with the time left; a
//! bounded password-hashing pool that refuses a flood of logins at once
//! instead of queueing it, while other calls are still served; the failure
//! counters' storage on every backend; the client address in the security
//! log.

use std::{net::SocketAddr, time::Duration};

use secrecy::SecretString;
use tokio::{sync::oneshot, task::JoinSet};
use tonic::{Code, Request, Status, metadata::MetadataValue, transport::Channel};

use countersign_auth::store::{SqlStore, conformance, sql::MIGRATIONS};
use countersign_kit::db::{self, DbConfig};
use countersign_proto::auth::v1::{
    CreateOrganizationRequest, LoginRequest, ValidateSessionRequest,
    admin_service_client::AdminServiceClient, auth_service_client::AuthServiceClient,
    login_response,
};
use countersign_tests::{
    logs,
    stack::{Backend, OPERATOR_TOKEN, PASSWORD, Stack, Storage, bearer, channel},
};

use crate::gateway::{Login, assert_status, exhausted, login};

const INVALID_CREDENTIALS: &str = "invalid email or password";
/// Wrong passwords per email before auth's default settings refuse it.
const ACCOUNT_LIMIT: usize = 10;
/// How long auth's default settings refuse an email.
const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// Concurrent logins of a flood.
const FLOOD: usize = 32;

/// An address of the test's own, so its log lines are told apart.
fn address_of(storage: &Storage) -> String {
    let hex = &storage.tag[1..];
    format!("2001:db8:{}:{}:{}", &hex[..4], &hex[4..8], &hex[8..12])
}

/// An auth service with settings of the test's own, beside a stack whose
/// mfa service it calls; stops when dropped.
struct OwnAuth {
    addr: SocketAddr,
    _stop: oneshot::Sender<()>,
}

impl OwnAuth {
    async fn start(stack: &Stack, tune: impl FnOnce(&mut countersign_auth::Config)) -> Self {
        let (listener, addr) = countersign_kit::grpc::bind("127.0.0.1:0").await.unwrap();
        let storage = &stack.storage;
        let mut config = countersign_auth::Config {
            listen: addr.to_string(),
            db: DbConfig::with_schema(&format!("{}_ownauth", storage.tag))
                .with_url(&storage.database_url),
            mfa_url: format!("http://{}", stack.mfa),
            operator_token: Some(SecretString::from(OPERATOR_TOKEN)),
            ..Default::default()
        };
        tune(&mut config);
        let service = countersign_auth::Service::build(config, stack.clock.clone())
            .await
            .unwrap();
        let (stop, stopped) = oneshot::channel::<()>();
        tokio::spawn(service.serve(listener, async {
            let _ = stopped.await;
        }));
        Self { addr, _stop: stop }
    }

    fn client(&self) -> AuthServiceClient<Channel> {
        AuthServiceClient::new(channel(self.addr))
    }

    /// Creates an organization; its owner's email.
    async fn organization(&self) -> String {
        let owner = format!("owner.{}@throttle.example", uuid::Uuid::new_v4().simple());
        let request = CreateOrganizationRequest {
            name: "Ledger & Co".to_string(),
            plan: "essential".to_string(),
            owner_email: owner.clone(),
            owner_password: PASSWORD.to_string(),
        };
        AdminServiceClient::new(channel(self.addr))
            .create_organization(bearer(request, OPERATOR_TOKEN))
            .await
            .unwrap();
        owner
    }

    /// Logs in as the gateway does, forwarding the end user's address.
    async fn login(&self, email: &str, password: &str, from: &str) -> Result<Login, Status> {
        own_login(self.client(), email, password, from).await
    }

    async fn validate(&self, token: &str) -> Result<(), Status> {
        let request = ValidateSessionRequest {
            token: token.to_string(),
        };
        self.client().validate_session(request).await?;
        Ok(())
    }
}

async fn own_login(
    mut client: AuthServiceClient<Channel>,
    email: &str,
    password: &str,
    from: &str,
) -> Result<Login, Status> {
    let mut request = Request::new(LoginRequest {
        email: email.to_string(),
        password: password.to_string(),
    });
    let forwarded = MetadataValue::try_from(format!("{from}, 10.0.0.1")).unwrap();
    request.metadata_mut().insert("x-forwarded-for", forwarded);
    let reply = client.login(request).await?.into_inner();
    match reply.result.unwrap() {
        login_response::Result::Session(s) => Ok(Login::Session(s)),
        login_response::Result::Challenge(c) => Ok(Login::Challenge(c)),
    }
}

async fn account_limit(backend: Backend) {
    let stack = Stack::start(backend).await;
    let owner = stack.organization("essential").await;
    let unknown = format!("nobody.{}@throttle.example", stack.storage.tag);

    for _ in 0..ACCOUNT_LIMIT {
        let wrong = login(&stack, &owner, "not the password").await;
        assert_status(wrong, Code::Unauthenticated, Some(INVALID_CREDENTIALS));
        let guessed = login(&stack, &unknown, "not the password").await;
        assert_status(guessed, Code::Unauthenticated, Some(INVALID_CREDENTIALS));
    }
    let member = login(&stack, &owner, PASSWORD).await;
    let stranger = login(&stack, &unknown.to_uppercase(), PASSWORD).await;

    assert_eq!(exhausted(member), LOCKOUT);
    assert_eq!(exhausted(stranger), LOCKOUT);
    stack.clock.advance(LOCKOUT / 3);
    let later = login(&stack, &owner, PASSWORD).await;
    assert_eq!(exhausted(later), LOCKOUT - LOCKOUT / 3);
    stack.clock.advance(LOCKOUT - LOCKOUT / 3);
    assert!(matches!(
        login(&stack, &owner, PASSWORD).await,
        Ok(Login::Session(_))
    ));
}

#[tokio::test]
async fn login_refused_with_time_left_after_wrong_passwords_on_embedded() {
    account_limit(Backend::Embedded).await;
}

#[tokio::test]
async fn login_refused_with_time_left_after_wrong_passwords_on_real() {
    account_limit(Backend::Real).await;
}

async fn address_limit(backend: Backend) {
    let stack = Stack::start(backend).await;
    let auth = OwnAuth::start(&stack, |c| c.address_failure_limit = 3).await;
    let owner = auth.organization().await;
    let home = address_of(&stack.storage);

    for n in 0..3 {
        let guess = format!("guess{n}@throttle.example");
        let wrong = auth.login(&guess, PASSWORD, &home).await;
        assert_status(wrong, Code::Unauthenticated, Some(INVALID_CREDENTIALS));
    }
    let from_home = auth.login(&owner, PASSWORD, &home).await;
    let from_elsewhere = auth.login(&owner, PASSWORD, "198.51.100.9").await;

    assert_eq!(exhausted(from_home), LOCKOUT);
    assert!(matches!(from_elsewhere, Ok(Login::Session(_))));
}

#[tokio::test]
async fn login_refused_from_address_after_failures_across_emails_on_embedded() {
    address_limit(Backend::Embedded).await;
}

#[tokio::test]
async fn login_refused_from_address_after_failures_across_emails_on_real() {
    address_limit(Backend::Real).await;
}

async fn flood(backend: Backend) {
    let stack = Stack::start(backend).await;
    let auth = OwnAuth::start(&stack, |c| {
        c.hash_workers = 1;
        c.hash_queue = 1;
    })
    .await;
    let owner = auth.organization().await;
    let Login::Session(existing) = auth.login(&owner, PASSWORD, "198.51.100.9").await.unwrap()
    else {
        panic!("expected a session");
    };

    let client = auth.client();
    let mut logins = JoinSet::new();
    for _ in 0..FLOOD {
        let (client, owner) = (client.clone(), owner.clone());
        logins.spawn(async move { own_login(client, &owner, PASSWORD, "198.51.100.9").await });
    }
    let mut outcomes = Vec::new();
    while let Some(outcome) = logins.join_next().await {
        let refused = outcome.as_ref().unwrap().is_err();
        outcomes.push(outcome.unwrap());
        if refused {
            break;
        }
    }
    // The pool is full: another call that hashes nothing is still served.
    let validated = auth.validate(&existing.token).await;
    outcomes.extend(logins.join_all().await);

    assert!(validated.is_ok(), "{validated:?}");
    let mut refused = 0;
    for outcome in outcomes {
        match outcome {
            Ok(login) => assert!(matches!(login, Login::Session(_)), "{login:?}"),
            Err(status) => {
                assert!(exhausted::<()>(Err(status)) > Duration::ZERO);
                refused += 1;
            }
        }
    }
    assert!(refused > 0, "no login of the flood was refused");
    assert!(refused < FLOOD, "every login of the flood was refused");
}

#[tokio::test]
async fn login_flood_refused_with_retry_while_sessions_validate_on_embedded() {
    flood(Backend::Embedded).await;
}

#[tokio::test]
async fn login_flood_refused_with_retry_while_sessions_validate_on_real() {
    flood(Backend::Real).await;
}

#[tokio::test]
async fn login_outcomes_logged_with_client_address_and_no_password() {
    let stack = Stack::start(Backend::Embedded).await;
    let auth = OwnAuth::start(&stack, |_| {}).await;
    let owner = auth.organization().await;
    let from = address_of(&stack.storage);
    let wrong = format!("wrong-{}", stack.storage.tag);

    let denied = auth.login(&owner, &wrong, &from).await;
    let accepted = auth.login(&owner, PASSWORD, &from).await;

    assert_status(denied, Code::Unauthenticated, Some(INVALID_CREDENTIALS));
    assert!(accepted.is_ok());
    let text = logs::capture().text();
    let ours: Vec<&str> = text.lines().filter(|l| l.contains(&from)).collect();
    let security = |message: &str| {
        ours.iter()
            .any(|l| l.contains("countersign::security") && l.contains(message))
    };
    assert!(security("password login denied"), "{ours:#?}");
    assert!(security("password accepted"), "{ours:#?}");
    assert!(!text.contains(&wrong));
}

async fn failure_store(backend: Backend) {
    let storage = Storage::new(backend);
    let config =
        DbConfig::with_schema(&format!("{}_auth", storage.tag)).with_url(&storage.database_url);
    let store = SqlStore::new(db::connect(&config, &MIGRATIONS).await.unwrap());

    conformance::login_failures_lock_and_clear(&store, &format!("{}a", storage.tag)).await;
    conformance::login_failures_count_atomically(&store, &format!("{}b", storage.tag)).await;
}

#[tokio::test]
async fn login_failure_store_conforms_on_sqlite() {
    failure_store(Backend::Embedded).await;
}

#[tokio::test]
async fn login_failure_store_conforms_on_postgres() {
    failure_store(Backend::Real).await;
}
