//! Provider batch APIs (half the price, answers within a day): OpenAI's Batch API and
//! Anthropic's Message Batches, as a generator over the same wire formats.
//!
//! [`Batch`] collects the requests the run sends and, once none has come for
//! [`linger`](Batch::linger), submits every one waiting as one batch: a wave. A recipe
//! with dependent columns therefore runs as successive waves, one per dependency level
//! that is ready (questions, then the answers to them), each holding every cell ready.
//! The wave is polled every [`poll_every`](Batch::poll_every) until it ends; each result
//! goes back to its request, a failed entry as the error its status stands for (the
//! runner's retry and failure policy take it from there: a retried entry goes into the
//! next wave).
//!
//! With a journal — beside the run's [checkpoint](crate::Runner::checkpoint) when it has
//! one (`qa.checkpoint.batches.jsonl` for `qa.checkpoint.jsonl`), or at
//! [`journal`](Batch::journal)'s path — every batch submitted is written down with the
//! requests in it before the run waits on it: a process that exits while a batch is
//! pending finds it there on its next run (same recipe and seed, so the same requests)
//! and waits for that batch instead of paying for a new one.
//!
//! A wave holds the requests in flight, so a runner not told its
//! [`concurrency`](crate::Runner::concurrency) keeps a whole batch's worth in flight
//! through a `Batch` ([`Generator::concurrency_hint`]): 50 000 for OpenAI, 100 000 for
//! Anthropic, or [`max_requests`](Batch::max_requests).

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::Method;
use serde_json::{Value, json};
use tokio::sync::{oneshot, watch};

use super::format::{Provider, WireFormat};
use super::transport::Transport;
use crate::error::GeneratorError;
use crate::event::Event;
use crate::generator::Generator;
use crate::reply::{Reply, Usage};
use crate::request::Request;

/// How long a wave waits for more requests after the last one, by default.
const LINGER: Duration = Duration::from_millis(500);
/// How often a pending batch is polled, by default.
const POLL_EVERY: Duration = Duration::from_secs(30);
/// Polls in a row that may fail (the provider unreachable, 5xx) before the batch's
/// requests are given the failure: ten minutes at the default pace.
const MAX_POLL_FAILURES: u32 = 20;

/// A provider API with a batch endpoint: OpenAI's chat completions (the Batch API) and
/// Anthropic's messages (Message Batches). Sealed: the two built-in formats have it.
pub trait BatchApi: WireFormat + sealed::BatchWire {}

impl<F: WireFormat + sealed::BatchWire> BatchApi for F {}

mod sealed {
    use super::Provider;
    use crate::error::GeneratorError;

    /// How to submit requests as a batch, poll it, and read its results.
    pub trait BatchWire: Sized {
        /// The most requests the provider takes in one batch.
        const MAX_REQUESTS: usize;
        /// The most bytes of request bodies (with their ids) to put in one batch: under
        /// the provider's limit on the batch's size, with room for the framing.
        const MAX_BYTES: usize;

        /// Submits `entries` (custom id, request body) as one batch; its id.
        fn submit(
            provider: &Provider<Self>,
            entries: &[(String, Vec<u8>)],
        ) -> impl Future<Output = Result<String, GeneratorError>> + Send;

        /// The batch's state: in progress (with the counts the provider gives), or
        /// ended with its results (custom id → response body or error).
        fn poll(
            provider: &Provider<Self>,
            id: &str,
        ) -> impl Future<Output = Result<Poll, GeneratorError>> + Send;
    }

    /// A batch's state, as a poll finds it.
    pub enum Poll {
        /// Still running: requests answered and failed so far.
        Pending {
            /// Answered.
            done: usize,
            /// Failed.
            failed: usize,
        },
        /// Ended: every result.
        Ended(Vec<(String, Result<serde_json::Value, GeneratorError>)>),
        /// Ended without running any request (OpenAI's `failed`: the input did not
        /// validate): every request gets this error.
        Failed(GeneratorError),
    }
}

use self::sealed::{BatchWire, Poll};

/// A provider's batch API as a [`Generator`]; see the [module docs](self).
///
/// ```no_run
/// use std::time::Duration;
///
/// # chatan::dataset! { #[derive(Debug)] struct Qa { q: String = gen("a question"), a: String = gen("answer: {q}") } }
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let batch = chatan::OpenAi::from_env()?
///     .batch()
///     .poll_every(Duration::from_secs(60))
///     .journal("qa.batches.jsonl");
/// // Two waves: every question, then every answer.
/// let rows = Qa::runner(&batch).generate(20_000).await?;
/// # Ok(()) }
/// ```
pub struct Batch<F: BatchApi> {
    inner: Arc<Inner<F>>,
}

struct Inner<F: BatchApi> {
    provider: Provider<F>,
    linger: Duration,
    poll_every: Duration,
    journal: Option<PathBuf>,
    /// List prices per million input and output tokens, for the saving.
    prices: Option<(f64, f64)>,
    /// Requests in one batch, at most.
    max_requests: usize,
    progress: bool,
    started: Instant,
    state: Mutex<State>,
    /// Bumped at every change of a wave, for the requests waiting to report it.
    changes: watch::Sender<u64>,
    /// The waves as last reported to the run's observers, and the version of `changes`
    /// they were read at.
    reported: Mutex<(u64, Vec<Wave>)>,
}

#[derive(Default)]
struct State {
    /// Requests waiting for the next wave.
    waiting: Vec<Waiting>,
    /// Bumped by every request that joins the wave: the wave goes when it stops.
    arrivals: u64,
    wave_scheduled: bool,
    /// Batches in flight: who waits for which result.
    batches: HashMap<String, Pending>,
    /// Requests of batches from the journal, not yet ended: custom id → batch id.
    journaled: HashMap<String, String>,
    journal_read: bool,
    /// The journal's path: the one set, else beside the run's checkpoint (known at the
    /// first request).
    journal: Option<PathBuf>,
    waves: Vec<Wave>,
    usage: Usage,
}

/// One batch of a [`Batch`] generator's run, as [`Batch::waves`] reports it.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct Wave {
    /// The provider's batch id.
    pub id: String,
    /// Requests in it (for a batch from the journal: those the earlier run put in it).
    pub requests: usize,
    /// Requests answered so far (as the provider counts them while it runs).
    pub done: usize,
    /// Requests that failed.
    pub failed: usize,
    /// Whether it has ended.
    pub ended: bool,
    /// Whether it came from the journal (submitted by an earlier run).
    pub resumed: bool,
    /// When it was submitted (or found), since the generator was made.
    pub submitted: Duration,
    /// When it ended.
    pub ended_at: Option<Duration>,
}

impl std::fmt::Display for Wave {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "batch {}{}: {} requests, {} done, {} failed, ",
            self.id,
            if self.resumed {
                " (from the journal)"
            } else {
                ""
            },
            self.requests,
            self.done,
            self.failed
        )?;
        match self.ended_at {
            Some(end) => write!(
                f,
                "ended after {:.1} s",
                (end - self.submitted).as_secs_f64()
            ),
            None => write!(f, "in progress"),
        }
    }
}

/// A request's result in an ended batch: a response body, or why there is none.
type Outcome = Option<Result<Value, GeneratorError>>;

struct Waiting {
    custom_id: String,
    body: Vec<u8>,
    reply: oneshot::Sender<Outcome>,
}

#[derive(Default)]
struct Pending {
    waiters: HashMap<String, oneshot::Sender<Outcome>>,
    /// Results that came before their request (a resumed batch).
    results: Option<HashMap<String, Result<Value, GeneratorError>>>,
    polling: bool,
}

impl<F: BatchApi> std::fmt::Debug for Batch<F> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Batch")
            .field("provider", &self.inner.provider)
            .field("linger", &self.inner.linger)
            .field("poll_every", &self.inner.poll_every)
            .field("journal", &self.inner.journal)
            .finish()
    }
}

impl<F: BatchApi> Clone for Batch<F> {
    fn clone(&self) -> Self {
        Batch {
            inner: Arc::clone(&self.inner),
        }
    }
}

impl<F: BatchApi> Provider<F> {
    /// This provider's batch API as a generator (see [`Batch`]).
    pub fn batch(self) -> Batch<F> {
        Batch {
            inner: Arc::new(Inner {
                provider: self,
                linger: LINGER,
                poll_every: POLL_EVERY,
                journal: None,
                prices: None,
                max_requests: F::MAX_REQUESTS,
                progress: false,
                started: Instant::now(),
                state: Mutex::new(State::default()),
                changes: watch::Sender::new(0),
                reported: Mutex::new((0, Vec::new())),
            }),
        }
    }
}

impl<F: BatchApi> Batch<F> {
    fn with(self, change: impl FnOnce(&mut Inner<F>)) -> Self {
        let mut inner = Arc::try_unwrap(self.inner).unwrap_or_else(|shared| {
            // Settings are made before the batch is shared; a clone keeps its own.
            Inner {
                provider: shared.provider.clone(),
                linger: shared.linger,
                poll_every: shared.poll_every,
                journal: shared.journal.clone(),
                prices: shared.prices,
                max_requests: shared.max_requests,
                progress: shared.progress,
                started: Instant::now(),
                state: Mutex::new(State::default()),
                changes: watch::Sender::new(0),
                reported: Mutex::new((0, Vec::new())),
            }
        });
        change(&mut inner);
        Batch {
            inner: Arc::new(inner),
        }
    }

    /// How long a wave waits after the last request before it is submitted (default
    /// 0.5 s).
    pub fn linger(self, time: Duration) -> Self {
        self.with(|inner| inner.linger = time)
    }

    /// How often a pending batch is polled (default 30 s).
    pub fn poll_every(self, time: Duration) -> Self {
        self.with(|inner| inner.poll_every = time)
    }

    /// The provider's list prices, in dollars per million input and output tokens:
    /// [`saving`](Batch::saving) then tells what the batches cost and saved (batch
    /// requests cost half the list price at OpenAI and Anthropic).
    pub fn prices(self, input_per_million: f64, output_per_million: f64) -> Self {
        self.with(|inner| inner.prices = Some((input_per_million, output_per_million)))
    }

    /// Also prints a line on standard error as each batch is submitted, progresses and
    /// ends, for logs (default: off). The runner's progress bar and the viewer show the
    /// waves anyway, from the [`BatchProgress`](crate::Event::BatchProgress) events the
    /// requests waiting for them report.
    pub fn progress(self, show: bool) -> Self {
        self.with(|inner| inner.progress = show)
    }

    /// At most `requests` requests in one batch (default, and at most: the provider's
    /// limit, 50 000 for OpenAI and 100 000 for Anthropic; batches are also kept under
    /// its size limit, 200 MB and 256 MB). A wave with more goes as several batches,
    /// submitted and polled side by side.
    pub fn max_requests(self, requests: usize) -> Self {
        self.with(|inner| inner.max_requests = requests.clamp(1, F::MAX_REQUESTS))
    }

    /// Every batch so far, in the order they were submitted (or found in the journal).
    pub fn waves(&self) -> Vec<Wave> {
        lock(&self.inner.state).waves.clone()
    }

    /// Tokens of every reply the batches gave.
    pub fn usage(&self) -> Usage {
        lock(&self.inner.state).usage
    }

    /// What the batches' tokens cost at half the [`prices`](Batch::prices), and what
    /// they would have cost at the list prices: `(batch, list)` in dollars. `None`
    /// without prices.
    pub fn saving(&self) -> Option<(f64, f64)> {
        let (input, output) = self.inner.prices?;
        let usage = self.usage();
        let list = (usage.input_tokens as f64 * input + usage.output_tokens as f64 * output) / 1e6;
        Some((list / 2.0, list))
    }

    /// Writes every batch submitted, with its requests, to the jsonl file `path`, and
    /// reads it at the first request: requests of a batch still pending are answered
    /// from it instead of being submitted again. A run with a
    /// [checkpoint](crate::Runner::checkpoint) keeps this journal beside it without
    /// being asked (`qa.checkpoint.batches.jsonl` for `qa.checkpoint.jsonl`); a path set
    /// here wins.
    pub fn journal(self, path: impl Into<PathBuf>) -> Self {
        let path = path.into();
        self.with(|inner| inner.journal = Some(path))
    }
}

fn lock<T>(state: &Mutex<T>) -> MutexGuard<'_, T> {
    state.lock().unwrap_or_else(|e| e.into_inner())
}

/// A request's id in a batch: its row, attempt, the start of its column's name and a
/// hash of its column and body, so the same request in a later run has the same id. It
/// keeps to what both providers take: Anthropic's `^[a-zA-Z0-9_-]{1,64}$` (API
/// reference, "Create a Message Batch"), whatever the column is called.
fn custom_id(request: &Request<'_>, body: &[u8]) -> String {
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    for byte in request
        .column
        .bytes()
        .chain([0])
        .chain(body.iter().copied())
    {
        hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
    }
    let head = format!("r{}-a{}-", request.row, request.attempt);
    let tail = format!("-{hash:016x}");
    let room = 64usize.saturating_sub(head.len() + tail.len());
    let column: String = request
        .column
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_')
        .take(room)
        .collect();
    format!("{head}{column}{tail}")
}

impl<F: BatchApi> Inner<F> {
    /// Reads the journal once: the requests of batches submitted and not ended, each
    /// batch a wave of this run (in the order they were submitted). Whether it found
    /// any.
    fn read_journal(&self, state: &mut State, checkpoint: Option<&Path>) -> bool {
        if state.journal_read {
            return false;
        }
        state.journal_read = true;
        state.journal = self.journal.clone().or_else(|| {
            let checkpoint = checkpoint?;
            let stem = checkpoint.file_stem()?.to_string_lossy().into_owned();
            Some(checkpoint.with_file_name(format!("{stem}.batches.jsonl")))
        });
        let Some(path) = &state.journal else {
            return false;
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let mut submitted: Vec<(String, Vec<String>)> = Vec::new();
        let mut ended = HashSet::new();
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(batch) = entry["batch"].as_str() else {
                continue;
            };
            if entry["ended"] == true {
                ended.insert(batch.to_owned());
            } else if let Some(ids) = entry["requests"].as_array() {
                submitted.push((
                    batch.to_owned(),
                    ids.iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect(),
                ));
            }
        }
        let mut found = false;
        for (batch, ids) in submitted {
            if ended.contains(&batch) {
                continue;
            }
            tracing::info!(
                batch,
                requests = ids.len(),
                "a pending batch from the journal"
            );
            found = true;
            state.waves.push(Wave {
                id: batch.clone(),
                requests: ids.len(),
                done: 0,
                failed: 0,
                ended: false,
                resumed: true,
                submitted: self.started.elapsed(),
                ended_at: None,
            });
            for id in ids {
                state.journaled.insert(id, batch.clone());
            }
            state.batches.entry(batch).or_default();
        }
        found
    }

    /// Notes a change of batch `id`'s wave (made if new), and says so when asked to.
    fn wave(&self, id: &str, change: impl FnOnce(&mut Wave)) {
        let now = self.started.elapsed();
        let mut state = lock(&self.state);
        let index = match state.waves.iter().position(|w| w.id == id) {
            Some(index) => index,
            None => {
                state.waves.push(Wave {
                    id: id.to_owned(),
                    requests: 0,
                    done: 0,
                    failed: 0,
                    ended: false,
                    resumed: false,
                    submitted: now,
                    ended_at: None,
                });
                state.waves.len() - 1
            }
        };
        let before = state.waves[index].clone();
        change(&mut state.waves[index]);
        let wave = &state.waves[index];
        if *wave == before {
            return;
        }
        if self.progress {
            eprintln!("chatan: {wave}");
        }
        drop(state);
        self.changes.send_modify(|version| *version += 1);
    }

    /// Reports every wave that changed since the last report, through `request`'s
    /// observers. Any waiting request may call it; each change is reported once.
    fn report_waves(&self, request: &Request<'_>) {
        // Compared and replaced under one lock, so a report is never older than one
        // already made.
        let mut reported = lock(&self.reported);
        // Most waiters woken by a change find it reported already: no copy for them.
        let version = *self.changes.borrow();
        if reported.0 == version {
            return;
        }
        let waves = lock(&self.state).waves.clone();
        for (index, wave) in waves.iter().enumerate() {
            if reported.1.get(index) != Some(wave) {
                request.report(&Event::BatchProgress {
                    wave: index + 1,
                    batch: &wave.id,
                    requests: wave.requests,
                    done: wave.done,
                    failed: wave.failed,
                    ended: wave.ended,
                    resumed: wave.resumed,
                });
            }
        }
        *reported = (version, waves);
    }

    fn write_journal(&self, entry: &Value) -> Result<(), GeneratorError> {
        let Some(path) = lock(&self.state).journal.clone() else {
            return Ok(());
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| GeneratorError::other(format!("batch journal {}: {e}", path.display())))?;
        writeln!(file, "{entry}")
            .and_then(|()| file.sync_data())
            .map_err(|e| GeneratorError::other(format!("batch journal {}: {e}", path.display())))
    }
}

/// How a wave of requests (their sizes in bytes, in order) is cut into batches of at most
/// `max_requests` requests and `max_bytes` bytes: the length of each batch. A request
/// larger than `max_bytes` goes alone (the provider then says what it thinks of it).
fn batch_lengths(
    sizes: impl IntoIterator<Item = usize>,
    max_requests: usize,
    max_bytes: usize,
) -> Vec<usize> {
    let mut lengths = Vec::new();
    let (mut count, mut bytes) = (0, 0);
    for size in sizes {
        if count > 0 && (count == max_requests || bytes + size > max_bytes) {
            lengths.push(count);
            (count, bytes) = (0, 0);
        }
        count += 1;
        bytes += size;
    }
    if count > 0 {
        lengths.push(count);
    }
    lengths
}

/// Waits out the linger, then submits every request waiting, in as many batches as the
/// provider's limits need, and polls them until they end.
async fn wave<F: BatchApi>(inner: Arc<Inner<F>>) {
    // Go once no request has come for a whole linger.
    loop {
        let before = lock(&inner.state).arrivals;
        tokio::time::sleep(inner.linger).await;
        if lock(&inner.state).arrivals == before {
            break;
        }
    }
    let waiting = {
        let mut state = lock(&inner.state);
        state.wave_scheduled = false;
        std::mem::take(&mut state.waiting)
    };
    // Each entry's share of the batch: its body, its id and the line's framing.
    let sizes = waiting
        .iter()
        .map(|w| w.body.len() + w.custom_id.len() + 128);
    let lengths = batch_lengths(sizes, inner.max_requests, F::MAX_BYTES);
    let mut rest = waiting.into_iter();
    let mut batches = Vec::new();
    for length in lengths {
        let batch: Vec<Waiting> = rest.by_ref().take(length).collect();
        batches.push(tokio::spawn(submit_and_poll(Arc::clone(&inner), batch)));
    }
    for batch in batches {
        // A panic in one batch's task leaves its requests to report "abandoned".
        let _ = batch.await;
    }
}

/// Submits `waiting` as one batch, and polls it until it ends.
async fn submit_and_poll<F: BatchApi>(inner: Arc<Inner<F>>, waiting: Vec<Waiting>) {
    let entries: Vec<(String, Vec<u8>)> = waiting
        .iter()
        .map(|w| (w.custom_id.clone(), w.body.clone()))
        .collect();
    let submitted = F::submit(&inner.provider, &entries).await.and_then(|id| {
        let ids: Vec<&str> = entries.iter().map(|(c, _)| c.as_str()).collect();
        inner
            .write_journal(&json!({"batch": id, "requests": ids}))
            .map(|()| id)
    });
    let id = match submitted {
        Ok(id) => id,
        Err(error) => {
            for w in waiting {
                let _ = w.reply.send(Some(Err(error.clone())));
            }
            return;
        }
    };
    tracing::info!(batch = id, requests = entries.len(), "batch submitted");
    inner.wave(&id, |wave| wave.requests = entries.len());
    {
        let mut state = lock(&inner.state);
        let pending = state.batches.entry(id.clone()).or_default();
        pending.polling = true;
        for w in waiting {
            pending.waiters.insert(w.custom_id, w.reply);
        }
    }
    poll_until_ended(inner, id).await;
}

/// Polls batch `id` until it ends, then answers every request waiting for it.
async fn poll_until_ended<F: BatchApi>(inner: Arc<Inner<F>>, id: String) {
    let mut failures = 0;
    let results = loop {
        match F::poll(&inner.provider, &id).await {
            Ok(Poll::Ended(results)) => break Ok(results),
            Ok(Poll::Failed(error)) => break Err(error),
            Ok(Poll::Pending { done, failed }) => {
                failures = 0;
                inner.wave(&id, |wave| {
                    wave.done = done;
                    wave.failed = failed;
                });
                tokio::time::sleep(inner.poll_every).await;
            }
            // A poll that fails is tried again, for a while; one the provider rejects
            // ends the wait.
            Err(error) if error.cause().is_retryable() && failures + 1 < MAX_POLL_FAILURES => {
                failures += 1;
                tracing::warn!(batch = id, %error, "polling the batch failed; trying again");
                tokio::time::sleep(inner.poll_every).await;
            }
            Err(error) => break Err(error),
        }
    };
    let mut results: HashMap<String, Result<Value, GeneratorError>> = match results {
        Ok(results) => results.into_iter().collect(),
        Err(error) => {
            tracing::error!(batch = id, %error, "the batch ended without results");
            let ended_at = inner.started.elapsed();
            inner.wave(&id, |wave| {
                wave.failed = wave.requests;
                wave.ended = true;
                wave.ended_at = Some(ended_at);
            });
            let waiters = lock(&inner.state)
                .batches
                .remove(&id)
                .map(|pending| pending.waiters)
                .unwrap_or_default();
            for (_, waiter) in waiters {
                let _ = waiter.send(Some(Err(error.clone())));
            }
            let _ = inner.write_journal(&json!({"batch": id, "ended": true}));
            return;
        }
    };
    tracing::info!(batch = id, results = results.len(), "batch ended");
    let failed = results.values().filter(|r| r.is_err()).count();
    let total = results.len();
    let ended_at = inner.started.elapsed();
    inner.wave(&id, |wave| {
        wave.done = total - failed;
        wave.failed = failed;
        wave.ended = true;
        wave.ended_at = Some(ended_at);
    });
    let waiters = {
        let mut state = lock(&inner.state);
        let pending = state.batches.entry(id.clone()).or_default();
        std::mem::take(&mut pending.waiters)
    };
    for (custom_id, waiter) in waiters {
        let _ = waiter.send(results.remove(&custom_id));
    }
    // Requests of a resumed batch that have not come yet find their results here.
    let mut state = lock(&inner.state);
    if let Some(pending) = state.batches.get_mut(&id) {
        pending.results = Some(results);
        pending.polling = false;
    }
    drop(state);
    let _ = inner.write_journal(&json!({"batch": id, "ended": true}));
}

/// The reply to `request` that a batch's `result` for it holds.
fn answer<F: BatchApi>(
    inner: &Inner<F>,
    request: &Request<'_>,
    result: Outcome,
    custom_id: &str,
) -> Result<Reply, GeneratorError> {
    match result {
        Some(Ok(body)) => {
            let reply = inner.provider.reply_of(request, body)?;
            if let Some(usage) = reply.usage {
                lock(&inner.state).usage += usage;
            }
            Ok(reply)
        }
        Some(Err(error)) => Err(error),
        None => Err(GeneratorError::Malformed(format!(
            "the batch's results have nothing for request {custom_id}"
        ))),
    }
}

impl<F: BatchApi> Generator for Batch<F> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        let inner = &self.inner;
        let body = inner.provider.request_body(request)?;
        let custom_id = custom_id(request, &body);
        let id = custom_id.clone();
        let (reply, mut answered) = oneshot::channel();
        // Subscribed before the request joins a wave, so no change of it is missed.
        let mut changes = request.is_observed().then(|| inner.changes.subscribe());
        {
            let mut state = lock(&inner.state);
            if inner.read_journal(&mut state, request.checkpoint) {
                inner.changes.send_modify(|version| *version += 1);
            }
            if let Some(batch) = state.journaled.remove(&custom_id) {
                // Submitted by an earlier run and not ended: wait for that batch.
                let pending = state.batches.entry(batch.clone()).or_default();
                if let Some(results) = &mut pending.results {
                    let result = results.remove(&custom_id);
                    drop(state);
                    if changes.is_some() {
                        inner.report_waves(request);
                    }
                    return answer(inner, request, result, &custom_id);
                }
                pending.waiters.insert(custom_id, reply);
                if !pending.polling {
                    pending.polling = true;
                    tokio::spawn(poll_until_ended(Arc::clone(inner), batch));
                }
            } else {
                state.waiting.push(Waiting {
                    custom_id,
                    body,
                    reply,
                });
                state.arrivals += 1;
                if !state.wave_scheduled {
                    state.wave_scheduled = true;
                    tokio::spawn(wave(Arc::clone(inner)));
                }
            }
        }
        let outcome = match &mut changes {
            None => answered.await,
            Some(changes) => {
                let answer = loop {
                    tokio::select! {
                        answer = &mut answered => break answer,
                        // The sender lives as long as `inner`: this never fails.
                        Ok(()) = changes.changed() => inner.report_waves(request),
                    }
                };
                // The wave's end, if no one has reported it yet.
                inner.report_waves(request);
                answer
            }
        };
        match outcome {
            Ok(result) => answer(inner, request, result, &id),
            Err(_) => Err(GeneratorError::other("the batch was abandoned")),
        }
    }

    fn name(&self) -> &str {
        Generator::name(&self.inner.provider)
    }

    fn model(&self) -> Option<&str> {
        Generator::model(&self.inner.provider)
    }

    fn endpoint(&self) -> Option<&str> {
        Generator::endpoint(&self.inner.provider)
    }

    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        Generator::resolve(&self.inner.provider, request)
    }

    /// A batch's worth ([`max_requests`](Batch::max_requests)): every cell that is
    /// ready goes into the wave, up to what one batch holds (a larger concurrency set
    /// on the runner makes waves of several batches).
    fn concurrency_hint(&self) -> Option<usize> {
        Some(self.inner.max_requests)
    }
}

/// Posts the JSON `body` to `path` of the API and returns the `id` of what it made.
async fn create(transport: &Transport, path: &str, body: &Value) -> Result<String, GeneratorError> {
    let created: Value = transport
        .call_json(
            Method::POST,
            &transport.url_of(path),
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await?;
    created["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| GeneratorError::Malformed(format!("what {path} made has no id")))
}

/// The JSON at `path` of the API.
async fn fetch(transport: &Transport, path: &str) -> Result<Value, GeneratorError> {
    transport
        .call_json(Method::GET, &transport.url_of(path), None)
        .await
}

/// One line of a jsonl text.
fn jsonl(bytes: &[u8]) -> impl Iterator<Item = Value> + '_ {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect::<Vec<_>>()
        .into_iter()
}

#[cfg(feature = "openai")]
impl BatchWire for super::openai::ChatCompletions {
    // 50 000 requests and a 200 MB input file.
    const MAX_REQUESTS: usize = 50_000;
    const MAX_BYTES: usize = 190_000_000;

    async fn submit(
        provider: &Provider<Self>,
        entries: &[(String, Vec<u8>)],
    ) -> Result<String, GeneratorError> {
        let transport = provider.transport();
        let mut file = Vec::new();
        for (custom_id, body) in entries {
            let body: Value = serde_json::from_slice(body).map_err(GeneratorError::other)?;
            let line = json!({"custom_id": custom_id, "method": "POST",
                              "url": "/v1/chat/completions", "body": body});
            file.extend_from_slice(line.to_string().as_bytes());
            file.push(b'\n');
        }
        const BOUNDARY: &str = "chatan-batch-boundary-7f3a9c";
        let mut upload = Vec::new();
        upload.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
                 --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"chatan-batch.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n"
            )
            .as_bytes(),
        );
        upload.extend_from_slice(&file);
        upload.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let uploaded: Value = transport
            .call_json(
                Method::POST,
                &transport.url_of("/files"),
                Some((
                    "multipart/form-data; boundary=chatan-batch-boundary-7f3a9c",
                    upload,
                )),
            )
            .await?;
        let file_id = uploaded["id"]
            .as_str()
            .ok_or_else(|| GeneratorError::Malformed("the file upload has no id".into()))?;
        let batch = json!({"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                           "completion_window": "24h"});
        create(transport, "/batches", &batch).await
    }

    async fn poll(provider: &Provider<Self>, id: &str) -> Result<Poll, GeneratorError> {
        let transport = provider.transport();
        let batch = fetch(transport, &format!("/batches/{id}")).await?;
        // The batch object's `status` (OpenAI's OpenAPI spec, `Batch.status`):
        // `validating`, `in_progress`, `finalizing` and `cancelling` go on; `completed`,
        // `expired` and `cancelled` end with an output file (the requests that ran,
        // billed) and an error file (the rest); `failed` ends with neither, the
        // reasons in `errors.data`.
        let status = batch["status"].as_str().unwrap_or_default();
        match status {
            "completed" | "expired" | "cancelled" => {}
            "failed" => return Ok(Poll::Failed(openai_batch_failure(id, &batch))),
            _ => {
                let counts = &batch["request_counts"];
                let count = |key: &str| counts[key].as_u64().unwrap_or(0) as usize;
                return Ok(Poll::Pending {
                    done: count("completed"),
                    failed: count("failed"),
                });
            }
        }
        let mut results = Vec::new();
        for key in ["output_file_id", "error_file_id"] {
            let Some(file) = batch[key].as_str() else {
                continue;
            };
            let bytes = transport
                .call(
                    Method::GET,
                    &transport.url_of(&format!("/files/{file}/content")),
                    None,
                )
                .await?;
            for line in jsonl(&bytes) {
                let Some(custom_id) = line["custom_id"].as_str() else {
                    continue;
                };
                let result = openai_result(transport, id, status, &line);
                results.push((custom_id.to_owned(), result));
            }
        }
        Ok(Poll::Ended(results))
    }
}

/// One line of an OpenAI batch's output or error file (the request output object:
/// `response` with `status_code` and `body`, or `response: null` and an `error` with
/// `code` and `message` for a request that did not run, such as `batch_expired` and
/// `batch_cancelled` in the error file of a batch that ended `expired` or `cancelled`).
#[cfg(feature = "openai")]
fn openai_result(
    transport: &Transport,
    id: &str,
    status: &str,
    line: &Value,
) -> Result<Value, GeneratorError> {
    let response = &line["response"];
    if let Some(code) = response["status_code"].as_u64() {
        let code = code as u16;
        return if (200..300).contains(&code) {
            Ok(response["body"].clone())
        } else {
            Err(transport.error_of(code, response["body"].to_string().as_bytes()))
        };
    }
    let error = &line["error"];
    let code = error["code"].as_str().unwrap_or("unknown");
    let text = error["message"]
        .as_str()
        .unwrap_or("the request did not run");
    let expired = code == "batch_expired" || (status == "expired" && code != "batch_cancelled");
    Err(GeneratorError::Unprocessed {
        expired,
        message: format!("batch {id} ended {status} before this request ran ({code}: {text})"),
    })
}

/// The error every request of a `failed` OpenAI batch gets: the reasons the provider
/// gives in `errors.data` (a code, a message, the input line), as a rejection.
#[cfg(feature = "openai")]
fn openai_batch_failure(id: &str, batch: &Value) -> GeneratorError {
    let reasons: Vec<String> = batch["errors"]["data"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .take(5)
        .map(|e| {
            let line = e["line"]
                .as_u64()
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            format!(
                "{line}{}: {}",
                e["code"].as_str().unwrap_or("error"),
                e["message"].as_str().unwrap_or("no message")
            )
        })
        .collect();
    GeneratorError::Rejected {
        status: 400,
        message: if reasons.is_empty() {
            format!("batch {id} failed, with no reason given")
        } else {
            format!("batch {id} failed: {}", reasons.join("; "))
        },
    }
}

#[cfg(feature = "anthropic")]
impl BatchWire for super::anthropic::Messages {
    // 100 000 requests and 256 MB.
    const MAX_REQUESTS: usize = 100_000;
    const MAX_BYTES: usize = 240_000_000;

    async fn submit(
        provider: &Provider<Self>,
        entries: &[(String, Vec<u8>)],
    ) -> Result<String, GeneratorError> {
        let transport = provider.transport();
        let mut requests = Vec::with_capacity(entries.len());
        for (custom_id, body) in entries {
            let params: Value = serde_json::from_slice(body).map_err(GeneratorError::other)?;
            requests.push(json!({"custom_id": custom_id, "params": params}));
        }
        create(
            transport,
            "/v1/messages/batches",
            &json!({ "requests": requests }),
        )
        .await
    }

    async fn poll(provider: &Provider<Self>, id: &str) -> Result<Poll, GeneratorError> {
        let transport = provider.transport();
        let batch = fetch(transport, &format!("/v1/messages/batches/{id}")).await?;
        if batch["processing_status"] != "ended" {
            let counts = &batch["request_counts"];
            let count = |key: &str| counts[key].as_u64().unwrap_or(0) as usize;
            return Ok(Poll::Pending {
                done: count("succeeded"),
                failed: count("errored") + count("canceled") + count("expired"),
            });
        }
        let url = batch["results_url"].as_str().ok_or_else(|| {
            GeneratorError::Malformed(format!("batch {id} ended with no results_url"))
        })?;
        let bytes = transport.call(Method::GET, url, None).await?;
        let results = jsonl(&bytes)
            .filter_map(|line| {
                let custom_id = line["custom_id"].as_str()?.to_owned();
                let result = &line["result"];
                let outcome = match result["type"].as_str() {
                    Some("succeeded") => Ok(result["message"].clone()),
                    Some("errored") => Err(transport.error_of(
                        error_status(&result["error"]),
                        result["error"].to_string().as_bytes(),
                    )),
                    // `canceled` and `expired` results carry no error (the SDK's
                    // MessageBatchCanceledResult / MessageBatchExpiredResult).
                    Some(kind @ ("canceled" | "expired")) => Err(GeneratorError::Unprocessed {
                        expired: kind == "expired",
                        message: format!("batch {id} ended before this request ran ({kind})"),
                    }),
                    other => Err(GeneratorError::Malformed(format!(
                        "batch {id}: a result of type {}",
                        other.unwrap_or("(none)")
                    ))),
                };
                Some((custom_id, outcome))
            })
            .collect();
        Ok(Poll::Ended(results))
    }
}

/// The HTTP status an Anthropic error type stands for.
#[cfg(feature = "anthropic")]
fn error_status(error: &Value) -> u16 {
    match error["error"]["type"].as_str() {
        Some("invalid_request_error") => 400,
        Some("authentication_error") => 401,
        Some("permission_error") => 403,
        Some("not_found_error") => 404,
        Some("rate_limit_error") => 429,
        Some("overloaded_error") => 529,
        _ => 500,
    }
}

#[cfg(test)]
mod tests {
    use super::{batch_lengths, custom_id};
    use crate::request::Request;

    #[test]
    fn custom_ids_keep_to_the_providers_pattern_whatever_the_column() {
        let long = "the_answer_to_the_question_the_user_asked_in_the_first_turn";
        for column in ["answer", long, "réponse_détaillée", "答え", ""] {
            for row in [0, 7, usize::MAX] {
                let request = Request::new("hi").cell(row, column).attempt(u32::MAX);
                let id = custom_id(&request, b"{}");
                assert!(!id.is_empty() && id.len() <= 64, "{id}");
                assert!(
                    id.chars()
                        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-'),
                    "{id}"
                );
            }
        }
        // Columns whose names agree on their first letters still differ.
        let a = Request::new("hi").cell(1, &long[..40]);
        let b = Request::new("hi").cell(1, long);
        assert_ne!(custom_id(&a, b"{}"), custom_id(&b, b"{}"));
        assert!(
            custom_id(&Request::new("hi").cell(3, "answer"), b"{}").starts_with("r3-a1-answer-")
        );
    }

    #[test]
    fn a_wave_is_cut_at_the_request_and_byte_limits() {
        assert_eq!(batch_lengths([1; 7], 3, 100), [3, 3, 1]);
        assert_eq!(batch_lengths([1; 6], 3, 100), [3, 3]);
        assert_eq!(batch_lengths([40, 40, 40, 10, 50], 10, 100), [2, 3]);
        // A request over the byte limit goes alone.
        assert_eq!(batch_lengths([10, 500, 10], 10, 100), [1, 1, 1]);
        assert!(batch_lengths([0; 0], 3, 100).is_empty());
    }
}
