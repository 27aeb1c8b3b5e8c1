//! Postgres or Redis out of reach: UNAVAILABLE, no panic, and service
//! again once they are back. The outage is a proxy the test cuts; the
//! machine's servers are never touched.

use std::net::SocketAddr;

use tonic::Code;

use countersign_tests::{
    proxy::Proxy,
    stack::{Backend, PASSWORD, Stack, Storage},
};

use crate::gateway::{Login, assert_status, challenge, enroll, login, send_email_code, session};

/// Attempts made while a dependency comes back; each fails fast.
const RECOVERY_ATTEMPTS: usize = 20;

async fn proxied_stack() -> (Stack, Proxy, Proxy) {
    let postgres = Proxy::start("127.0.0.1:5432".parse::<SocketAddr>().unwrap()).await;
    let redis = Proxy::start("127.0.0.1:6379".parse::<SocketAddr>().unwrap()).await;
    let mut storage = Storage::new(Backend::Real);
    storage.database_url = format!("postgres://postgres@{}/test", postgres.addr());
    storage.redis_url = Some(format!("redis://{}", redis.addr()));
    (Stack::start_on(storage).await, postgres, redis)
}

#[tokio::test]
async fn postgres_outage_is_unavailable_then_recovers() {
    let (stack, postgres, _redis) = proxied_stack().await;
    let owner = stack.organization("essential").await;
    session(&stack, &owner).await;

    postgres.go_down();
    let during = login(&stack, &owner, PASSWORD).await;
    postgres.come_back();

    assert_status(during, Code::Unavailable, None);
    let mut recovered = false;
    for _ in 0..RECOVERY_ATTEMPTS {
        if let Ok(Login::Session(_)) = login(&stack, &owner, PASSWORD).await {
            recovered = true;
            break;
        }
    }
    assert!(
        recovered,
        "no login within {RECOVERY_ATTEMPTS} attempts after Postgres returned"
    );
}

#[tokio::test]
async fn redis_outage_is_unavailable_then_recovers() {
    let (stack, _postgres, redis) = proxied_stack().await;
    let owner = stack.organization("essential").await;
    enroll(&stack, &session(&stack, &owner).await).await;
    let pending = challenge(&stack, &owner).await;

    redis.go_down();
    let during = send_email_code(&stack, &pending).await;
    redis.come_back();

    assert_status(during, Code::Unavailable, None);
    let mut recovered = false;
    for _ in 0..RECOVERY_ATTEMPTS {
        if send_email_code(&stack, &pending).await.is_ok() {
            recovered = true;
            break;
        }
    }
    assert!(
        recovered,
        "no code sent within {RECOVERY_ATTEMPTS} attempts after Redis returned"
    );
}
