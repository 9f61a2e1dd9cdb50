//! The runner: which rows, how many requests at once, which seed, which samplers, which
//! layers around the generator, what happens on failure, and who watches.

use std::sync::Arc;

use crate::checkpoint::Codec;
use crate::dataset::{Dataset, SamplerSlot, SamplersOf};
use crate::event::{Observer, Observers};
use crate::generator::Generators;
use crate::layer::RetryPolicy;
use crate::recipe::Recipe;
use crate::report::{FailurePolicy, ReplyPolicy};
use crate::sample::IntoSampler;
use crate::stop::Stop;
use crate::watch::Watch;

mod keep;
mod run;
mod start;

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
/// a [`Limit`](crate::Limit) of [`concurrency`](Runner::concurrency) requests at once
/// (shared by every generator of the recipe), inside a [`Governor`](crate::Governor) per
/// generator (no budgets: it sends the first request alone, obeys 429s and the
/// provider's rate-limit headers by pausing the endpoint, and keeps to the pace it
/// learns from them), inside a [`Retry`](crate::Retry) by [`retry`](Runner::retry)'s
/// policy.
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
    /// and in [`Report::seed`](crate::Report::seed)).
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

    /// How failed requests are retried (the runner's [`Retry`](crate::Retry) layer; default
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
    /// [`truncated`](crate::Report::truncated) and in its [`Event::CellGenerated`](crate::Event::CellGenerated).
    pub fn on_truncated(mut self, policy: ReplyPolicy) -> Self {
        self.truncated = policy;
        self
    }

    /// What a refusal does (OpenAI's `refusal`, Anthropic's `stop_reason: "refusal"`). By
    /// default [`ReplyPolicy::Fail`]: the cell fails with
    /// [`CellError::Refused`](crate::CellError::Refused), whose message shows what the
    /// model said, and it is not retried (the same question is refused again);
    /// [`ReplyPolicy::Keep`] keeps the refusal as the value (a dataset of refusals),
    /// listed in the report's [`refused`](crate::Report::refused).
    pub fn on_refused(mut self, policy: ReplyPolicy) -> Self {
        self.refused = policy;
        self
    }

    /// Stops the run when `stop` is thrown (see [`Stop::on_signals`] for Ctrl-C and
    /// SIGTERM): no new rows start, the rows under way finish within the
    /// [`grace`](Runner::grace) period, finished rows are kept (and journaled, with a
    /// [`checkpoint`](Runner::checkpoint)), and the run ends with [`Error::Stopped`](crate::Error::Stopped) and
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
    /// with another seed is refused with [`Error::Checkpoint`](crate::Error::Checkpoint), never mixed in. The row
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

pub use self::keep::{Decision, Dropped, KeepReport, Keeping};
pub use self::run::{Generated, IndexedRowStream, RowStream, UnorderedRowStream};
