//! Admitting rows and handing them out: a window of open rows at most, in row order or in
//! completion order, with the failure policy applied and row events emitted.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, Stream, StreamExt};

use super::Run;
use crate::checkpoint::Journal;
use crate::error::{CellError, Error, GeneratorError};
use crate::event::Event;
use crate::recipe::Recipe;
use crate::reply::Usage;
use crate::report::FailurePolicy;
use crate::rowset::{Indices, RowSet};
use crate::stop::Stop;

/// Which requests a failed row's error stops: every row's after a failure that
/// [`is_fatal`](GeneratorError::is_fatal) (bad key, no permission, no model, no quota),
/// which every other request would meet too; the later rows' after any other rejection
/// (400, 422: a bad parameter) when the run stops at its first failure anyway, so that
/// the rows before the failed one still finish.
fn halts(error: &Error, stopping: bool) -> Option<Halts> {
    let Error::Cell {
        cause: CellError::Generator { cause, .. },
        ..
    } = error
    else {
        return None;
    };
    if cause.is_fatal() {
        Some(Halts::All)
    } else if stopping && matches!(cause.cause(), GeneratorError::Rejected { .. }) {
        Some(Halts::Later)
    } else {
        None
    }
}

/// Whether a row's result is a cancellation (a row stopped by a halt, not failed by
/// itself).
fn is_cancelled<T>(result: &RowResult<T>) -> bool {
    matches!(result, Err(e) if crate::report::RowFailure::is_cancellation(e))
}

/// See [`halts`].
enum Halts {
    All,
    Later,
}

/// A finished row with the tokens it took, or why it failed.
pub(crate) type RowResult<T> = Result<(T, Usage), Error>;

/// A row's future: its position, index, result, and whether it came from a checkpoint.
type RowFuture<'g, T> =
    Pin<Box<dyn Future<Output = (usize, usize, RowResult<T>, bool)> + Send + 'g>>;

/// What a run may add to plain generation: rows a checkpoint already holds, a journal
/// to record new rows in, and a switch to stop on.
pub(crate) struct Extras<T> {
    pub(crate) resumed: HashMap<usize, T>,
    pub(crate) journal: Option<Journal<T>>,
    /// Where failed rows are listed, one JSON line each, as they fail.
    pub(crate) failures: Option<(std::path::PathBuf, std::io::BufWriter<std::fs::File>)>,
    pub(crate) stop: Option<Stop>,
    pub(crate) grace: Duration,
    /// What closes each [`Watch`](crate::Watch) of the run (the viewer's server), awaited
    /// when the run is over.
    pub(crate) closing: Vec<crate::generator::BoxFuture<'static, ()>>,
}

impl<T> Default for Extras<T> {
    fn default() -> Self {
        Extras {
            resumed: HashMap::new(),
            journal: None,
            failures: None,
            stop: None,
            grace: Duration::from_secs(30),
            closing: Vec::new(),
        }
    }
}

/// Rows as they finish: in row order (`ordered`) or in completion order, each with its
/// index. Under [`FailurePolicy::Stop`], no new row is admitted after the first failure;
/// the open ones still finish.
pub(crate) struct Rows<'g, R: Recipe> {
    run: Arc<Run<'g, R>>,
    open: FuturesUnordered<RowFuture<'g, R::Row>>,
    indices: Indices,
    /// Rows added after the start ([`push`](Rows::push)), admitted after `indices`.
    more: VecDeque<usize>,
    /// Position in the row set of the next row to admit.
    next: usize,
    stopped: bool,
    /// The failure every request would meet that halted the run, if one did.
    fatal: Option<Error>,
    /// Whether the stream has ended with that failure ([`Error::Halted`]).
    halt_told: bool,
    /// Rows in the run, admitted or not.
    total: usize,
    /// For ordered output: finished rows waiting for their turn, from position `base`.
    reorder: Option<Reorder<R::Row>>,
    done: usize,
    failed: usize,
    usage: Usage,
    started: Instant,
    finished: bool,
    /// In row order under [`FailurePolicy::Stop`]: the failure that stopped the run
    /// (the first in completion order that is not a cancellation), held back until the
    /// rows before the first gap are out, so a loop that stops at the first `Err` still
    /// gets all of them.
    deferred: Option<(usize, RowResult<R::Row>)>,
    extras: Extras<R::Row>,
    /// Resolves when the stop switch is thrown.
    stop_signal: Option<Pin<Box<dyn Future<Output = ()> + Send + 'g>>>,
    /// Set once stopping: when the rows under way are given up.
    grace_ends: Option<Pin<Box<tokio::time::Sleep>>>,
    /// An error to end the stream with (a stop, or a journal that cannot be written).
    ending: Option<Error>,
}

/// Rows in row order. Under [`FailurePolicy::Stop`] what is handed over is always a
/// prefix of the run's rows: once the next row in order has failed (or was cancelled,
/// or given up after a stop), no later row is handed over, though the rows under way
/// still finish (and are journaled with a checkpoint, so a resume has them). A file
/// written from the stream then holds rows `0..k` of the row set, every one of them.
struct Reorder<T> {
    base: usize,
    waiting: VecDeque<Slot<T>>,
    /// The prefix has ended: rows that finish now are not handed over.
    ended: bool,
}

/// A place in the row order.
enum Slot<T> {
    /// The row is under way.
    Open,
    /// Finished (or failed, under [`FailurePolicy::Skip`]), to be handed over.
    Ready(usize, RowResult<T>),
    /// Failed under [`FailurePolicy::Stop`]: the prefix ends here. Holds the failure
    /// unless it is the one kept to end the stream with.
    Failed(Option<(usize, RowResult<T>)>),
}

// Rows are never pinned in place (the open futures are boxed, the finished rows just
// wait in a queue), so moving a `Rows` is fine whatever the row type.
impl<R: Recipe> Unpin for Rows<'_, R> {}

impl<'g, R: Recipe> Rows<'g, R>
where
    R::Row: Send + 'g,
{
    pub(crate) fn new(
        run: Run<'g, R>,
        rows: RowSet,
        ordered: bool,
        extras: Extras<R::Row>,
    ) -> Self {
        run.emit(&Event::RunStarted {
            rows: rows.len(),
            seed: run.seed(),
            columns: &crate::event::Column::of(&R::SPEC),
        });
        tracing::debug!(
            recipe = R::SPEC.name,
            rows = rows.len(),
            seed = run.seed(),
            "starting run"
        );
        let total = rows.len();
        Rows {
            run: Arc::new(run),
            open: FuturesUnordered::new(),
            indices: rows.into_indices(),
            more: VecDeque::new(),
            next: 0,
            stopped: false,
            fatal: None,
            halt_told: false,
            total,
            reorder: ordered.then(|| Reorder {
                base: 0,
                waiting: VecDeque::new(),
                ended: false,
            }),
            done: 0,
            failed: 0,
            usage: Usage::default(),
            started: Instant::now(),
            finished: false,
            deferred: None,
            stop_signal: extras.stop.clone().map(|stop| {
                Box::pin(async move { stop.stopped().await })
                    as Pin<Box<dyn Future<Output = ()> + Send + 'g>>
            }),
            extras,
            grace_ends: None,
            ending: None,
        }
    }

    /// Adds row `row` to the run, after the rows it has (a replacement draw of
    /// [`keep_if`](crate::Runner::keep_if)). The stream does not end while the row is
    /// waiting; a row pushed after the stream ended is never made.
    pub(crate) fn push(&mut self, row: usize) {
        self.more.push_back(row);
        self.total += 1;
        self.run.emit(&Event::RowsAdded { rows: 1 });
    }

    /// Closes what watches the run (the viewer's server has sent the run's end), and
    /// waits until each has stopped.
    pub(crate) async fn close_watches(&mut self) {
        for close in std::mem::take(&mut self.extras.closing) {
            close.await;
        }
    }

    pub(crate) fn run(&self) -> &Run<'g, R> {
        &self.run
    }

    /// Tokens of the rows done so far, and the time since the start.
    pub(crate) fn totals(&self) -> (Usage, Duration) {
        (self.usage, self.started.elapsed())
    }

    /// Rows of the run never started (so far).
    pub(crate) fn not_started(&self) -> usize {
        self.total.saturating_sub(self.next)
    }

    /// The run as [`Error::Halted`], if a failure every request would meet halted it.
    pub(crate) fn halted(&self) -> Option<Error> {
        self.fatal.as_ref().map(|cause| Error::Halted {
            cause: Box::new(cause.clone()),
            not_started: self.not_started(),
        })
    }

    fn admit(&mut self) {
        while !self.stopped {
            let room = match &self.reorder {
                Some(reorder) => self.next < reorder.base + self.run.window,
                None => self.open.len() < self.run.window,
            };
            if !room {
                break;
            }
            let Some(row) = self.indices.next().or_else(|| self.more.pop_front()) else {
                break;
            };
            let position = self.next;
            self.next += 1;
            if let Some(value) = self.extras.resumed.remove(&row) {
                // Finished in an earlier run: handed over as it was, nothing sent.
                self.open.push(Box::pin(async move {
                    (position, row, Ok((value, Usage::default())), true)
                }));
                continue;
            }
            let run = Arc::clone(&self.run);
            self.open.push(Box::pin(async move {
                let result = run.fill_row(row).await;
                if result.is_err() {
                    run.release(row);
                }
                (position, row, result, false)
            }));
        }
    }

    /// Records a new finished row in the journal, if there is one; a journal that cannot
    /// be written stops the run (its rows would not be kept).
    fn journal(&mut self, row: usize, value: &R::Row) {
        let Some(journal) = &mut self.extras.journal else {
            return;
        };
        if let Err(error) = journal.append(row, value) {
            tracing::error!(%error, "checkpoint cannot be written; stopping");
            self.stopped = true;
            self.ending.get_or_insert(error);
        }
    }

    /// Lists a failed row (not one cancelled by a halt) in the failures file.
    fn list_failure(&mut self, error: &Error) {
        use std::io::Write as _;
        let Some((path, file)) = &mut self.extras.failures else {
            return;
        };
        let Error::Cell { row, column, cause } = error else {
            return;
        };
        if crate::report::RowFailure::is_cancellation(error) {
            return;
        }
        let line = serde_json::json!({
            "row": row,
            "column": column,
            "attempts": cause.attempts(),
            "cause": cause.to_string(),
        });
        let written = serde_json::to_writer(&mut *file, &line)
            .map_err(std::io::Error::other)
            .and_then(|()| file.write_all(b"\n"))
            .and_then(|()| file.flush());
        if let Err(e) = written {
            tracing::warn!(path = %path.display(), error = %e, "failed rows file not written");
        }
    }

    /// Notices the stop switch: no new rows, and a grace period for the rows under way,
    /// after which they are given up.
    fn watch_stop(&mut self, cx: &mut Context<'_>) {
        if let Some(signal) = &mut self.stop_signal
            && signal.as_mut().poll(cx).is_ready()
        {
            self.stop_signal = None;
            self.stopped = true;
            self.ending.get_or_insert(Error::Stopped);
            self.grace_ends = Some(Box::pin(tokio::time::sleep(self.extras.grace)));
            tracing::warn!(
                open = self.open.len(),
                "stop requested; finishing the rows under way"
            );
        }
        if let Some(grace) = &mut self.grace_ends
            && grace.as_mut().poll(cx).is_ready()
        {
            self.grace_ends = None;
            if !self.open.is_empty() {
                tracing::warn!(
                    abandoned = self.open.len(),
                    "grace period over; giving up the rows under way"
                );
                self.open = FuturesUnordered::new();
            }
            if let Some(reorder) = &mut self.reorder {
                // The rows given up are holes: what is handed over ends at the first.
                if let Some(hole) = reorder
                    .waiting
                    .iter()
                    .position(|slot| matches!(slot, Slot::Open))
                {
                    reorder.waiting.truncate(hole);
                }
                reorder.ended = true;
            }
        }
    }

    /// Counts a finished row and tells the observers.
    fn record(&mut self, row: usize, result: &RowResult<R::Row>) {
        match result {
            Ok((_, usage)) => {
                self.done += 1;
                self.usage += *usage;
                self.run.emit(&Event::RowDone { row, usage: *usage });
            }
            Err(error) => {
                self.failed += 1;
                self.list_failure(error);
                self.run.emit(&Event::RowFailed { row, error });
                let stop = self.run.failure == FailurePolicy::Stop;
                match halts(error, stop) {
                    Some(Halts::All) if self.fatal.is_none() => {
                        // Every other request would get the same answer: send no more.
                        self.run.halt();
                        self.stopped = true;
                        self.fatal = Some(error.clone());
                        tracing::error!(%error, "no request can succeed; stopping the run");
                    }
                    Some(Halts::Later) => {
                        // The rows before this one still finish.
                        self.run.halt_after(row);
                        if !self.stopped {
                            self.stopped = true;
                            tracing::error!(%error, "row rejected; stopping the run");
                        }
                    }
                    _ if stop && !self.stopped => {
                        self.stopped = true;
                        tracing::error!(%error, "row failed; no new rows will start");
                    }
                    _ if self.fatal.is_none()
                        && !crate::report::RowFailure::is_cancellation(error) =>
                    {
                        tracing::warn!(%error, "row failed; skipped");
                    }
                    _ => {}
                }
            }
        }
    }
}

impl<'g, R: Recipe> Stream for Rows<'g, R>
where
    R::Row: Send + 'g,
{
    type Item = (usize, RowResult<R::Row>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(reorder) = &mut this.reorder {
                match reorder.waiting.front() {
                    Some(Slot::Ready(..)) => {
                        let Some(Slot::Ready(row, result)) = reorder.waiting.pop_front() else {
                            unreachable!("the front is ready")
                        };
                        reorder.base += 1;
                        return Poll::Ready(Some((row, result)));
                    }
                    Some(Slot::Failed(own)) => {
                        // The prefix ends at this row: nothing after it is handed over.
                        // The stream ends with this row's own failure, unless it was
                        // only cancelled (then with the failure that halted the run).
                        let own_failure = own
                            .as_ref()
                            .is_some_and(|(_, result)| !is_cancelled(result));
                        if let Some(Slot::Failed(Some(own))) = reorder.waiting.pop_front()
                            && own_failure
                        {
                            this.deferred = Some(own);
                        }
                        reorder.waiting.clear();
                        reorder.ended = true;
                    }
                    Some(Slot::Open) | None => {}
                }
            }
            this.watch_stop(cx);
            this.admit();
            match this.open.poll_next_unpin(cx) {
                Poll::Ready(Some((position, row, result, resumed))) => {
                    this.record(row, &result);
                    if let (Ok((value, _)), false) = (&result, resumed) {
                        this.journal(row, value);
                    }
                    let stopping = this.run.failure == FailurePolicy::Stop;
                    match &mut this.reorder {
                        Some(reorder) => {
                            let slot = if stopping && result.is_err() {
                                // The stream ends with a failure: the first in
                                // completion order that is not a cancellation is held
                                // for it (the failure at the end of the prefix may take
                                // its place); the others are in the report's count.
                                let item = (row, result);
                                let replace = match &this.deferred {
                                    None => true,
                                    Some(held) => is_cancelled(&held.1) && !is_cancelled(&item.1),
                                };
                                if replace {
                                    this.deferred = Some(item);
                                    Slot::Failed(None)
                                } else {
                                    Slot::Failed(Some(item))
                                }
                            } else {
                                Slot::Ready(row, result)
                            };
                            if !reorder.ended {
                                let at = position - reorder.base;
                                if reorder.waiting.len() <= at {
                                    reorder.waiting.resize_with(at + 1, || Slot::Open);
                                }
                                reorder.waiting[at] = slot;
                            }
                        }
                        None => return Poll::Ready(Some((row, result))),
                    }
                }
                Poll::Ready(None) => {
                    if let Some(journal) = &mut this.extras.journal
                        && let Err(e) = journal.sync()
                    {
                        this.ending.get_or_insert(e);
                    }
                    if let Some(item) = this.deferred.take() {
                        return Poll::Ready(Some(item));
                    }
                    if this.run.failure == FailurePolicy::Skip
                        && !this.halt_told
                        && let Some(halted) = this.halted()
                    {
                        // The failed rows went by in their places; that the run could
                        // not go on must not look like one more of them.
                        this.halt_told = true;
                        return Poll::Ready(Some((usize::MAX, Err(halted))));
                    }
                    if let Some(error) = this.ending.take() {
                        return Poll::Ready(Some((usize::MAX, Err(error))));
                    }
                    if !this.finished {
                        this.finished = true;
                        this.run.emit(&Event::RunFinished {
                            done: this.done,
                            failed: this.failed,
                            usage: this.usage,
                        });
                    }
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
