//! The runner: how many rows, how many requests at once, which seed, which samplers.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{Stream, StreamExt};

use crate::dataset::{Dataset, SampledColumn, SamplersOf};
use crate::engine::{Rows, Run, Settings};
use crate::error::{Error, RunError};
use crate::generator::Generators;
use crate::recipe::Recipe;
use crate::retry::RetryPolicy;
use crate::sample::IntoSampler;

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
///     .progress(true)    // a progress bar on a terminal
///     .generate(1_000)
///     .await?;
/// # Ok(()) }
/// ```
pub struct Runner<'g, R: Dataset, G: ?Sized> {
    generators: &'g G,
    samplers: SamplersOf<R>,
    settings: Settings,
}

impl<'g, R: Dataset, G: Generators + ?Sized> Runner<'g, R, G> {
    /// A runner with default settings: 64 requests in flight, a random seed, a progress
    /// bar on terminals, and [`RetryPolicy::default`]. Builds the recipe's samplers.
    pub fn new(generators: &'g G) -> Self {
        Runner {
            generators,
            samplers: <R::__Recipe as Recipe>::samplers(),
            settings: Settings {
                concurrency: 64,
                seed: None,
                progress: true,
                retry: RetryPolicy::default(),
            },
        }
    }

    /// How many requests may be in flight at once, across all rows and columns
    /// (at least 1; default 64).
    pub fn concurrency(mut self, requests: usize) -> Self {
        self.settings.concurrency = requests.max(1);
        self
    }

    /// Seeds the samplers: every sampled value of row `i` is then a pure function of
    /// `(seed, i, column)`. Without a seed, a random one is used (logged at debug level).
    pub fn seed(mut self, seed: u64) -> Self {
        self.settings.seed = Some(seed);
        self
    }

    /// Whether to draw a progress bar (only ever on a terminal; default on).
    pub fn progress(mut self, show: bool) -> Self {
        self.settings.progress = show;
        self
    }

    /// How failed requests are retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry = policy;
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
    pub fn sampler<T, S>(
        mut self,
        column: impl FnOnce(&R::Columns) -> SampledColumn<R, T>,
        sampler: S,
    ) -> Self
    where
        S: IntoSampler<T>,
    {
        let handle = column(&R::__columns());
        handle.set(&mut self.samplers, sampler.into_sampler());
        self
    }

    fn start(self, n: usize, ordered: bool) -> Result<Rows<'g, R::__Recipe>, Error> {
        let run = Run::<R::__Recipe>::start(self.generators, self.samplers, self.settings, n)?;
        Ok(Rows::new(run, n, ordered))
    }

    /// Generates `n` rows and returns them in row order.
    ///
    /// If a row fails (after retries), no new rows start, the rows already under way
    /// finish, and the error names the row, column and cause and carries every completed
    /// row ([`RunError::completed`]).
    pub async fn generate(self, n: usize) -> Result<Vec<R>, RunError<R>> {
        let mut rows = match self.start(n, false) {
            Ok(rows) => rows,
            Err(e) => return Err(RunError::new(e, Vec::new())),
        };
        let mut done: Vec<(usize, R)> = Vec::with_capacity(n.min(1 << 20));
        let mut failure = None;
        while let Some((index, result)) = rows.next().await {
            match result {
                Ok(row) => done.push((index, row)),
                Err(e) if failure.is_none() => failure = Some(e),
                Err(e) => tracing::warn!(error = %e, "another row failed"),
            }
        }
        done.sort_unstable_by_key(|(i, _)| *i);
        match failure {
            None => Ok(done.into_iter().map(|(_, row)| row).collect()),
            Some(e) => Err(RunError::new(e, done)),
        }
    }

    /// Generates `n` rows as a stream, in row order: the `i`-th item is row `i`. Rows are
    /// handed over as soon as they and the rows before them are done, so they can be
    /// written out while later rows are still generating.
    ///
    /// Fails at once if the recipe cannot run (a generator or sampler is missing or
    /// unusable). After a row fails, no new rows start; the rows already under way are
    /// still yielded, then the stream ends.
    pub fn stream(self, n: usize) -> Result<RowStream<'g, R>, Error> {
        Ok(RowStream {
            rows: self.start(n, true)?,
        })
    }

    /// Like [`stream`](Runner::stream), but yields rows the moment they finish, with
    /// their index, in whatever order they finish.
    pub fn stream_unordered(self, n: usize) -> Result<UnorderedRowStream<'g, R>, Error> {
        Ok(UnorderedRowStream {
            rows: self.start(n, false)?,
        })
    }
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
            .map(|item| item.map(|(_, result)| result))
    }
}

/// Rows with their indices, in completion order; see [`Runner::stream_unordered`].
pub struct UnorderedRowStream<'g, R: Dataset> {
    rows: Rows<'g, R::__Recipe>,
}

impl<R: Dataset> Stream for UnorderedRowStream<'_, R> {
    type Item = (usize, Result<R, Error>);

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.rows.poll_next_unpin(cx)
    }
}
