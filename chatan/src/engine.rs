//! The engine: fills rows cell by cell, as soon as each cell's inputs are ready.
//!
//! * Within a row, a cell starts the moment the cells it reads are filled: sampled,
//!   static and derived cells are computed on the spot, generated cells become requests,
//!   and independent requests of one row are in flight together. Nothing waits for a
//!   "level" of the dependency graph or for other rows.
//! * One semaphore bounds the requests in flight across all rows and columns
//!   (`concurrency`). Rows are admitted only while fewer than a window of them are open,
//!   so memory is bounded whatever `n` is.
//! * The first failed row stops admission; rows already open run to completion and are
//!   handed over, so completed work is never thrown away.

use std::collections::VecDeque;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};

use futures::stream::{FuturesUnordered, Stream, StreamExt};
use tokio::sync::Semaphore;
use tracing::Instrument;

use crate::error::{CellError, Error, GeneratorError};
use crate::generator::{DynGenerator, Generators, Reply, Request};
use crate::progress::Progress;
use crate::recipe::{ColumnKind, GenSpec, Recipe, render};
use crate::retry::RetryPolicy;
use crate::rng::{SampleRng, column_key};

/// Everything a run shares between its rows.
pub(crate) struct Run<'g, R: Recipe> {
    samplers: R::Samplers,
    seed: u64,
    column_keys: Vec<u64>,
    /// The generator of each generated column (`None` for other columns).
    generators: Vec<Option<&'g dyn DynGenerator>>,
    /// Columns with no dependencies: where every row starts.
    roots: Vec<usize>,
    limiter: Semaphore,
    concurrency: usize,
    retry: RetryPolicy,
    retries: AtomicU64,
    jitter: AtomicU64,
    progress: Progress,
}

/// Settings a run starts from (collected by the `Runner`).
pub(crate) struct Settings {
    pub concurrency: usize,
    pub seed: Option<u64>,
    pub progress: bool,
    pub retry: RetryPolicy,
}

impl<'g, R: Recipe> Run<'g, R> {
    /// Validates the recipe against the generators and samplers; nothing is sent before
    /// this succeeds.
    pub(crate) fn start<G: Generators + ?Sized>(
        generators: &'g G,
        samplers: R::Samplers,
        settings: Settings,
        rows: usize,
    ) -> Result<Self, Error> {
        let columns = R::SPEC.columns;
        let mut resolved = Vec::with_capacity(columns.len());
        for (i, column) in columns.iter().enumerate() {
            match &column.kind {
                ColumnKind::Generated(spec) => match generators.get(spec.generator) {
                    Some(g) => resolved.push(Some(g)),
                    None => {
                        return Err(Error::UnknownGenerator {
                            column: column.name,
                            name: spec.generator.map(str::to_owned),
                            available: generators.names(),
                        });
                    }
                },
                ColumnKind::Sampled | ColumnKind::Static => {
                    if let Err(reason) = R::check_sampler(&samplers, i) {
                        return Err(Error::Sampler {
                            column: column.name,
                            reason,
                        });
                    }
                    resolved.push(None);
                }
                ColumnKind::Derived => resolved.push(None),
            }
        }
        let seed = settings.seed.unwrap_or_else(rand::random);
        tracing::debug!(
            recipe = R::SPEC.name,
            rows,
            seed,
            concurrency = settings.concurrency,
            "starting run"
        );
        let concurrency = settings.concurrency.max(1);
        Ok(Run {
            samplers,
            seed,
            column_keys: columns.iter().map(|c| column_key(c.name)).collect(),
            generators: resolved,
            roots: (0..columns.len())
                .filter(|&i| columns[i].deps.is_empty())
                .collect(),
            limiter: Semaphore::new(concurrency),
            concurrency,
            retry: settings.retry,
            retries: AtomicU64::new(0),
            jitter: AtomicU64::new(seed),
            progress: Progress::new(settings.progress, rows),
        })
    }

    fn in_flight(&self) -> usize {
        self.concurrency - self.limiter.available_permits()
    }

    /// Fills one row.
    async fn fill_row(&self, row: usize) -> Result<R::Row, Error> {
        let columns = R::SPEC.columns;
        let mut cells = R::new();
        let mut waiting: Vec<usize> = columns.iter().map(|c| c.deps.len()).collect();
        let mut ready = self.roots.clone();
        let mut requests = FuturesUnordered::new();
        let mut left = columns.len();

        // Marks `column` filled and readies the columns that were waiting only for it.
        let complete = |column: usize, waiting: &mut Vec<usize>, ready: &mut Vec<usize>| {
            for &d in columns[column].dependents {
                waiting[d] -= 1;
                if waiting[d] == 0 {
                    ready.push(d);
                }
            }
        };

        loop {
            while let Some(column) = ready.pop() {
                match &columns[column].kind {
                    ColumnKind::Sampled | ColumnKind::Static => {
                        let mut rng =
                            SampleRng::for_cell(self.seed, row as u64, self.column_keys[column]);
                        cells.sample(column, &self.samplers, &mut rng);
                    }
                    ColumnKind::Derived => cells.derive(column),
                    ColumnKind::Generated(spec) => {
                        let mut prompt = String::new();
                        render(&cells, spec.template, &mut prompt);
                        requests.push(self.request(row, column, spec, prompt, 0));
                        continue;
                    }
                }
                left -= 1;
                complete(column, &mut waiting, &mut ready);
            }
            if left == 0 {
                return Ok(cells.finish());
            }
            let Some(done) = requests.next().await else {
                unreachable!("the macro rejects cyclic recipes, so some cell can always run")
            };
            let name = columns[done.column].name;
            match done.result {
                Ok(reply) => match cells.accept(done.column, reply.text) {
                    Ok(()) => {
                        left -= 1;
                        complete(done.column, &mut waiting, &mut ready);
                    }
                    Err(cause) if done.attempts < self.retry.attempts() => {
                        tracing::warn!(row, column = name, %cause, "reply did not parse; asking again");
                        self.retries.fetch_add(1, Ordering::Relaxed);
                        let ColumnKind::Generated(spec) = &columns[done.column].kind else {
                            unreachable!("only generated columns make requests")
                        };
                        requests.push(self.request(
                            row,
                            done.column,
                            spec,
                            done.prompt,
                            done.attempts,
                        ));
                    }
                    Err(cause) => {
                        return Err(Error::Cell {
                            row,
                            column: name,
                            cause: CellError::Reply {
                                attempts: done.attempts,
                                cause,
                            },
                        });
                    }
                },
                Err(cause) => {
                    return Err(Error::Cell {
                        row,
                        column: name,
                        cause: CellError::Generator {
                            attempts: done.attempts,
                            cause,
                        },
                    });
                }
            }
        }
    }

    /// Sends one cell's request, retrying what may pass. `attempts` counts requests
    /// already made for this cell (replies that did not parse).
    async fn request(
        &self,
        row: usize,
        column: usize,
        spec: &'static GenSpec,
        prompt: String,
        mut attempts: u32,
    ) -> Done {
        let name = R::SPEC.columns[column].name;
        let generator = self.generators[column].expect("generators are resolved at start");
        let request = Request {
            prompt: &prompt,
            system: spec.system,
            temperature: spec.temperature,
            max_tokens: spec.max_tokens,
            model: spec.model,
            row,
            column: name,
        };
        let result = loop {
            attempts += 1;
            let span = tracing::debug_span!(
                "chatan.request",
                row,
                column = name,
                generator = generator.name(),
                attempt = attempts
            );
            let outcome = async {
                let _permit = self
                    .limiter
                    .acquire()
                    .await
                    .expect("the semaphore is never closed");
                generator.generate_boxed(&request).await
            }
            .instrument(span)
            .await;
            match outcome {
                Ok(reply) => break Ok(reply),
                Err(e) if e.is_retryable() && attempts < self.retry.attempts() => {
                    let jitter = self.next_jitter();
                    let wait = self.retry.delay(attempts, e.retry_after(), jitter);
                    self.retries.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(row, column = name, attempt = attempts, error = %e, ?wait, "request failed; retrying");
                    tokio::time::sleep(wait).await;
                }
                Err(e) => break Err(e),
            }
        };
        Done {
            column,
            prompt,
            attempts,
            result,
        }
    }

    /// A number in `[0, 1)` for backoff jitter; independent of the sampling streams.
    fn next_jitter(&self) -> f64 {
        let n = self.jitter.fetch_add(1, Ordering::Relaxed);
        SampleRng::from_seed(n).unit_f64()
    }
}

/// A finished request.
struct Done {
    column: usize,
    prompt: String,
    attempts: u32,
    result: Result<Reply, GeneratorError>,
}

type RowFuture<'g, T> = Pin<Box<dyn Future<Output = (usize, Result<T, Error>)> + Send + 'g>>;

/// Rows as they finish: in row order (`ordered`) or in completion order, each with its
/// index. After the first failure no new row is admitted; the open ones still finish.
pub(crate) struct Rows<'g, R: Recipe> {
    run: Arc<Run<'g, R>>,
    open: FuturesUnordered<RowFuture<'g, R::Row>>,
    next: usize,
    total: usize,
    window: usize,
    stopped: bool,
    /// For ordered output: finished rows waiting for their turn.
    reorder: Option<Reorder<R::Row>>,
}

/// Rows from index `base` on, filled in as they finish, handed out in order.
struct Reorder<T> {
    base: usize,
    waiting: VecDeque<Option<Result<T, Error>>>,
}

// Rows are never pinned in place (the open futures are boxed, the finished rows just
// wait in a queue), so moving a `Rows` is fine whatever the row type.
impl<R: Recipe> Unpin for Rows<'_, R> {}

impl<'g, R: Recipe> Rows<'g, R>
where
    R::Row: Send + 'g,
{
    pub(crate) fn new(run: Run<'g, R>, total: usize, ordered: bool) -> Self {
        // Enough open rows to keep every request slot busy while some rows wait on
        // earlier cells, on retries, or (ordered) on a slow row ahead of them.
        let window = (run.concurrency * 2).max(16);
        Rows {
            run: Arc::new(run),
            open: FuturesUnordered::new(),
            next: 0,
            total,
            window,
            stopped: false,
            reorder: ordered.then(|| Reorder {
                base: 0,
                waiting: VecDeque::new(),
            }),
        }
    }

    fn admit(&mut self) {
        while !self.stopped && self.next < self.total {
            let room = match &self.reorder {
                Some(reorder) => self.next < reorder.base + self.window,
                None => self.open.len() < self.window,
            };
            if !room {
                break;
            }
            let run = Arc::clone(&self.run);
            let row = self.next;
            self.open.push(Box::pin(async move {
                let result = run.fill_row(row).await;
                (row, result)
            }));
            self.next += 1;
        }
    }
}

impl<'g, R: Recipe> Stream for Rows<'g, R>
where
    R::Row: Send + 'g,
{
    type Item = (usize, Result<R::Row, Error>);

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            if let Some(reorder) = &mut this.reorder {
                if let Some(Some(_)) = reorder.waiting.front() {
                    let result = reorder
                        .waiting
                        .pop_front()
                        .flatten()
                        .expect("front is filled");
                    let row = reorder.base;
                    reorder.base += 1;
                    return Poll::Ready(Some((row, result)));
                }
            }
            this.admit();
            match this.open.poll_next_unpin(cx) {
                Poll::Ready(Some((row, result))) => {
                    this.run.progress.row_done(
                        this.run.in_flight(),
                        this.run.retries.load(Ordering::Relaxed),
                    );
                    if let Err(e) = &result {
                        if !this.stopped {
                            this.stopped = true;
                            tracing::error!(error = %e, "row failed; no new rows will start");
                        }
                    }
                    match &mut this.reorder {
                        Some(reorder) => {
                            let slot = row - reorder.base;
                            if reorder.waiting.len() <= slot {
                                reorder.waiting.resize_with(slot + 1, || None);
                            }
                            reorder.waiting[slot] = Some(result);
                        }
                        None => return Poll::Ready(Some((row, result))),
                    }
                }
                Poll::Ready(None) => {
                    this.run.progress.finish();
                    return Poll::Ready(None);
                }
                Poll::Pending => return Poll::Pending,
            }
        }
    }
}
