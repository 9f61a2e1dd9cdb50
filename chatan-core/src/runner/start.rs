//! Starting a run: the concurrency, the shard, the layers around each generator, the
//! checkpoint, the failed-rows file and what watches the run.

use crate::checkpoint;
use crate::dataset::Dataset;
use crate::engine::Extras;
use crate::engine::{Rows, Run, Setup};
use crate::error::Error;
use crate::generator::{DynGenerator, Generators};
use crate::layer::{Governance, Governor, Halt, Halting, Limit, Limiter, Retry};
#[cfg(feature = "progress")]
use crate::progress::{self, Progress};
use crate::recipe::Recipe;
use crate::report::FailurePolicy;
use crate::rowset::RowSet;

use super::{DEFAULT_ASKS, Runner};

impl<'g, R: Dataset, G: Generators + ?Sized> Runner<'g, R, G> {
    pub(super) fn start(self, rows: RowSet, ordered: bool) -> Result<Rows<'g, R::__Recipe>, Error> {
        self.start_with(rows, ordered, false)
    }

    /// [`start`](Runner::start); with `growing`, rows may be [`push`](Rows::push)ed
    /// later, so a checkpoint's rows outside `rows` are kept for them.
    pub(super) fn start_with(
        mut self,
        rows: RowSet,
        ordered: bool,
        growing: bool,
    ) -> Result<Rows<'g, R::__Recipe>, Error> {
        if !self.concurrency_set {
            // The most any of the run's generators asks for.
            let generators = std::iter::once(None)
                .chain(self.generators.names().into_iter().map(Some))
                .filter_map(|name| self.generators.get(name.as_deref()));
            if let Some(hint) = generators.filter_map(|g| g.concurrency_hint()).max() {
                self.concurrency = hint.max(1);
            }
        }
        let rows = match self.shard {
            Some(shard) if shard.count() > 1 && self.seed.is_none() => {
                return Err(Error::Shard(format!(
                    "{shard} of a run without a seed: set one with `.seed(..)`, the same \
                     in every shard, so that all of them sample the same dataset"
                )));
            }
            Some(shard) => shard.part_of(rows),
            None => rows,
        };
        let limiter = Limiter::new(self.concurrency);
        let mut observers = self.observers;
        let mut closing = Vec::new();
        for watch in self.watches {
            let watching = watch.start((!self.bare).then(|| limiter.clone()))?;
            observers.push_shared(watching.observer);
            closing.push(watching.close);
        }
        #[cfg(feature = "progress")]
        if self.progress.unwrap_or_else(progress::wanted_by_default) {
            let limiter = (!self.bare).then(|| limiter.clone());
            if let Some(bar) = Progress::new(limiter) {
                observers.push(bar);
            }
        }
        let policy = self.retry;
        let halt = Halt::default();
        let innermost = halt.clone();
        let on_any_rejection = self.failure == FailurePolicy::Stop;
        // The halt goes innermost: a request waiting for a slot is checked when it gets
        // one, just before it would be sent.
        let layered: Box<dyn Fn(&'g dyn DynGenerator) -> Box<dyn DynGenerator + 'g> + 'g> =
            if self.bare {
                Box::new(move |generator| {
                    Box::new(Halting {
                        inner: generator,
                        halt: innermost.clone(),
                        on_any_rejection,
                    })
                })
            } else {
                let concurrency = self.concurrency;
                Box::new(move |generator| {
                    let halting = Halting {
                        inner: generator,
                        halt: innermost.clone(),
                        on_any_rejection,
                    };
                    // One governor per generator (per endpoint), outside the limit: a
                    // request paused by it holds no slot.
                    let governance = Governance::new().max_in_flight(concurrency);
                    let limited = Limit::new(halting, limiter.clone());
                    Box::new(Retry::new(Governor::new(limited, governance), policy))
                })
            };
        let cache = self.cache.clone();
        let stack: Box<dyn Fn(&'g dyn DynGenerator) -> Box<dyn DynGenerator + 'g> + 'g> =
            match cache {
                Some(cache) => Box::new(move |generator| {
                    Box::new(crate::Cached::new(
                        crate::generator::Boxed(layered(generator)),
                        cache.clone(),
                    ))
                }),
                None => layered,
            };
        let mut extras = Extras::default();
        let mut seed = self.seed;
        if let Some((path, codec)) = &self.checkpoint {
            let spec = &<R::__Recipe as Recipe>::SPEC;
            let opened = checkpoint::open(path, spec, self.seed, rand::random(), *codec)?;
            seed = Some(opened.seed);
            extras.resumed = opened
                .rows
                .into_iter()
                .filter(|(row, _)| growing || rows.contains(*row))
                .collect();
            extras.journal = Some(opened.journal);
        }
        let failures = self.failures.clone().or_else(|| {
            let (path, _) = self.checkpoint.as_ref()?;
            let stem = path.file_stem()?.to_string_lossy().into_owned();
            Some(path.with_file_name(format!("{stem}.failed.jsonl")))
        });
        if let Some(path) = failures {
            let file = std::fs::File::create(&path).map_err(|e| Error::Checkpoint {
                path: path.clone(),
                message: format!("the failed rows file cannot be written: {e}"),
            })?;
            extras.failures = Some((path, std::io::BufWriter::new(file)));
        }
        extras.stop = self.stop.clone();
        extras.grace = self.grace;
        extras.closing = closing;
        let setup = Setup {
            halt,
            concurrency: self.concurrency,
            seed,
            max_asks: self.max_asks.unwrap_or(DEFAULT_ASKS),
            truncated: self.truncated,
            refused: self.refused,
            failure: self.failure,
            observers,
            stack,
            checkpoint: self.checkpoint.as_ref().map(|(path, _)| path.clone()),
        };
        let run = Run::<R::__Recipe>::start(self.generators, self.samplers, setup)?;
        Ok(Rows::new(run, rows, ordered, extras))
    }
}
