//! Throttling at auth's door: wrong passwords limited per account and per
//! client address, answered RESOURCE_EXHAUSTED with the time left; a
//! bounded password-hashing pool that refuses a flood of logins at once
//! instead of queueing it, while other calls are still served; the client
//! address in the security log.

use std::time::Duration;

use tokio::task::JoinSet;
use tonic::Code;

use countersign_kit::db::DEFAULT_ACQUIRE_TIMEOUT;
use countersign_tests::{
    logs,
    stack::{Backend, PASSWORD, Stack, Storage},
};

use crate::gateway::{Login, assert_status, exhausted, login, login_from, login_through, validate};

const INVALID_CREDENTIALS: &str = "invalid email or password";
/// Wrong passwords per email before auth's default settings refuse it.
const ACCOUNT_LIMIT: usize = 10;
/// How long auth's default settings refuse an email.
const LOCKOUT: Duration = Duration::from_secs(15 * 60);
/// A client address no test counts failures from.
const ELSEWHERE: &str = "198.51.100.9";
/// Concurrent logins of a flood.
const FLOOD: usize = 32;

/// An address of the test's own, so its log lines are told apart.
fn address_of(storage: &Storage) -> String {
    let hex = &storage.tag[1..];
    format!("2001:db8:{}:{}:{}", &hex[..4], &hex[4..8], &hex[8..12])
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
    let stack = Stack::start_tuned(backend, |c| c.address_failure_limit = 3).await;
    let owner = stack.organization("essential").await;
    let home = address_of(&stack.storage);

    for n in 0..3 {
        let guess = format!("guess{n}@throttle.example");
        let wrong = login_from(&stack, &guess, PASSWORD, &home).await;
        assert_status(wrong, Code::Unauthenticated, Some(INVALID_CREDENTIALS));
    }
    let from_home = login_from(&stack, &owner, PASSWORD, &home).await;
    let from_elsewhere = login_from(&stack, &owner, PASSWORD, ELSEWHERE).await;

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
    let stack = Stack::start_tuned(backend, |c| {
        c.hash_workers = 1;
        c.hash_queue = 1;
        // The flood opens the whole pool at once; on a loaded machine that
        // takes longer than the stack's short wait, meant for outages.
        c.db.acquire_timeout = DEFAULT_ACQUIRE_TIMEOUT;
    })
    .await;
    let owner = stack.organization("essential").await;
    let Login::Session(existing) = login_from(&stack, &owner, PASSWORD, ELSEWHERE)
        .await
        .unwrap()
    else {
        panic!("expected a session");
    };

    let client = stack.auth_client();
    let mut logins = JoinSet::new();
    for _ in 0..FLOOD {
        let (client, owner) = (client.clone(), owner.clone());
        logins.spawn(async move { login_through(client, &owner, PASSWORD, Some(ELSEWHERE)).await });
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
    let validated = validate(&stack, &existing.token).await;
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
    let owner = stack.organization("essential").await;
    let from = address_of(&stack.storage);
    let wrong = format!("wrong-{}", stack.storage.tag);

    let denied = login_from(&stack, &owner, &wrong, &from).await;
    let accepted = login_from(&stack, &owner, PASSWORD, &from).await;

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
