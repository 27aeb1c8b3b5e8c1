//! Test doubles of the other services and a domain wired to them, to the
//! in-memory code store and to an in-memory SQLite factor store.

use std::{
    collections::HashMap,
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    time::Duration,
};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use totp_rs::Secret;

use countersign_kit::{
    clock::{Clock, ManualClock},
    db::{DbConfig, connect},
    seal::KeyRing,
};
use countersign_plans::Plans;

use super::{Deps, Enrollment, Mfa, SendCodeError, Settings, VerifyError};
use crate::{
    code::{Code, CodeKey},
    model::{Caller, EmailAddress, MemberId, Method, Requester, SessionScope, SessionToken},
    ports::{AuditRecord, Mailer, OutgoingEmail, RemoteError, Sessions, Template},
    recovery::{RecoveryCode, RecoveryCodes},
    store::{FactorStore, LockoutPolicy, memory::MemoryCodeStore, sql},
    totp::{Authenticator, STEP_SECONDS},
};

/// The token of the test member, on the essential plan.
pub const TOKEN: &str = "token-essential";
/// The token of a member on the prime plan.
pub const PRIME_TOKEN: &str = "token-prime";
/// The token of the test member's session that may only enroll.
pub const ENROLLMENT_TOKEN: &str = "token-enrollment";
/// The test member.
pub const MEMBER: &str = "member-1";
/// The address every test request comes from.
pub const ADDRESS: &str = "203.0.113.7";
/// The report link the fake auth makes unless told otherwise.
pub const REPORT_URL: &str = "https://countersign.test/report?token=report-secret";

/// A fake auth service: it knows three sessions of the test member, and
/// keeps what it was asked to end and record.
pub struct FakeSessions {
    pub ended: Mutex<Vec<(String, String)>>,
    pub recorded: Mutex<Vec<AuditRecord>>,
    /// The link `report_link` answers.
    pub report_url: Mutex<Option<String>>,
    /// Whether auth is unreachable for audit events and report links.
    pub internal_down: AtomicBool,
}

impl Default for FakeSessions {
    fn default() -> Self {
        Self {
            ended: Mutex::default(),
            recorded: Mutex::default(),
            report_url: Mutex::new(Some(REPORT_URL.to_string())),
            internal_down: AtomicBool::new(false),
        }
    }
}

impl FakeSessions {
    /// The audit events recorded so far.
    pub fn audits(&self) -> Vec<AuditRecord> {
        self.recorded.lock().unwrap().clone()
    }

    fn internal_reachable(&self) -> Result<(), RemoteError> {
        if self.internal_down.load(Ordering::SeqCst) {
            return Err(RemoteError::Unavailable("auth"));
        }
        Ok(())
    }
}

#[async_trait]
impl Sessions for FakeSessions {
    async fn validate(&self, token: &SessionToken) -> Result<Caller, RemoteError> {
        let (plan, scope) = match token.expose() {
            TOKEN => ("essential", SessionScope::Full),
            PRIME_TOKEN => ("prime", SessionScope::Full),
            ENROLLMENT_TOKEN => ("essential", SessionScope::Enrollment),
            _ => return Err(RemoteError::Unauthenticated("auth")),
        };
        Ok(Caller {
            member_id: MemberId::parse(MEMBER).unwrap(),
            email: EmailAddress::parse("ada@example.com").unwrap(),
            plan: plan.to_string(),
            scope,
        })
    }

    async fn end_others(&self, member: &MemberId, keep: &SessionToken) -> Result<u32, RemoteError> {
        let ended = (member.as_str().to_string(), keep.expose().to_string());
        self.ended.lock().unwrap().push(ended);
        Ok(1)
    }

    async fn record_audit(&self, event: AuditRecord) -> Result<(), RemoteError> {
        self.internal_reachable()?;
        self.recorded.lock().unwrap().push(event);
        Ok(())
    }

    async fn report_link(&self, _: &MemberId) -> Result<Option<SecretString>, RemoteError> {
        self.internal_reachable()?;
        let url = self.report_url.lock().unwrap().clone();
        Ok(url.map(SecretString::from))
    }
}

/// An enqueued email: template, recipient, parameters.
pub type Sent = (Template, String, HashMap<String, String>);

#[derive(Default)]
pub struct FakeMailer {
    pub sent: Mutex<Vec<Sent>>,
    pub down: AtomicBool,
}

impl FakeMailer {
    pub fn templates(&self) -> Vec<Template> {
        self.sent.lock().unwrap().iter().map(|s| s.0).collect()
    }

    /// The parameters of each email of `template` enqueued so far.
    pub fn params_of(&self, template: Template) -> Vec<HashMap<String, String>> {
        let sent = self.sent.lock().unwrap();
        let of = sent.iter().filter(|s| s.0 == template);
        of.map(|s| s.2.clone()).collect()
    }
}

#[async_trait]
impl Mailer for FakeMailer {
    async fn enqueue(&self, email: OutgoingEmail) -> Result<(), RemoteError> {
        if self.down.load(Ordering::SeqCst) {
            return Err(RemoteError::Unavailable("notification"));
        }
        let params = email
            .exposed_params()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        let entry = (email.template, email.recipient.as_str().to_string(), params);
        self.sent.lock().unwrap().push(entry);
        Ok(())
    }
}

pub struct Harness {
    pub mfa: Mfa,
    pub clock: Arc<ManualClock>,
    pub sessions: Arc<FakeSessions>,
    pub mailer: Arc<FakeMailer>,
}

pub async fn harness() -> Harness {
    harness_on(factor_store().await, KeyRing::ephemeral())
}

/// A fresh in-memory SQLite factor store.
pub async fn factor_store() -> Arc<dyn FactorStore> {
    let pool = connect(&DbConfig::with_schema("mfa"), &sql::MIGRATIONS)
        .await
        .unwrap();
    Arc::new(sql::SqlFactorStore::new(pool))
}

/// The settings of a harness: the configuration defaults.
pub fn settings() -> Settings {
    Settings {
        issuer: "Countersign".into(),
        window_steps: 1,
        enrollment_ttl: Duration::from_secs(600),
        email_code_ttl: Duration::from_secs(600),
        email_code_max_guesses: 5,
        email_code_cooldown: Duration::from_secs(60),
        email_code_hourly_quota: 5,
        lockout: LockoutPolicy {
            threshold: 5,
            window: Duration::from_secs(900),
            duration: Duration::from_secs(900),
        },
    }
}

/// A harness whose settings `adjust` changed.
pub async fn harness_with(adjust: impl FnOnce(&mut Settings)) -> Harness {
    let mut settings = settings();
    adjust(&mut settings);
    harness_built(factor_store().await, KeyRing::ephemeral(), settings)
}

/// A harness on `factors` sealing with `keys`, so that several harnesses
/// can see one store through different key rings.
pub fn harness_on(factors: Arc<dyn FactorStore>, keys: KeyRing) -> Harness {
    harness_built(factors, keys, settings())
}

fn harness_built(factors: Arc<dyn FactorStore>, keys: KeyRing, settings: Settings) -> Harness {
    let clock = Arc::new(ManualClock::new(1_700_000_000_000));
    let sessions = Arc::new(FakeSessions::default());
    let mailer = Arc::new(FakeMailer::default());
    let short_lived = Arc::new(MemoryCodeStore::new());
    let deps = Deps {
        factors,
        codes: short_lived.clone(),
        lockouts: short_lived,
        keys,
        code_key: CodeKey::random(),
        sessions: sessions.clone(),
        mailer: mailer.clone(),
        plans: Plans::default(),
        clock: clock.clone(),
    };
    let mfa = Mfa::new(deps, settings);
    Harness {
        mfa,
        clock,
        sessions,
        mailer,
    }
}

/// A requester presenting `text` as its session token, from [`ADDRESS`].
pub fn token(text: &str) -> Requester {
    Requester {
        token: SessionToken::parse(text).unwrap(),
        address: Some(ADDRESS.to_string()),
    }
}

pub fn member() -> MemberId {
    MemberId::parse(MEMBER).unwrap()
}

impl Harness {
    /// The code an app holding the enrollment's secret shows `offset`
    /// steps from now.
    pub fn code(&self, enrollment: &Enrollment, offset: i64) -> Code {
        let base32 = enrollment.secret.expose_secret().to_string();
        let secret = Secret::Encoded(base32).to_bytes().unwrap();
        let totp = Authenticator::from_secret(SecretBox::new(Box::new(secret)), "i", "a").unwrap();
        let step = (self.clock.now_secs() / STEP_SECONDS).saturating_add_signed(offset);
        Code::parse(totp.code_at(step).expose_secret()).unwrap()
    }

    /// Begins and confirms an enrollment; returns it.
    pub async fn enable(&self) -> Enrollment {
        self.enable_with_recovery().await.0
    }

    /// Begins and confirms an enrollment; returns it and the recovery codes.
    pub async fn enable_with_recovery(&self) -> (Enrollment, RecoveryCodes) {
        let enrollment = self.mfa.begin_enrollment(&token(TOKEN)).await.unwrap();
        let code = self.code(&enrollment, 0);
        let recovery = self.mfa.confirm_enrollment(&token(TOKEN), &code).await;
        (enrollment, recovery.unwrap())
    }

    /// Moves the clock to the next TOTP step.
    pub fn next_step(&self) {
        self.clock.advance(Duration::from_secs(STEP_SECONDS));
    }
}

/// The test member's email address.
pub fn email() -> EmailAddress {
    EmailAddress::parse("ada@example.com").unwrap()
}

/// Fails unless the audit record shows none of `secrets`, in any field.
pub fn assert_hides(record: &AuditRecord, secrets: &[String]) {
    let shown = format!("{record:?}");
    for secret in secrets {
        assert!(!shown.contains(secret.as_str()), "{shown} shows a secret");
    }
}

/// The codes as their member would type them back.
pub fn typed(codes: &RecoveryCodes) -> Vec<RecoveryCode> {
    let shown = codes.reveal();
    let parsed = shown.iter().map(|c| RecoveryCode::parse(c.expose_secret()));
    parsed.map(Result::unwrap).collect()
}

/// A harness whose member has MFA on, one step after enrolling: the
/// enrollment and the recovery codes as typed.
pub async fn recovery_enabled() -> (Harness, Enrollment, Vec<RecoveryCode>) {
    let h = harness().await;
    let (enrollment, codes) = h.enable_with_recovery().await;
    h.next_step();
    (h, enrollment, typed(&codes))
}

impl Harness {
    /// Answers a challenge of the test member by `method`, from no known
    /// address.
    pub async fn verify(&self, method: Method, code: &Code) -> Result<(), VerifyError> {
        let (member, email) = (member(), email());
        self.mfa.verify(&member, method, code, &email, None).await
    }

    /// Answers a challenge of the test member with an authenticator code.
    pub async fn verify_totp(&self, code: &Code) -> Result<(), VerifyError> {
        self.verify(Method::Totp, code).await
    }

    /// Answers a challenge of the test member with an emailed code.
    pub async fn verify_emailed(&self, code: &Code) -> Result<(), VerifyError> {
        self.verify(Method::EmailCode, code).await
    }

    /// Answers a challenge of the test member with a recovery code.
    pub async fn use_code(&self, code: &RecoveryCode) -> Result<(), VerifyError> {
        let (member, email) = (member(), email());
        self.mfa
            .verify_recovery_code(&member, code, &email, None)
            .await
    }

    /// Asks for an emailed code for the test member; returns its expiry.
    pub async fn send_code(&self) -> Result<i64, SendCodeError> {
        self.mfa.send_email_code(&member(), email()).await
    }

    /// Sends the test member an emailed code; returns it as mailed.
    pub async fn mail_code(&self) -> Code {
        self.send_code().await.unwrap();
        let sent = self.mailer.sent.lock().unwrap();
        Code::parse(&sent.last().unwrap().2["code"]).unwrap()
    }

    /// The recovery codes the test member has left.
    pub async fn codes_left(&self) -> u32 {
        let status = self.mfa.status(&token(TOKEN)).await.unwrap();
        status.recovery_codes_remaining
    }
}
