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
        CodeOutcome, CodeStore, StoreError, conformance,
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

#[tokio::test]
async fn redis_store_passes_code_conformance() {
    let (store, _) = redis_store(&redis_url());

    conformance::code_store(&store, async |d| tokio::time::sleep(d).await).await;
}

#[tokio::test]
async fn redis_store_writes_code_with_its_ttl() {
    let (store, _) = redis_store(&redis_url());
    let member = conformance::fresh_member();
    let client = redis::Client::open(redis_url()).unwrap();
    let mut connection = client.get_multiplexed_async_connection().await.unwrap();

    store
        .issue(&member, &CodeDigest([7; 32]), Duration::from_secs(600))
        .await
        .unwrap();
    store.check(&member, &CodeDigest([8; 32]), 5).await.unwrap();

    let ttl_ms: i64 = connection.pttl(store.key(&member)).await.unwrap();
    assert!(ttl_ms > 590_000 && ttl_ms <= 600_000, "ttl {ttl_ms}");
    let stored: HashMap<String, String> = connection.hgetall(store.key(&member)).await.unwrap();
    assert_eq!(stored["digest"], "07".repeat(32));
    assert_eq!(stored["guesses"], "1");
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
        .issue(&member, &CodeDigest([1; 32]), Duration::from_secs(60))
        .await
        .unwrap();

    relay.cut().await;
    let started = Instant::now();
    let down = store.check(&member, &CodeDigest([1; 32]), 5).await;

    assert!(matches!(down, Err(StoreError::Unavailable(_))), "{down:?}");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );

    let _relay = Relay::start(relay.port).await;
    let mut outcome = None;
    for _ in 0..5 {
        if let Ok(found) = store.check(&member, &CodeDigest([1; 32]), 5).await {
            outcome = Some(found);
            break;
        }
    }
    assert_eq!(outcome, Some(CodeOutcome::Accepted));
}
