//! Admitting rows and handing them out: a window of open rows at most, in row order or in
//! completion order, with the failure policy applied and row events emitted.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use futures::stream::{FuturesUnordered, Stream, StreamExt};

use super::Run;
use crate::error::Error;
use crate::event::Event;
use crate::generator::Usage;
use crate::recipe::Recipe;
use crate::report::FailurePolicy;
use crate::rowset::{Indices, RowSet};

/// A finished row with the tokens it took, or why it failed.
pub(crate) type RowResult<T> = Result<(T, Usage), Error>;

type RowFuture<'g, T> = Pin<Box<dyn Future<Output = (usize, usize, RowResult<T>)> + Send + 'g>>;

/// Rows as they finish: in row order (`ordered`) or in completion order, each with its
/// index. Under [`FailurePolicy::Stop`], no new row is admitted after the first failure;
/// the open ones still finish.
pub(crate) struct Rows<'g, R: Recipe> {
    run: Arc<Run<'g, R>>,
    open: FuturesUnordered<RowFuture<'g, R::Row>>,
    indices: Indices,
    /// Position in the row set of the next row to admit.
    next: usize,
    stopped: bool,
    /// For ordered output: finished rows waiting for their turn, from position `base`.
    reorder: Option<Reorder<R::Row>>,
    done: usize,
    failed: usize,
    usage: Usage,
    started: Instant,
    finished: bool,
}

struct Reorder<T> {
    base: usize,
    waiting: VecDeque<Option<(usize, RowResult<T>)>>,
}

// Rows are never pinned in place (the open futures are boxed, the finished rows just
// wait in a queue), so moving a `Rows` is fine whatever the row type.
impl<R: Recipe> Unpin for Rows<'_, R> {}

impl<'g, R: Recipe> Rows<'g, R>
where
    R::Row: Send + 'g,
{
    pub(crate) fn new(run: Run<'g, R>, rows: RowSet, ordered: bool) -> Self {
        run.emit(&Event::RunStarted {
            rows: rows.len(),
            seed: run.seed(),
        });
        tracing::debug!(
            recipe = R::SPEC.name,
            rows = rows.len(),
            seed = run.seed(),
            "starting run"
        );
        Rows {
            run: Arc::new(run),
            open: FuturesUnordered::new(),
            indices: rows.into_indices(),
            next: 0,
            stopped: false,
            reorder: ordered.then(|| Reorder {
                base: 0,
                waiting: VecDeque::new(),
            }),
            done: 0,
            failed: 0,
            usage: Usage::default(),
            started: Instant::now(),
            finished: false,
        }
    }

    /// The run's seed.
    pub(crate) fn run(&self) -> &Run<'g, R> {
        &self.run
    }

    /// Tokens of the rows done so far, and the time since the start.
    pub(crate) fn totals(&self) -> (Usage, Duration) {
        (self.usage, self.started.elapsed())
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
            let Some(row) = self.indices.next() else {
                break;
            };
            let run = Arc::clone(&self.run);
            let position = self.next;
            self.open.push(Box::pin(async move {
                let result = run.fill_row(row).await;
                (position, row, result)
            }));
            self.next += 1;
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
                self.run.emit(&Event::RowFailed { row, error });
                if self.run.failure == FailurePolicy::Stop && !self.stopped {
                    self.stopped = true;
                    tracing::error!(%error, "row failed; no new rows will start");
                } else {
                    tracing::warn!(%error, "row failed; skipped");
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
                if let Some(Some(_)) = reorder.waiting.front() {
                    let item = reorder
                        .waiting
                        .pop_front()
                        .flatten()
                        .expect("front is filled");
                    reorder.base += 1;
                    return Poll::Ready(Some(item));
                }
            }
            this.admit();
            match this.open.poll_next_unpin(cx) {
                Poll::Ready(Some((position, row, result))) => {
                    this.record(row, &result);
                    match &mut this.reorder {
                        Some(reorder) => {
                            let slot = position - reorder.base;
                            if reorder.waiting.len() <= slot {
                                reorder.waiting.resize_with(slot + 1, || None);
                            }
                            reorder.waiting[slot] = Some((row, result));
                        }
                        None => return Poll::Ready(Some((row, result))),
                    }
                }
                Poll::Ready(None) => {
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
