//! `keep_if`: n rows that pass a predicate, drawing replacements for those that do not.
//!
//! Row `j` of the result (a *slot*) takes its draws from row indices `j`, `n + j`,
//! `2n + j`, … in turn, and keeps the first that passes. Which rows are kept then depends
//! only on the seed, `n`, the predicate and the replies, never on timing: a rerun with
//! the same seed (replies being equal) keeps the same rows, a resumed run finds its
//! draws in the checkpoint, and the shards of a sharded run each fill their own slots
//! with exactly the rows the whole run would have kept there.

use std::collections::BTreeMap;
use std::fmt;

use futures::stream::StreamExt;

use crate::dataset::Dataset;
use crate::error::Error;
use crate::generator::Generators;
use crate::report::{FailurePolicy, Report, RowFailure, RunError};
use crate::rowset::RowSet;

use super::{Generated, Runner};

/// How many draws a kept row may take, by default.
const DEFAULT_DRAWS: u32 = 4;

/// What a [`keep_if`](Runner::keep_if) predicate says of a row: `true` or `Ok(())`
/// keeps it; `false` or `Err(reason)` drops it (the reason goes in the report).
pub trait Decision {
    /// `Ok` to keep the row; `Err` with why not.
    fn decide(self) -> Result<(), String>;
}

impl Decision for bool {
    fn decide(self) -> Result<(), String> {
        if self {
            Ok(())
        } else {
            Err("the predicate returned false".to_owned())
        }
    }
}

impl<E: fmt::Display> Decision for Result<(), E> {
    fn decide(self) -> Result<(), String> {
        self.map_err(|e| e.to_string())
    }
}

/// A draw that was not kept.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Dropped {
    /// The row's index.
    pub row: usize,
    /// Why: the predicate's reason, or the row's failure (under
    /// [`skip_failed`](Runner::skip_failed)).
    pub reason: String,
}

/// What [`keep_if`](Runner::keep_if) drew, kept and dropped: in [`Report::keep`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct KeepReport {
    /// Rows asked for (of this shard, in a sharded run).
    pub wanted: usize,
    /// Rows drawn: made (or read from a checkpoint) and judged, or failed.
    pub drawn: usize,
    /// Rows that passed.
    pub kept: usize,
    /// Draws that did not pass or failed, in the order they were judged.
    pub dropped: Vec<Dropped>,
    /// Result rows (slots) with no passing draw within `max_draws`, ascending.
    pub unfilled: Vec<usize>,
}

impl KeepReport {
    /// Each reason for a drop, with how many draws it dropped, most common first.
    pub fn reasons(&self) -> Vec<(&str, usize)> {
        let mut counts: BTreeMap<&str, usize> = BTreeMap::new();
        for d in &self.dropped {
            *counts.entry(d.reason.as_str()).or_default() += 1;
        }
        let mut reasons: Vec<_> = counts.into_iter().collect();
        reasons.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        reasons
    }
}

impl fmt::Display for KeepReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "kept {} of {} wanted from {} drawn, {} dropped",
            self.kept,
            self.wanted,
            self.drawn,
            self.dropped.len()
        )?;
        for (reason, count) in self.reasons() {
            write!(f, "\n  {count} × {reason}")?;
        }
        if !self.unfilled.is_empty() {
            write!(f, "\n  {} rows with no passing draw", self.unfilled.len())?;
        }
        Ok(())
    }
}

/// A run that keeps the rows passing a predicate; see [`Runner::keep_if`].
pub struct Keeping<'g, R: Dataset, G: ?Sized, P> {
    runner: Runner<'g, R, G>,
    predicate: P,
    max_draws: u32,
}

impl<'g, R: Dataset, G: Generators + ?Sized> Runner<'g, R, G> {
    /// Makes rows that pass `predicate`: for each row asked for, rows are drawn until
    /// one passes, up to [`max_draws`](Keeping::max_draws) (default 4). The predicate
    /// returns a `bool`, or a `Result<(), E>` whose error says why a row is dropped.
    ///
    /// The kept rows are reproducible: result row `j` tries row indices `j`, `n + j`,
    /// `2n + j`, … in turn (see [`Keeping::run`]). With a
    /// [`checkpoint`](Runner::checkpoint), every draw is journaled, and a resumed run
    /// judges the same draws again instead of making them. Under a
    /// [`shard`](Runner::shard), each shard fills its part of the `n` rows.
    ///
    /// ```no_run
    /// # use chatan::structured::Scale;
    /// # #[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
    /// # struct Verdict { score: Scale<1, 10> }
    /// chatan::dataset! {
    ///     #[derive(Debug)]
    ///     struct Qa {
    ///         question: String = gen("a hard question about tides"),
    ///         verdict: Verdict = gen("rate 1-10 how hard this is: {question}"),
    ///     }
    /// }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let llm = chatan::OpenAi::from_env()?;
    /// let kept = Qa::runner(&llm)
    ///     .seed(7)
    ///     .keep_if(|row| row.verdict.score.get() >= 7)
    ///     .max_draws(5)
    ///     .run(100)
    ///     .await?;
    /// println!("{}", kept.report); // drawn, kept, dropped and why
    /// # Ok(()) }
    /// ```
    pub fn keep_if<P, D>(self, predicate: P) -> Keeping<'g, R, G, P>
    where
        P: FnMut(&R) -> D,
        D: Decision,
    {
        Keeping {
            runner: self,
            predicate,
            max_draws: DEFAULT_DRAWS,
        }
    }
}

impl<'g, R, G, P, D> Keeping<'g, R, G, P>
where
    R: Dataset,
    G: Generators + ?Sized,
    P: FnMut(&R) -> D,
    D: Decision,
{
    /// How many rows may be drawn for each row kept, at most (at least 1; default 4).
    pub fn max_draws(mut self, draws: u32) -> Self {
        self.max_draws = draws.max(1);
        self
    }

    /// Makes `n` rows that pass, in result-row order; see [`run`](Keeping::run).
    pub async fn generate(self, n: usize) -> Result<Vec<R>, RunError<R>> {
        self.run(n).await.map(|generated| generated.rows)
    }

    /// Makes `n` rows that pass, with each kept row's index and the run's [`Report`],
    /// whose [`keep`](Report::keep) counts the draws and the drops with their reasons.
    ///
    /// Result row `j` is the first of row indices `j`, `n + j`, `2n + j`, … that passes;
    /// a draw is made only when the one before it was dropped. When some result row has
    /// no passing draw in [`max_draws`](Keeping::max_draws), the run ends with
    /// [`Error::NotEnoughKept`], carrying the rows it kept. A failed row fails the run as
    /// in [`Runner::run`], or under [`skip_failed`](Runner::skip_failed) is a dropped
    /// draw, replaced like any other.
    pub async fn run(self, n: usize) -> Result<Generated<R>, RunError<R>> {
        let Keeping {
            runner,
            mut predicate,
            max_draws,
        } = self;
        let skip = runner.failure == FailurePolicy::Skip;
        let slots = match runner.which_shard() {
            Some(shard) => shard.part_of(RowSet::first(n)).len(),
            None => n,
        };
        let mut stream = match runner.start_with(RowSet::first(n), false, true) {
            Ok(stream) => stream,
            Err(e) => return Err(RunError::new(e, Vec::new(), Report::default())),
        };
        let mut keep = KeepReport::default();
        // Per slot: draws made so far. Slots of this shard only appear.
        let mut draws: BTreeMap<usize, u32> = BTreeMap::new();
        let mut kept: BTreeMap<usize, (usize, R)> = BTreeMap::new();
        let mut failed: Vec<RowFailure> = Vec::new();
        let mut cancelled = 0;
        let mut ended: Option<Error> = None;
        // A dropped draw of `slot`: the next one, or none left.
        let redraw = |slot: usize,
                      draws: &mut BTreeMap<usize, u32>,
                      stream: &mut crate::engine::Rows<'g, R::__Recipe>,
                      keep: &mut KeepReport| {
            let made = draws.entry(slot).or_insert(1);
            if *made < max_draws {
                stream.push(*made as usize * n + slot);
                *made += 1;
            } else {
                keep.unfilled.push(slot);
            }
        };
        while let Some((index, result)) = stream.next().await {
            let slot = index % n.max(1);
            match result {
                Ok((row, _)) => {
                    keep.drawn += 1;
                    // A panic in the predicate drops the row, its message the reason,
                    // instead of unwinding through the run and losing the kept rows.
                    let decision = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        predicate(&row).decide()
                    }))
                    .unwrap_or_else(|payload| {
                        Err(format!(
                            "the predicate panicked: {}",
                            crate::error::panic_message(&*payload)
                        ))
                    });
                    match decision {
                        Ok(()) => {
                            kept.insert(slot, (index, row));
                        }
                        Err(reason) => {
                            stream.run().release(index);
                            keep.dropped.push(Dropped { row: index, reason });
                            redraw(slot, &mut draws, &mut stream, &mut keep);
                        }
                    }
                }
                Err(e) if RowFailure::is_cancellation(&e) => cancelled += 1,
                Err(e @ Error::Cell { .. }) => {
                    keep.drawn += 1;
                    if skip {
                        keep.dropped.push(Dropped {
                            row: index,
                            reason: e.to_string(),
                        });
                        redraw(slot, &mut draws, &mut stream, &mut keep);
                    }
                    failed.extend(RowFailure::from_error(e));
                }
                Err(e) => {
                    ended.get_or_insert(e);
                }
            }
        }
        stream.close_watches().await;
        keep.unfilled.sort_unstable();
        keep.wanted = slots;
        keep.kept = kept.len();
        let first = failed.first().cloned();
        let done: Vec<(usize, R)> = kept.into_values().collect();
        let mut report = super::run::report(&stream, done.len(), failed, cancelled);
        let short = (!keep.unfilled.is_empty()).then(|| Error::NotEnoughKept {
            wanted: keep.wanted,
            kept: keep.kept,
            unfilled: keep.unfilled.len(),
            max_draws,
        });
        report.keep = Some(keep);
        let error = first
            .filter(|_| !skip)
            .map(RowFailure::into_error)
            .or(ended)
            .or(short);
        super::run::outcome(done, report, error)
    }
}
