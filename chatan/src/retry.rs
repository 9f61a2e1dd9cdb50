//! Retrying failed requests: which failures, how often, how long to wait.
//!
//! Retries wrap every generator (built-in or user-written) in the engine, so one policy
//! covers all providers. Only failures that may pass are retried (rate limits, server
//! errors, timeouts, dropped connections, malformed replies); a provider's `Retry-After`
//! is honoured; otherwise the wait doubles per attempt, with jitter so that many rows
//! hitting a rate limit together do not retry in lockstep.

use std::time::Duration;

/// How failed requests are retried.
///
/// ```
/// use chatan::RetryPolicy;
/// use std::time::Duration;
///
/// let patient = RetryPolicy::new().max_attempts(8).base_delay(Duration::from_secs(1));
/// let never = RetryPolicy::none();
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    max_attempts: u32,
    base_delay: Duration,
    max_delay: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            max_attempts: 4,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Four attempts in all, waits from 0.5 s doubling up to 30 s.
    pub fn new() -> Self {
        RetryPolicy::default()
    }

    /// One attempt: failures are reported at once.
    pub fn none() -> Self {
        RetryPolicy::default().max_attempts(1)
    }

    /// Attempts per request, the first included (at least 1).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = attempts.max(1);
        self
    }

    /// The wait before the first retry; each later one doubles it.
    pub fn base_delay(mut self, delay: Duration) -> Self {
        self.base_delay = delay;
        self
    }

    /// The longest wait, `Retry-After` included.
    pub fn max_delay(mut self, delay: Duration) -> Self {
        self.max_delay = delay;
        self
    }

    /// Attempts per request, the first included.
    pub fn attempts(&self) -> u32 {
        self.max_attempts
    }

    /// The wait after failed attempt number `attempt` (1-based). `jitter` in `[0, 1)`
    /// scales the exponential wait into its upper half; `retry_after` wins when given.
    pub(crate) fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Duration {
        if let Some(wait) = retry_after {
            return wait.min(self.max_delay);
        }
        let doubled = self.base_delay.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        doubled
            .min(self.max_delay)
            .mul_f64(0.5 + 0.5 * jitter.clamp(0.0, 1.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_and_are_capped() {
        let p = RetryPolicy::new()
            .base_delay(Duration::from_millis(100))
            .max_delay(Duration::from_millis(350));
        assert_eq!(p.delay(1, None, 1.0), Duration::from_millis(100));
        assert_eq!(p.delay(2, None, 1.0), Duration::from_millis(200));
        assert_eq!(p.delay(3, None, 1.0), Duration::from_millis(350));
        assert_eq!(p.delay(40, None, 1.0), Duration::from_millis(350));
        assert_eq!(p.delay(2, None, 0.0), Duration::from_millis(100));
    }

    #[test]
    fn retry_after_wins_but_is_capped() {
        let p = RetryPolicy::new().max_delay(Duration::from_secs(5));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2)), 0.3),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(60)), 0.3),
            Duration::from_secs(5)
        );
    }

    #[test]
    fn at_least_one_attempt() {
        assert_eq!(RetryPolicy::new().max_attempts(0).attempts(), 1);
        assert_eq!(RetryPolicy::none().attempts(), 1);
    }
}
