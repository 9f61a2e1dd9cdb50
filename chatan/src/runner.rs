//! The runner: which rows, how many requests at once, which seed, which samplers, which
//! layers around the generator, what happens on failure, and who watches.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures::stream::{Stream, StreamExt};

use crate::checkpoint::{self, Codec};
use crate::dataset::{Dataset, SamplerSlot, SamplersOf};
use crate::engine::Extras;
use crate::engine::{Rows, Run, Setup};
use crate::error::{Error, RunError};
use crate::event::{Observer, Observers};
use crate::generator::{DynGenerator, Generators};
use crate::layer::{Governance, Governor, Halt, Halting, Limit, Limiter, Retry, RetryPolicy};
#[cfg(feature = "progress")]
use crate::progress::{self, Progress};
use crate::recipe::{ColumnKind, Recipe};
use crate::report::{FailurePolicy, ReplyPolicy, Report, RowFailure};
use crate::rowset::{IntoRowSet, RowSet};
use crate::sample::IntoSampler;
use crate::stop::Stop;

/// How many times a question is asked while its replies do not parse, by default.
const DEFAULT_ASKS: u32 = 4;

/// Generates rows of `R` with the generators `G`, tuned by its builder methods.
///
/// Made by `Row::runner(&generators)`.
///
/// ```no_run
/// # chatan::dataset! { #[derive(Debug)] struct Qa { q: String = gen("a question"), a: String = gen("answer: {q}") } }
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let openai = chatan::OpenAi::from_env()?;
/// let rows = Qa::runner(&openai)
///     .concurrency(32)   // requests in flight at once
///     .seed(7)           // reproducible samples
///     .generate(1_000)   // rows 0..1000; or a range of rows, such as 1_000..2_000
///     .await?;
/// # Ok(()) }
/// ```
///
/// # Layers
///
/// The runner sends requests through its own layers around the generator it is given:
/// a [`Limit`] of [`concurrency`](Runner::concurrency) requests at once (shared by every
/// generator of the recipe), inside a [`Governor`] per generator (no budgets: it obeys
/// 429s and the provider's rate-limit headers, pausing the endpoint and halving the
/// requests it lets through, then growing them back), inside a [`Retry`] by
/// [`retry`](Runner::retry)'s policy.
/// Layers you compose yourself sit inside these and take precedence (see
/// [`Generator`](crate::Generator)); [`bare`](Runner::bare) leaves the runner's out.
pub struct Runner<'g, R: Dataset, G: ?Sized> {
    generators: &'g G,
    samplers: SamplersOf<R>,
    concurrency: usize,
    /// Whether `concurrency` was set, rather than the default (which a generator's
    /// [`concurrency_hint`](crate::Generator::concurrency_hint) may replace).
    concurrency_set: bool,
    seed: Option<u64>,
    progress: Option<bool>,
    retry: RetryPolicy,
    max_asks: Option<u32>,
    truncated: ReplyPolicy,
    refused: ReplyPolicy,
    checkpoint: Option<(std::path::PathBuf, Codec<R>)>,
    stop: Option<Stop>,
    grace: std::time::Duration,
    cache: Option<crate::ReplyCache>,
    failures: Option<std::path::PathBuf>,
    bare: bool,
    failure: FailurePolicy,
    observers: Observers<'g>,
    #[cfg(feature = "viewer")]
    viewer: Option<crate::viewer::Viewer>,
    shard: Option<crate::Shard>,
}

impl<'g, R: Dataset, G: Generators + ?Sized> Runner<'g, R, G> {
    /// A runner with default settings: 64 requests in flight, a random seed, a progress
    /// bar on terminals, [`RetryPolicy::default`], and [`FailurePolicy::Stop`]. Builds the
    /// recipe's samplers.
    pub fn new(generators: &'g G) -> Self {
        Runner {
            generators,
            samplers: <R::__Recipe as Recipe>::samplers(),
            concurrency: 64,
            concurrency_set: false,
            seed: None,
            progress: None,
            retry: RetryPolicy::default(),
            max_asks: None,
            truncated: ReplyPolicy::Keep,
            refused: ReplyPolicy::Fail,
            checkpoint: None,
            stop: None,
            grace: std::time::Duration::from_secs(30),
            cache: None,
            failures: None,
            bare: false,
            failure: FailurePolicy::Stop,
            observers: Observers::default(),
            #[cfg(feature = "viewer")]
            viewer: None,
            shard: None,
        }
    }

    /// How many requests may be in flight at once, across all rows and columns
    /// (at least 1; default 64, or what the generators ask for with
    /// [`concurrency_hint`](crate::Generator::concurrency_hint), such as a provider batch's
    /// size). Also sets how many rows are open at once (twice this, at least 16), which
    /// bounds memory.
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.concurrency = requests.max(1);
        self.concurrency_set = true;
        self
    }

    /// Seeds the samplers: every sampled value of row `i` is then a pure function of
    /// `(seed, i, column)`. Without a seed, a random one is used (logged at debug level,
    /// and in [`Report::seed`]).
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Whether to draw a progress bar. It is only ever drawn on a terminal, and only
    /// once a run has gone on for a second; by default it is on when standard error is a
    /// terminal, unless the environment sets `CHATAN_PROGRESS=0`. Without the `progress`
    /// cargo feature there is no bar, and this does nothing.
    pub fn progress(mut self, show: bool) -> Self {
        self.progress = Some(show);
        self
    }

    /// How failed requests are retried (the runner's [`Retry`] layer; default
    /// [`RetryPolicy::default`]: 8 attempts).
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// How many times a question is asked, at most, while its replies do not parse or
    /// do not fit the column's schema (at least 1; default 4). Each question after the
    /// first carries the reply before and what was wrong with it.
    pub fn max_asks(mut self, asks: u32) -> Self {
        self.max_asks = Some(asks.max(1));
        self
    }

    /// What a reply cut off by its token limit does (OpenAI's `finish_reason: "length"`,
    /// Anthropic's `stop_reason: "max_tokens"`, a local model at its `max_tokens`). By
    /// default [`ReplyPolicy::Keep`]: the partial text is the value if it parses into
    /// the column's type — a structured column's cut-off JSON does not, and is asked for
    /// again, told it was cut off — and the cell is listed in the report's
    /// [`truncated`](Report::truncated) and in its [`Event::CellGenerated`](crate::Event::CellGenerated).
    pub fn on_truncated(mut self, policy: ReplyPolicy) -> Self {
        self.truncated = policy;
        self
    }

    /// What a refusal does (OpenAI's `refusal`, Anthropic's `stop_reason: "refusal"`). By
    /// default [`ReplyPolicy::Fail`]: the cell fails with
    /// [`CellError::Refused`](crate::CellError::Refused), whose message shows what the
    /// model said, and it is not retried (the same question is refused again);
    /// [`ReplyPolicy::Keep`] keeps the refusal as the value (a dataset of refusals),
    /// listed in the report's [`refused`](Report::refused).
    pub fn on_refused(mut self, policy: ReplyPolicy) -> Self {
        self.refused = policy;
        self
    }

    /// Stops the run when `stop` is thrown (see [`Stop::on_signals`] for Ctrl-C and
    /// SIGTERM): no new rows start, the rows under way finish within the
    /// [`grace`](Runner::grace) period, finished rows are kept (and journaled, with a
    /// [`checkpoint`](Runner::checkpoint)), and the run ends with [`Error::Stopped`] and
    /// the rows it has (`RunError::completed`); a stream yields the finished rows up to
    /// the first one given up (a prefix of the row order), then that error.
    pub fn stop_on(mut self, stop: Stop) -> Self {
        self.stop = Some(stop);
        self
    }

    /// Lists every row that fails for good in `path`, one JSON line each as it fails
    /// (`{"row": 7, "column": "answer", "attempts": 8, "cause": "..."}`), so a run under
    /// [`skip_failed`](Runner::skip_failed) leaves a record beside its output. With a
    /// [`checkpoint`](Runner::checkpoint) and no path given, the list goes beside it
    /// (`qa.checkpoint.failed.jsonl` for `qa.checkpoint.jsonl`). Each run writes its own
    /// list.
    pub fn failures_to(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        self.failures = Some(path.into());
        self
    }

    /// Answers requests from `cache` where it can and keeps new replies in it, outside
    /// every other layer (a cached reply takes no slot and no budget). A rerun of the
    /// same recipe sends nothing; editing one template asks again only that column and
    /// the columns that read it. See [`ReplyCache`](crate::ReplyCache).
    pub fn cache(mut self, cache: &crate::ReplyCache) -> Self {
        self.cache = Some(cache.clone());
        self
    }

    /// How long rows under way may take to finish after a stop (default 30 s); past it
    /// they are given up.
    pub fn grace(mut self, grace: std::time::Duration) -> Self {
        self.grace = grace;
        self
    }

    /// Sends requests to the generator as given, without the runner's limit and retry
    /// layers: for a generator that brings its own. [`concurrency`](Runner::concurrency)
    /// then only sets how many rows are open at once.
    pub fn bare(mut self) -> Self {
        self.bare = true;
        self
    }

    /// What a row that fails for good does to the run (default [`FailurePolicy::Stop`]).
    pub fn on_failure(mut self, policy: FailurePolicy) -> Self {
        self.failure = policy;
        self
    }

    /// Goes on past rows that fail ([`FailurePolicy::Skip`]); [`run`](Runner::run)'s
    /// report lists them.
    pub fn skip_failed(self) -> Self {
        self.on_failure(FailurePolicy::Skip)
    }

    /// Sends the run's [`Event`](crate::Event)s to `observer` as well.
    pub fn observe(mut self, observer: impl Observer + 'g) -> Self {
        self.observers.push(observer);
        self
    }

    /// Shows the run live in the browser (feature `viewer`): see [`crate::viewer`].
    /// The viewer serves while the run goes on and stops when it returns.
    #[cfg(feature = "viewer")]
    pub fn viewer(mut self, viewer: crate::viewer::Viewer) -> Self {
        self.viewer = Some(viewer);
        self
    }

    /// Makes only part `shard` of the rows a run is asked for (see [`crate::Shard`]):
    /// `generate(1_000_000)` in shard 3 of 8 makes rows `375_000..500_000`, exactly as
    /// the whole run would. A run in more than one part needs a [`seed`](Runner::seed),
    /// so that every part samples the same dataset.
    ///
    /// ```no_run
    /// # chatan::dataset! { #[derive(Debug)] struct Qa { q: String = gen("a question") } }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let llm = chatan::OpenAi::from_env()?;
    /// let shard = chatan::Shard::from_env()?.unwrap_or(chatan::Shard::WHOLE);
    /// let rows = Qa::runner(&llm).seed(7).shard(shard).generate(1_000_000).await?;
    /// # Ok(()) }
    /// ```
    pub fn shard(mut self, shard: crate::Shard) -> Self {
        self.shard = Some(shard);
        self
    }

    /// Sends the run's events to a shared observer (one that you read afterwards).
    pub fn observe_shared(mut self, observer: Arc<dyn Observer + 'g>) -> Self {
        self.observers.push_shared(observer);
        self
    }

    /// Replaces the sampler of a sampled (or static) column, such as one declared
    /// `sample::input()`, with one built at run time. `column` picks the column from
    /// the recipe's column handles, so a wrong name or type is a compile error.
    ///
    /// ```no_run
    /// use chatan::sample;
    ///
    /// chatan::dataset! {
    ///     struct Rewrite {
    ///         original: String = sample::input(),
    ///         rewrite: String = gen("rewrite this prompt: {original}"),
    ///     }
    /// }
    ///
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let prompts: Vec<String> = std::fs::read_to_string("prompts.txt")?
    ///     .lines()
    ///     .map(str::to_owned)
    ///     .collect();
    /// let openai = chatan::OpenAi::from_env()?;
    /// let rows = Rewrite::runner(&openai)
    ///     .sampler(|c| c.original, sample::from_values(prompts))
    ///     .generate(100)
    ///     .await?;
    /// # Ok(()) }
    /// ```
    pub fn sampler<T, C, S>(mut self, column: impl FnOnce(&R::Columns) -> C, sampler: S) -> Self
    where
        C: SamplerSlot<R, T>,
        S: IntoSampler<T>,
    {
        let handle = column(&R::__columns()).into_column();
        handle.set(&mut self.samplers, sampler.into_sampler());
        self
    }

    fn start(mut self, rows: RowSet, ordered: bool) -> Result<Rows<'g, R::__Recipe>, Error> {
        if !self.concurrency_set {
            // The most any of the run's generators asks for.
            let generators = std::iter::once(None)
                .chain(self.generators.names().into_iter().map(Some))
                .filter_map(|name| self.generators.get(name.as_deref()));
            if let Some(hint) = generators.filter_map(|g| g.concurrency_hint()).max() {
                self.concurrency = hint.max(1);
            }
        }
        let rows = match self.shard {
            Some(shard) if shard.count() > 1 && self.seed.is_none() => {
                return Err(Error::Shard(format!(
                    "{shard} of a run without a seed: set one with `.seed(..)`, the same \
                     in every shard, so that all of them sample the same dataset"
                )));
            }
            Some(shard) => shard.part_of(rows),
            None => rows,
        };
        let limiter = Limiter::new(self.concurrency);
        #[cfg_attr(not(any(feature = "progress", feature = "viewer")), allow(unused_mut))]
        let mut observers = self.observers;
        #[cfg(feature = "viewer")]
        let viewer = match self.viewer {
            Some(viewer) => {
                let (hub, serving) = viewer.serve((!self.bare).then(|| limiter.clone()))?;
                observers.push_shared(hub);
                Some(serving)
            }
            None => None,
        };
        #[cfg(feature = "progress")]
        if self.progress.unwrap_or_else(progress::wanted_by_default) {
            let limiter = (!self.bare).then(|| limiter.clone());
            if let Some(bar) = Progress::new(limiter) {
                observers.push(bar);
            }
        }
        let policy = self.retry;
        let halt = Halt::default();
        let innermost = halt.clone();
        let on_any_rejection = self.failure == FailurePolicy::Stop;
        // The halt goes innermost: a request waiting for a slot is checked when it gets
        // one, just before it would be sent.
        let layered: Box<dyn Fn(&'g dyn DynGenerator) -> Box<dyn DynGenerator + 'g> + 'g> =
            if self.bare {
                Box::new(move |generator| {
                    Box::new(Halting {
                        inner: generator,
                        halt: innermost.clone(),
                        on_any_rejection,
                    })
                })
            } else {
                let concurrency = self.concurrency;
                Box::new(move |generator| {
                    let halting = Halting {
                        inner: generator,
                        halt: innermost.clone(),
                        on_any_rejection,
                    };
                    // One governor per generator (per endpoint), outside the limit: a
                    // request paused by it holds no slot.
                    let governance = Governance::new().max_in_flight(concurrency);
                    let limited = Limit::new(halting, limiter.clone());
                    Box::new(Retry::new(Governor::new(limited, governance), policy))
                })
            };
        let cache = self.cache.clone();
        let stack: Box<dyn Fn(&'g dyn DynGenerator) -> Box<dyn DynGenerator + 'g> + 'g> =
            match cache {
                Some(cache) => Box::new(move |generator| {
                    Box::new(crate::Cached::new(
                        crate::generator::Boxed(layered(generator)),
                        cache.clone(),
                    ))
                }),
                None => layered,
            };
        let mut extras = Extras::default();
        let mut seed = self.seed;
        if let Some((path, codec)) = &self.checkpoint {
            let spec = &<R::__Recipe as Recipe>::SPEC;
            let opened = checkpoint::open(path, spec, self.seed, rand::random(), *codec)?;
            seed = Some(opened.seed);
            extras.resumed = opened
                .rows
                .into_iter()
                .filter(|(row, _)| rows.contains(*row))
                .collect();
            extras.journal = Some(opened.journal);
        }
        let failures = self.failures.clone().or_else(|| {
            let (path, _) = self.checkpoint.as_ref()?;
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            Some(path.with_file_name(format!("{stem}.failed.jsonl")))
        });
        if let Some(path) = failures {
            let file = std::fs::File::create(&path).map_err(|e| Error::Checkpoint {
                path: path.clone(),
                message: format!("the failed rows file cannot be written: {e}"),
            })?;
            extras.failures = Some((path, std::io::BufWriter::new(file)));
        }
        extras.stop = self.stop.clone();
        extras.grace = self.grace;
        #[cfg(feature = "viewer")]
        {
            extras.viewer = viewer;
        }
        let setup = Setup {
            halt,
            concurrency: self.concurrency,
            seed,
            max_asks: self.max_asks.unwrap_or(DEFAULT_ASKS),
            truncated: self.truncated,
            refused: self.refused,
            failure: self.failure,
            observers,
            stack,
            checkpoint: self.checkpoint.as_ref().map(|(path, _)| path.clone()),
        };
        let run = Run::<R::__Recipe>::start(self.generators, self.samplers, setup)?;
        Ok(Rows::new(run, rows, ordered, extras))
    }

    /// Generates the rows `rows` — a count `n` (rows `0..n`), a range of row indices, or
    /// a [`RowSet`] — and returns them in row order.
    ///
    /// If a row fails (after retries), no new rows start, the rows already under way
    /// finish, and the error names the row, column and cause and carries every completed
    /// row ([`RunError::completed`]). Under [`skip_failed`](Runner::skip_failed), the run
    /// goes on and returns the rows that did not fail; use [`run`](Runner::run) to learn
    /// which did.
    pub async fn generate(self, rows: impl IntoRowSet) -> Result<Vec<R>, RunError<R>> {
        self.run(rows).await.map(|generated| generated.rows)
    }

    /// Like [`generate`](Runner::generate), with the run's [`Report`] (tokens, requests,
    /// retries, failed rows) and each row's index.
    pub async fn run(self, rows: impl IntoRowSet) -> Result<Generated<R>, RunError<R>> {
        let rows = rows.into_row_set();
        let capacity = rows.len().min(1 << 20);
        let stop = self.failure == FailurePolicy::Stop;
        let mut stream = match self.start(rows, false) {
            Ok(stream) => stream,
            Err(e) => return Err(RunError::new(e, Vec::new(), Report::default())),
        };
        let mut done: Vec<(usize, R)> = Vec::with_capacity(capacity);
        let mut failed: Vec<RowFailure> = Vec::new();
        let mut cancelled = 0;
        // A stop, or a checkpoint that cannot be written: not a row's failure.
        let mut ended: Option<Error> = None;
        while let Some((index, result)) = stream.next().await {
            match result {
                Ok((row, _)) => done.push((index, row)),
                Err(e) if RowFailure::is_cancellation(&e) => cancelled += 1,
                Err(e @ Error::Cell { .. }) => failed.extend(RowFailure::from_error(e)),
                Err(e) => {
                    ended.get_or_insert(e);
                }
            }
        }
        #[cfg(feature = "viewer")]
        stream.close_viewer().await;
        done.sort_unstable_by_key(|(i, _)| *i);
        let first = failed.first().cloned();
        failed.sort_by_key(|f| f.row);
        let (usage, elapsed) = stream.totals();
        let mut report = Report {
            seed: stream.run().seed(),
            done: done.len(),
            failed,
            cancelled,
            not_started: stream.not_started(),
            usage,
            elapsed,
            ..Report::default()
        };
        let columns = <R::__Recipe as Recipe>::SPEC.columns;
        stream.run().tally().fill(&mut report, |name| {
            columns
                .iter()
                .find(|c| c.name == name)
                .map_or("", |c| c.name)
        });
        match (first, ended) {
            (Some(first), _) if stop => Err(RunError::new(first.into_error(), done, report)),
            // Under skip, the halt is the stream's last item.
            (_, Some(ended)) => Err(RunError::new(ended, done, report)),
            _ => {
                let (indices, rows) = done.into_iter().unzip();
                Ok(Generated {
                    rows,
                    indices,
                    report,
                })
            }
        }
    }

    /// The prompts the first `rows` rows would send, rendered without calling any
    /// model: sampled, static and derived values are filled in as the run would fill
    /// them, and a value that a generated column will supply shows as `⟨column⟩` (a
    /// condition on one shows each branch it could take). Print it as a table, or read
    /// it in a test. With a [`seed`](Runner::seed), the rows are the ones the run will
    /// make; fails like a run does if a sampler is unusable.
    ///
    /// ```
    /// chatan::dataset! {
    ///     #[derive(Debug)]
    ///     struct Qa {
    ///         topic: String = sample::choice(["tides"]),
    ///         question: String = gen("a question about {topic}"),
    ///         answer: String = gen("{% if topic == \"tides\" %}briefly: {% endif %}{question}"),
    ///     }
    /// }
    /// let llm = chatan::GeneratorSet::new(); // nothing is called
    /// let preview = Qa::runner(&llm).seed(1).preview(2).unwrap();
    /// print!("{preview}");
    /// let row = &preview.rows[0];
    /// assert_eq!(row.prompt("question").unwrap().prompt, "a question about tides");
    /// assert_eq!(row.prompt("answer").unwrap().prompt, "briefly: ⟨question⟩");
    /// ```
    pub fn preview(&self, rows: usize) -> Result<crate::Preview, Error> {
        let columns = <R::__Recipe as Recipe>::SPEC.columns;
        for (i, column) in columns.iter().enumerate() {
            if matches!(column.kind, ColumnKind::Sampled | ColumnKind::Static) {
                <R::__Recipe as Recipe>::check_sampler(&self.samplers, i).map_err(|cause| {
                    Error::Sampler {
                        column: column.name,
                        cause,
                    }
                })?;
            }
        }
        let seed = self.seed.unwrap_or_else(rand::random);
        Ok(crate::preview::preview::<R::__Recipe>(
            &self.samplers,
            seed,
            rows,
        ))
    }

    /// Generates `rows` as a stream, in row order: rows are handed over as soon as they
    /// and the rows before them are done, so they can be written out while later rows
    /// are still generating.
    ///
    /// Fails at once if the recipe cannot run (a generator or sampler is missing or
    /// unusable). When a row fails, no new rows start and the rows already under way
    /// finish (after a rejection such as a 400, only those before the failed row are
    /// still sent). What is yielded is always a prefix of the row order: every row
    /// before the first one that did not finish, then the `Err` item that stopped the
    /// run, which is the last. A loop that stops at its first `Err` (`let row = row?;`)
    /// has rows `0..k`, every one of them; a row that finished after the gap is not
    /// yielded (with a [`checkpoint`](Runner::checkpoint) it is journaled, and a resume
    /// has it). Under [`skip_failed`](Runner::skip_failed), failed rows are `Err` items
    /// in their place and the stream goes on.
    pub fn stream(self, rows: impl IntoRowSet) -> Result<RowStream<'g, R>, Error> {
        Ok(RowStream {
            rows: self.start(rows.into_row_set(), true)?,
        })
    }

    /// Like [`stream`](Runner::stream), but yields rows the moment they finish, with
    /// their index, in whatever order they finish.
    pub fn stream_unordered(
        self,
        rows: impl IntoRowSet,
    ) -> Result<UnorderedRowStream<'g, R>, Error> {
        Ok(UnorderedRowStream {
            rows: self.start(rows.into_row_set(), false)?,
        })
    }
}

impl<'g, R, G> Runner<'g, R, G>
where
    R: Dataset + serde::Serialize + serde::de::DeserializeOwned,
    G: Generators + ?Sized,
{
    /// Journals every finished row to `path` (JSON lines, synced to disk in batches),
    /// and resumes from it: rows already in the file are handed back as they are and
    /// not generated again, so a run stopped by a crash, a kill or Ctrl-C finishes with
    /// the rows an uninterrupted run would have made, in the same order. The file
    /// records the seed (a run with no [`seed`](Runner::seed) takes it) and a
    /// fingerprint of the recipe: a file made by another recipe, by a changed one, or
    /// with another seed is refused with [`Error::Checkpoint`], never mixed in. The row
    /// type must be `serde::Serialize` and `Deserialize`.
    ///
    /// ```no_run
    /// chatan::dataset! {
    ///     #[derive(Debug, serde::Serialize, serde::Deserialize)]
    ///     struct Qa { q: String = gen("a question"), a: String = gen("answer: {q}") }
    /// }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let llm = chatan::OpenAi::from_env()?;
    /// // Run it again after a crash: only the missing rows are generated.
    /// let rows = Qa::runner(&llm).seed(7).checkpoint("qa.checkpoint.jsonl").generate(100_000).await?;
    /// # Ok(()) }
    /// ```
    pub fn checkpoint(mut self, path: impl Into<std::path::PathBuf>) -> Self {
        let codec = Codec {
            write: |row: &R| serde_json::to_value(row),
            read: |value| serde_json::from_value(value),
        };
        self.checkpoint = Some((path.into(), codec));
        self
    }
}

#[cfg(feature = "polars")]
impl<'g, R, G> Runner<'g, R, G>
where
    R: Dataset + crate::data::ToFrame,
    G: Generators + ?Sized,
{
    /// Streams rows `rows` straight into the file `path` (parquet, csv, json or jsonl, by
    /// extension; see [`Sink`](crate::data::Sink)), in row order, with memory flat for
    /// any number of rows; the number of rows written. Under
    /// [`skip_failed`](Runner::skip_failed), failed rows are left out of the file and
    /// listed beside it, as they fail, in `<name>.failed.jsonl` (unless
    /// [`failures_to`](Runner::failures_to) names another file), and the run goes on;
    /// otherwise the first failure stops the run, the file is completed with the rows
    /// before the first one that did not finish (the first `written` rows of `rows`,
    /// with no gap), and the error is returned.
    ///
    /// ```no_run
    /// # chatan::dataset! { #[derive(Debug)] struct Qa { q: String = gen("a question") } }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let llm = chatan::OpenAi::from_env()?;
    /// let written = Qa::runner(&llm).skip_failed().write_to("qa.parquet", 1_000_000).await?;
    /// # Ok(()) }
    /// ```
    pub async fn write_to(
        mut self,
        path: impl AsRef<std::path::Path>,
        rows: impl IntoRowSet,
    ) -> Result<usize, crate::data::StreamError> {
        let path = path.as_ref();
        let skip = self.failure == FailurePolicy::Skip;
        if skip && self.failures.is_none() {
            let stem = path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .unwrap_or_default();
            self.failures = Some(path.with_file_name(format!("{stem}.failed.jsonl")));
        }
        let mut sink = crate::data::Sink::create(path)?;
        let mut stream = self
            .stream(rows)
            .map_err(|error| crate::data::StreamError::Run { error, written: 0 })?;
        let mut stopped = None;
        while let Some(row) = stream.next().await {
            match row {
                Ok(row) => sink.push(row)?,
                // Listed in the failures file as it failed; the run goes on.
                Err(Error::Cell { .. }) if skip => {}
                Err(error) => {
                    stopped.get_or_insert(error);
                }
            }
        }
        let written = sink.finish()?;
        match stopped {
            Some(error) => Err(crate::data::StreamError::Run { error, written }),
            None => Ok(written),
        }
    }
}

#[cfg(feature = "polars")]
impl<'g, R, G> Runner<'g, R, G>
where
    R: Dataset + crate::data::ToFrame + serde::Serialize + serde::de::DeserializeOwned,
    G: Generators + ?Sized,
{
    /// Makes this process's [`shard`](Runner::shard) of `rows` (all of them without
    /// one) as one part of the Hugging Face dataset folder `dir`:
    /// `data/{split}-{k:05}-of-{n:05}.parquet`, moved into place when complete, with a
    /// manifest of its rows and its own checkpoint under `dir/.chatan/` (a shard that
    /// failed or was stopped runs again alone, and makes only what it lacks), and the
    /// folder's `README.md` card rewritten. Once every shard has run, the folder is one
    /// dataset that Python's `datasets.load_dataset(dir)` opens;
    /// [`verify_shards`](crate::data::verify_shards) checks that every row is there
    /// exactly once.
    ///
    /// ```no_run
    /// # chatan::dataset! { #[derive(Debug, serde::Serialize, serde::Deserialize)] struct Qa { q: String = gen("a question") } }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let llm = chatan::OpenAi::from_env()?;
    /// // In each task of a Slurm array or Kubernetes Indexed Job:
    /// let shard = chatan::Shard::from_env()?.unwrap_or(chatan::Shard::WHOLE);
    /// let part = Qa::runner(&llm)
    ///     .seed(7)
    ///     .shard(shard)
    ///     .skip_failed()
    ///     .write_shard("qa-dataset", "train", 1_000_000)
    ///     .await?;
    /// println!("{}: {} rows in {}", part.shard, part.rows, part.path.display());
    /// # Ok(()) }
    /// ```
    pub async fn write_shard(
        self,
        dir: impl AsRef<std::path::Path>,
        split: &str,
        rows: impl IntoRowSet,
    ) -> Result<crate::data::ShardWritten, crate::data::StreamError> {
        let dir = dir.as_ref();
        let shard = self.shard.unwrap_or(crate::Shard::WHOLE);
        let paths = crate::data::PartPaths::new(dir, &shard.file_stem(split))?;
        let mut sink = crate::data::Sink::create(&paths.parquet)?;
        let (outcome, manifest) = self
            .shard_run(&paths, split, rows, |row| {
                let pushed = sink.push(row);
                async move { pushed }
            })
            .await?;
        let count = sink.finish()?;
        manifest.write(&paths.manifest)?;
        crate::data::write_card::<R>(dir)?;
        outcome.finish(shard, paths.parquet, count, 0)
    }

    /// [`write_shard`](Runner::write_shard) into a dataset folder in object storage
    /// (feature `object-store`; see [`Remote`](crate::data::Remote)): the part goes up
    /// as a multipart upload while it is written and appears whole when complete; its
    /// manifest and the card go beside it. Its checkpoint is written on local disk,
    /// under the remote's [`state_dir`](crate::data::Remote::state_dir), and goes up to
    /// the store too, a segment per row group (`.chatan/{split}-{k}-of-{n}.checkpoint/`):
    /// the shard run again on another machine (a rescheduled pod) fetches it and makes
    /// only the rows the store does not have.
    #[cfg(feature = "object-store")]
    pub async fn write_shard_remote(
        self,
        remote: &crate::data::Remote,
        split: &str,
        rows: impl IntoRowSet,
    ) -> Result<crate::data::ShardWritten, crate::data::StreamError> {
        let shard = self.shard.unwrap_or(crate::Shard::WHOLE);
        let stem = shard.file_stem(split);
        let paths = crate::data::PartPaths::new(remote.state(), &stem)?;
        let relative = format!("data/{stem}.parquet");
        let checkpoint =
            crate::data::RemoteCheckpoint::restore(remote, &stem, &paths.checkpoint).await?;
        let part = crate::data::RemotePart::<R>::create(remote, &relative).await?;
        let writing = tokio::sync::Mutex::new((part, checkpoint, 0usize));
        let (outcome, manifest) = {
            let writing = &writing;
            self.shard_run(&paths, split, rows, move |row| async move {
                // One row at a time: the run's loop awaits each push.
                let (part, checkpoint, since) = &mut *writing.lock().await;
                part.push(row).await?;
                *since += 1;
                if *since >= checkpoint.every() {
                    *since = 0;
                    checkpoint.upload().await?;
                }
                Ok(())
            })
            .await?
        };
        let (part, mut checkpoint, _) = writing.into_inner();
        // The rows the run ended with (and the failed ones' absence) reach the store
        // before the part is complete.
        checkpoint.upload().await?;
        let (count, uploads) = part.finish().await?;
        let text =
            serde_json::to_vec_pretty(&manifest).map_err(|e| crate::data::DataError::Remote {
                url: remote.url().to_owned(),
                message: e.to_string(),
            })?;
        remote.put(&format!(".chatan/{stem}.json"), text).await?;
        crate::data::write_remote_card::<R>(remote).await?;
        let path = std::path::PathBuf::from(format!("{}/{relative}", remote.url()));
        outcome.finish(shard, path, count, uploads)
    }

    /// The run of a shard into a part: checkpoint and failures list at `paths`, each
    /// finished row handed to `push` in row order; the outcome and the part's manifest.
    async fn shard_run<P, Fut>(
        mut self,
        paths: &crate::data::PartPaths,
        split: &str,
        rows: impl IntoRowSet,
        mut push: P,
    ) -> Result<(ShardOutcome, crate::data::Manifest), crate::data::StreamError>
    where
        P: FnMut(R) -> Fut,
        Fut: std::future::Future<Output = Result<(), crate::data::DataError>>,
    {
        let shard = self.shard.unwrap_or(crate::Shard::WHOLE);
        if self.failures.is_none() {
            self.failures = Some(paths.failures.clone());
        }
        self = self.checkpoint(&paths.checkpoint);
        let skip = self.failure == FailurePolicy::Skip;
        let rows = rows.into_row_set();
        let run = rows.bounds();
        let part = shard.part_of(rows.clone()).bounds();
        let mut stream = self
            .start(rows, true)
            .map_err(|error| crate::data::StreamError::Run { error, written: 0 })?;
        let seed = stream.run().seed();
        let mut written = crate::data::Ranges::default();
        let mut failed = Vec::new();
        let mut stopped = None;
        while let Some((index, result)) = stream.next().await {
            match result {
                Ok((row, _)) => {
                    push(row).await?;
                    written.push(index);
                }
                Err(Error::Cell { .. }) if skip => failed.push(index),
                Err(error) => {
                    stopped.get_or_insert(error);
                }
            }
        }
        #[cfg(feature = "viewer")]
        stream.close_viewer().await;
        let spec = &<R::__Recipe as Recipe>::SPEC;
        let manifest = crate::data::Manifest {
            recipe: spec.name.to_owned(),
            fingerprint: format!("{:016x}", spec.fingerprint),
            seed: seed.to_string(),
            split: split.to_owned(),
            shard: shard.index(),
            of: shard.count(),
            run,
            rows: part,
            written: written.0,
            failed: failed.clone(),
        };
        Ok((ShardOutcome { failed, stopped }, manifest))
    }
}

/// How a shard's run ended: the rows that failed, and the error that stopped it.
#[cfg(feature = "polars")]
struct ShardOutcome {
    failed: Vec<usize>,
    stopped: Option<Error>,
}

#[cfg(feature = "polars")]
impl ShardOutcome {
    // The error is the public methods' own (`write_shard`'s), passed straight up.
    #[allow(clippy::result_large_err)]
    fn finish(
        self,
        shard: crate::Shard,
        path: std::path::PathBuf,
        rows: usize,
        uploads: usize,
    ) -> Result<crate::data::ShardWritten, crate::data::StreamError> {
        match self.stopped {
            Some(error) => Err(crate::data::StreamError::Run {
                error,
                written: rows,
            }),
            None => Ok(crate::data::ShardWritten {
                shard,
                path,
                rows,
                failed: self.failed,
                uploads,
            }),
        }
    }
}

/// The rows of a run that went to the end, with its [`Report`]; see [`Runner::run`].
#[derive(Debug)]
#[non_exhaustive]
pub struct Generated<R> {
    /// The rows, in row order (failed rows left out under
    /// [`FailurePolicy::Skip`]).
    pub rows: Vec<R>,
    /// Each row's index, in the same order.
    pub indices: Vec<usize>,
    /// What the run made and spent.
    pub report: Report,
}

/// Rows in row order; see [`Runner::stream`].
pub struct RowStream<'g, R: Dataset> {
    rows: Rows<'g, R::__Recipe>,
}

impl<R: Dataset> Stream for RowStream<'_, R> {
    type Item = Result<R, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rows
            .poll_next_unpin(cx)
            .map(|item| item.map(|(_, result)| result.map(|(row, _)| row)))
    }
}

/// Rows with their indices, in completion order; see [`Runner::stream_unordered`].
pub struct UnorderedRowStream<'g, R: Dataset> {
    rows: Rows<'g, R::__Recipe>,
}

impl<R: Dataset> Stream for UnorderedRowStream<'_, R> {
    type Item = (usize, Result<R, Error>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rows
            .poll_next_unpin(cx)
            .map(|item| item.map(|(index, result)| (index, result.map(|(row, _)| row))))
    }
}
