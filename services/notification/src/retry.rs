//! When to try a failed email again, and when to give up.

use std::time::Duration;

/// Exponential backoff with a cap and an attempt limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Attempts before giving up, at least 1.
    pub max_attempts: u32,
    /// Wait after the first failed attempt.
    pub base: Duration,
    /// Longest wait.
    pub max: Duration,
}

impl RetryPolicy {
    /// The wait before the attempt after failed attempt number `attempt`
    /// (from 1): `base`, then doubling, never above `max`.
    pub fn delay(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(1).min(31);
        self.base
            .checked_mul(1 << doublings)
            .map_or(self.max, |delay| delay.min(self.max))
    }

    /// Whether attempt number `attempt` was the last one allowed.
    pub fn exhausted(&self, attempt: u32) -> bool {
        attempt >= self.max_attempts
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const POLICY: RetryPolicy = RetryPolicy {
        max_attempts: 8,
        base: Duration::from_secs(2),
        max: Duration::from_secs(300),
    };

    #[test]
    fn delay_doubles_from_base_after_each_attempt() {
        let delays: Vec<u64> = (1..=5).map(|a| POLICY.delay(a).as_secs()).collect();

        assert_eq!(delays, vec![2, 4, 8, 16, 32]);
    }

    #[test]
    fn delay_stops_at_cap_without_overflow_when_attempts_many() {
        assert_eq!(POLICY.delay(8), Duration::from_secs(256));
        assert_eq!(POLICY.delay(9), Duration::from_secs(300));
        assert_eq!(POLICY.delay(u32::MAX), Duration::from_secs(300));
    }

    #[test]
    fn exhausted_only_from_last_allowed_attempt() {
        assert!(!POLICY.exhausted(7));
        assert!(POLICY.exhausted(8));
        assert!(POLICY.exhausted(9));
    }
}
