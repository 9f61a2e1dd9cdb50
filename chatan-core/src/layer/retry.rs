//! Retrying failed requests: which failures, how often, how long to wait.
//!
//! [`Retry`] wraps any generator, built-in or user-written. Only failures that may pass
//! are retried (rate limits, server errors, timeouts, dropped connections, malformed
//! replies); a provider's `Retry-After` is honoured; otherwise the wait doubles per
//! attempt, with jitter so that many rows hitting a rate limit together do not retry in
//! lockstep. The jitter is drawn from the request's row, column and attempt, so a run's
//! waits are reproducible and need no shared state.

use std::time::Duration;

use crate::context::RunContext;
use crate::error::GeneratorError;
use crate::event::Event;
use crate::generator::Generator;
use crate::reply::Reply;
use crate::request::Request;
use crate::rng::{SampleRng, column_key};

/// How many failures in a row of one request are retried after the provider's own
/// `Retry-After` alone, before the backoff applies too (see [`RetryPolicy`]).
pub(crate) const TOLD: u32 = 4;

/// A generator whose retryable failures are retried by a [`RetryPolicy`]; made by
/// [`GeneratorExt::retry`](super::GeneratorExt::retry).
///
/// Every retry is reported as [`Event::Retrying`] and logged as a warning. When the
/// policy's attempts run out, the last failure comes back as
/// [`GeneratorError::Exhausted`], which no outer `Retry` retries again.
#[derive(Debug, Clone)]
pub struct Retry<G> {
    inner: G,
    policy: RetryPolicy,
}

impl<G> Retry<G> {
    /// Wraps `inner`.
    pub fn new(inner: G, policy: RetryPolicy) -> Self {
        Retry { inner, policy }
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
    }

    /// The wrapped generator.
    pub fn inner(&self) -> &G {
        &self.inner
    }
}

impl<G: Generator> Generator for Retry<G> {
    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        let mut made = 0u32;
        loop {
            let attempt = request.attempt.saturating_add(made);
            let sent = request.attempt(attempt);
            match self.inner.generate_in(&sent, run).await {
                Ok(mut reply) => {
                    reply.attempts = reply.attempts.saturating_add(made);
                    return Ok(reply);
                }
                Err(error) => {
                    made = made.saturating_add(error.attempts());
                    if !error.is_retryable() {
                        return Err(error.with_attempts(made));
                    }
                    if made >= self.policy.max_attempts {
                        return Err(GeneratorError::Exhausted {
                            attempts: made,
                            cause: Box::new(error),
                        });
                    }
                    let jitter = SampleRng::for_cell(
                        attempt.into(),
                        request.row as u64,
                        column_key(request.column),
                    )
                    .unit_f64();
                    let wait = self.policy.delay(made, error.retry_after(), jitter);
                    tracing::warn!(
                        row = request.row,
                        column = request.column,
                        attempt,
                        error = %error,
                        ?wait,
                        "request failed; retrying"
                    );
                    run.report(&Event::Retrying {
                        row: request.row,
                        column: request.column,
                        attempt,
                        error: &error,
                        wait,
                    });
                    tokio::time::sleep(wait).await;
                }
            }
        }
    }

    crate::layer::passes_through!(inner);
}

/// How failed requests are retried: attempts, and the waits between them.
///
/// (How many times a question is asked when its replies do not parse is the runner's
/// [`max_asks`](crate::Runner::max_asks), 4 by default.)
///
/// ```
/// use chatan::layer::RetryPolicy;
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
            max_attempts: 8,
            base_delay: Duration::from_millis(100),
            max_delay: Duration::from_secs(30),
        }
    }
}

impl RetryPolicy {
    /// Eight attempts in all, waits from 0.1 s doubling up to 30 s (6 to 13 s before a
    /// cell gives up on a server that keeps failing, so a dead endpoint is given up on
    /// in seconds). Eight because a provider failing one request in five (rate limits,
    /// 5xx, drops together) then fails a cell about twice in a million, so a run of
    /// thousands of cells finishes; with four it would fail one cell in 800.
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
    /// scales the exponential wait into its upper half. A provider's `retry_after` (a
    /// 429's `Retry-After`, or the reset of the limit its headers say is used up) is the
    /// whole answer for the first four failures — a 429 that says "now" is retried
    /// now, one that says "in 2 s" in 2 s, stretched by up to a quarter by the jitter so
    /// cells told the same do not all come back at once — and a floor after that: the
    /// wait is the longer of the two, so a cell refused again and again backs off
    /// however often it is told "now". (Whether 429s follow the run's rate, and the
    /// endpoint must be held to a pace, is the [`Governor`](crate::Governor)'s to judge:
    /// isolated 429s then cost a request each, not a wait.)
    pub(crate) fn delay(
        &self,
        attempt: u32,
        retry_after: Option<Duration>,
        jitter: f64,
    ) -> Duration {
        let jitter = jitter.clamp(0.0, 1.0);
        let doubled = self.base_delay.saturating_mul(
            1u32.checked_shl(attempt.saturating_sub(1))
                .unwrap_or(u32::MAX),
        );
        let backoff = doubled.min(self.max_delay).mul_f64(0.5 + 0.5 * jitter);
        let told = |wait: Duration| wait.mul_f64(1.0 + 0.25 * jitter).min(self.max_delay);
        match retry_after {
            Some(wait) if attempt <= TOLD => told(wait),
            Some(wait) if wait > backoff => told(wait),
            _ => backoff,
        }
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
    fn retry_after_is_a_floor_with_jitter_and_is_capped() {
        let p = RetryPolicy::new().max_delay(Duration::from_secs(5));
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2)), 0.0),
            Duration::from_secs(2)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(2)), 0.8),
            Duration::from_millis(2400)
        );
        assert_eq!(
            p.delay(1, Some(Duration::from_secs(60)), 0.3),
            Duration::from_secs(5)
        );
        // `Retry-After: 0` is retried at once, four times; then it backs off.
        assert_eq!(p.delay(1, Some(Duration::ZERO), 0.7), Duration::ZERO);
        assert_eq!(p.delay(TOLD, Some(Duration::ZERO), 0.7), Duration::ZERO);
        assert_eq!(
            p.delay(TOLD + 1, Some(Duration::ZERO), 1.0),
            Duration::from_millis(1600)
        );
        // A short `Retry-After` after a first failure is obeyed as it is, not raised
        // to the backoff.
        assert_eq!(
            p.delay(1, Some(Duration::from_millis(30)), 0.0),
            Duration::from_millis(30)
        );
    }

    #[test]
    fn at_least_one_attempt() {
        assert_eq!(RetryPolicy::new().max_attempts(0).attempts(), 1);
        assert_eq!(RetryPolicy::none().attempts(), 1);
    }
}
