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
//! * A first request alone: until the endpoint has answered a request (a reply, or an
//!   answer that shows the key and model work: a 429, a 5xx, a 400 about the request),
//!   one request goes at a time, so a bad key, model or URL costs one request, not a
//!   concurrency's worth (the run halts on the answer: see
//!   [`GeneratorError::is_fatal`]).
//! * A learned pace ([`Pace`]): 429s that follow the rate the run sends at (a provider's
//!   rate limit) hold the endpoint to the rate it lets through; 429s that do not (an
//!   isolated few, at any rate) are left to each request's retry. Halving the requests
//!   in flight at every 429, as congestion control over a lossy link does, collapses a
//!   run that meets one 429 in ten.
//!
//! A request waiting for the governor holds no concurrency slot: the runner puts the
//! governor outside its [`Limit`](crate::Limit).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use tokio::sync::{Notify, Semaphore, SemaphorePermit};

use crate::context::RunContext;
use crate::error::GeneratorError;
use crate::generator::Generator;
use crate::reply::Reply;
use crate::request::Request;
use crate::rng::{SampleRng, column_key};

mod pace;

use self::pace::{PACE_SLACK, Pace};

/// The shared state of one endpoint's governor; clone it to govern several generators
/// together (two models behind one account's limits).
///
/// ```
/// use chatan::layer::Governance;
/// use chatan::layer::GeneratorExt;
/// # fn main() -> Result<(), chatan::Error> {
/// let limits = Governance::new().requests_per_minute(500).tokens_per_minute(200_000);
/// let llm = chatan::OpenAi::compatible("http://localhost:8000/v1")?.govern(&limits);
/// # let _ = llm; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Governance(Arc<Shared>);

struct Shared {
    state: Mutex<State>,
    /// Woken when a wait for time may end sooner: a pause or a pace changed, or tokens
    /// came back. Only requests holding a slot wait on it.
    changed: Notify,
    /// The slots in flight: one until the endpoint opens, then `max_in_flight`. A slot
    /// given back wakes exactly one waiting request (a herd of every waiter woken at each
    /// reply cost each request a lock per waiter, O(concurrency) a request).
    slots: Semaphore,
}

struct State {
    max_in_flight: usize,
    paused_until: Option<Instant>,
    /// The budget's requests per second, if one is set.
    budget_rate: Option<f64>,
    /// When the next request may go (by the budget or the learned pace).
    next_request: Instant,
    /// Tokens per second, what the bucket holds and when it was last filled.
    token_rate: Option<f64>,
    tokens: f64,
    tokens_filled: Instant,
    /// How many times the endpoint was paused or held to a pace by 429s.
    pauses: u64,
    /// Whether the endpoint has answered a request in a way that shows the key and model
    /// work: until then, one at a time (unless the generator's requests go together:
    /// [`Governor`] opens it then).
    opened: bool,
    pace: Pace,
}

impl std::fmt::Debug for Governance {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.lock();
        f.debug_struct("Governance")
            .field("max_in_flight", &s.max_in_flight)
            .field("free_slots", &self.0.slots.available_permits())
            .field("requests_per_second", &s.budget_rate)
            .field("tokens_per_second", &s.token_rate)
            .field("pace", &s.pace.rate)
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
    /// No budgets; up to 1024 requests in flight (one until the endpoint first
    /// answers); obeys the provider's rate-limit headers and the 429s that follow the
    /// rate.
    pub fn new() -> Self {
        let now = Instant::now();
        Governance(Arc::new(Shared {
            state: Mutex::new(State {
                max_in_flight: 1024,
                paused_until: None,
                budget_rate: None,
                next_request: now,
                token_rate: None,
                tokens: 0.0,
                tokens_filled: now,
                pauses: 0,
                opened: false,
                pace: Pace::new(now),
            }),
            changed: Notify::new(),
            slots: Semaphore::new(1),
        }))
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.0.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// At most `rpm` requests a minute, spaced evenly.
    pub fn requests_per_minute(self, rpm: u32) -> Self {
        self.lock().budget_rate = Some(f64::from(rpm.max(1)) / 60.0);
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

    /// At most `requests` in flight (default 1024).
    pub fn max_in_flight(self, requests: usize) -> Self {
        {
            let mut s = self.lock();
            let (was, now) = (s.max_in_flight, requests.max(1));
            s.max_in_flight = now;
            if s.opened {
                if now > was {
                    self.0.slots.add_permits(now - was);
                } else {
                    // Slots in use now go back as they come (forgotten when free).
                    self.0.slots.forget_permits(was - now);
                }
            }
        }
        self
    }

    /// The endpoint has shown that the key and model work: the rest may go.
    fn open(&self, s: &mut State) {
        if !s.opened {
            s.opened = true;
            self.0.slots.add_permits(s.max_in_flight - 1);
        }
    }

    /// How many requests the endpoint may have in flight now: one until it has answered
    /// a request (see [`Governor`]), then [`max_in_flight`](Governance::max_in_flight).
    pub fn current_limit(&self) -> usize {
        let s = self.lock();
        if s.opened { s.max_in_flight } else { 1 }
    }

    /// The requests a second the endpoint is held to, if its 429s were found to follow
    /// the rate (a budget set with
    /// [`requests_per_minute`](Governance::requests_per_minute) is not counted here).
    pub fn current_pace(&self) -> Option<f64> {
        self.lock().pace.rate
    }

    /// How many times 429s paused the endpoint or held it to a pace.
    pub fn pauses(&self) -> u64 {
        self.lock().pauses
    }

    /// Waits until a request with `estimate` tokens may go, then counts it in flight:
    /// its slot, and the pace's epoch it goes in.
    async fn admit(&self, estimate: f64, jitter: f64) -> (SemaphorePermit<'_>, u64) {
        // The semaphore lives as long as the governance and is never closed.
        let slot = self.0.slots.acquire().await.expect("never closed");
        loop {
            let notified = self.0.changed.notified();
            let wait = {
                let mut s = self.lock();
                let now = Instant::now();
                s.refill(now);
                if let Some(until) = s.paused_until.filter(|&u| u > now) {
                    // Each waiter comes back a little after the pause, not all at once.
                    let spread = (until - now).mul_f64(0.25 * jitter);
                    until - now + spread
                } else if s.rate().is_some() && s.next_request > now {
                    s.next_request - now
                } else if let Some(rate) = s.token_rate.filter(|_| s.tokens < estimate) {
                    let capacity = rate * 60.0;
                    if s.tokens >= capacity.min(estimate) {
                        // A request larger than the whole budget goes when the bucket
                        // is full, or it would never go.
                        s.admit(now, estimate);
                        return (slot, s.pace.epoch);
                    }
                    Duration::from_secs_f64((estimate.min(capacity) - s.tokens) / rate)
                } else {
                    s.admit(now, estimate);
                    return (slot, s.pace.epoch);
                }
            };
            tokio::select! {
                _ = tokio::time::sleep(wait) => {}
                _ = notified => {}
            }
        }
    }

    /// Takes what a request's outcome says, and passes it on. A pause or a new pace is
    /// reported to the run (the progress bar shows it).
    fn settle(
        &self,
        estimate: f64,
        epoch: u64,
        outcome: Result<Reply, GeneratorError>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        let mut s = self.lock();
        let now = Instant::now();
        let before = (s.pace.rate, s.paused_until);
        let outcome = match outcome {
            Ok(reply) => {
                self.open(&mut s);
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
                if let Some(wait) = s.pace.count(now, epoch, None) {
                    s.hold(now, wait);
                }
                Ok(reply)
            }
            Err(error) => {
                // A provider's answer that is not a reply still shows the key and model
                // work (a 429, a 5xx, a 400 about this request): the rest may go.
                // Nothing came back, or an answer every request would get: one at a
                // time still.
                let answered = matches!(
                    error.cause(),
                    GeneratorError::RateLimited { .. }
                        | GeneratorError::Server { .. }
                        | GeneratorError::Rejected { .. }
                        | GeneratorError::Malformed(_)
                        | GeneratorError::TooLarge { .. }
                );
                if answered && !error.is_fatal() {
                    self.open(&mut s);
                }
                if let GeneratorError::RateLimited { retry_after, .. } = error.cause()
                    && let Some(wait) = s.pace.count(now, epoch, Some(*retry_after))
                {
                    s.hold(now, wait);
                }
                Err(error)
            }
        };
        let throttled = (before != (s.pace.rate, s.paused_until)).then(|| {
            let pause = s
                .paused_until
                .map_or(Duration::ZERO, |until| until.saturating_duration_since(now));
            (pause, s.pace.rate)
        });
        // Tokens given back, or a changed pause or pace, may end a wait for time sooner;
        // a slot given back wakes a waiter by itself.
        let sooner = throttled.is_some() || s.token_rate.is_some();
        drop(s);
        if sooner {
            self.0.changed.notify_waiters();
        }
        if let Some((pause, pace)) = throttled {
            run.report(&crate::event::Event::Throttled { pause, pace });
        }
        outcome
    }
}

impl State {
    /// The pace requests go at: the budget's or the learned one, whichever is slower.
    fn rate(&self) -> Option<f64> {
        match (self.budget_rate, self.pace.rate) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

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
        if let Some(rate) = self.rate() {
            // Up to 20 ms of requests may go together after a lull: a pace of hundreds
            // a second is not kept by sleeping less than the timer's millisecond.
            let lull = now.checked_sub(PACE_SLACK).unwrap_or(now);
            self.next_request = self.next_request.max(lull) + Duration::from_secs_f64(1.0 / rate);
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

    /// 429s that follow the rate held the endpoint to a (new) pace, after a pause of
    /// `wait` (the longest `Retry-After` they sent).
    fn hold(&mut self, now: Instant, wait: Duration) {
        self.pauses += 1;
        if wait > Duration::ZERO {
            self.pause(now + wait);
        }
        tracing::info!(
            pace = self.pace.rate,
            ?wait,
            "rate limited; holding the endpoint to the rate it answers"
        );
    }
}

/// A generator whose requests go through a [`Governance`]; made by
/// [`GeneratorExt::govern`](super::GeneratorExt::govern). The runner puts one, with no budgets,
/// around each generator it is given.
#[derive(Debug, Clone)]
pub struct Governor<G> {
    inner: G,
    governance: Governance,
}

impl<G> Governor<G> {
    /// The wrapped generator.
    pub fn inner(&self) -> &G {
        &self.inner
    }

    /// Wraps `inner`. A generator that asks for a concurrency of its own
    /// ([`Generator::concurrency_hint`], as a provider [`Batch`](crate::provider::Batch)
    /// does: its requests go together, in one batch) is not sent a first request alone.
    pub fn new(inner: G, governance: Governance) -> Self
    where
        G: Generator,
    {
        if inner.concurrency_hint().is_some() {
            let mut s = governance.lock();
            governance.open(&mut s);
        }
        Governor { inner, governance }
    }

    /// The shared state.
    pub fn governance(&self) -> &Governance {
        &self.governance
    }
}

impl<G: Generator> Generator for Governor<G> {
    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        let request = self.inner.resolve(request);
        let estimate = (request.prompt.len() as f64 / 4.0).ceil()
            + f64::from(request.options.max_tokens.unwrap_or(256));
        let jitter = SampleRng::for_cell(
            u64::from(request.attempt),
            request.row as u64,
            column_key(request.column),
        )
        .unit_f64();
        let (slot, epoch) = self.governance.admit(estimate, jitter).await;
        let outcome = self.inner.generate_in(&request, run).await;
        let outcome = self.governance.settle(estimate, epoch, outcome, run);
        drop(slot);
        outcome
    }

    crate::layer::passes_through!(inner);
}

#[cfg(test)]
mod tests {
    use super::pace::{HELD_PERIOD, MIN_RATE};
    use super::*;

    /// Feeds `pace` `n` outcomes spread evenly over `seconds` from `start`, those for
    /// which `refused` says so refused; the last pause it asked for.
    fn feed(
        pace: &mut Pace,
        start: &mut Instant,
        seconds: f64,
        n: u32,
        refused: impl Fn(u32) -> bool,
    ) -> Option<Duration> {
        let step = Duration::from_secs_f64(seconds / f64::from(n));
        let mut asked = None;
        for i in 0..n {
            *start += step;
            let outcome = refused(i).then_some(Some(Duration::ZERO));
            // Answered at once: sent in the pace's current epoch.
            let epoch = pace.epoch;
            if let Some(wait) = pace.count(*start, epoch, outcome) {
                asked = Some(wait);
            }
        }
        asked
    }

    /// Answers every request with `error`.
    struct Failing(GeneratorError);

    impl Generator for Failing {
        async fn generate(&self, _: &Request<'_>) -> Result<Reply, GeneratorError> {
            Err(self.0.clone())
        }
    }

    #[tokio::test]
    async fn the_first_request_goes_alone_until_the_endpoint_has_answered() {
        let limited = GeneratorError::RateLimited {
            retry_after: None,
            message: "slow down".into(),
        };
        let bad_key = GeneratorError::Rejected {
            status: 401,
            message: "no".into(),
        };
        let refused = GeneratorError::Connection("refused".into());
        for (error, opens) in [(limited, true), (bad_key, false), (refused, false)] {
            let governor =
                Governor::new(Failing(error.clone()), Governance::new().max_in_flight(8));
            assert_eq!(governor.governance().current_limit(), 1);
            let _ = governor.generate(&Request::new("x")).await;
            // A 429 shows the key and model work; a 401, or no answer at all, does not.
            let limit = if opens { 8 } else { 1 };
            assert_eq!(governor.governance().current_limit(), limit, "{error}");
        }
    }

    #[test]
    fn isolated_429s_do_not_hold_the_endpoint_for_long() {
        let mut now = Instant::now();
        let mut pace = Pace::new(now);
        // One in ten refused, at 2000 requests a second: held at first, with no pause
        // (few are refused)...
        let pause = feed(&mut pace, &mut now, 0.5001, 200, |i| i % 10 == 0);
        assert_eq!(pause, Some(Duration::ZERO));
        assert!(pace.rate.is_some());
        // ...then the same share at the slower pace: not a rate limit. Free again, and
        // the share is the noise a later period must exceed.
        feed(&mut pace, &mut now, 1.0001, 100, |i| i % 10 == 0);
        assert_eq!(pace.rate, None);
        assert!((pace.noise - 0.1).abs() < 0.01, "{}", pace.noise);
        for _ in 0..20 {
            feed(&mut pace, &mut now, 0.5001, 200, |i| i % 10 == 0);
            assert_eq!(pace.rate, None);
        }
    }

    #[test]
    fn every_request_refused_is_not_a_rate_to_keep_to() {
        let mut now = Instant::now();
        let mut pace = Pace::new(now);
        // Nothing got through: no pace to keep to.
        let pause = feed(&mut pace, &mut now, 0.5001, 100, |_| true);
        assert_eq!(pause, None);
        assert_eq!(pace.rate, None);
        // Refused at the slowest pace as at any: released.
        feed(&mut pace, &mut now, 0.5001, 100, |i| i % 50 != 0);
        assert!(pace.rate.is_some());
        for _ in 0..8 {
            feed(&mut pace, &mut now, 2.0001, 2, |_| true);
        }
        assert_eq!(pace.rate, None, "sending slower changed nothing");
    }

    /// A run's first burst against a limiter of 50 a second: 50 answered at once, then
    /// refusals; judged as soon as most are refused. The pace it leaves.
    fn burst(pace: &mut Pace, now: &mut Instant) -> Option<Duration> {
        feed(pace, now, 0.05, 101, |i| i >= 50)
    }

    #[test]
    fn a_limit_is_learned_from_what_gets_through_after_its_window_empties() {
        let mut now = Instant::now();
        let mut pace = Pace::new(now);
        // The burst is taken as a second's worth: held to 45 a second, after a pause of
        // a window so the limiter's empties.
        let pause = burst(&mut pace, &mut now);
        assert_eq!(pause, Some(HELD_PERIOD));
        let first = pace.rate.unwrap();
        assert!((first - 45.0).abs() < 1e-9, "{first}");
        now += HELD_PERIOD;
        // None refused at 45 a second: it knows little yet, and grows by a fifth...
        feed(&mut pace, &mut now, 1.0001, 45, |_| false);
        assert!((pace.rate.unwrap() - first * 1.2).abs() < 1e-9);
        // ...until some are refused: 90% of what got through, no pause...
        let pause = feed(&mut pace, &mut now, 1.0001, 54, |i| i >= 50);
        assert_eq!(pause, None);
        let held = pace.rate.unwrap();
        assert!((held - 0.9 * 50.0).abs() < 1.5, "{held}");
        // ...then 1% a clean second, and 90% of the pace when some are refused again.
        feed(&mut pace, &mut now, 1.0001, 45, |_| false);
        assert!((pace.rate.unwrap() - held * 1.01).abs() < 1e-9);
        let before = pace.rate.unwrap();
        let pause = feed(&mut pace, &mut now, 1.0001, 52, |i| i % 26 == 0);
        assert_eq!(pause, None);
        assert!((pace.rate.unwrap() - 0.9 * before).abs() < 1e-9);
        // A run that sends at under half the pace no longer needs it.
        feed(&mut pace, &mut now, 4.0001, 20, |_| false);
        assert_eq!(pace.rate, None);
    }

    #[test]
    fn a_bursts_answers_that_come_back_after_its_refusals_still_count() {
        let mut now = Instant::now();
        let mut pace = Pace::new(now);
        // 100 sent at once to a limiter of 50 a second: its 50 refusals come back at
        // once, its 50 answers after the model's latency. Judged when refusals outnumber
        // the 9 answers back so far: 90% of those 9 a second, paused a window...
        let epoch = pace.epoch;
        let mut pause = None;
        for i in 0..19 {
            now += Duration::from_millis(1);
            let outcome = (i >= 9).then_some(Some(Duration::ZERO));
            pause = pause.or(pace.count(now, epoch, outcome));
        }
        assert_eq!(pause, Some(HELD_PERIOD));
        assert!((pace.rate.unwrap() - 8.1).abs() < 1e-9, "{:?}", pace.rate);
        // ...then the other 41 answers come back during the pause: the burst let 50
        // through, and the hold is 90% of that.
        for _ in 0..41 {
            now += Duration::from_millis(5);
            assert_eq!(pace.count(now, epoch, None), None);
        }
        assert!((pace.rate.unwrap() - 45.0).abs() < 1e-9, "{:?}", pace.rate);
        // Late refusals of the burst, and anything once the next verdict is in, change
        // nothing.
        pace.count(now, epoch, Some(None));
        assert!((pace.rate.unwrap() - 45.0).abs() < 1e-9);
        now += HELD_PERIOD;
        feed(&mut pace, &mut now, 1.0001, 45, |_| false);
        let grown = pace.rate.unwrap();
        assert!((grown - 54.0).abs() < 1e-9, "{grown}");
        pace.count(now, epoch, None);
        assert_eq!(pace.rate, Some(grown));
    }

    #[test]
    fn far_over_a_limit_the_hold_pauses_a_window_and_takes_what_got_through() {
        let mut now = Instant::now();
        let mut pace = Pace::new(now);
        burst(&mut pace, &mut now);
        now += HELD_PERIOD;
        // At 45 a second, a limiter of 10: most refused. 90% of what got through, after
        // a pause of a window.
        let pause = feed(&mut pace, &mut now, 1.0001, 45, |i| i >= 10);
        assert_eq!(pause, Some(HELD_PERIOD));
        assert!((pace.rate.unwrap() - 9.0).abs() < 0.3, "{:?}", pace.rate);
    }

    #[test]
    fn a_hold_that_knows_nothing_of_the_limit_grows_fast() {
        let mut now = Instant::now();
        let mut pace = Pace::new(now);
        // Held, then a period where nothing got through: the slowest pace, grown by a
        // fifth a period while none is refused.
        feed(&mut pace, &mut now, 0.5001, 100, |i| i % 10 == 0);
        feed(&mut pace, &mut now, 1.0001, 30, |_| true);
        assert_eq!(pace.rate, Some(MIN_RATE));
        assert!(pace.growing);
        feed(&mut pace, &mut now, 2.0001, 16, |_| false);
        assert!((pace.rate.unwrap() - MIN_RATE * 1.2).abs() < 1e-9);
    }
}
