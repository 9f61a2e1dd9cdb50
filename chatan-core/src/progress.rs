//! The progress bar: rows done, rows per second, requests in flight, retries, ETA, and
//! the state of a provider batch when a run goes through one. An
//! [`Observer`] of the run's events, drawn on standard error when it is a terminal and
//! never otherwise. It appears only once a run has gone on for a second, so short runs
//! (and test suites run in a terminal) stay quiet.

use std::io::IsTerminal;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

use crate::event::{Event, Observer};
use crate::layer::Limiter;

/// How long a run goes on before its bar appears.
const QUIET_START: Duration = Duration::from_secs(1);

/// Whether a run shows a progress bar by default: when standard error is a terminal,
/// unless `CHATAN_PROGRESS=0`.
pub(crate) fn wanted_by_default() -> bool {
    match std::env::var("CHATAN_PROGRESS").as_deref() {
        Ok("0") | Ok("false") | Ok("off") => false,
        _ => std::io::stderr().is_terminal(),
    }
}

pub(crate) struct Progress {
    bar: ProgressBar,
    /// The runner's own limit layer, whose slots in use are the requests in flight.
    limiter: Option<Limiter>,
    retries: AtomicU64,
    shown: AtomicBool,
    /// When the endpoint's last pause ends (ms since the bar started), and the pace it
    /// is held to (hundredths of a request a second; 0: none).
    paused_until_ms: AtomicU64,
    pace: AtomicU64,
    /// The latest provider batch's state, as the bar says it.
    batch: Mutex<String>,
}

impl Progress {
    /// A bar for a run, if standard error is a terminal.
    pub(crate) fn new(limiter: Option<Limiter>) -> Option<Self> {
        if !std::io::stderr().is_terminal() {
            return None;
        }
        let bar = ProgressBar::hidden();
        // Fits an 80-column terminal for runs of up to a million rows.
        let style = ProgressStyle::with_template(
            "{spinner} {pos}/{len} rows [{bar:16}] {rate}, {msg}, ETA {eta}",
        )
        .unwrap_or_else(|_| ProgressStyle::default_bar())
        .with_key(
            "rate",
            |state: &ProgressState, w: &mut dyn std::fmt::Write| {
                let _ = write!(w, "{:.1} rows/s", state.per_sec());
            },
        );
        bar.set_style(style);
        Some(Progress {
            bar,
            limiter,
            retries: AtomicU64::new(0),
            shown: AtomicBool::new(false),
            paused_until_ms: AtomicU64::new(0),
            pace: AtomicU64::new(0),
            batch: Mutex::new(String::new()),
        })
    }

    /// Redraws the message, and shows the bar once the run has gone on long enough.
    fn refresh(&self) {
        let in_flight = match &self.limiter {
            Some(limiter) => format!("{} in flight, ", limiter.in_flight()),
            None => String::new(),
        };
        let now_ms = self.bar.elapsed().as_millis() as u64;
        let paused_until = self.paused_until_ms.load(Ordering::Relaxed);
        let throttle = match self.pace.load(Ordering::Relaxed) {
            _ if paused_until > now_ms => format!(
                ", rate limited: paused {:.1}s",
                (paused_until - now_ms) as f64 / 1000.0
            ),
            0 => String::new(),
            pace => format!(", rate limited: ≤{:.1}/s", pace as f64 / 100.0),
        };
        let batch = self.batch.lock().unwrap_or_else(|e| e.into_inner()).clone();
        self.bar.set_message(format!(
            "{in_flight}{} retries{throttle}{batch}",
            self.retries.load(Ordering::Relaxed)
        ));
        // The bar is made as the run starts, so its age is the run's.
        if !self.shown.load(Ordering::Relaxed) && self.bar.elapsed() >= QUIET_START {
            self.shown.store(true, Ordering::Relaxed);
            self.bar.set_draw_target(ProgressDrawTarget::stderr());
            self.bar.enable_steady_tick(Duration::from_millis(200));
        }
    }
}

impl Observer for Progress {
    fn on_event(&self, event: &Event<'_>) {
        match event {
            Event::RunStarted { rows, .. } => self.bar.set_length(*rows as u64),
            Event::RowsAdded { rows } => self.bar.inc_length(*rows as u64),
            Event::Retrying { .. } | Event::Reasking { .. } => {
                self.retries.fetch_add(1, Ordering::Relaxed);
            }
            Event::RowDone { .. } | Event::RowFailed { .. } => {
                self.bar.inc(1);
                self.refresh();
            }
            Event::BatchProgress {
                wave,
                requests,
                done,
                failed,
                ended,
                ..
            } => {
                *self.batch.lock().unwrap_or_else(|e| e.into_inner()) =
                    batch_text(*wave, *requests, *done, *failed, *ended);
                self.refresh();
            }
            Event::Throttled { pause, pace } => {
                let until = self.bar.elapsed() + *pause;
                self.paused_until_ms
                    .fetch_max(until.as_millis() as u64, Ordering::Relaxed);
                // Stored as hundredths of a request a second; 0 when not held.
                let pace = pace.map_or(0, |p| (p * 100.0).round().max(1.0) as u64);
                self.pace.store(pace, Ordering::Relaxed);
            }
            Event::RunFinished { .. } if self.shown.load(Ordering::Relaxed) => self.bar.finish(),
            _ => {}
        }
    }
}

/// A provider batch's state in a few words: `, batch 2: 120/500 done, 3 failed`.
fn batch_text(wave: usize, requests: usize, done: usize, failed: usize, ended: bool) -> String {
    let failed = match failed {
        0 => String::new(),
        n => format!(", {n} failed"),
    };
    let state = if ended { "ended" } else { "in progress" };
    format!(", batch {wave} {state}: {done}/{requests} done{failed}")
}

#[cfg(test)]
mod tests {
    use super::batch_text;

    #[test]
    fn a_batch_reads_as_its_wave_and_counts() {
        assert_eq!(
            batch_text(2, 500, 120, 0, false),
            ", batch 2 in progress: 120/500 done"
        );
        assert_eq!(
            batch_text(1, 500, 497, 3, true),
            ", batch 1 ended: 497/500 done, 3 failed"
        );
    }
}
