//! Bounding requests in flight: a [`Limiter`] holds the slots, a [`Limit`] takes one for
//! each request it passes on. Several generators may share one limiter, so one bound can
//! cover a writer and a judge together.

use std::sync::Arc;

use tokio::sync::Semaphore;

use crate::context::RunContext;
use crate::error::GeneratorError;
use crate::generator::Generator;
use crate::reply::Reply;
use crate::request::Request;

/// Slots for requests in flight, shared by every [`Limit`] made with it.
///
/// ```
/// use chatan::layer::Limiter;
/// use chatan::layer::GeneratorExt;
/// # fn main() -> Result<(), chatan::Error> {
/// let shared = Limiter::new(32);
/// let writer = chatan::OpenAi::compatible("http://localhost:8000/v1")?.limit_with(&shared);
/// let judge = chatan::OpenAi::compatible("http://localhost:8001/v1")?.limit_with(&shared);
/// assert_eq!(shared.in_flight(), 0);
/// # let _ = (writer, judge);
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Limiter {
    slots: Arc<Semaphore>,
    size: usize,
}

impl Limiter {
    /// `requests` slots (at least 1).
    pub fn new(requests: usize) -> Self {
        let size = requests.clamp(1, Semaphore::MAX_PERMITS);
        Limiter {
            slots: Arc::new(Semaphore::new(size)),
            size,
        }
    }

    /// How many slots there are.
    pub fn size(&self) -> usize {
        self.size
    }

    /// How many requests hold a slot now.
    pub fn in_flight(&self) -> usize {
        self.size - self.slots.available_permits()
    }
}

/// A generator that sends at most [`Limiter::size`] requests at once (counted with every
/// other generator sharing its limiter); further requests wait their turn. Made by
/// [`GeneratorExt::limit`](super::GeneratorExt::limit) or [`GeneratorExt::limit_with`](super::GeneratorExt::limit_with).
#[derive(Debug, Clone)]
pub struct Limit<G> {
    inner: G,
    limiter: Limiter,
}

impl<G> Limit<G> {
    /// Wraps `inner`.
    pub fn new(inner: G, limiter: Limiter) -> Self {
        Limit { inner, limiter }
    }

    /// The limiter whose slots this generator takes.
    pub fn limiter(&self) -> &Limiter {
        &self.limiter
    }

    /// The wrapped generator.
    pub fn inner(&self) -> &G {
        &self.inner
    }
}

impl<G: Generator> Generator for Limit<G> {
    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        // The semaphore lives as long as the limiter and is never closed.
        let _slot = self
            .limiter
            .slots
            .acquire()
            .await
            .map_err(GeneratorError::other)?;
        self.inner.generate_in(request, run).await
    }

    crate::layer::passes_through!(inner);
}
