//! Running: rows collected, previewed, or streamed as they finish.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures::stream::{Stream, StreamExt};

use crate::dataset::Dataset;
use crate::engine::Rows;
use crate::error::Error;
use crate::generator::Generators;
use crate::recipe::{ColumnKind, Recipe};
use crate::report::RunError;
use crate::report::{FailurePolicy, Report, RowFailure};
use crate::rowset::IntoRowSet;

use super::Runner;

impl<'g, R: Dataset, G: Generators + ?Sized> Runner<'g, R, G> {
    /// Generates the rows `rows` — a count `n` (rows `0..n`), a range of row indices, or
    /// a [`RowSet`](crate::RowSet) — and returns them in row order.
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
        let report = report(&stream, done.len(), failed, cancelled);
        // Under skip, a halt is the stream's last item.
        let error = first.filter(|_| stop).map(RowFailure::into_error).or(ended);
        outcome(done, report, error)
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
}

/// The report of a run whose stream `stream` has ended, with `done` rows kept.
pub(super) fn report<'g, R: Recipe>(
    stream: &Rows<'g, R>,
    done: usize,
    mut failed: Vec<RowFailure>,
    cancelled: usize,
) -> Report
where
    R::Row: Send + 'g,
{
    failed.sort_by_key(|f| f.row);
    let (usage, elapsed) = stream.totals();
    let mut report = Report {
        seed: stream.run().seed(),
        done,
        failed,
        cancelled,
        not_started: stream.not_started(),
        usage,
        elapsed,
        ..Report::default()
    };
    let columns = R::SPEC.columns;
    stream.run().tally().fill(&mut report, |name| {
        columns
            .iter()
            .find(|c| c.name == name)
            .map_or("", |c| c.name)
    });
    report
}

/// A run's result: its rows (in order) and report, or the error that ended it with the
/// rows it completed.
// The error is what `run` returns to the user, built once per run: boxing it here would
// only move the allocation.
#[allow(clippy::result_large_err)]
pub(super) fn outcome<R>(
    done: Vec<(usize, R)>,
    report: Report,
    error: Option<Error>,
) -> Result<Generated<R>, RunError<R>> {
    match error {
        Some(error) => Err(RunError::new(error, done, report)),
        None => {
            let (indices, rows) = done.into_iter().unzip();
            Ok(Generated {
                rows,
                indices,
                report,
            })
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
