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

use std::collections::HashMap;
use std::path::PathBuf;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::sync::{oneshot, watch};

use super::format::{Provider, WireFormat};
use crate::context::RunContext;
use crate::error::GeneratorError;
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

#[cfg(feature = "anthropic")]
mod anthropic;
mod http;
#[cfg(feature = "openai")]
mod openai;
mod wave;

use self::wave::{answer, poll_until_ended, wave};

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

impl<F: BatchApi> Generator for Batch<F> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        self.generate_in(request, &RunContext::NONE).await
    }

    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        let inner = &self.inner;
        let body = inner.provider.request_body(request)?;
        let custom_id = custom_id(request, &body);
        let id = custom_id.clone();
        let (reply, mut answered) = oneshot::channel();
        // Subscribed before the request joins a wave, so no change of it is missed.
        let mut changes = run.is_observed().then(|| inner.changes.subscribe());
        {
            let mut state = lock(&inner.state);
            if inner.read_journal(&mut state, run.checkpoint()) {
                inner.changes.send_modify(|version| *version += 1);
            }
            if let Some(batch) = state.journaled.remove(&custom_id) {
                // Submitted by an earlier run and not ended: wait for that batch.
                let pending = state.batches.entry(batch.clone()).or_default();
                if let Some(results) = &mut pending.results {
                    let result = results.remove(&custom_id);
                    drop(state);
                    if changes.is_some() {
                        inner.report_waves(run);
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
                        Ok(()) = changes.changed() => inner.report_waves(run),
                    }
                };
                // The wave's end, if no one has reported it yet.
                inner.report_waves(run);
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

#[cfg(test)]
mod tests {
    use super::custom_id;
    use super::wave::batch_lengths;
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
