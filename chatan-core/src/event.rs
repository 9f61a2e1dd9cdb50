//! What a run reports as it goes. The engine only schedules cells; everything that
//! watches a run — the progress bar, usage totals, and whatever you attach with
//! [`Runner::observe`](crate::Runner::observe) — subscribes to these events instead of
//! living inside the engine.

use std::sync::Arc;
use std::time::Duration;

use crate::error::{Error, GeneratorError};
use crate::from_reply::ReplyError;
use crate::reply::Usage;

/// Something that happened in a run.
///
/// Events borrow from the run, so an observer copies what it keeps. They are delivered
/// on the task that caused them, in the order it saw them; observers must be quick and
/// must not block (hand heavy work to a channel).
#[derive(Debug)]
#[non_exhaustive]
pub enum Event<'a> {
    /// The run is about to start its first row.
    RunStarted {
        /// How many rows the run will attempt.
        rows: usize,
        /// The sampling seed (random unless set with [`Runner::seed`](crate::Runner::seed)).
        seed: u64,
        /// The recipe's columns, in declaration order.
        columns: &'a [Column],
    },
    /// A generated cell's question goes to its generator: the first time, or again
    /// after a reply that did not parse. `prompt` is the rendered template, as sent.
    CellStarted {
        /// The row.
        row: usize,
        /// The column.
        column: &'a str,
        /// The prompt.
        prompt: &'a str,
        /// Which request for the cell this is, from 1.
        attempt: u32,
    },
    /// A generated cell's request passed the run's own layers (retry, rate governor,
    /// concurrency limit) and goes to the generator: it is in flight from here until
    /// its reply or error. Between [`CellStarted`](Event::CellStarted) and this, it
    /// waits for a slot (or for a paused endpoint); each retry is sent again.
    RequestSent {
        /// The row.
        row: usize,
        /// The column.
        column: &'a str,
        /// Which request for the cell this is, from 1.
        attempt: u32,
    },
    /// A cell of any kind was filled. `value` writes it for people to read (by
    /// `Display`, else as JSON, else by `Debug`) when formatted, and costs nothing
    /// otherwise.
    CellFilled {
        /// The row.
        row: usize,
        /// The column.
        column: &'a str,
        /// The value.
        value: CellValue<'a>,
    },
    /// A request failed and will be sent again after `wait` (reported by a
    /// [`Retry`](crate::Retry) layer).
    Retrying {
        /// The row.
        row: usize,
        /// The column.
        column: &'a str,
        /// The attempt that failed, from 1.
        attempt: u32,
        /// Why it failed.
        error: &'a GeneratorError,
        /// How long the layer waits before the next attempt.
        wait: Duration,
    },
    /// A [`Governor`](crate::Governor) paused its endpoint (429s that follow the rate,
    /// or rate-limit headers that say nothing is left) or changed the pace it holds the
    /// endpoint to.
    Throttled {
        /// How long the endpoint is paused from now (zero if it is not).
        pause: Duration,
        /// The requests a second the endpoint is held to now, if it is.
        pace: Option<f64>,
    },
    /// A reply did not parse into its column's type; the question is asked again.
    Reasking {
        /// The row.
        row: usize,
        /// The column.
        column: &'a str,
        /// Requests made for this cell so far.
        attempts: u32,
        /// Why the reply did not parse.
        error: &'a ReplyError,
    },
    /// The run took on more rows after it started: replacement draws of
    /// [`keep_if`](crate::Runner::keep_if) for rows it dropped.
    RowsAdded {
        /// How many.
        rows: usize,
    },
    /// A value of a distinct column (`gen(.., distinct = true)`) that repeats an
    /// earlier row's was kept, because the cell's asks ran out.
    Repeated {
        /// The row.
        row: usize,
        /// The column.
        column: &'a str,
        /// The row that had the value first.
        of: usize,
    },
    /// A provider batch (a `Batch` generator, from `OpenAi::batch` or `Anthropic::batch`)
    /// was submitted, moved on, or ended. Reported by a request waiting for it, once per
    /// change.
    BatchProgress {
        /// Which batch of the generator this is, from 1: a recipe with dependent columns
        /// runs as successive waves.
        wave: usize,
        /// The provider's batch id.
        batch: &'a str,
        /// Requests in it.
        requests: usize,
        /// Requests answered so far.
        done: usize,
        /// Requests that failed so far.
        failed: usize,
        /// Whether it has ended (its results are going back to their cells).
        ended: bool,
        /// Whether an earlier run submitted it (found in the journal).
        resumed: bool,
    },
    /// A generated cell was filled.
    CellGenerated {
        /// The row.
        row: usize,
        /// The column.
        column: &'a str,
        /// Requests it took, retries and re-asked questions included (none for a reply
        /// from a cache).
        attempts: u32,
        /// Tokens of the accepted reply, if the provider reported them.
        usage: Option<Usage>,
        /// Whether the accepted reply was whole, or kept though cut off or a refusal
        /// (see [`Runner::on_truncated`](crate::Runner::on_truncated)).
        finish: crate::reply::Finish,
    },
    /// A row was completed.
    RowDone {
        /// The row.
        row: usize,
        /// Tokens of every request the row made, retries and re-asked questions included.
        usage: Usage,
    },
    /// A row failed; see [`FailurePolicy`](crate::FailurePolicy) for what happens next.
    RowFailed {
        /// The row.
        row: usize,
        /// Why, naming the column and the cause.
        error: &'a Error,
    },
    /// No row is left to run.
    RunFinished {
        /// Rows completed.
        done: usize,
        /// Rows that failed.
        failed: usize,
        /// Tokens of the whole run.
        usage: Usage,
    },
}

/// A filled cell's value in an [`Event::CellFilled`]: written for people to read (by
/// the column type's `Display`, else as JSON, else by `Debug`) when it is formatted, and
/// not before.
#[derive(Clone, Copy)]
pub struct CellValue<'a>(&'a dyn std::fmt::Display);

impl<'a> CellValue<'a> {
    /// A cell value shown by `value`'s `Display` (for observers' own tests).
    pub fn new(value: &'a dyn std::fmt::Display) -> Self {
        CellValue(value)
    }
}

impl std::fmt::Display for CellValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.0.fmt(f)
    }
}

impl std::fmt::Debug for CellValue<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.to_string(), f)
    }
}

/// A column of the recipe a run fills, as [`Event::RunStarted`] lists them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Column {
    /// The field's name.
    pub name: &'static str,
    /// How its cells are filled.
    pub kind: CellKind,
}

/// How a column's cells are filled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CellKind {
    /// By a sampler.
    Sampled,
    /// The same value in every row.
    Static,
    /// By a closure over other columns.
    Derived,
    /// By a generator, from a prompt.
    Generated,
}

impl CellKind {
    /// `"sampled"`, `"static"`, `"derived"` or `"generated"`.
    pub fn as_str(self) -> &'static str {
        match self {
            CellKind::Sampled => "sampled",
            CellKind::Static => "static",
            CellKind::Derived => "derived",
            CellKind::Generated => "generated",
        }
    }
}

impl Column {
    /// The columns of a compiled recipe.
    pub(crate) fn of(spec: &crate::recipe::Spec) -> Vec<Column> {
        use crate::recipe::ColumnKind;
        spec.columns
            .iter()
            .map(|c| Column {
                name: c.name,
                kind: match c.kind {
                    ColumnKind::Sampled => CellKind::Sampled,
                    ColumnKind::Static => CellKind::Static,
                    ColumnKind::Derived => CellKind::Derived,
                    ColumnKind::Generated(_) => CellKind::Generated,
                },
            })
            .collect()
    }
}

/// Receives a run's [`Event`]s. Implemented for closures.
///
/// ```
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use chatan::event::Event;
///
/// let retries = AtomicU64::new(0);
/// let count = |event: &Event<'_>| {
///     if let Event::Retrying { .. } = event {
///         retries.fetch_add(1, Ordering::Relaxed);
///     }
/// };
/// # let _ = count;
/// // Row::runner(&llm).observe(count).generate(100).await?;
/// ```
pub trait Observer: Send + Sync {
    /// Called for every event of the run.
    fn on_event(&self, event: &Event<'_>);
}

impl<F: Fn(&Event<'_>) + Send + Sync> Observer for F {
    fn on_event(&self, event: &Event<'_>) {
        self(event)
    }
}

/// Several observers as one.
#[derive(Default)]
pub(crate) struct Observers<'o> {
    list: Vec<Arc<dyn Observer + 'o>>,
}

impl<'o> Observers<'o> {
    pub(crate) fn push(&mut self, observer: impl Observer + 'o) {
        self.list.push(Arc::new(observer));
    }

    pub(crate) fn push_shared(&mut self, observer: Arc<dyn Observer + 'o>) {
        self.list.push(observer);
    }
}

impl Observer for Observers<'_> {
    fn on_event(&self, event: &Event<'_>) {
        for observer in &self.list {
            observer.on_event(event);
        }
    }
}
