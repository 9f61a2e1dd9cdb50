//! A fleet: one generator over several endpoints (see [`Fleet`]).

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::{Governance, Governor};
use crate::context::RunContext;
use crate::error::GeneratorError;
use crate::generator::Generator;
use crate::reply::Reply;
use crate::request::Request;

/// Consecutive failures that take an endpoint out, by default.
const EJECT_AFTER: u32 = 3;
/// How long an endpoint stays out the first time, by default.
const EJECT_FOR: Duration = Duration::from_secs(5);
/// The longest an endpoint stays out: `eject_for` doubled this many times at most.
const MAX_DOUBLINGS: u32 = 4;

/// One generator over several endpoints: a fleet of vLLM or llama.cpp servers behind
/// their OpenAI-compatible URLs, or several accounts of one provider.
///
/// - Each request goes to the healthy endpoint with the fewest requests in flight (ties
///   to the one used least), so a slow or paused endpoint gets less.
/// - Each endpoint has its own [`Governor`]: a 429 or rate-limit headers from one pause
///   that one, not the fleet.
/// - A request that fails on one endpoint in a way another might not (a connection
///   refused or dropped, a timeout, a 5xx, a 429, a bad key or no quota on that account)
///   goes at once to the next endpoint it has not tried; only when every endpoint has
///   failed it does the error go up (to the [`Retry`](super::Retry) layer outside), as
///   [`GeneratorError::Failover`] counting every request made. A request the provider
///   rejects as such (a 400) is not sent elsewhere.
/// - An endpoint that fails [`eject_after`](Fleet::eject_after) times in a row is taken
///   out for [`eject_for`](Fleet::eject_for) (doubling while it keeps failing, up to 16
///   times); then one request probes it, and a success brings it back. A bad key or no
///   quota takes an endpoint out at once. With every endpoint out, requests go to the
///   one that comes back soonest rather than nowhere.
///
/// ```no_run
/// use std::time::Duration;
/// use chatan::OpenAi;
/// use chatan::layer::Fleet;
///
/// # chatan::dataset! { #[derive(Debug)] struct Qa { q: String = gen("a question") } }
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let fleet = Fleet::new([
///     OpenAi::compatible("http://gpu-1:8000/v1")?,
///     OpenAi::compatible("http://gpu-2:8000/v1")?,
///     OpenAi::compatible("http://gpu-3:8000/v1")?,
/// ])
/// .eject_after(3)
/// .eject_for(Duration::from_secs(10));
/// let rows = Qa::runner(&fleet).concurrency(96).generate(10_000).await?;
/// for endpoint in fleet.endpoints() {
///     println!("{endpoint}");
/// }
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Fleet<G> {
    members: Vec<Member<G>>,
    eject_after: u32,
    eject_for: Duration,
    started: Instant,
}

#[derive(Debug)]
struct Member<G> {
    generator: Governor<G>,
    in_flight: AtomicUsize,
    requests: AtomicU64,
    failures: AtomicU64,
    ejections: AtomicU64,
    health: Mutex<Health>,
}

#[derive(Debug, Default)]
struct Health {
    /// Failures since the last success.
    streak: u32,
    /// Out until then (time since the fleet started).
    out_until: Option<Duration>,
    /// Times taken out since it last worked (how long the next time is).
    outs: u32,
    /// A probe is under way: nothing else goes to an endpoint coming back.
    probing: bool,
}

/// One endpoint of a [`Fleet`], as [`Fleet::endpoints`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Endpoint {
    /// Its place in the fleet, from 0.
    pub index: usize,
    /// Its generator's name.
    pub name: String,
    /// Requests sent to it.
    pub requests: u64,
    /// Requests that failed there.
    pub failures: u64,
    /// Times it was taken out.
    pub ejections: u64,
    /// Requests in flight there now.
    pub in_flight: usize,
    /// Whether it is out now.
    pub out: bool,
}

impl std::fmt::Display for Endpoint {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "endpoint {} ({}): {} requests, {} failed, taken out {} time{}{}",
            self.index,
            self.name,
            self.requests,
            self.failures,
            self.ejections,
            if self.ejections == 1 { "" } else { "s" },
            if self.out { ", out now" } else { "" }
        )
    }
}

/// Whether `error` may not happen on another endpoint.
fn endpoint_failure(error: &GeneratorError) -> bool {
    error.cause().is_retryable() || error.is_fatal()
}

impl<G: Generator> Fleet<G> {
    /// A fleet of `endpoints`, each behind its own [`Governor`] (no budgets: it obeys
    /// 429s and rate-limit headers).
    ///
    /// # Panics
    ///
    /// If `endpoints` is empty.
    pub fn new(endpoints: impl IntoIterator<Item = G>) -> Self {
        Self::governed(
            endpoints
                .into_iter()
                .map(|g| Governor::new(g, Governance::new())),
        )
    }

    /// A fleet of endpoints with governors of your own (budgets per account, say).
    ///
    /// # Panics
    ///
    /// If `endpoints` is empty.
    pub fn governed(endpoints: impl IntoIterator<Item = Governor<G>>) -> Self {
        let members: Vec<Member<G>> = endpoints
            .into_iter()
            .map(|generator| Member {
                generator,
                in_flight: AtomicUsize::new(0),
                requests: AtomicU64::new(0),
                failures: AtomicU64::new(0),
                ejections: AtomicU64::new(0),
                health: Mutex::new(Health::default()),
            })
            .collect();
        assert!(!members.is_empty(), "a fleet needs at least one endpoint");
        Fleet {
            members,
            eject_after: EJECT_AFTER,
            eject_for: EJECT_FOR,
            started: Instant::now(),
        }
    }

    /// Consecutive failures that take an endpoint out (default 3; at least 1).
    pub fn eject_after(mut self, failures: u32) -> Self {
        self.eject_after = failures.max(1);
        self
    }

    /// How long an endpoint is out the first time (default 5 s); it doubles while the
    /// endpoint keeps failing its probes, up to 16 times as long.
    pub fn eject_for(mut self, time: Duration) -> Self {
        self.eject_for = time;
        self
    }

    /// Each endpoint's counters.
    pub fn endpoints(&self) -> Vec<Endpoint> {
        let now = self.started.elapsed();
        self.members
            .iter()
            .enumerate()
            .map(|(index, m)| Endpoint {
                index,
                name: m.generator.name().to_owned(),
                requests: m.requests.load(Ordering::Relaxed),
                failures: m.failures.load(Ordering::Relaxed),
                ejections: m.ejections.load(Ordering::Relaxed),
                in_flight: m.in_flight.load(Ordering::Relaxed),
                out: lock(&m.health).out_until.is_some_and(|t| t > now),
            })
            .collect()
    }

    /// The endpoint for the next try, among those not `tried`: one whose time out is
    /// over (it is probed, one request at a time); else a healthy one with the fewest in
    /// flight; else the one back soonest. Marks a probe as under way.
    fn pick(&self, tried: &[bool]) -> Option<usize> {
        let now = self.started.elapsed();
        let mut best: Option<(usize, (u8, usize, u64, Duration))> = None;
        for (i, m) in self.members.iter().enumerate() {
            if tried[i] {
                continue;
            }
            let health = lock(&m.health);
            // An endpoint whose time out is over goes first (one probe), then the
            // healthy ones by load, then those still out by when they come back.
            let rank = match health.out_until {
                Some(until) if until <= now && !health.probing => (0, 0, 0, Duration::ZERO),
                None => (1, m.in_flight.load(Ordering::Relaxed), 0, Duration::ZERO),
                Some(until) => (2, 0, 0, until),
            };
            let rank = (rank.0, rank.1, m.requests.load(Ordering::Relaxed), rank.3);
            if best.as_ref().is_none_or(|(_, b)| rank < *b) {
                best = Some((i, rank));
            }
        }
        let (index, rank) = best?;
        if rank.0 == 0 {
            lock(&self.members[index].health).probing = true;
        }
        Some(index)
    }

    fn succeeded(&self, index: usize) {
        let mut health = lock(&self.members[index].health);
        if health.out_until.is_some() {
            tracing::info!(endpoint = index, "endpoint is back");
        }
        *health = Health::default();
    }

    fn failed(&self, index: usize, error: &GeneratorError) {
        let member = &self.members[index];
        member.failures.fetch_add(1, Ordering::Relaxed);
        let mut health = lock(&member.health);
        health.probing = false;
        health.streak += 1;
        let now = self.started.elapsed();
        if health.out_until.is_some_and(|until| until > now) {
            // Sent before the endpoint was taken out: it is out already.
            return;
        }
        // A failed probe takes it out again, for longer.
        let probed = health.out_until.is_some();
        if probed || error.is_fatal() || health.streak >= self.eject_after {
            let time = self.eject_for * 2u32.pow(health.outs.min(MAX_DOUBLINGS));
            health.out_until = Some(now + time);
            health.outs += 1;
            member.ejections.fetch_add(1, Ordering::Relaxed);
            tracing::warn!(
                endpoint = index,
                name = member.generator.name(),
                %error,
                out_for = ?time,
                "endpoint taken out"
            );
        }
    }
}

impl<G: Generator> Generator for Fleet<G> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        self.generate_in(request, &RunContext::NONE).await
    }

    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        let mut tried = vec![false; self.members.len()];
        let mut made = 0;
        let mut last = None;
        while let Some(index) = self.pick(&tried) {
            tried[index] = true;
            let member = &self.members[index];
            member.requests.fetch_add(1, Ordering::Relaxed);
            member.in_flight.fetch_add(1, Ordering::Relaxed);
            let outcome = member.generator.generate_in(request, run).await;
            member.in_flight.fetch_sub(1, Ordering::Relaxed);
            match outcome {
                Ok(mut reply) => {
                    self.succeeded(index);
                    reply.attempts += made;
                    return Ok(reply);
                }
                Err(error) if endpoint_failure(&error) => {
                    self.failed(index, &error);
                    made += error.attempts();
                    tracing::debug!(endpoint = index, %error, "trying another endpoint");
                    last = Some(error);
                }
                Err(error) => {
                    // The request itself was refused: no endpoint will take it.
                    self.succeeded(index);
                    return Err(error);
                }
            }
        }
        let last = last.expect("a fleet has an endpoint, so one was tried");
        if made <= 1 {
            return Err(last);
        }
        // Every request made counts (a Retry outside adds them up), and the failure stays
        // as retryable as its cause: the next attempt may find an endpoint back.
        Err(GeneratorError::Failover {
            attempts: made,
            cause: Box::new(last.into_parts().1),
        })
    }

    fn name(&self) -> &str {
        self.members[0].generator.name()
    }

    fn model(&self) -> Option<&str> {
        self.members[0].generator.model()
    }

    /// The first endpoint's: a fleet's members are meant to be alike.
    fn endpoint(&self) -> Option<&str> {
        self.members[0].generator.endpoint()
    }

    /// The first endpoint's defaults: a fleet's members are meant to be alike.
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        self.members[0].generator.resolve(request)
    }

    /// The most any endpoint asks for.
    fn concurrency_hint(&self) -> Option<usize> {
        self.members
            .iter()
            .filter_map(|m| m.generator.concurrency_hint())
            .max()
    }
}

fn lock(health: &Mutex<Health>) -> std::sync::MutexGuard<'_, Health> {
    health.lock().unwrap_or_else(|e| e.into_inner())
}
