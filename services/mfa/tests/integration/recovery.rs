//! Recovery codes end to end: shown once at confirmation, each accepted
//! once by VerifyFactor, regenerated with a current code, gone with MFA,
//! and stored only as keyed hashes.

use std::{collections::HashSet, time::Duration};

use sqlx::{Executor, Row};
use tonic::Code;
use totp_rs::{Algorithm, Secret, TOTP};

use countersign_kit::{
    clock::Clock,
    db::{DbConfig, connect},
};
use countersign_mfa::{Config, store::sql::MIGRATIONS};
use countersign_proto::{
    mfa::v1::{
        BeginEnrollmentRequest, ConfirmEnrollmentRequest, DisableRequest, GetFactorsRequest,
        GetStatusRequest, RegenerateRecoveryCodesRequest, VerifyFactorRequest,
    },
    notification::v1::EmailTemplate,
};

use super::{
    fakes::{MEMBER, Stack, TOKEN, stack, stack_with, with_token},
    postgres_url, unique,
};

const ALPHABET: &str = "0123456789abcdefghjkmnpqrstvwxyz";

/// MFA on for the member; the authenticator's secret and the codes shown.
struct Enabled {
    stack: Stack,
    app: TOTP,
    codes: Vec<String>,
}

impl Enabled {
    fn app_code(&self) -> String {
        self.app.generate(self.stack.clock.now_secs())
    }

    /// Moves to the next TOTP step and gives its code.
    fn fresh_code(&self) -> String {
        self.stack.clock.advance(Duration::from_secs(30));
        self.app_code()
    }

    async fn use_code(&mut self, code: &str) -> Result<(), tonic::Status> {
        let request = VerifyFactorRequest {
            member_id: MEMBER.into(),
            method: "recovery_code".into(),
            code: code.into(),
            email: "ada@example.com".into(),
            client_address: String::new(),
        };
        self.stack.internal.verify_factor(request).await.map(|_| ())
    }

    async fn regenerate(&mut self, code: &str) -> Result<Vec<String>, tonic::Status> {
        let request = RegenerateRecoveryCodesRequest { code: code.into() };
        let reply = self
            .stack
            .user
            .regenerate_recovery_codes(with_token(request, TOKEN))
            .await?;
        Ok(reply.into_inner().recovery_codes)
    }

    async fn remaining(&mut self) -> u32 {
        let status = self
            .stack
            .user
            .get_status(with_token(GetStatusRequest {}, TOKEN))
            .await;
        status.unwrap().into_inner().recovery_codes_remaining
    }
}

async fn enabled_on(mut stack: Stack) -> Enabled {
    let request = with_token(BeginEnrollmentRequest {}, TOKEN);
    let enrollment = stack.user.begin_enrollment(request).await.unwrap();
    let secret = Secret::Encoded(enrollment.into_inner().secret);
    let secret = secret.to_bytes().unwrap();
    let app = TOTP::new(Algorithm::SHA1, 6, 1, 30, secret, None, "ada".into()).unwrap();
    let code = app.generate(stack.clock.now_secs());
    let request = with_token(ConfirmEnrollmentRequest { code }, TOKEN);
    let confirmed = stack.user.confirm_enrollment(request).await.unwrap();
    let codes = confirmed.into_inner().recovery_codes;
    Enabled { stack, app, codes }
}

async fn enabled() -> Enabled {
    enabled_on(stack(true).await).await
}

fn well_formed(code: &str) -> bool {
    let (head, tail) = code.split_at(code.len().min(5));
    code.len() == 11
        && tail.starts_with('-')
        && head
            .chars()
            .chain(tail[1..].chars())
            .all(|c| ALPHABET.contains(c))
}

#[tokio::test]
async fn confirm_enrollment_returns_ten_distinct_well_formed_codes() {
    let mut mfa = enabled().await;

    let distinct: HashSet<&String> = mfa.codes.iter().collect();

    assert_eq!(distinct.len(), 10);
    assert!(
        mfa.codes.iter().all(|c| well_formed(c)),
        "{}",
        mfa.codes.len()
    );
    assert_eq!(mfa.remaining().await, 10);
    let factors = mfa
        .stack
        .internal
        .get_factors(GetFactorsRequest {
            member_id: MEMBER.into(),
        })
        .await;
    let factors = factors.unwrap().into_inner().factors;
    assert_eq!(factors, ["totp", "email_code", "recovery_code"]);
}

#[tokio::test]
async fn recovery_code_answers_once_then_is_unauthenticated() {
    let mut mfa = enabled().await;
    let code = mfa.codes[4].clone();
    let typed = format!("  {} ", code.to_uppercase().replace('-', " "));

    let first = mfa.use_code(&typed).await;
    let second = mfa.use_code(&code).await.unwrap_err();

    assert!(first.is_ok(), "{first:?}");
    assert_eq!(second.code(), Code::Unauthenticated);
    assert_eq!(second.message(), "code not accepted");
    assert_eq!(mfa.remaining().await, 9);
    let notice = mfa.stack.outbox.last();
    assert_eq!(notice.template(), EmailTemplate::RecoveryCodeUsed);
    assert_eq!(
        (
            notice.recipient.as_str(),
            notice.params["remaining"].as_str()
        ),
        ("ada@example.com", "9")
    );
}

#[tokio::test]
async fn malformed_recovery_code_is_invalid_argument_naming_code() {
    let mut mfa = enabled().await;
    let oversized = "a".repeat(12 * 1024);

    for input in ["abcde-fghji", "abcde-fghj", "123456", "", &oversized] {
        let status = mfa.use_code(input).await.unwrap_err();

        assert_eq!(status.code(), Code::InvalidArgument, "{}", input.len());
        let (field, _) = countersign_kit::status::field_violation(&status).unwrap();
        assert_eq!(field, "code");
    }
    assert_eq!(mfa.remaining().await, 10);
}

#[tokio::test]
async fn regenerate_with_wrong_code_is_unauthenticated_and_old_set_still_works() {
    let mut mfa = enabled().await;
    let right: u32 = mfa.fresh_code().parse().unwrap();
    let wrong = format!("{:06}", (right + 1) % 1_000_000);

    let status = mfa.regenerate(&wrong).await.unwrap_err();
    let malformed = mfa.regenerate("12a456").await.unwrap_err();

    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(malformed.code(), Code::InvalidArgument);
    let old = mfa.codes[0].clone();
    assert!(mfa.use_code(&old).await.is_ok());
}

#[tokio::test]
async fn regenerate_with_fresh_code_voids_old_set_and_refuses_replay() {
    let mut mfa = enabled().await;
    let code = mfa.fresh_code();

    let new = mfa.regenerate(&code).await.unwrap();
    let replayed = mfa.regenerate(&code).await.unwrap_err();

    assert_eq!(new.len(), 10);
    assert!(new.iter().all(|c| well_formed(c) && !mfa.codes.contains(c)));
    assert_eq!(replayed.code(), Code::Unauthenticated);
    let old = mfa.codes[0].clone();
    assert_eq!(
        mfa.use_code(&old).await.unwrap_err().code(),
        Code::Unauthenticated
    );
    assert!(mfa.use_code(&new[0]).await.is_ok());
    assert_eq!(mfa.remaining().await, 9);
}

#[tokio::test]
async fn disable_voids_recovery_codes() {
    let mut mfa = enabled().await;
    let code = mfa.fresh_code();

    let request = with_token(DisableRequest { code }, TOKEN);
    mfa.stack.user.disable(request).await.unwrap();

    let old = mfa.codes[0].clone();
    let status = mfa.use_code(&old).await.unwrap_err();
    assert_eq!(status.code(), Code::Unauthenticated);
    assert_eq!(mfa.remaining().await, 0);
}

#[tokio::test]
async fn regenerate_when_mfa_is_off_is_failed_precondition() {
    let mut stack = stack(true).await;

    let request = RegenerateRecoveryCodesRequest {
        code: "123456".into(),
    };
    let status = stack
        .user
        .regenerate_recovery_codes(with_token(request, TOKEN))
        .await
        .unwrap_err();

    assert_eq!(status.code(), Code::FailedPrecondition);
}

#[tokio::test]
async fn recovery_codes_table_holds_only_keyed_hashes() {
    let schema = unique("mfa_test");
    let db = DbConfig::with_schema(&schema).with_url(&postgres_url());
    let config = Config {
        db: db.clone(),
        ..Config::default()
    };
    let mfa = enabled_on(stack_with(true, config).await).await;
    let pool = connect(&db, &MIGRATIONS).await.unwrap();

    let rows = sqlx::query("SELECT member_id, digest FROM recovery_codes")
        .fetch_all(&pool)
        .await
        .unwrap();

    assert_eq!(rows.len(), 10);
    for row in &rows {
        let (member, digest): (String, Vec<u8>) = (row.get(0), row.get(1));
        assert_eq!((member.as_str(), digest.len()), (MEMBER, 32));
        let stored = format!(
            "{}{}",
            String::from_utf8_lossy(&digest),
            hex::encode(&digest)
        );
        for code in &mfa.codes {
            assert!(!stored.contains(&code.replace('-', "")) && !stored.contains(code.as_str()));
        }
    }
    pool.execute(format!("DROP SCHEMA \"{schema}\" CASCADE").as_str())
        .await
        .unwrap();
}
