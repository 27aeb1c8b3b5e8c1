//! The code and lockout store in Redis. Each member's emailed codes are
//! one hash, `{prefix}:email_code:{member_id}`: field `c:{hex HMAC}` per
//! outstanding code holding when it lapses, `guesses`, and the send pacing
//! `last_send`, `quota_start`, `quota_count`. Lockouts live in
//! `{prefix}:lockout:{member_id}` (see [`lockout`]).
//!
//! Every operation is one Lua script, so it is atomic, and every script
//! that creates or extends a key sets its TTL in the same step. All times
//! are the caller's `now_ms`, never Redis's clock; the TTLs only clean up
//! and always outlast what they keep.
//!
//! The connection is made on first use and kept by a `ConnectionManager`,
//! which reconnects after Redis comes back. Every operation has a deadline
//! of [`OPERATION_TIMEOUT`], so a dead Redis answers UNAVAILABLE quickly.

use std::time::Duration;

use async_trait::async_trait;
use redis::{
    Client, FromRedisValue, RedisError, Script,
    aio::{ConnectionManager, ConnectionManagerConfig},
};
use secrecy::{ExposeSecret, SecretString};
use tokio::sync::OnceCell;

use countersign_kit::clock::millis;

use super::{BoxError, CodeOutcome, CodeStore, Issued, SendLimits, StoreError};
use crate::{code::CodeDigest, model::MemberId};

mod lockout;

/// Longest a single Redis operation may take, reconnecting included.
pub const OPERATION_TIMEOUT: Duration = Duration::from_secs(2);
/// Deadline of one TCP connection attempt.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(1);
/// Deadline of one command's response.
const RESPONSE_TIMEOUT: Duration = Duration::from_secs(1);

/// KEYS[1] = code key; ARGV = digest, now, ttl, cooldown, quota, quota
/// window (times in ms). Returns {0, expiry} stored, {1, retry after} too
/// soon, {2, retry after} quota spent.
const ISSUE: &str = r"
local key, now = KEYS[1], tonumber(ARGV[2])
local ttl, cooldown = tonumber(ARGV[3]), tonumber(ARGV[4])
local quota, window = tonumber(ARGV[5]), tonumber(ARGV[6])
local state, lapsed, live, latest = {}, {}, 0, 0
local fields = redis.call('HGETALL', key)
for i = 1, #fields, 2 do
  local name, value = fields[i], tonumber(fields[i + 1])
  if string.sub(name, 1, 2) ~= 'c:' then
    state[name] = value
  elseif value > now then
    live, latest = live + 1, math.max(latest, value)
  else
    table.insert(lapsed, name)
  end
end
local wait = 0
if state.last_send then wait = math.max(0, state.last_send + cooldown - now) end
local qstart, qcount = state.quota_start or 0, state.quota_count or 0
if now >= qstart + window then qstart, qcount = now, 0 end
if qcount >= quota then return {2, math.max(wait, qstart + window - now)} end
if wait > 0 then return {1, wait} end
if #lapsed > 0 then redis.call('HDEL', key, unpack(lapsed)) end
local guesses = state.guesses or 0
if live == 0 then guesses = 0 end
local expires = now + ttl
redis.call('HSET', key, 'c:' .. ARGV[1], string.format('%d', expires),
  'guesses', guesses, 'last_send', ARGV[2],
  'quota_start', string.format('%d', qstart), 'quota_count', qcount + 1)
redis.call('PEXPIRE', key, math.max(expires, latest, now + cooldown, qstart + window) - now)
return {0, expires}
";

/// KEYS[1] = code key; ARGV = digest, now ms, max guesses.
/// Returns 1 accepted, 0 wrong, -1 missing, -2 exhausted.
const CHECK: &str = r"
local key, now = KEYS[1], tonumber(ARGV[2])
local codes, live, matched, guesses = {}, 0, false, 0
local fields = redis.call('HGETALL', key)
for i = 1, #fields, 2 do
  local name = fields[i]
  if string.sub(name, 1, 2) == 'c:' then
    table.insert(codes, name)
    if tonumber(fields[i + 1]) > now then
      live = live + 1
      if name == 'c:' .. ARGV[1] then matched = true end
    end
  elseif name == 'guesses' then
    guesses = tonumber(fields[i + 1])
  end
end
if live == 0 then return -1 end
if guesses >= tonumber(ARGV[3]) then return -2 end
if matched then
  redis.call('HDEL', key, unpack(codes))
  redis.call('HSET', key, 'guesses', 0)
  return 1
end
redis.call('HINCRBY', key, 'guesses', 1)
return 0
";

/// KEYS[1] = code key. Deletes every code and the guess count, keeping
/// the send pacing and the key's TTL. Returns the fields deleted.
const FORGET: &str = r"
local gone = {}
for _, name in ipairs(redis.call('HKEYS', KEYS[1])) do
  if string.sub(name, 1, 2) == 'c:' or name == 'guesses' then table.insert(gone, name) end
end
if #gone > 0 then redis.call('HDEL', KEYS[1], unpack(gone)) end
return #gone
";

/// Emailed codes and lockouts in Redis.
pub struct RedisCodeStore {
    client: Client,
    prefix: String,
    connection: OnceCell<ConnectionManager>,
    issue: Script,
    check: Script,
    forget: Script,
    attempt: Script,
    success: Script,
    clear: Script,
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
            forget: Script::new(FORGET),
            attempt: Script::new(lockout::ATTEMPT),
            success: Script::new(lockout::SUCCESS),
            clear: Script::new(lockout::CLEAR),
        })
    }

    /// The key of a member's emailed codes.
    pub fn key(&self, member: &MemberId) -> String {
        format!("{}:email_code:{}", self.prefix, member.as_str())
    }

    /// The key of a member's failure count and lock.
    pub fn lockout_key(&self, member: &MemberId) -> String {
        format!("{}:lockout:{}", self.prefix, member.as_str())
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

    async fn run<T: FromRedisValue>(
        &self,
        script: &Script,
        key: String,
        args: &[String],
    ) -> Result<T, StoreError> {
        let call = async {
            let mut connection = self.connection().await?;
            let mut invocation = script.key(key);
            for arg in args {
                invocation.arg(arg);
            }
            invocation.invoke_async::<T>(&mut connection).await
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

fn unexpected(reply: i64) -> StoreError {
    StoreError::Failed(Box::new(UnexpectedReply(reply)))
}

#[async_trait]
impl CodeStore for RedisCodeStore {
    async fn issue(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        limits: &SendLimits,
        now_ms: i64,
    ) -> Result<Issued, StoreError> {
        let args = [
            digest.to_hex(),
            now_ms.to_string(),
            millis(limits.ttl).max(1).to_string(),
            millis(limits.cooldown).to_string(),
            limits.quota.to_string(),
            millis(limits.quota_window).max(1).to_string(),
        ];
        let (status, ms): (i64, i64) = self.run(&self.issue, self.key(member), &args).await?;
        match status {
            0 => Ok(Issued::Stored { expires_at_ms: ms }),
            1 => Ok(Issued::TooSoon { retry_after_ms: ms }),
            2 => Ok(Issued::QuotaSpent { retry_after_ms: ms }),
            other => Err(unexpected(other)),
        }
    }

    async fn check(
        &self,
        member: &MemberId,
        digest: &CodeDigest,
        max_guesses: u32,
        now_ms: i64,
    ) -> Result<CodeOutcome, StoreError> {
        let args = [digest.to_hex(), now_ms.to_string(), max_guesses.to_string()];
        match self.run(&self.check, self.key(member), &args).await? {
            1 => Ok(CodeOutcome::Accepted),
            0 => Ok(CodeOutcome::Wrong),
            -1 => Ok(CodeOutcome::Missing),
            -2 => Ok(CodeOutcome::Exhausted),
            other => Err(unexpected(other)),
        }
    }

    async fn forget_codes(&self, member: &MemberId) -> Result<(), StoreError> {
        let _: i64 = self.run(&self.forget, self.key(member), &[]).await?;
        Ok(())
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

        let result = store.check(&member, &CodeDigest([0; 32]), 5, 0).await;

        assert!(
            matches!(result, Err(StoreError::Unavailable(_))),
            "{result:?}"
        );
    }

    /// A store under the prefix `countersign:mfa:t1`; it connects lazily.
    fn prefixed_store() -> RedisCodeStore {
        let url = SecretString::from("redis://127.0.0.1:6379");
        RedisCodeStore::new(&url, "countersign:mfa:t1").unwrap()
    }

    #[test]
    fn key_starts_with_prefix() {
        let store = prefixed_store();

        let key = store.key(&MemberId::parse("m1").unwrap());

        assert_eq!(key, "countersign:mfa:t1:email_code:m1");
    }

    #[test]
    fn lockout_key_starts_with_prefix() {
        let store = prefixed_store();

        let key = store.lockout_key(&MemberId::parse("m1").unwrap());

        assert_eq!(key, "countersign:mfa:t1:lockout:m1");
    }

    #[test]
    fn new_refuses_malformed_url() {
        assert!(RedisCodeStore::new(&SecretString::from("http://x"), "p").is_err());
    }
}
