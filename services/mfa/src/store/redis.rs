//! The code store in Redis. Each member's code is one hash,
//! `{prefix}:email_code:{member_id}` with fields `digest` (hex HMAC) and
//! `guesses`; every write is a Lua script that sets the TTL in the same
//! atomic step, and the check-and-consume is one script too.
//!
//! The connection is made on first use and kept by a `ConnectionManager`,
//! which reconnects after Redis comes back. Every operation has a deadline
//! of [`OPERATION_TIMEOUT`], so a dead Redis answers UNAVAILABLE quickly.

use std::time::Duration;

use async_trait::async_trait;
use redis::{
    Client, RedisError, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use countersign_kit::clock::millis;

use super::{BoxError, CodeOutcome, CodeStore, StoreError};
use crate::{code::CodeDigest, model::MemberId};

/// Longest a single Redis operation may take, reconnecting included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
/// Deadline of one TCP connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Deadline of one command's response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// KEYS[1] = code key; ARGV = digest, ttl ms. Keeps the guess count.
const ISSUE: &str = r"
redis.call('HSET', KEYS[1], 'digest', ARGV[1])
redis.call('HSETNX', KEYS[1], 'guesses', 0)
redis.call('PEXPIRE', KEYS[1], ARGV[2])
return 1
";

/// KEYS[1] = code key; ARGV = digest, max guesses.
/// Returns 1 accepted, 0 wrong, -1 missing, -2 exhausted.
const CHECK: &str = r"
local stored = redis.call('HMGET', KEYS[1], 'digest', 'guesses')
if not stored[1] then return -1 end
if tonumber(stored[2] or '0') >= tonumber(ARGV[2]) then return -2 end
if stored[1] == ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
redis.call('HINCRBY', KEYS[1], 'guesses', 1)
return 0
";

/// Emailed codes in Redis.
pub struct RedisCodeStore {
    client: Client,
    prefix: String,
    connection: OnceCell<ConnectionManager>,
    issue: Script,
    check: Script,
}

#[derive(Debug, thiserror::Error)]
#[error("redis did not answer within {0:?}")]
struct TimedOut(Duration);

#[derive(Debug, thiserror::Error)]
#[error("redis script answered {0}")]
struct UnexpectedReply(i64);

impl RedisCodeStore {
    /// A store at `url` whose keys start with `prefix`. Nothing is
    /// connected until first use; a malformed URL fails here.
    pub fn new(url: &SecretString, prefix: &str) -> Result<Self, RedisError> {
        Ok(Self {
            client: Client::open(url.expose_secret())?,
            prefix: prefix.to_string(),
            connection: OnceCell::new(),
            issue: Script::new(ISSUE),
            check: Script::new(CHECK),
        })
    }

    /// The key of a member's code.
    pub fn key(&self, member: &MemberId) -> String {
        format!("{}:email_code:{}", self.prefix, member.as_str())
    }

    async fn connection(&self) -> Result<ConnectionManager, RedisError> {
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(CONNECT_TIMEOUT)
            .set_response_timeout(RESPONSE_TIMEOUT)
            .set_number_of_retries(1)
            .set_max_delay(200);
        let connection = self
            .connection
            .get_or_try_init(|| ConnectionManager::new_with_config(self.client.clone(), config))
            .await?;
        Ok(connection.clone())
    }

    async fn run(
        &self,
        script: &Script,
        key: String,
        args: (String, i64),
    ) -> Result<i64, StoreError> {
        let call = async {
            let mut connection = self.connection().await?;
            script
                .key(key)
                .arg(args.0)
                .arg(args.1)
                .invoke_async::<i64>(&mut connection)
                .await
        };
        match tokio::time::timeout(OPERATION_TIMEOUT, call).await {
            Ok(result) => result.map_err(store_error),
            Err(_) => Err(StoreError::Unavailable(Box::new(TimedOut(
                OPERATION_TIMEOUT,
            )))),
        }
    }
}

impl std::fmt::Debug for RedisCodeStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCodeStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

fn store_error(error: RedisError) -> StoreError {
    let unreachable = error.is_io_error()
        || error.is_connection_refusal()
        || error.is_connection_dropped()
        || error.is_timeout()
        || error.is_unrecoverable_error();
    let boxed: BoxError = Box::new(error);
    if unreachable {
        StoreError::Unavailable(boxed)
    } else {
        StoreError::Failed(boxed)
    }
}

#[async_trait]
impl CodeStore for RedisCodeStore {
    async fn issue(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let ttl_ms = millis(ttl).max(1);
        self.run(&self.issue, self.key(member), (digest.to_hex(), ttl_ms))
            .await?;
        Ok(())
    }

    async fn check(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        max_guesses: u32,
    ) -> Result<CodeOutcome, StoreError> {
        let args = (digest.to_hex(), i64::from(max_guesses));
        match self.run(&self.check, self.key(member), args).await? {
            1 => Ok(CodeOutcome::Accepted),
            0 => Ok(CodeOutcome::Wrong),
            -1 => Ok(CodeOutcome::Missing),
            -2 => Ok(CodeOutcome::Exhausted),
            other => Err(StoreError::Failed(Box::new(UnexpectedReply(other)))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn check_is_unavailable_when_nothing_listens() {
        let (listener, address) = countersign_kit::grpc::bind("127.0.0.1:0").await.unwrap();
        drop(listener);
        let url = SecretString::from(format!("redis://{address}"));
        let store = RedisCodeStore::new(&url, "test").unwrap();
        let member = MemberId::parse("m1").unwrap();

        let result = store.check(&member, &CodeDigest([0; 32]), 5).await;

        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
    }

    #[test]
    fn key_starts_with_prefix() {
        let url = SecretString::from("redis://127.0.0.1:6379");
        let store = RedisCodeStore::new(&url, "countersign:mfa:t1").unwrap();

        let key = store.key(&MemberId::parse("m1").unwrap());

        assert_eq!(key, "countersign:mfa:t1:email_code:m1");
    }

    #[test]
    fn new_refuses_malformed_url() {
        assert!(RedisCodeStore::new(&SecretString::from("http://x"), "p").is_err());
    }
}
