//! Lockouts in Redis: one hash per member, `{prefix}:lockout:{member_id}`,
//! with `failures`, `window_start` and `locked_until` (ms).

use async_trait::async_trait;

use countersign_kit::clock::millis;

use super::{RedisCodeStore, unexpected};
use crate::{
    model::MemberId,
    store::{LockState, LockoutPolicy, LockoutStore, StoreError},
};

/// KEYS[1] = lockout key; ARGV = now, threshold, window, lock (times in
/// ms), and `begin` or `fail`. Returns {0, 0} open, {1, until} locked,
/// {2, until} lock started by this call.
pub(super) const ATTEMPT: &str = r"
local key, now = KEYS[1], tonumber(ARGV[1])
local threshold, window, lock = tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local s = redis.call('HMGET', key, 'failures', 'window_start', 'locked_until')
local failures, start = tonumber(s[1]) or 0, tonumber(s[2]) or 0
local locked = tonumber(s[3]) or 0
if locked > now then return {1, locked} end
local open = failures > 0 and start + window > now
if ARGV[5] == 'fail' then
  if not open or failures < threshold then return {0, 0} end
else
  if not open then failures, start = 0, now end
  if failures < threshold then
    redis.call('HSET', key, 'failures', failures + 1, 'window_start', string.format('%d', start))
    redis.call('PEXPIRE', key, math.max(start + window, locked) - now)
    return {0, 0}
  end
end
redis.call('HSET', key, 'failures', 0, 'locked_until', string.format('%d', now + lock))
redis.call('PEXPIRE', key, lock)
return {2, now + lock}
";

/// KEYS[1] = lockout key. Clears the failure count of an existing key.
pub(super) const SUCCESS: &str = r"
if redis.call('EXISTS', KEYS[1]) == 1 then
  redis.call('HSET', KEYS[1], 'failures', 0)
end
return 1
";

/// KEYS[1] = lockout key. Deletes it, count and lock alike.
pub(super) const CLEAR: &str = "return redis.call('DEL', KEYS[1])";

impl RedisCodeStore {
    async fn attempt(
        &self,
        member: &MemberId,
        policy: &LockoutPolicy,
        now_ms: i64,
        mode: &str,
    ) -> Result<LockState, StoreError> {
        let args = [
            now_ms.to_string(),
            policy.threshold.to_string(),
            millis(policy.window).max(1).to_string(),
            millis(policy.duration).max(1).to_string(),
            mode.to_string(),
        ];
        let key = self.lockout_key(member);
        let (status, until_ms): (i64, i64) = self.run(&self.attempt, key, &args).await?;
        match status {
            0 => Ok(LockState::Open),
            1 => Ok(LockState::Locked { until_ms }),
            2 => Ok(LockState::Started { until_ms }),
            other => Err(unexpected(other)),
        }
    }
}

#[async_trait]
impl LockoutStore for RedisCodeStore {
    async fn begin_attempt(
        &self,
        member: &MemberId,
        policy: &LockoutPolicy,
        now_ms: i64,
    ) -> Result<LockState, StoreError> {
        self.attempt(member, policy, now_ms, "begin").await
    }

    async fn record_failure(
        &self,
        member: &MemberId,
        policy: &LockoutPolicy,
        now_ms: i64,
    ) -> Result<LockState, StoreError> {
        self.attempt(member, policy, now_ms, "fail").await
    }

    async fn record_success(&self, member: &MemberId) -> Result<(), StoreError> {
        let _: i64 = self
            .run(&self.success, self.lockout_key(member), &[])
            .await?;
        Ok(())
    }

    async fn clear(&self, member: &MemberId) -> Result<(), StoreError> {
        let _: i64 = self.run(&self.clear, self.lockout_key(member), &[]).await?;
        Ok(())
    }
}
