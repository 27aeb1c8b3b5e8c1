//! The storage backends against real servers.

use std::{
    collections::HashMap,
    time::{Duration, Instant},
};

use redis::AsyncCommands;
use secrecy::SecretString;
use sqlx::Executor;
use tokio::{io::copy_bidirectional, net::TcpStream, task::JoinHandle};

use countersign_kit::db::{DbConfig, connect};
use countersign_mfa::{
    code::CodeDigest,
    model::MemberId,
    store::{
        CodeOutcome, CodeStore, LockState, LockoutPolicy, LockoutStore, SendLimits, StoreError,
        conformance,
        redis::RedisCodeStore,
        sql::{MIGRATIONS, SqlFactorStore},
    },
};

use super::{postgres_url, redis_url, unique};

fn redis_store(url: &str) -> (RedisCodeStore, String) {
    let prefix = format!("countersign:mfa-test:{}", unique("t"));
    let store = RedisCodeStore::new(&SecretString::from(url.to_string()), &prefix).unwrap();
    (store, prefix)
}

/// A clock reading for the store calls, far from Redis's own clock: the
/// store must judge by the time it is given.
const NOW_MS: i64 = 1_700_000_000_000;

async fn redis_connection() -> redis::aio::MultiplexedConnection {
    let client = redis::Client::open(redis_url()).unwrap();
    client.get_multiplexed_async_connection().await.unwrap()
}

/// Asserts the key's TTL is `expected_ms`, give or take the test's pace.
async fn assert_ttl(
    connection: &mut redis::aio::MultiplexedConnection,
    key: &str,
    expected_ms: i64,
) {
    let ttl_ms: i64 = connection.pttl(key).await.unwrap();
    assert!(
        ttl_ms > expected_ms - 10_000 && ttl_ms <= expected_ms,
        "ttl {ttl_ms} of {key}, expected {expected_ms}"
    );
}

/// Issues the member a code under `limits` and makes one wrong guess, so
/// the code's hash holds a code, the pacing and a guess count.
async fn issue_and_guess_wrong(store: &RedisCodeStore, member: &MemberId, limits: &SendLimits) {
    store
        .issue(member, &CodeDigest([7; 32]), limits, NOW_MS)
        .await
        .unwrap();
    store
        .check(member, &CodeDigest([8; 32]), 5, NOW_MS)
        .await
        .unwrap();
}

#[tokio::test]
async fn redis_store_passes_code_conformance() {
    let (store, _) = redis_store(&redis_url());

    conformance::code_store(&store).await;
}

#[tokio::test]
async fn redis_store_passes_lockout_conformance() {
    let (store, _) = redis_store(&redis_url());

    conformance::lockout_store(&store).await;
}

#[tokio::test]
async fn redis_store_writes_codes_with_ttl_outlasting_code_and_quota() {
    let (store, _) = redis_store(&redis_url());
    let (member, long_lived) = (conformance::fresh_member(), conformance::fresh_member());
    let mut connection = redis_connection().await;
    let limits = conformance::LIMITS;
    let long = SendLimits {
        ttl: Duration::from_secs(7200),
        ..limits
    };

    issue_and_guess_wrong(&store, &member, &limits).await;
    store
        .issue(&long_lived, &CodeDigest([9; 32]), &long, NOW_MS)
        .await
        .unwrap();

    assert_ttl(&mut connection, &store.key(&member), 3_600_000).await;
    assert_ttl(&mut connection, &store.key(&long_lived), 7_200_000).await;
    let stored: HashMap<String, String> = connection.hgetall(store.key(&member)).await.unwrap();
    let field = format!("c:{}", "07".repeat(32));
    assert_eq!(stored[&field], (NOW_MS + 600_000).to_string());
    assert_eq!(stored["guesses"], "1");
    assert_eq!(stored["last_send"], NOW_MS.to_string());
    assert_eq!(stored["quota_count"], "1");
    assert!(!stored.values().any(|v| v.contains("e+")), "{stored:?}");
}

#[tokio::test]
async fn redis_store_writes_lockout_with_ttl_of_window_then_lock() {
    let (store, _) = redis_store(&redis_url());
    let member = conformance::fresh_member();
    let mut connection = redis_connection().await;
    let policy = LockoutPolicy {
        duration: Duration::from_secs(1800),
        ..conformance::POLICY
    };

    store.begin_attempt(&member, &policy, NOW_MS).await.unwrap();
    assert_ttl(&mut connection, &store.lockout_key(&member), 900_000).await;
    for _ in 1..policy.threshold {
        store.begin_attempt(&member, &policy, NOW_MS).await.unwrap();
    }
    let locked = store
        .record_failure(&member, &policy, NOW_MS)
        .await
        .unwrap();

    let until_ms = NOW_MS + 1_800_000;
    assert_eq!(locked, LockState::Started { until_ms });
    assert_ttl(&mut connection, &store.lockout_key(&member), 1_800_000).await;
    let stored: HashMap<String, String> = connection
        .hgetall(store.lockout_key(&member))
        .await
        .unwrap();
    assert_eq!(stored["locked_until"], until_ms.to_string());
}

#[tokio::test]
async fn redis_store_forgets_codes_keeping_pacing_and_ttl_and_clears_lockout_key() {
    let (store, _) = redis_store(&redis_url());
    let member = conformance::fresh_member();
    let mut connection = redis_connection().await;
    issue_and_guess_wrong(&store, &member, &conformance::LIMITS).await;
    let policy = conformance::POLICY;
    store.begin_attempt(&member, &policy, NOW_MS).await.unwrap();

    store.forget_codes(&member).await.unwrap();
    store.clear(&member).await.unwrap();

    let stored: HashMap<String, String> = connection.hgetall(store.key(&member)).await.unwrap();
    let mut fields: Vec<&str> = stored.keys().map(String::as_str).collect();
    fields.sort_unstable();
    assert_eq!(fields, ["last_send", "quota_count", "quota_start"]);
    assert_ttl(&mut connection, &store.key(&member), 3_600_000).await;
    let lockout: bool = connection.exists(store.lockout_key(&member)).await.unwrap();
    assert!(!lockout, "lockout key left");
}

#[tokio::test]
async fn postgres_store_passes_factor_conformance() {
    let schema = unique("mfa_test");
    let config = DbConfig::with_schema(&schema).with_url(&postgres_url());
    let pool = connect(&config, &MIGRATIONS).await.unwrap();

    conformance::factor_store(&SqlFactorStore::new(pool.clone())).await;

    pool.execute(format!("DROP SCHEMA \"{schema}\" CASCADE").as_str())
        .await
        .unwrap();
}

/// A TCP relay to Redis that can be cut and restored on the same port.
struct Relay {
    port: u16,
    task: Option<JoinHandle<()>>,
}

impl Relay {
    async fn start(port: u16) -> Self {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", port))
            .await
            .unwrap();
        let port = listener.local_addr().unwrap().port();
        let upstream = redis_url().trim_start_matches("redis://").to_string();
        let task = tokio::spawn(async move {
            let mut connections = tokio::task::JoinSet::new();
            while let Ok((mut inbound, _)) = listener.accept().await {
                let upstream = upstream.clone();
                connections.spawn(async move {
                    let mut outbound = TcpStream::connect(upstream).await.unwrap();
                    let _ = copy_bidirectional(&mut inbound, &mut outbound).await;
                });
            }
        });
        Self {
            port,
            task: Some(task),
        }
    }

    /// Closes the port and every relayed connection.
    async fn cut(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
            let _ = task.await;
        }
    }
}

#[tokio::test]
async fn redis_store_is_unavailable_while_redis_is_cut_and_recovers() {
    let mut relay = Relay::start(0).await;
    let (store, _) = redis_store(&format!("redis://127.0.0.1:{}", relay.port));
    let member = MemberId::parse(&unique("m")).unwrap();
    store
        .issue(&member, &CodeDigest([1; 32]), &conformance::LIMITS, NOW_MS)
        .await
        .unwrap();

    relay.cut().await;
    let started = Instant::now();
    let down = store.check(&member, &CodeDigest([1; 32]), 5, NOW_MS).await;

    assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let _relay = Relay::start(relay.port).await;
    let mut outcome = None;
    for _ in 0..5 {
        if let Ok(found) = store.check(&member, &CodeDigest([1; 32]), 5, NOW_MS).await {
            outcome = Some(found);
            break;
        }
    }
    assert_eq!(outcome, Some(CodeOutcome::Accepted));
}
