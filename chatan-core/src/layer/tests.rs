//! The layers on a paused clock: a scripted generator stands in for the provider, and
//! tokio's clock moves only when every task waits, so what each layer does with time (a
//! budget's spacing, a `Retry-After`, an endpoint's time out) is measured exactly and
//! takes no real time.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::{Fleet, GeneratorExt, Governance, Governor, ReplyCache};
use crate::error::GeneratorError;
use crate::generator::Generator;
use crate::reply::{RateLimits, Reply};
use crate::request::Request;

/// A provider that answers from a script (then `"ok"`), after `latency`, noting when
/// each request arrived and how many were in flight at most.
struct Script {
    latency: Duration,
    answers: Mutex<VecDeque<Result<Reply, GeneratorError>>>,
    arrivals: Mutex<Vec<Instant>>,
    in_flight: AtomicUsize,
    most_in_flight: AtomicUsize,
}

impl Script {
    fn new(latency: Duration) -> Self {
        Script {
            latency,
            answers: Mutex::new(VecDeque::new()),
            arrivals: Mutex::new(Vec::new()),
            in_flight: AtomicUsize::new(0),
            most_in_flight: AtomicUsize::new(0),
        }
    }

    fn then(self, answer: Result<Reply, GeneratorError>) -> Self {
        self.answers.lock().unwrap().push_back(answer);
        self
    }

    fn calls(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    /// When each request arrived, from `start`.
    fn arrivals_since(&self, start: Instant) -> Vec<Duration> {
        let arrivals = self.arrivals.lock().unwrap();
        arrivals.iter().map(|t| t.duration_since(start)).collect()
    }
}

impl Generator for Script {
    async fn generate(&self, _request: &Request<'_>) -> Result<Reply, GeneratorError> {
        self.arrivals.lock().unwrap().push(Instant::now());
        let now = self.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
        self.most_in_flight.fetch_max(now, Ordering::SeqCst);
        tokio::time::sleep(self.latency).await;
        self.in_flight.fetch_sub(1, Ordering::SeqCst);
        let next = self.answers.lock().unwrap().pop_front();
        next.unwrap_or_else(|| Ok(Reply::from("ok")))
    }
}

fn rate_limited(after: Duration) -> Result<Reply, GeneratorError> {
    Err(GeneratorError::RateLimited {
        retry_after: Some(after),
        message: "slow down".into(),
    })
}

fn refused_connection() -> Result<Reply, GeneratorError> {
    Err(GeneratorError::Connection("connection refused".into()))
}

#[tokio::test(start_paused = true)]
async fn a_governor_spaces_requests_by_its_budget() {
    let governor = Governor::new(
        Script::new(Duration::from_millis(10)),
        Governance::new().requests_per_minute(120),
    );
    let start = Instant::now();
    let request = Request::new("hi");
    let sent = (0..6).map(|_| governor.generate(&request));
    for reply in futures::future::join_all(sent).await {
        reply.unwrap();
    }
    let arrivals = governor.inner().arrivals_since(start);
    assert_eq!(arrivals.len(), 6);
    // 120 a minute: one every half second, however many wait.
    for pair in arrivals.windows(2) {
        assert!(
            pair[1] - pair[0] >= Duration::from_millis(495),
            "requests {arrivals:?} closer than half a second"
        );
    }
    assert!(arrivals[5] >= Duration::from_millis(2_475), "{arrivals:?}");
}

#[tokio::test(start_paused = true)]
async fn a_governor_pauses_when_the_provider_says_its_limit_is_reached() {
    let mut last = Reply::from("the last one");
    last.limits = Some(RateLimits {
        requests_remaining: Some(0),
        requests_reset: Some(Duration::from_secs(3)),
        ..RateLimits::default()
    });
    let governor = Governor::new(
        Script::new(Duration::from_millis(10)).then(Ok(last)),
        Governance::new(),
    );
    let start = Instant::now();
    let request = Request::new("hi");
    governor.generate(&request).await.unwrap();
    governor.generate(&request).await.unwrap();
    let arrivals = governor.inner().arrivals_since(start);
    assert!(
        arrivals[1] >= Duration::from_secs(3),
        "the second request went at {:?}, before the window reset",
        arrivals[1]
    );
}

#[tokio::test(start_paused = true)]
async fn an_isolated_429_does_not_pause_the_endpoint() {
    let governance = Governance::new();
    let governor = Governor::new(
        Script::new(Duration::from_millis(10)).then(rate_limited(Duration::from_secs(3))),
        governance.clone(),
    );
    let start = Instant::now();
    let request = Request::new("hi");
    // The refused request's own retry waits its Retry-After; the endpoint goes on.
    let refused = governor.generate(&request).await.unwrap_err();
    assert_eq!(refused.retry_after(), Some(Duration::from_secs(3)));
    governor.generate(&request).await.unwrap();
    let arrivals = governor.inner().arrivals_since(start);
    assert!(arrivals[1] < Duration::from_secs(1), "{arrivals:?}");
    assert_eq!(governance.pauses(), 0);
    assert_eq!(governance.current_pace(), None);
}

#[tokio::test(start_paused = true)]
async fn a_governor_sends_the_first_request_alone() {
    let governor = Governor::new(Script::new(Duration::from_secs(1)), Governance::new());
    let start = Instant::now();
    let request = Request::new("hi");
    let sent = (0..4).map(|_| governor.generate(&request));
    for reply in futures::future::join_all(sent).await {
        reply.unwrap();
    }
    let script = governor.inner();
    let arrivals = script.arrivals_since(start);
    // A bad key or model would have cost one request, not four.
    assert_eq!(arrivals[0], Duration::ZERO);
    assert!(
        arrivals[1..].iter().all(|t| *t >= Duration::from_secs(1)),
        "{arrivals:?}"
    );
    // Once it answered, the rest went together.
    assert_eq!(script.most_in_flight.load(Ordering::SeqCst), 3);
}

#[tokio::test(start_paused = true)]
async fn a_fleet_takes_a_failing_endpoint_out_and_probes_it_back() {
    let down = Script::new(Duration::from_millis(10))
        .then(refused_connection())
        .then(refused_connection());
    let up = Script::new(Duration::from_millis(10));
    let fleet = Fleet::new([down, up])
        .eject_after(2)
        .eject_for(Duration::from_secs(5));
    let request = Request::new("hi");
    // Every request is answered: a refused connection goes on to the other endpoint.
    for _ in 0..6 {
        let reply = fleet.generate(&request).await.unwrap();
        assert_eq!(reply.text, "ok");
    }
    let endpoints = fleet.endpoints();
    assert_eq!(endpoints[0].failures, 2);
    assert_eq!(endpoints[0].ejections, 1);
    assert!(endpoints[0].out, "two failures in a row take it out");
    let sent_while_out = endpoints[0].requests;
    fleet.generate(&request).await.unwrap();
    assert_eq!(
        fleet.endpoints()[0].requests,
        sent_while_out,
        "nothing goes to an endpoint that is out"
    );
    // After its time out, one request probes it; it answers, and it is back.
    tokio::time::sleep(Duration::from_secs(5)).await;
    fleet.generate(&request).await.unwrap();
    let endpoints = fleet.endpoints();
    assert_eq!(endpoints[0].requests, sent_while_out + 1);
    assert!(!endpoints[0].out);
}

#[tokio::test(start_paused = true)]
async fn a_fleet_with_every_endpoint_down_counts_every_request() {
    let fleet = Fleet::new([
        Script::new(Duration::from_millis(10)).then(refused_connection()),
        Script::new(Duration::from_millis(10)).then(refused_connection()),
    ]);
    let error = fleet.generate(&Request::new("hi")).await.unwrap_err();
    assert_eq!(error.attempts(), 2, "{error}");
    assert!(error.is_retryable(), "the next attempt may find one back");
}

/// A cache file of its own under the target directory, empty.
fn cache_file(name: &str) -> std::path::PathBuf {
    let dir =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-scratch/layers");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test(start_paused = true)]
async fn a_cached_reply_costs_no_request_and_no_time() {
    let path = cache_file("hit.jsonl");
    let cache = ReplyCache::open(&path).unwrap();
    let cached = Script::new(Duration::from_secs(2)).cache(&cache);
    let request = Request::new("hi").cell(3, "answer");
    let first = cached.generate(&request).await.unwrap();
    assert_eq!(first.attempts, 1);
    let start = Instant::now();
    let again = cached.generate(&request).await.unwrap();
    assert_eq!(start.elapsed(), Duration::ZERO, "a hit waits for nothing");
    assert_eq!((again.text.as_str(), again.attempts), ("ok", 0));
    assert_eq!((cache.hits(), cache.misses()), (1, 1));
    // Another row, another attempt or another temperature is another question.
    cached.generate(&request.cell(4, "answer")).await.unwrap();
    cached.generate(&request.attempt(2)).await.unwrap();
    let mut warmer = request;
    warmer.options.temperature = Some(0.9);
    cached.generate(&warmer).await.unwrap();
    assert_eq!(cached.inner().calls(), 4);
    // Kept on disk: a cache opened again answers at once.
    drop(cached);
    drop(cache);
    let reopened = ReplyCache::open(&path).unwrap();
    assert_eq!(reopened.len(), 4);
}

#[tokio::test(start_paused = true)]
async fn a_failure_is_not_cached() {
    let cache = ReplyCache::open(cache_file("failure.jsonl")).unwrap();
    let cached = Script::new(Duration::from_millis(10))
        .then(rate_limited(Duration::from_secs(1)))
        .cache(&cache);
    let request = Request::new("hi");
    cached.generate(&request).await.unwrap_err();
    let reply = cached.generate(&request).await.unwrap();
    assert_eq!(reply.text, "ok");
    assert_eq!(cached.inner().calls(), 2);
    assert_eq!(cache.len(), 1);
}

#[tokio::test(start_paused = true)]
async fn every_layer_passes_the_run_on_to_the_one_it_wraps() {
    use crate::context::RunContext;
    use crate::event::Event;
    // A 429, then an answer that says the window is spent, through every layer a user
    // can compose: the retry outside reports its retry, the governor inside its pause,
    // and both reach the run's observer through the fleet, the limit and the cache
    // between them.
    let mut spent = Reply::from("ok");
    spent.limits = Some(RateLimits {
        requests_remaining: Some(0),
        requests_reset: Some(Duration::from_secs(3)),
        ..RateLimits::default()
    });
    let script = Script::new(Duration::from_millis(5))
        .then(rate_limited(Duration::from_millis(100)))
        .then(Ok(spent));
    let cache = ReplyCache::open(cache_file("run-context.jsonl")).unwrap();
    let stack = Fleet::new([Governor::new(script, Governance::new())])
        .limit(4)
        .retry(super::RetryPolicy::new().max_attempts(3))
        .cache(&cache);
    let seen = Mutex::new(Vec::new());
    let observer = |event: &Event<'_>| {
        let name = match event {
            Event::Retrying { .. } => "retrying",
            Event::Throttled { .. } => "throttled",
            _ => return,
        };
        seen.lock().unwrap().push(name);
    };
    let run = RunContext::default().observed_by(&observer);
    let reply = stack.generate_in(&Request::new("x"), &run).await.unwrap();
    assert_eq!(reply.text, "ok");
    let seen = seen.lock().unwrap().clone();
    assert!(seen.contains(&"retrying"), "{seen:?}");
    assert!(seen.contains(&"throttled"), "{seen:?}");
    // Outside a run, the same stack reports to no one and still answers.
    let stack = stack.inner().inner();
    assert_eq!(stack.generate(&Request::new("y")).await.unwrap().text, "ok");
}
