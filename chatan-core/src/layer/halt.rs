//! Stopping a run's requests at once: after a failure that every request would meet (a
//! bad key, a missing model, no quota), requests that have not gone out yet are not sent;
//! after a rejection that stops the run (a 400), those of the rows after the failed one.
//! The runner puts this innermost, so a request waiting for a concurrency slot is
//! checked after it gets one, right before it would reach the server; there it also
//! tells the run's observers that the request is on its way
//! ([`Event::RequestSent`](crate::Event::RequestSent)).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::context::RunContext;
use crate::error::GeneratorError;
use crate::generator::Generator;
use crate::reply::Reply;
use crate::request::Request;

/// A switch shared by a run and its [`Halting`] layers: the first row whose requests are
/// no longer sent (`usize::MAX` while nothing is halted).
#[derive(Debug, Clone)]
pub(crate) struct Halt(Arc<AtomicUsize>);

impl Default for Halt {
    fn default() -> Self {
        Halt(Arc::new(AtomicUsize::new(usize::MAX)))
    }
}

impl Halt {
    /// From now on, no request of any row is sent.
    pub(crate) fn halt(&self) {
        self.0.store(0, Ordering::Release);
    }

    /// From now on, no request of a row after `row` is sent; rows before it (and `row`
    /// itself) go on. A run that stops at row `row`'s failure still finishes the rows
    /// before it, so what it hands over in row order has no gap.
    pub(crate) fn halt_after(&self, row: usize) {
        self.0.fetch_min(row.saturating_add(1), Ordering::AcqRel);
    }

    /// Whether requests of `row` are no longer sent.
    pub(crate) fn is_halted(&self, row: usize) -> bool {
        row >= self.0.load(Ordering::Acquire)
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
    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        if self.halt.is_halted(request.row) {
            return Err(GeneratorError::Cancelled);
        }
        run.report(&crate::event::Event::RequestSent {
            row: request.row,
            column: request.column,
            attempt: request.attempt,
        });
        let outcome = self.inner.generate_in(request, run).await;
        if let Err(error) = &outcome {
            if error.is_fatal() {
                self.halt.halt();
            } else if self.on_any_rejection
                && matches!(error.cause(), GeneratorError::Rejected { .. })
            {
                self.halt.halt_after(request.row);
            }
        }
        outcome
    }

    crate::layer::passes_through!(inner);
}

#[cfg(test)]
mod tests {
    use super::Halt;

    #[test]
    fn a_halt_after_a_row_spares_the_rows_before_it() {
        let halt = Halt::default();
        assert!(!halt.is_halted(0) && !halt.is_halted(usize::MAX - 1));
        halt.halt_after(40);
        assert!(!halt.is_halted(39) && !halt.is_halted(40));
        assert!(halt.is_halted(41));
        // A later rejection of an earlier row moves the line back, never forward.
        halt.halt_after(35);
        halt.halt_after(50);
        assert!(!halt.is_halted(35) && halt.is_halted(36) && halt.is_halted(41));
        halt.halt();
        assert!(halt.is_halted(0));
    }
}
