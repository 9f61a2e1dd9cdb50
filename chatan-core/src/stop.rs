//! Stopping a run gracefully: no new rows start, the rows under way finish (within a
//! grace period), finished rows are kept (and journaled, with a checkpoint), and the run
//! returns what it has.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// A switch that asks runs to stop; see [`Runner::stop_on`](crate::Runner::stop_on).
/// Clones share the switch.
///
/// ```no_run
/// # chatan::dataset! { #[derive(Debug, serde::Serialize, serde::Deserialize)] struct Qa { q: String = gen("a question") } }
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// # let llm = chatan::OpenAi::from_env()?;
/// // Ctrl-C (or SIGTERM) once: finish the rows under way and return; twice: exit now.
/// let stop = chatan::Stop::on_signals();
/// match Qa::runner(&llm).stop_on(stop).checkpoint("qa.checkpoint.jsonl").generate(10_000).await {
///     Ok(rows) => println!("{} rows", rows.len()),
///     Err(e) => println!("stopped with {} rows kept: {e}", e.completed().len()),
/// }
/// # Ok(()) }
/// ```
#[derive(Clone, Default)]
pub struct Stop(Arc<Inner>);

#[derive(Default)]
struct Inner {
    stopped: AtomicBool,
    notify: Notify,
}

impl std::fmt::Debug for Stop {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stop")
            .field("stopped", &self.is_stopped())
            .finish()
    }
}

impl Stop {
    /// A switch that is not thrown.
    pub fn new() -> Self {
        Stop::default()
    }

    /// Asks every run watching this switch to stop.
    pub fn stop(&self) {
        self.0.stopped.store(true, Ordering::Release);
        self.0.notify.notify_waiters();
    }

    /// Whether [`stop`](Stop::stop) was called.
    pub fn is_stopped(&self) -> bool {
        self.0.stopped.load(Ordering::Acquire)
    }

    /// Waits until [`stop`](Stop::stop) is called.
    pub async fn stopped(&self) {
        loop {
            let notified = self.0.notify.notified();
            if self.is_stopped() {
                return;
            }
            notified.await;
        }
    }

    /// A switch thrown by the first Ctrl-C (SIGINT) or SIGTERM; a second one exits the
    /// process at once with status 130. Call it inside a Tokio runtime.
    pub fn on_signals() -> Self {
        let stop = Stop::new();
        let thrown = stop.clone();
        tokio::spawn(async move {
            signal().await;
            tracing::warn!("stopping: no new rows start; press Ctrl-C again to exit now");
            eprintln!("\nStopping: rows under way finish; press Ctrl-C again to exit now.");
            thrown.stop();
            signal().await;
            std::process::exit(130);
        });
        stop
    }
}

/// The next SIGINT or SIGTERM.
async fn signal() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        let (Ok(mut interrupt), Ok(mut terminate)) = (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) else {
            return std::future::pending().await;
        };
        tokio::select! {
            _ = interrupt.recv() => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        if tokio::signal::ctrl_c().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}
