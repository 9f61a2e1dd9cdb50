//! Something a run starts beside itself and closes when it ends: the live viewer
//! (`chatan::viewer::Viewer`) is one. The runner knows only this trait, so the parts
//! that watch a run live in crates of their own.

use std::sync::Arc;

use crate::error::Error;
use crate::event::Observer;
use crate::generator::BoxFuture;
use crate::layer::Limiter;

/// Watches one run: started as the run starts ([`Runner::viewer`](crate::Runner::viewer)),
/// fed the run's events, and closed once the run has sent its last one.
pub trait Watch: Send {
    /// Starts watching. `limiter` is the run's concurrency limit (`None` for a
    /// [`bare`](crate::Runner::bare) run), for showing requests in flight.
    fn start(self: Box<Self>, limiter: Option<Limiter>) -> Result<Watching, Error>;
}

/// A watch that has started: the observer the run feeds, and what closes it.
pub struct Watching {
    /// Receives the run's events.
    pub observer: Arc<dyn Observer>,
    /// Closes the watch when awaited (dropping it must close it too, without waiting).
    pub close: BoxFuture<'static, ()>,
}

impl std::fmt::Debug for Watching {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Watching").finish_non_exhaustive()
    }
}
