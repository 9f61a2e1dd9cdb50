//! What a run tells the layers its requests pass through: see [`RunContext`].

use std::fmt;
use std::path::Path;

use crate::event::{Event, Observer};

/// What a run tells the layers its requests pass through, beside each request: where to
/// report what happens (the run's observers), where the run keeps its state (its
/// [checkpoint](crate::Runner::checkpoint) file), and the run's
/// [seed](crate::Runner::seed), for a generator that samples by itself (a local model).
///
/// The engine sends every request with its run's context through
/// [`Generator::generate_in`](crate::Generator::generate_in); a layer that reports (a
/// retry, a governor's pause) or keeps state across runs (a
/// [`Batch`](crate::provider::Batch)'s journal) reads it there, and passes it on to the
/// generator it wraps. A generator called by hand, or one that needs neither, sees
/// [`RunContext::NONE`].
#[derive(Clone, Copy, Default)]
pub struct RunContext<'a> {
    observer: Option<&'a dyn Observer>,
    checkpoint: Option<&'a Path>,
    seed: Option<u64>,
}

impl RunContext<'static> {
    /// Outside any run: reports go nowhere, and there is no checkpoint.
    pub const NONE: RunContext<'static> = RunContext {
        observer: None,
        checkpoint: None,
        seed: None,
    };
}

impl<'a> RunContext<'a> {
    /// Reporting to `observer` (see [`report`](RunContext::report)).
    pub fn observed_by(mut self, observer: &'a dyn Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// With the run's checkpoint file.
    pub fn checkpoint_at(mut self, path: Option<&'a Path>) -> Self {
        self.checkpoint = path;
        self
    }

    /// With the run's seed.
    pub fn seeded(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// The run's seed (every run has one: the runner's, or a random one), for a
    /// generator that samples by itself; `None` outside a run.
    pub fn seed(&self) -> Option<u64> {
        self.seed
    }

    /// Tells the run's observers about something that happened to a request, such as a
    /// retry. Does nothing outside a run.
    pub fn report(&self, event: &Event<'_>) {
        if let Some(observer) = self.observer {
            observer.on_event(event);
        }
    }

    /// Whether [`report`](RunContext::report) goes anywhere (so a layer can skip
    /// building an event no one reads).
    pub fn is_observed(&self) -> bool {
        self.observer.is_some()
    }

    /// The run's checkpoint file, if it has one: a layer that keeps state across runs
    /// of the same recipe keeps it beside this file.
    pub fn checkpoint(&self) -> Option<&'a Path> {
        self.checkpoint
    }
}

impl fmt::Debug for RunContext<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RunContext")
            .field("observed", &self.observer.is_some())
            .field("checkpoint", &self.checkpoint)
            .field("seed", &self.seed)
            .finish()
    }
}
