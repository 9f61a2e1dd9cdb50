//! What a run made and spent: rows done, rows failed (each with its row, column, attempts
//! and cause), tokens, requests and retries. Built from the run's events and rows.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use crate::error::{CellError, Error};
use crate::event::{Event, Observer};
use crate::reply::Usage;

/// What happens when a row fails for good (after retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum FailurePolicy {
    /// No new row starts; rows under way finish; the run returns an error that carries
    /// every completed row ([`RunError`](crate::RunError)). The default.
    #[default]
    Stop,
    /// The run goes on without the row; the [`Report`] lists it. A failed row is never
    /// replaced by placeholder values.
    Skip,
}

/// What a run does with a reply that is not whole: cut off by its token limit, or a
/// refusal (see [`Runner::on_truncated`](crate::Runner::on_truncated) and
/// [`Runner::on_refused`](crate::Runner::on_refused)). Whatever it does, such a reply is
/// never a silent value: one that is kept is listed in the [`Report`] and its
/// [`Event::CellGenerated`] says so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ReplyPolicy {
    /// The text is the cell's value (if it parses into the column's type; if not, the
    /// question is asked again as for any reply that does not).
    Keep,
    /// The question is asked again, saying what was wrong, up to the runner's
    /// [`max_asks`](crate::Runner::max_asks); then the cell fails.
    AskAgain,
    /// The cell fails ([`CellError::Truncated`], [`CellError::Refused`]), naming the
    /// reply.
    Fail,
}

/// A row that failed: where, after how many requests, and why.
#[derive(Debug, Clone)]
pub struct RowFailure {
    /// The row's index.
    pub row: usize,
    /// The column that could not be filled.
    pub column: &'static str,
    /// What went wrong.
    pub cause: CellError,
}

impl RowFailure {
    /// Requests made for the cell that failed.
    pub fn attempts(&self) -> u32 {
        self.cause.attempts()
    }

    /// As an [`Error`].
    pub fn into_error(self) -> Error {
        Error::Cell {
            row: self.row,
            column: self.column,
            cause: self.cause,
        }
    }

    /// From an error the engine made for a row (always [`Error::Cell`]).
    /// Whether the row was cancelled (never failed by itself) when the run halted.
    pub(crate) fn is_cancellation(error: &Error) -> bool {
        matches!(
            error,
            Error::Cell {
                cause: CellError::Generator {
                    cause: crate::error::GeneratorError::Cancelled,
                    ..
                },
                ..
            }
        )
    }

    pub(crate) fn from_error(error: Error) -> Option<Self> {
        match error {
            Error::Cell { row, column, cause } => Some(RowFailure { row, column, cause }),
            _ => None,
        }
    }
}

impl std::fmt::Display for RowFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "row {}, column `{}`: {}",
            self.row, self.column, self.cause
        )
    }
}

/// A run's account: see [`Runner::run`](crate::Runner::run).
#[derive(Debug, Default)]
#[non_exhaustive]
pub struct Report {
    /// The sampling seed.
    pub seed: u64,
    /// Rows completed.
    pub done: usize,
    /// Rows that failed, in row order.
    pub failed: Vec<RowFailure>,
    /// Rows under way that were stopped before all their requests were sent, because a
    /// failure that every request would meet (a rejected key, no quota) halted the run.
    pub cancelled: usize,
    /// Rows of the run never started, because it stopped early (a failure under the
    /// default policy, a halt, a stop).
    pub not_started: usize,
    /// Cells (row, column) whose value is a reply cut off by its token limit, kept by
    /// [`ReplyPolicy::Keep`].
    pub truncated: Vec<(usize, &'static str)>,
    /// Cells (row, column) whose value is a refusal, kept by [`ReplyPolicy::Keep`].
    pub refused: Vec<(usize, &'static str)>,
    /// Cells (row, column) of distinct columns whose value repeats an earlier row's,
    /// kept because the cell's asks ran out.
    pub repeated: Vec<(usize, &'static str)>,
    /// Tokens of every request of the completed rows (as the providers reported them).
    pub usage: Usage,
    /// Requests made for the cells that were filled or failed.
    pub requests: u64,
    /// Requests sent again after a retryable failure.
    pub retries: u64,
    /// Questions asked again after a reply that did not parse.
    pub reasks: u64,
    /// Wall time from start to the last row.
    pub elapsed: Duration,
    /// What [`keep_if`](crate::Runner::keep_if) drew, kept and dropped, for a run made
    /// by it.
    pub keep: Option<crate::runner::KeepReport>,
}

impl std::fmt::Display for Report {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{} rows done, {} failed, {} cancelled, {} not started; {} requests, {} retries, \
             {} re-asked; {} input + {} output tokens; {:.1?}",
            self.done,
            self.failed.len(),
            self.cancelled,
            self.not_started,
            self.requests,
            self.retries,
            self.reasks,
            self.usage.input_tokens,
            self.usage.output_tokens,
            self.elapsed,
        )?;
        if !self.truncated.is_empty() {
            write!(
                f,
                "; {} kept cut off by the token limit",
                self.truncated.len()
            )?;
        }
        if !self.refused.is_empty() {
            write!(f, "; {} refusals kept", self.refused.len())?;
        }
        if !self.repeated.is_empty() {
            write!(f, "; {} repeated values kept", self.repeated.len())?;
        }
        if let Some(keep) = &self.keep {
            write!(f, "\n{keep}")?;
        }
        Ok(())
    }
}

/// Counts retries, re-asks and requests from the events: the part of a report the rows
/// do not carry.
#[derive(Debug, Default)]
pub(crate) struct Tally {
    retries: AtomicU64,
    reasks: AtomicU64,
    requests: AtomicU64,
    /// Cells kept though cut off, and kept though refusals.
    kept: std::sync::Mutex<Kept>,
}

/// Cells (row, column) kept though not whole.
#[derive(Debug, Default)]
struct Kept {
    truncated: Vec<(usize, String)>,
    refused: Vec<(usize, String)>,
    repeated: Vec<(usize, String)>,
}

impl Tally {
    pub(crate) fn retries(&self) -> u64 {
        self.retries.load(Ordering::Relaxed)
    }

    /// Fills in the counters of `report`; `column` gives a column's name as the recipe
    /// spells it.
    pub(crate) fn fill(&self, report: &mut Report, column: impl Fn(&str) -> &'static str) {
        let kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
        let listed = |cells: &[(usize, String)]| {
            let mut cells: Vec<(usize, &'static str)> =
                cells.iter().map(|(row, c)| (*row, column(c))).collect();
            cells.sort_unstable();
            cells
        };
        report.truncated = listed(&kept.truncated);
        report.refused = listed(&kept.refused);
        report.repeated = listed(&kept.repeated);
        drop(kept);
        report.retries = self.retries();
        report.reasks = self.reasks.load(Ordering::Relaxed);
        report.requests = self.requests.load(Ordering::Relaxed)
            + report
                .failed
                .iter()
                .map(|f| u64::from(f.attempts()))
                .sum::<u64>();
    }
}

impl Observer for Tally {
    fn on_event(&self, event: &Event<'_>) {
        match event {
            Event::Retrying { .. } => {
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
            Event::Reasking { .. } => {
                self.reasks.fetch_add(1, Ordering::Relaxed);
            }
            Event::CellGenerated {
                attempts,
                row,
                column,
                finish,
                ..
            } => {
                self.requests
                    .fetch_add(u64::from(*attempts), Ordering::Relaxed);
                if *finish != crate::reply::Finish::Complete {
                    let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
                    let list = if *finish == crate::reply::Finish::Truncated {
                        &mut kept.truncated
                    } else {
                        &mut kept.refused
                    };
                    list.push((*row, (*column).to_owned()));
                }
            }
            Event::Repeated { row, column, .. } => {
                let mut kept = self.kept.lock().unwrap_or_else(|e| e.into_inner());
                kept.repeated.push((*row, (*column).to_owned()));
            }
            _ => {}
        }
    }
}

/// A run that stopped early, with every row that completed before it stopped.
///
/// ```
/// # async fn run(llm: &impl chatan::Generator) {
/// # chatan::dataset! { struct Qa { q: String = gen("a question") } }
/// match Qa::generate(llm, 100).await {
///     Ok(rows) => println!("{} rows", rows.len()),
///     Err(failed) => {
///         eprintln!("{failed}");
///         let kept = failed.completed(); // (row index, row) pairs, in row order
///         println!("kept {} rows", kept.len());
///     }
/// }
/// # }
/// ```
pub struct RunError<R> {
    error: Error,
    completed: Vec<(usize, R)>,
    report: Report,
}

impl<R> RunError<R> {
    pub(crate) fn new(error: Error, completed: Vec<(usize, R)>, report: Report) -> Self {
        RunError {
            error,
            completed,
            report,
        }
    }

    /// The run's account: tokens spent, requests, and every row that failed (the first
    /// is [`error`](RunError::error); rows under way when it failed may have failed too).
    pub fn report(&self) -> &Report {
        &self.report
    }

    /// What stopped the run.
    pub fn error(&self) -> &Error {
        &self.error
    }

    /// The rows that completed, with their indices, in row order.
    pub fn completed(&self) -> &[(usize, R)] {
        &self.completed
    }

    /// Splits into the error and the completed rows.
    pub fn into_parts(self) -> (Error, Vec<(usize, R)>) {
        (self.error, self.completed)
    }
}

impl<R> fmt::Display for RunError<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({} row{} completed before the run stopped)",
            self.error,
            self.completed.len(),
            if self.completed.len() == 1 { "" } else { "s" }
        )
    }
}

impl<R> fmt::Debug for RunError<R> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunError")
            .field("error", &self.error)
            .field("completed", &format_args!("{} rows", self.completed.len()))
            .finish()
    }
}

impl<R> std::error::Error for RunError<R> {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        Some(&self.error)
    }
}
