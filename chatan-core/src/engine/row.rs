//! One row being filled, as a state machine with no I/O: which cells are ready, what to
//! ask a generator, and what a reply does. The driver in `mod.rs` sends the asks and
//! feeds the answers back; tests drive it by hand.

use crate::distinct::Seen;
use crate::error::{CellError, GeneratorError};
use crate::from_reply::ReplyError;
use crate::recipe::{ColumnKind, Recipe, render};
use crate::reply::{Finish, Reply, Usage};
use crate::report::ReplyPolicy;
use crate::rng::SampleRng;
use crate::sample::SampleContext;

/// A question for a generator: fill `column` from `prompt`.
#[derive(Debug)]
pub(crate) struct Ask {
    /// The generated column.
    pub column: usize,
    /// The rendered prompt.
    pub prompt: String,
    /// Which request for this cell it is, from 1.
    pub attempt: u32,
    /// The reply before, and why it could not be used, when this question is asked
    /// again.
    pub feedback: Option<(String, String)>,
}

/// How the run takes replies: how often a question is asked, and what a reply that is
/// not whole does.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Asking {
    /// Questions at most per cell, while replies cannot be used.
    pub max_asks: u32,
    /// A reply cut off by its token limit.
    pub truncated: ReplyPolicy,
    /// A refusal.
    pub refused: ReplyPolicy,
}

/// What an answer did to the row.
#[derive(Debug)]
pub(crate) enum Step {
    /// The cell is filled; its dependents may be ready.
    Filled {
        /// Whether the reply was whole, or kept though not.
        finish: Finish,
        /// Requests the cell took in all (none for replies from a cache).
        attempts: u32,
        /// Tokens of the accepted reply.
        usage: Option<Usage>,
        /// For a distinct column whose asks ran out: the earlier row whose value this
        /// one repeats.
        repeats: Option<usize>,
    },
    /// The reply did not parse; ask again.
    Again(Ask, ReplyError),
    /// The cell failed for good.
    Failed(CellFailure),
}

/// A cell that could not be filled.
#[derive(Debug)]
pub(crate) struct CellFailure {
    pub column: usize,
    pub cause: CellError,
}

/// The shared, per-run inputs to sampling.
pub(crate) struct Draws<'a, R: Recipe> {
    pub samplers: &'a R::Samplers,
    pub seed: u64,
    /// Each column's part of its cells' seeds.
    pub column_keys: &'a [u64],
}

/// Runs user code for one cell, turning a panic into a cell failure: a bug in one
/// closure fails its row, with its row and column named, instead of unwinding through the
/// run and losing every finished row.
fn caught<T>(work: impl FnOnce() -> Result<T, CellError>) -> Result<T, CellError> {
    match std::panic::catch_unwind(std::panic::AssertUnwindSafe(work)) {
        Ok(result) => result,
        Err(payload) => Err(CellError::Panicked {
            message: crate::error::panic_message(&*payload),
        }),
    }
}

/// Strips leading and trailing whitespace without a new allocation.
fn trim_in_place(text: &mut String) {
    let end = text.trim_end().len();
    text.truncate(end);
    let start = text.len() - text.trim_start().len();
    text.drain(..start);
}

/// A row being filled.
pub(crate) struct RowState<R: Recipe> {
    row: usize,
    cells: R,
    /// Per column: how many of its dependencies are still empty.
    waiting: Vec<usize>,
    /// Columns whose dependencies are all filled and that have not started.
    ready: Vec<usize>,
    /// Columns not yet filled.
    left: usize,
    /// Per column: attempts numbered so far (each question at least one, so that a
    /// question asked again never reuses the number of the one before).
    attempts: Vec<u32>,
    /// Per column: requests made so far (a reply from a cache took none).
    requests: Vec<u32>,
    /// Per column: questions asked so far (each may take several requests).
    asks: Vec<u32>,
    usage: Usage,
}

impl<R: Recipe> RowState<R> {
    /// Row `row` with every cell empty; the columns without dependencies are ready.
    pub fn new(row: usize, roots: &[usize]) -> Self {
        let columns = R::SPEC.columns;
        RowState {
            row,
            cells: R::new(),
            waiting: columns.iter().map(|c| c.deps.len()).collect(),
            ready: roots.to_vec(),
            left: columns.len(),
            attempts: vec![0; columns.len()],
            requests: vec![0; columns.len()],
            asks: vec![0; columns.len()],
            usage: Usage::default(),
        }
    }

    /// Fills every ready cell that needs no generator (sampled, static, derived), and
    /// whatever they make ready in turn, noting each in `filled`; pushes an [`Ask`] for
    /// each ready generated cell. A derived closure's error, or a panic in user code,
    /// fails the cell.
    pub fn advance(
        &mut self,
        draws: &Draws<'_, R>,
        asks: &mut Vec<Ask>,
        filled: &mut Vec<usize>,
    ) -> Result<(), CellFailure> {
        let columns = R::SPEC.columns;
        while let Some(column) = self.ready.pop() {
            let row = self.row;
            let cells = &mut self.cells;
            let outcome = caught(|| match &columns[column].kind {
                ColumnKind::Sampled | ColumnKind::Static => {
                    let rng =
                        SampleRng::for_cell(draws.seed, row as u64, draws.column_keys[column]);
                    let mut cx = SampleContext::new(row, rng).seeded(draws.seed);
                    cells.sample(column, draws.samplers, &mut cx);
                    Ok(None)
                }
                ColumnKind::Derived => {
                    cells
                        .derive(column)
                        .map(|()| None)
                        .map_err(|e| CellError::Derived {
                            cause: std::sync::Arc::from(e),
                        })
                }
                ColumnKind::Generated(spec) => {
                    let mut prompt = String::new();
                    render(&*cells, spec.template, &mut prompt);
                    Ok(Some(prompt))
                }
            });
            match outcome {
                Ok(None) => {
                    self.filled(column);
                    filled.push(column);
                }
                Ok(Some(prompt)) => {
                    self.asks[column] = 1;
                    asks.push(Ask {
                        column,
                        prompt,
                        attempt: 1,
                        feedback: None,
                    });
                }
                Err(cause) => return Err(CellFailure { column, cause }),
            }
        }
        Ok(())
    }

    /// Takes a generator's answer to `ask`. A reply that does not parse is asked again
    /// while fewer than `asking.max_asks` questions were asked for the cell; one that is
    /// cut off or a refusal goes as `asking` says.
    pub fn on_answer(
        &mut self,
        ask: Ask,
        answer: Result<Reply, GeneratorError>,
        asking: Asking,
        seen: &Seen,
    ) -> Step {
        let max_asks = asking.max_asks;
        let column = ask.column;
        match answer {
            Ok(mut reply) => {
                if let ColumnKind::Generated(spec) = &R::SPEC.columns[column].kind
                    && spec.trim
                {
                    trim_in_place(&mut reply.text);
                }
                self.attempts[column] += reply.attempts.max(1);
                self.requests[column] += reply.attempts;
                let attempts = self.attempts[column];
                if let Some(usage) = reply.usage {
                    self.usage += usage;
                }
                let finish = reply.finish;
                let policy = match finish {
                    Finish::Complete => ReplyPolicy::Keep,
                    Finish::Truncated => asking.truncated,
                    Finish::Refused => asking.refused,
                };
                let unwhole = |reply: &str| {
                    if finish == Finish::Truncated {
                        ReplyError::with_reply(
                            "a whole reply",
                            reply,
                            "it was cut off by the token limit before it ended; answer \
                             more briefly",
                        )
                    } else {
                        ReplyError::with_reply(
                            "an answer",
                            reply,
                            "it declined to answer; answer the request as asked",
                        )
                    }
                };
                match policy {
                    ReplyPolicy::Keep => {}
                    ReplyPolicy::AskAgain if self.asks[column] < max_asks => {
                        return self.again(ask, attempts, unwhole(&reply.text));
                    }
                    ReplyPolicy::AskAgain | ReplyPolicy::Fail => {
                        let attempts = self.requests[column];
                        let cause = if finish == Finish::Truncated {
                            CellError::Truncated {
                                attempts,
                                excerpt: unwhole(&reply.text).excerpt,
                            }
                        } else {
                            CellError::Refused {
                                attempts,
                                text: reply.text,
                            }
                        };
                        return Step::Failed(CellFailure { column, cause });
                    }
                }
                let cells = &mut self.cells;
                // Kept for the error of a reply that cannot be used, which shows it to the
                // model when the question is asked again.
                let text = reply.text.clone();
                let accepted = caught(|| Ok(cells.accept(column, reply.text)));
                let accepted = match accepted {
                    Ok(accepted) => accepted,
                    Err(cause) => return Step::Failed(CellFailure { column, cause }),
                };
                // A distinct column's value is claimed once it is usable; one an earlier
                // row holds is asked for again while asks remain, then kept and reported.
                let accepted = accepted.and_then(|()| match seen.claim(column, self.row, &text) {
                    Ok(()) => Ok(None),
                    Err(repeat) if self.asks[column] < max_asks => {
                        Err(ReplyError::repeated(repeat))
                    }
                    Err(repeat) => Ok(Some(repeat.row)),
                });
                match accepted.map_err(|e| e.about(text)) {
                    Ok(repeats) => {
                        self.filled(column);
                        Step::Filled {
                            finish,
                            attempts: self.requests[column],
                            usage: reply.usage,
                            repeats,
                        }
                    }
                    // Questions are counted apart from requests, so transport retries
                    // inside a layer do not use up the re-asks.
                    Err(mut cause) if self.asks[column] < max_asks => {
                        if finish == Finish::Truncated {
                            cause.reason.push_str(
                                " (the reply was cut off by the token limit: answer more \
                                 briefly)",
                            );
                        }
                        self.again(ask, attempts, cause)
                    }
                    Err(cause) => Step::Failed(CellFailure {
                        column,
                        cause: CellError::Reply {
                            attempts: self.requests[column],
                            cause,
                        },
                    }),
                }
            }
            Err(error) => {
                let (made, cause) = error.into_parts();
                self.requests[column] += made;
                Step::Failed(CellFailure {
                    column,
                    cause: CellError::Generator {
                        attempts: self.requests[column],
                        cause,
                    },
                })
            }
        }
    }

    /// `ask` asked again (after `attempts` numbered attempts), with the reply that could
    /// not be used and why.
    fn again(&mut self, ask: Ask, attempts: u32, cause: ReplyError) -> Step {
        self.asks[ask.column] += 1;
        let reply = cause.reply().unwrap_or(&cause.excerpt).to_owned();
        let feedback = Some((reply, cause.reason.clone()));
        Step::Again(
            Ask {
                column: ask.column,
                prompt: ask.prompt,
                attempt: attempts + 1,
                feedback,
            },
            cause,
        )
    }

    /// Whether every cell is filled.
    pub fn is_done(&self) -> bool {
        self.left == 0
    }

    /// The cells as they are now.
    pub fn cells(&self) -> &R {
        &self.cells
    }

    /// The cells as they are now, owned.
    pub fn into_cells(self) -> R {
        self.cells
    }

    /// The finished row and the tokens it took.
    pub fn finish(self) -> (R::Row, Usage) {
        (self.cells.finish(), self.usage)
    }

    /// Marks `column` filled and readies the columns that were waiting only for it.
    fn filled(&mut self, column: usize) {
        self.left -= 1;
        for &d in R::SPEC.columns[column].dependents {
            self.waiting[d] -= 1;
            if self.waiting[d] == 0 {
                self.ready.push(d);
            }
        }
    }
}
