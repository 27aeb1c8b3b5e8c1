//! Test support: the domain on in-memory SQLite with a manual clock, one
//! organization and its owner, and second factors the test scripts.

use std::{
    sync::{Arc, Mutex},
    time::Duration,
};

use async_trait::async_trait;
use secrecy::{ExposeSecret, SecretString};

use countersign_kit::{
    clock::ManualClock,
    db::{self, DbConfig},
};
use countersign_plans::{Plans, PlansConfig};

use super::{
    Auth, Email, FailureRule, HashPoolSize, Limits, Links, Method, NewOrganizationRequest, Parts,
    Password, PasswordHasher,
};
use crate::{
    factors::{FactorError, SecondFactors},
    notices::{Notice, NoticeError, Notices},
    store::{SqlStore, sql::MIGRATIONS},
};

/// Password of the owner.
pub const PASSWORD: &str = "correct horse battery";
/// Email of the owner.
pub const OWNER: &str = "owner@ledger.example";
/// Wrong passwords per email before its logins are refused.
pub const ACCOUNT_LIMIT: u32 = 3;
/// Wrong passwords per address before its logins are refused.
pub const ADDRESS_LIMIT: u32 = 5;
/// Window and lockout of both limits.
pub const LOCKOUT: Duration = Duration::from_secs(15 * 60);

/// What the scripted mfa service answers to a code.
pub type Verdict = fn(Method, &str) -> Result<(), FactorError>;

/// Second factors as the test scripts them; remembers the email, method
/// and code of each check.
pub struct FakeFactors {
    pub methods: Vec<Method>,
    pub verdict: Verdict,
    pub checked: Mutex<Vec<(String, Method, String)>>,
}

impl FakeFactors {
    /// A member without MFA.
    pub fn none() -> Self {
        Self::offering(Vec::new(), |_, _| Ok(()))
    }

    /// A member with MFA, whose codes get `verdict`.
    pub fn offering(methods: Vec<Method>, verdict: Verdict) -> Self {
        Self {
            methods,
            verdict,
            checked: Mutex::new(Vec::new()),
        }
    }
}

#[async_trait]
impl SecondFactors for FakeFactors {
    async fn methods(&self, _member_id: &str) -> Result<Vec<Method>, FactorError> {
        Ok(self.methods.clone())
    }

    async fn verify(
        &self,
        _member_id: &str,
        email: &str,
        method: Method,
        code: &SecretString,
        _client_address: Option<&str>,
    ) -> Result<(), FactorError> {
        let code = code.expose_secret();
        let check = (email.to_string(), method, code.to_string());
        self.checked.lock().unwrap().push(check);
        (self.verdict)(method, code)
    }

    async fn send_email_code(&self, _member_id: &str, _email: &str) -> Result<i64, FactorError> {
        Ok(0)
    }

    async fn reset(&self, _member_id: &str) -> Result<bool, FactorError> {
        Ok(!self.methods.is_empty())
    }

    async fn list(&self, member_ids: &[String]) -> Result<Vec<Vec<Method>>, FactorError> {
        Ok(member_ids.iter().map(|_| self.methods.clone()).collect())
    }
}

/// Emails as the domain hands them over: recipient and template name.
#[derive(Default)]
pub struct FakeNotices {
    pub sent: Mutex<Vec<(String, &'static str)>>,
}

#[async_trait]
impl Notices for FakeNotices {
    async fn send(&self, recipient: &str, notice: Notice, _key: &str) -> Result<(), NoticeError> {
        let name = match notice {
            Notice::Invitation { .. } => "invitation",
            Notice::MfaReset { .. } => "mfa_reset",
        };
        self.sent
            .lock()
            .unwrap()
            .push((recipient.to_string(), name));
        Ok(())
    }
}

/// The domain under test.
pub struct Harness {
    pub auth: Arc<Auth>,
    pub clock: Arc<ManualClock>,
    pub factors: Arc<FakeFactors>,
    pub notices: Arc<FakeNotices>,
}

/// The failure rule of tests: `limit` failures in 15 min lock for 15 min.
fn rule(limit: u32) -> FailureRule {
    FailureRule {
        limit,
        window: LOCKOUT,
        lockout: LOCKOUT,
    }
}

/// The domain with a hashing pool of `size`, and [`OWNER`] created.
pub async fn harness(size: HashPoolSize, factors: FakeFactors) -> Harness {
    let pool = db::connect(&DbConfig::with_schema("auth"), &MIGRATIONS)
        .await
        .unwrap();
    let clock = Arc::new(ManualClock::new(1_800_000_000_000));
    let factors = Arc::new(factors);
    let limits = Limits {
        session_ttl: Duration::from_secs(3600),
        challenge_ttl: Duration::from_secs(300),
        challenge_max_attempts: 5,
        account_failures: rule(ACCOUNT_LIMIT),
        address_failures: rule(ADDRESS_LIMIT),
    };
    let notices = Arc::new(FakeNotices::default());
    let auth = Auth::new(Parts {
        store: Arc::new(SqlStore::new(pool)),
        factors: factors.clone(),
        notices: notices.clone(),
        hasher: PasswordHasher::start(size).await.unwrap(),
        clock: clock.clone(),
        plans: Plans::new(&PlansConfig::default()).unwrap(),
        limits,
        links: Links::default(),
        operator_token: None,
    });
    let owner = NewOrganizationRequest {
        name: "Ledger & Co".to_string(),
        plan: "essential".to_string(),
        owner_email: email(OWNER),
        owner_password: Password::new_choice(PASSWORD).unwrap(),
    };
    auth.bootstrap_organization(owner).await.unwrap();
    Harness {
        auth: Arc::new(auth),
        clock,
        factors,
        notices,
    }
}

/// A pool roomy enough never to refuse in tests that do not flood it.
pub const ROOMY: HashPoolSize = HashPoolSize {
    workers: 2,
    queue: 64,
};

pub fn email(text: &str) -> Email {
    Email::parse(text).unwrap()
}

pub fn password(text: &str) -> Password {
    Password::submitted(text).unwrap()
}
