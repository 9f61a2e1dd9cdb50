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
use crate::error::Error;
use crate::event::{Observer, Observers};
use crate::generator::{DynGenerator, Generators};
use crate::layer::{Governance, Governor, Halt, Halting, Limit, Limiter, Retry, RetryPolicy};
#[cfg(feature = "progress")]
use crate::progress::{self, Progress};
use crate::recipe::{ColumnKind, Recipe};
use crate::report::RunError;
use crate::report::{FailurePolicy, ReplyPolicy, Report, RowFailure};
use crate::rowset::{IntoRowSet, RowSet};
use crate::sample::IntoSampler;
use crate::stop::Stop;
use crate::watch::Watch;

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
    watches: Vec<Box<dyn Watch>>,
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
            watches: Vec::new(),
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

    /// Shows the run live in the browser: `chatan::viewer::Viewer` (feature `viewer`),
    /// or any other [`Watch`]. The viewer serves while the run goes on and stops when
    /// it returns.
    pub fn viewer(mut self, viewer: impl Watch + 'static) -> Self {
        self.watches.push(Box::new(viewer));
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
        let mut observers = self.observers;
        let mut closing = Vec::new();
        for watch in self.watches {
            let watching = watch.start((!self.bare).then(|| limiter.clone()))?;
            observers.push_shared(watching.observer);
            closing.push(watching.close);
        }
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
        extras.closing = closing;
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
        stream.close_watches().await;
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

    /// Like [`stream`](Runner::stream), with each row's index and the run's seed: what
    /// a writer of files needs to record which rows it wrote (failed rows are `Err`
    /// items at their index under [`skip_failed`](Runner::skip_failed)). Call
    /// [`close`](IndexedRowStream::close) after the last item, so that a
    /// [`viewer`](Runner::viewer) has stopped before you return.
    pub fn stream_indexed(self, rows: impl IntoRowSet) -> Result<IndexedRowStream<'g, R>, Error> {
        Ok(IndexedRowStream {
            rows: self.start(rows.into_row_set(), true)?,
        })
    }

    /// What happens to the rows after a failed one: see [`on_failure`](Runner::on_failure).
    pub fn failure_policy(&self) -> FailurePolicy {
        self.failure
    }

    /// The file failed rows are listed in, if one is set (by
    /// [`failures_to`](Runner::failures_to)).
    pub fn failures_path(&self) -> Option<&std::path::Path> {
        self.failures.as_deref()
    }

    /// The part of the rows this runner makes, if one is set (by
    /// [`shard`](Runner::shard)).
    pub fn which_shard(&self) -> Option<crate::Shard> {
        self.shard
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

/// Rows with their indices, in row order; see [`Runner::stream_indexed`].
pub struct IndexedRowStream<'g, R: Dataset> {
    rows: Rows<'g, R::__Recipe>,
}

impl<R: Dataset> IndexedRowStream<'_, R> {
    /// The run's seed (drawn at random unless [`seed`](Runner::seed) set one, or taken
    /// from the checkpoint it resumes).
    pub fn seed(&self) -> u64 {
        self.rows.run().seed()
    }

    /// Closes what watches the run (the viewer), waiting until it has stopped.
    pub async fn close(&mut self) {
        self.rows.close_watches().await;
    }
}

impl<R: Dataset> Stream for IndexedRowStream<'_, R> {
    type Item = (usize, Result<R, Error>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rows
            .poll_next_unpin(cx)
            .map(|item| item.map(|(index, result)| (index, result.map(|(row, _)| row))))
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
