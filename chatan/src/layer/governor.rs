//! A rate governor: one per provider endpoint, shared by every request to it, so that a
//! run keeps to the provider's limits instead of hammering it and backing off cell by
//! cell.
//!
//! * Budgets: requests per minute (requests are spaced evenly, one every `60/rpm` s) and
//!   tokens per minute (a token bucket charged an estimate before each request and set
//!   right by the reply's usage).
//! * The provider's own word: a reply that says no requests or tokens are left
//!   (`x-ratelimit-remaining-*: 0`, `anthropic-ratelimit-*-remaining: 0`) pauses the
//!   endpoint until the window resets.
//! * Adaptive concurrency: a 429 halves the number of requests the endpoint may have in
//!   flight and pauses it for the `Retry-After` (each waiting request then wakes with a
//!   little jitter); every success adds back one slot per slots-in-use successes
//!   (additive increase, multiplicative decrease).
//!
//! A request waiting for the governor holds no concurrency slot: the runner puts the
//! governor outside its [`Limit`](crate::Limit).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use tokio::sync::Notify;

use crate::error::GeneratorError;
use crate::generator::{Generator, Reply, Request};
use crate::rng::{SampleRng, column_key};

/// The shared state of one endpoint's governor; clone it to govern several generators
/// together (two models behind one account's limits).
///
/// ```
/// use chatan::{Generator, Governance};
/// # fn main() -> Result<(), chatan::Error> {
/// let limits = Governance::new().requests_per_minute(500).tokens_per_minute(200_000);
/// let llm = chatan::OpenAi::compatible("http://localhost:8000/v1")?.govern(&limits);
/// # let _ = llm; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Governance(Arc<Shared>);

struct Shared {
    state: Mutex<State>,
    changed: Notify,
}

struct State {
    /// Requests allowed in flight now (adaptive), between 1 and `max_in_flight`.
    limit: f64,
    max_in_flight: usize,
    in_flight: usize,
    paused_until: Option<Instant>,
    /// Requests per second, and when the next one may go.
    request_rate: Option<f64>,
    next_request: Instant,
    /// Tokens per second, what the bucket holds and when it was last filled.
    token_rate: Option<f64>,
    tokens: f64,
    tokens_filled: Instant,
    /// How many 429s paused the endpoint.
    pauses: u64,
}

impl std::fmt::Debug for Governance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Governance")
            .field("limit", &(s.limit as usize))
            .field("in_flight", &s.in_flight)
            .field("requests_per_second", &s.request_rate)
            .field("tokens_per_second", &s.token_rate)
            .field("pauses", &s.pauses)
            .finish()
    }
}

impl Default for Governance {
    fn default() -> Self {
        Governance::new()
    }
}

impl Governance {
    /// No budgets; adaptive concurrency up to 1024 requests in flight; obeys 429s and
    /// rate-limit headers.
    pub fn new() -> Self {
        let now = Instant::now();
        Governance(Arc::new(Shared {
            state: Mutex::new(State {
                limit: 1024.0,
                max_in_flight: 1024,
                in_flight: 0,
                paused_until: None,
                request_rate: None,
                next_request: now,
                token_rate: None,
                tokens: 0.0,
                tokens_filled: now,
                pauses: 0,
            }),
            changed: Notify::new(),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// At most `rpm` requests a minute, spaced evenly.
    pub fn requests_per_minute(self, rpm: u32) -> Self {
        self.lock().request_rate = Some(f64::from(rpm.max(1)) / 60.0);
        self
    }

    /// At most `tpm` tokens (prompt and reply) a minute; a request is charged an estimate
    /// (a token per four characters of prompt, plus its `max_tokens` or 256) until its
    /// reply says what it used.
    pub fn tokens_per_minute(self, tpm: u32) -> Self {
        {
            let mut s = self.lock();
            let rate = f64::from(tpm.max(1)) / 60.0;
            s.token_rate = Some(rate);
            // Start with one second's worth, so a run does not open with a burst.
            s.tokens = rate;
        }
        self
    }

    /// At most `requests` in flight, however well things go (default 1024).
    pub fn max_in_flight(self, requests: usize) -> Self {
        {
            let mut s = self.lock();
            s.max_in_flight = requests.max(1);
            s.limit = s.limit.min(requests.max(1) as f64);
        }
        self
    }

    /// How many requests the endpoint may have in flight now.
    pub fn current_limit(&self) -> usize {
        self.lock().limit as usize
    }

    /// How many times a 429 paused the endpoint.
    pub fn pauses(&self) -> u64 {
        self.lock().pauses
    }

    /// Waits until a request with `estimate` tokens may go, then counts it in flight.
    async fn admit(&self, estimate: f64, jitter: f64) {
        loop {
            let notified = self.0.changed.notified();
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                s.refill(now);
                if let Some(until) = s.paused_until.filter(|&u| u > now) {
                    // Each waiter comes back a little after the pause, not all at once.
                    let spread = (until - now).mul_f64(0.25 * jitter);
                    Some(until - now + spread)
                } else if (s.in_flight as f64) >= s.limit.floor().max(1.0) {
                    None
                } else if s.request_rate.is_some() && s.next_request > now {
                    Some(s.next_request - now)
                } else if let Some(rate) = s.token_rate.filter(|_| s.tokens < estimate) {
                    let capacity = rate * 60.0;
                    if s.tokens >= capacity.min(estimate) {
                        // A request larger than the whole budget goes when the bucket
                        // is full, or it would never go.
                        s.admit(now, estimate);
                        return;
                    }
                    Some(Duration::from_secs_f64(
                        (estimate.min(capacity) - s.tokens) / rate,
                    ))
                } else {
                    s.admit(now, estimate);
                    return;
                }
            };
            match wait {
                Some(wait) => {
                    tokio::select! {
                        _ = tokio::time::sleep(wait) => {}
                        _ = notified => {}
                    }
                }
                None => notified.await,
            }
        }
    }

    /// Takes what a request's outcome says; a pause or a cut in the limit is reported to
    /// the run (the progress bar shows it).
    fn settle(
        &self,
        estimate: f64,
        outcome: &Result<Reply, GeneratorError>,
        request: &Request<'_>,
    ) {
        let mut s = self.lock();
        let now = Instant::now();
        s.in_flight = s.in_flight.saturating_sub(1);
        match outcome {
            Ok(reply) => {
                s.limit = (s.limit + 1.0 / s.limit.max(1.0)).min(s.max_in_flight as f64);
                if let Some(usage) = reply.usage {
                    let used = (usage.input_tokens + usage.output_tokens) as f64;
                    s.tokens += estimate - used;
                }
                if let Some(limits) = reply.limits {
                    let reset = [
                        (limits.requests_remaining, limits.requests_reset),
                        (limits.tokens_remaining, limits.tokens_reset),
                    ]
                    .into_iter()
                    .filter(|(left, _)| *left == Some(0))
                    .filter_map(|(_, reset)| reset)
                    .max();
                    if let Some(reset) = reset {
                        s.pause(now + reset);
                        tracing::info!(?reset, "the provider says its limit is reached; pausing");
                    }
                }
            }
            Err(GeneratorError::RateLimited { retry_after, .. }) => {
                s.limit = (s.limit / 2.0).max(1.0);
                s.pauses += 1;
                let wait = retry_after.unwrap_or(Duration::from_secs(1));
                s.pause(now + wait);
                tracing::info!(
                    limit = s.limit as usize,
                    ?wait,
                    "rate limited; pausing the endpoint"
                );
            }
            Err(_) => {}
        }
        let throttled = s
            .paused_until
            .filter(|&until| until > now)
            .map(|until| (until - now, s.limit as usize));
        drop(s);
        self.0.changed.notify_waiters();
        if let Some((pause, limit)) = throttled {
            request.report(&crate::event::Event::Throttled { pause, limit });
        }
    }
}

impl State {
    fn refill(&mut self, now: Instant) {
        if let Some(rate) = self.token_rate {
            let elapsed = now
                .saturating_duration_since(self.tokens_filled)
                .as_secs_f64();
            self.tokens = (self.tokens + elapsed * rate).min(rate * 60.0);
        }
        self.tokens_filled = now;
    }

    fn admit(&mut self, now: Instant, estimate: f64) {
        self.in_flight += 1;
        if let Some(rate) = self.request_rate {
            self.next_request = self.next_request.max(now) + Duration::from_secs_f64(1.0 / rate);
        }
        if self.token_rate.is_some() {
            self.tokens -= estimate;
        }
    }

    fn pause(&mut self, until: Instant) {
        if self.paused_until.is_none_or(|p| p < until) {
            self.paused_until = Some(until);
        }
    }
}

/// A generator whose requests go through a [`Governance`]; made by
/// [`Generator::govern`](crate::Generator::govern). The runner puts one, with no budgets,
/// around each generator it is given.
#[derive(Debug, Clone)]
pub struct Governor<G> {
    inner: G,
    governance: Governance,
}

impl<G> Governor<G> {
    /// Wraps `inner`.
    pub fn new(inner: G, governance: Governance) -> Self {
        Governor { inner, governance }
    }

    /// The shared state.
    pub fn governance(&self) -> &Governance {
        &self.governance
    }
}

impl<G: Generator> Generator for Governor<G> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        let estimate = (request.prompt.len() as f64 / 4.0).ceil()
            + f64::from(request.max_tokens.unwrap_or(256));
        let jitter = SampleRng::for_cell(
            u64::from(request.attempt),
            request.row as u64,
            column_key(request.column),
        )
        .unit_f64();
        self.governance.admit(estimate, jitter).await;
        let outcome = self.inner.generate(request).await;
        self.governance.settle(estimate, &outcome, request);
        outcome
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> Option<&str> {
        self.inner.model()
    }

    fn concurrency_hint(&self) -> Option<usize> {
        self.inner.concurrency_hint()
    }
}
