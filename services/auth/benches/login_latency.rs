//! How long a login takes for a known email with a wrong password and for
//! an unknown email, which must be about the same so that timing does not
//! tell who is a member. Runs the domain on in-memory SQLite with members
//! without a second factor, interleaves the two kinds of login, and prints
//! the median and 90th percentile of each and their ratio.
//!
//! Each round tries an email not tried before, of each kind, as someone
//! probing for members does: both then start a fresh failure counter, and
//! only the known email writes an audit event.
//!
//! `cargo bench -p countersign-auth --bench login_latency`

use std::{
    sync::Arc,
    time::{Duration, Instant},
};

use async_trait::async_trait;
use secrecy::SecretString;

use countersign_auth::{
    domain::{
        Auth, Email, FailureRule, HashPoolSize, Limits, Links, Method, NewOrganizationRequest,
        Parts, Password, PasswordHasher,
    },
    factors::{FactorError, SecondFactors},
    notices::{Notice, NoticeError, Notices},
    store::{SqlStore, sql::MIGRATIONS},
};
use countersign_kit::{
    clock::ManualClock,
    db::{self, DbConfig},
};
use countersign_plans::{Plans, PlansConfig};

/// Timed logins of each kind.
const ROUNDS: usize = 40;
/// Untimed logins of each kind first, to warm caches and the pool.
const WARM_UP: usize = 3;

/// No member has a second factor.
struct NoFactors;

#[async_trait]
impl SecondFactors for NoFactors {
    async fn methods(&self, _member_id: &str) -> Result<Vec<Method>, FactorError> {
        Ok(Vec::new())
    }

    async fn verify(
        &self,
        _: &str,
        _: &str,
        _: Method,
        _: &SecretString,
        _: Option<&str>,
    ) -> Result<(), FactorError> {
        Err(FactorError::Rejected)
    }

    async fn send_email_code(&self, _: &str, _: &str) -> Result<i64, FactorError> {
        Err(FactorError::Rejected)
    }

    async fn reset(&self, _: &str) -> Result<bool, FactorError> {
        Ok(false)
    }

    async fn list(&self, member_ids: &[String]) -> Result<Vec<Vec<Method>>, FactorError> {
        Ok(vec![Vec::new(); member_ids.len()])
    }
}

/// Logins send no email.
struct NoNotices;

#[async_trait]
impl Notices for NoNotices {
    async fn send(&self, _: &str, _: Notice, _: &str) -> Result<(), NoticeError> {
        Err(NoticeError::Unavailable)
    }
}

/// Failure limits far above the rounds, so every login reaches the hash.
fn limits() -> Limits {
    let unlimited = FailureRule {
        limit: u32::MAX,
        window: Duration::from_secs(3600),
        lockout: Duration::from_secs(3600),
    };
    Limits {
        session_ttl: Duration::from_secs(3600),
        challenge_ttl: Duration::from_secs(300),
        challenge_max_attempts: 5,
        account_failures: unlimited,
        address_failures: unlimited,
    }
}

/// The email of the `n`-th member.
fn member(n: usize) -> String {
    format!("owner{n}@ledger.example")
}

async fn domain() -> anyhow::Result<Auth> {
    let pool = db::connect(&DbConfig::with_schema("auth"), &MIGRATIONS).await?;
    let size = HashPoolSize {
        workers: 1,
        queue: 4,
    };
    let auth = Auth::new(Parts {
        store: Arc::new(SqlStore::new(pool)),
        factors: Arc::new(NoFactors),
        notices: Arc::new(NoNotices),
        hasher: PasswordHasher::start(size).await?,
        clock: Arc::new(ManualClock::new(1_800_000_000_000)),
        plans: Plans::new(&PlansConfig::default())?,
        limits: limits(),
        links: Links::default(),
        operator_token: None,
    });
    for n in 0..WARM_UP + ROUNDS {
        let owner = NewOrganizationRequest {
            name: "Ledger & Co".to_string(),
            plan: "essential".to_string(),
            owner_email: Email::parse(&member(n))?,
            owner_password: Password::new_choice("correct horse battery")?,
        };
        auth.bootstrap_organization(owner).await?;
    }
    Ok(auth)
}

/// One refused login's duration.
async fn timed(auth: &Auth, email: &Email, password: &Password) -> anyhow::Result<Duration> {
    let started = Instant::now();
    let outcome = auth.login(email, password, None).await;
    let elapsed = started.elapsed();
    anyhow::ensure!(outcome.is_err(), "a login meant to fail succeeded");
    Ok(elapsed)
}

/// The `q`-quantile of sorted samples, in milliseconds.
fn quantile_ms(sorted: &[Duration], q: f64) -> f64 {
    let last = sorted.len().saturating_sub(1);
    // Rounds are few; the index fits any float exactly.
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let index = ((last as f64) * q).round() as usize;
    sorted
        .get(index.min(last))
        .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let auth = domain().await?;
    let wrong = Password::submitted("wrong horse battery")?;
    let mut wrong_password = Vec::with_capacity(ROUNDS);
    let mut unknown_email = Vec::with_capacity(ROUNDS);

    for round in 0..WARM_UP + ROUNDS {
        let known = Email::parse(&member(round))?;
        let unknown = Email::parse(&format!("nobody{round}@ledger.example"))?;
        // Alternate which goes first, so neither gains from the other.
        let (a, b) = if round % 2 == 0 {
            let a = timed(&auth, &known, &wrong).await?;
            (a, timed(&auth, &unknown, &wrong).await?)
        } else {
            let b = timed(&auth, &unknown, &wrong).await?;
            (timed(&auth, &known, &wrong).await?, b)
        };
        if round >= WARM_UP {
            wrong_password.push(a);
            unknown_email.push(b);
        }
    }

    wrong_password.sort_unstable();
    unknown_email.sort_unstable();
    let (known_p50, known_p90) = (
        quantile_ms(&wrong_password, 0.5),
        quantile_ms(&wrong_password, 0.9),
    );
    let (unknown_p50, unknown_p90) = (
        quantile_ms(&unknown_email, 0.5),
        quantile_ms(&unknown_email, 0.9),
    );
    println!("login latency over {ROUNDS} interleaved rounds");
    println!("known email, wrong password: median {known_p50:.2} ms, p90 {known_p90:.2} ms");
    println!("unknown email:               median {unknown_p50:.2} ms, p90 {unknown_p90:.2} ms");
    println!(
        "ratio unknown/known:         median {:.3}, p90 {:.3}",
        unknown_p50 / known_p50,
        unknown_p90 / known_p90
    );
    Ok(())
}
