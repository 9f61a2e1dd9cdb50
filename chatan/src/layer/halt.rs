//! Stopping a run's requests at once: after a failure that every request would meet (a
//! bad key, a missing model, no quota), requests that have not gone out yet are not sent.
//! The runner puts this innermost, so a request waiting for a concurrency slot is
//! checked after it gets one, right before it would reach the server; there it also
//! tells the run's observers that the request is on its way
//! ([`Event::RequestSent`](crate::Event::RequestSent)).

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use crate::error::GeneratorError;
use crate::generator::{Generator, Reply, Request};

/// A switch shared by a run and its [`Halting`] layers.
#[derive(Debug, Clone, Default)]
pub(crate) struct Halt(Arc<AtomicBool>);

impl Halt {
    /// From now on, no request is sent.
    pub(crate) fn halt(&self) {
        self.0.store(true, Ordering::Release);
    }

    /// Whether [`halt`](Halt::halt) was called.
    pub(crate) fn is_halted(&self) -> bool {
        self.0.load(Ordering::Acquire)
    }
}

/// A generator that answers [`GeneratorError::Cancelled`] instead of sending once its
/// [`Halt`] is thrown, and throws it itself on an answer every request would get: here,
/// inside the concurrency limit, the halt is thrown before the failed request's slot
/// goes to a waiting one.
pub(crate) struct Halting<G> {
    pub(crate) inner: G,
    pub(crate) halt: Halt,
    /// Whether any rejection (a 400, say) halts, not only the fatal ones: when the run
    /// stops at its first failure anyway.
    pub(crate) on_any_rejection: bool,
}

impl<G: Generator> Generator for Halting<G> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        if self.halt.is_halted() {
            return Err(GeneratorError::Cancelled);
        }
        request.report(&crate::event::Event::RequestSent {
            row: request.row,
            column: request.column,
            attempt: request.attempt,
        });
        let outcome = self.inner.generate(request).await;
        if let Err(error) = &outcome {
            let rejected = matches!(error.cause(), GeneratorError::Rejected { .. });
            if error.is_fatal() || (self.on_any_rejection && rejected) {
                self.halt.halt();
            }
        }
        outcome
    }

    fn name(&self) -> &str {
        self.inner.name()
    }

    fn model(&self) -> Option<&str> {
        self.inner.model()
    }
}
