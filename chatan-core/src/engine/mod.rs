//! The engine: fills rows cell by cell, as soon as each cell's inputs are ready. It only
//! schedules; policy (retry, limits, ...) is in the generator layers it is handed, and
//! whatever watches the run subscribes to its events.
//!
//! * Within a row (`row.rs`, a state machine without I/O), a cell starts the moment the
//!   cells it reads are filled: sampled, static and derived cells are computed on the
//!   spot, generated cells become requests, and independent requests of one row are in
//!   flight together. Nothing waits for a "level" of the dependency graph or for other
//!   rows.
//! * Rows are admitted only while fewer than a window of them are open (`rows.rs`), so
//!   memory is bounded whatever the number of rows.
//! * A reply that does not parse into its column's type is asked for again; that is the
//!   one retry the engine does itself, because only it knows the column's type.

mod row;
mod rows;

#[cfg(test)]
mod tests;

pub(crate) use self::rows::{Extras, Rows};

use futures::stream::{FuturesUnordered, StreamExt};
use tracing::Instrument;

use self::row::{Ask, Asking, CellFailure, Draws, RowState, Step};
use crate::context::RunContext;
use crate::error::{Error, GeneratorError};
use crate::event::{Event, Observer, Observers};
use crate::generator::{DynGenerator, Generators};
use crate::recipe::{ColumnKind, Recipe};
use crate::reply::{Reply, Usage};
use crate::report::{FailurePolicy, Tally};
use crate::request::{Feedback, Request};
use crate::rng::column_key;

/// Everything a run shares between its rows.
pub(crate) struct Run<'g, R: Recipe> {
    samplers: R::Samplers,
    seed: u64,
    column_keys: Vec<u64>,
    /// Columns with no dependencies: where every row starts.
    roots: Vec<usize>,
    /// The generator stack of each generated column (an index into `stacks`).
    routes: Vec<usize>,
    stacks: Vec<Box<dyn DynGenerator + 'g>>,
    /// The JSON Schema of each structured column.
    schemas: Vec<Option<std::sync::Arc<crate::structured::Schema>>>,
    /// The shape of each text column's replies, where its type has one.
    shapes: Vec<Option<crate::Shape>>,
    /// How often a question is asked, and what replies that are not whole do.
    asking: Asking,
    observers: Observers<'g>,
    tally: std::sync::Arc<Tally>,
    /// Open rows at most (enough to keep every request slot busy).
    window: usize,
    failure: FailurePolicy,
    halt: crate::layer::Halt,
    /// The run's checkpoint file, told to the layers with every request.
    checkpoint: Option<std::path::PathBuf>,
    /// The values of the distinct columns so far.
    seen: crate::distinct::Seen,
}

/// What a run starts from (collected by the `Runner`).
pub(crate) struct Setup<'g> {
    /// Thrown to stop every request not yet sent.
    pub halt: crate::layer::Halt,
    /// Requests in flight at most, if the runner adds its limit layer.
    pub concurrency: usize,
    pub seed: Option<u64>,
    pub max_asks: u32,
    /// What a reply cut off by its token limit does, and a refusal.
    pub truncated: crate::report::ReplyPolicy,
    pub refused: crate::report::ReplyPolicy,
    pub failure: FailurePolicy,
    pub observers: Observers<'g>,
    /// Wraps each generator the recipe uses in the runner's layers.
    pub stack: Box<dyn Fn(&'g dyn DynGenerator) -> Box<dyn DynGenerator + 'g> + 'g>,
    /// The run's checkpoint file, if it has one.
    pub checkpoint: Option<std::path::PathBuf>,
}

/// Row `row` with every cell filled that needs no generator (sampled, static, and
/// derived from those), as a run with `seed` would fill it; for previews.
pub(crate) fn draw_row<R: Recipe>(
    row: usize,
    samplers: &R::Samplers,
    seed: u64,
) -> Result<R, (usize, crate::error::CellError)> {
    let columns = R::SPEC.columns;
    let column_keys: Vec<u64> = columns.iter().map(|c| column_key(c.name)).collect();
    let roots: Vec<usize> = (0..columns.len())
        .filter(|&i| columns[i].deps.is_empty())
        .collect();
    let draws = Draws::<R> {
        samplers,
        seed,
        column_keys: &column_keys,
    };
    let mut state = RowState::<R>::new(row, &roots);
    let mut asks = Vec::new();
    state
        .advance(&draws, &mut asks, &mut Vec::new())
        .map_err(|CellFailure { column, cause }| (column, cause))?;
    Ok(state.into_cells())
}

impl<'g, R: Recipe> Run<'g, R> {
    /// Resolves the recipe's generators and checks its samplers; nothing is sent before
    /// this succeeds.
    pub(crate) fn start<G: Generators + ?Sized>(
        generators: &'g G,
        samplers: R::Samplers,
        setup: Setup<'g>,
    ) -> Result<Self, Error> {
        let columns = R::SPEC.columns;
        let mut names: Vec<Option<&'static str>> = Vec::new();
        let mut stacks = Vec::new();
        let mut routes = vec![usize::MAX; columns.len()];
        for (i, column) in columns.iter().enumerate() {
            match &column.kind {
                ColumnKind::Generated(spec) => {
                    if let Some(k) = names.iter().position(|n| *n == spec.generator) {
                        routes[i] = k;
                        continue;
                    }
                    let Some(generator) = generators.get(spec.generator) else {
                        return Err(Error::UnknownGenerator {
                            column: column.name,
                            name: spec.generator.map(str::to_owned),
                            available: generators.names(),
                        });
                    };
                    routes[i] = stacks.len();
                    names.push(spec.generator);
                    stacks.push((setup.stack)(generator));
                }
                ColumnKind::Sampled | ColumnKind::Static => {
                    if let Err(cause) = R::check_sampler(&samplers, i) {
                        return Err(Error::Sampler {
                            column: column.name,
                            cause,
                        });
                    }
                }
                ColumnKind::Derived => {}
            }
        }
        let seed = setup.seed.unwrap_or_else(rand::random);
        let tally = std::sync::Arc::new(Tally::default());
        let mut observers = setup.observers;
        observers.push_shared(std::sync::Arc::clone(&tally) as std::sync::Arc<dyn Observer + 'g>);
        let schemas = (0..columns.len())
            .map(|i| match columns[i].kind {
                ColumnKind::Generated(_) => R::schema(i),
                _ => None,
            })
            .collect();
        let shapes = (0..columns.len())
            .map(|i| match columns[i].kind {
                ColumnKind::Generated(_) => R::shape(i),
                _ => None,
            })
            .collect();
        Ok(Run {
            samplers,
            schemas,
            shapes,
            seed,
            column_keys: columns.iter().map(|c| column_key(c.name)).collect(),
            roots: (0..columns.len())
                .filter(|&i| columns[i].deps.is_empty())
                .collect(),
            routes,
            stacks,
            asking: Asking {
                max_asks: setup.max_asks.max(1),
                truncated: setup.truncated,
                refused: setup.refused,
            },
            observers,
            tally,
            window: (setup.concurrency.max(1) * 2).max(16),
            failure: setup.failure,
            halt: setup.halt,
            checkpoint: setup.checkpoint,
            seen: crate::distinct::Seen::new::<R>(),
        })
    }

    pub(crate) fn seed(&self) -> u64 {
        self.seed
    }

    pub(crate) fn tally(&self) -> &Tally {
        &self.tally
    }

    /// Stops every request not yet sent, for good.
    pub(crate) fn halt(&self) {
        self.halt.halt();
    }

    /// Stops the requests not yet sent of the rows after `row`.
    pub(crate) fn halt_after(&self, row: usize) {
        self.halt.halt_after(row);
    }

    /// Gives up the distinct values of row `row`, which is not in the output.
    pub(crate) fn release(&self, row: usize) {
        self.seen.release(row);
    }

    pub(crate) fn emit(&self, event: &Event<'_>) {
        self.observers.on_event(event);
    }

    /// Fills one row.
    async fn fill_row(&self, row: usize) -> Result<(R::Row, Usage), Error> {
        let columns = R::SPEC.columns;
        let draws = Draws::<R> {
            samplers: &self.samplers,
            seed: self.seed,
            column_keys: &self.column_keys,
        };
        let mut state = RowState::<R>::new(row, &self.roots);
        let mut asks = Vec::new();
        let mut filled = Vec::new();
        let mut pending = FuturesUnordered::new();
        loop {
            let advanced = state.advance(&draws, &mut asks, &mut filled);
            for column in filled.drain(..) {
                self.filled(row, &state, column);
            }
            if let Err(CellFailure { column, cause }) = advanced {
                return Err(Error::Cell {
                    row,
                    column: columns[column].name,
                    cause,
                });
            }
            for ask in asks.drain(..) {
                pending.push(self.send(row, ask));
            }
            if state.is_done() {
                return Ok(state.finish());
            }
            let Some((ask, answer)) = pending.next().await else {
                unreachable!("the macro rejects cyclic recipes, so some cell can always run")
            };
            let name = columns[ask.column].name;
            let column = ask.column;
            match state.on_answer(ask, answer, self.asking, &self.seen) {
                Step::Filled {
                    finish,
                    attempts,
                    usage,
                    repeats,
                } => {
                    if let Some(of) = repeats {
                        tracing::warn!(row, column = name, of, "a repeated value kept");
                        self.emit(&Event::Repeated {
                            row,
                            column: name,
                            of,
                        });
                    }
                    if finish != crate::reply::Finish::Complete {
                        tracing::warn!(
                            row,
                            column = name,
                            ?finish,
                            "a reply that is not whole kept"
                        );
                    }
                    self.emit(&Event::CellGenerated {
                        row,
                        column: name,
                        attempts,
                        usage,
                        finish,
                    });
                    self.filled(row, &state, column);
                }
                Step::Again(ask, cause) => {
                    tracing::warn!(row, column = name, %cause, "reply cannot be used; asking again");
                    self.emit(&Event::Reasking {
                        row,
                        column: name,
                        attempts: ask.attempt - 1,
                        error: &cause,
                    });
                    pending.push(self.send(row, ask));
                }
                Step::Failed(CellFailure { column, cause }) => {
                    return Err(Error::Cell {
                        row,
                        column: columns[column].name,
                        cause,
                    });
                }
            }
        }
    }

    /// Tells the observers that `column` of `row` is filled.
    fn filled(&self, row: usize, state: &RowState<R>, column: usize) {
        self.emit(&Event::CellFilled {
            row,
            column: R::SPEC.columns[column].name,
            value: crate::event::CellValue::new(&Shown {
                cells: state.cells(),
                column,
            }),
        });
    }

    /// Sends one question to its column's generator stack.
    async fn send(&self, row: usize, ask: Ask) -> (Ask, Result<Reply, GeneratorError>) {
        let column = &R::SPEC.columns[ask.column];
        let ColumnKind::Generated(spec) = &column.kind else {
            unreachable!("only generated columns make requests")
        };
        self.emit(&Event::CellStarted {
            row,
            column: column.name,
            prompt: &ask.prompt,
            attempt: ask.attempt,
        });
        let generator = &self.stacks[self.routes[ask.column]];
        let mut request = Request::new(&ask.prompt)
            .cell(row, column.name)
            .attempt(ask.attempt);
        request.options = spec.options;
        request.schema = self.schemas[ask.column].as_deref();
        request.shape = self.shapes[ask.column].as_ref();
        request.feedback = ask
            .feedback
            .as_ref()
            .map(|(reply, problem)| Feedback { reply, problem });
        // The generator's defaults under the column's options, before any layer reads
        // the request.
        let request = generator.resolve(&request);
        let span = tracing::debug_span!(
            "chatan.request",
            row,
            column = column.name,
            generator = generator.name(),
            attempt = ask.attempt
        );
        let run = RunContext::default()
            .observed_by(&self.observers)
            .checkpoint_at(self.checkpoint.as_deref())
            .seeded(self.seed);
        let answer = generator
            .generate_boxed(&request, &run)
            .instrument(span)
            .await;
        (ask, answer)
    }
}

/// A cell as text, formatted only if someone formats it.
struct Shown<'a, R> {
    cells: &'a R,
    column: usize,
}

impl<R: Recipe> std::fmt::Display for Shown<'_, R> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        self.cells.show(self.column, f)
    }
}
