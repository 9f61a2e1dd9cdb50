//! What the viewer knows of a run: an [`Observer`] that turns the run's events into the
//! page's messages (JSON), keeps a bounded picture of the run for pages that connect (or
//! fall behind) mid-run, and hands every message to the pages connected.
//!
//! Every message has a sequence number, given under the same lock that updates the
//! picture, so a page that gets a snapshot and then the live messages after its number
//! sees each change exactly once.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Instant;

use serde_json::{Value, json};
use tokio::sync::broadcast;

use chatan_core::Usage;
use chatan_core::layer::Limiter;
use chatan_core::{Event, Observer};

/// Failed rows kept, at most (the count goes on).
const KEEP_FAILED: usize = 100;
/// The longest value kept and sent, in bytes; longer ones are cut (and say so).
const MAX_VALUE: usize = 64 * 1024;
/// Messages a slow page may fall behind by before it is sent a fresh snapshot instead.
const BACKLOG: usize = 4096;
/// Provider batches kept, at most: the latest ones.
const KEEP_BATCHES: usize = 50;

/// A message for the pages, with its place in the run's sequence.
#[derive(Debug, Clone)]
pub(crate) struct Message {
    pub(crate) seq: u64,
    pub(crate) json: Arc<str>,
}

/// The viewer's picture of a run, and the channel to the pages.
pub(crate) struct Broadcast {
    inner: Mutex<Inner>,
    window: usize,
    prices: Option<(f64, f64)>,
    limiter: Option<Limiter>,
}

#[derive(Default)]
struct Inner {
    seq: u64,
    sender: Option<broadcast::Sender<Message>>,
    start: Option<Value>,
    end: Option<Value>,
    started: Option<Instant>,
    columns: Vec<&'static str>,
    /// Rows under way, the latest finished ones and the latest failed ones.
    rows: BTreeMap<usize, RowView>,
    finished: VecDeque<usize>,
    failed: VecDeque<usize>,
    total: usize,
    done: usize,
    failed_count: usize,
    retries: u64,
    usage: Usage,
    /// The latest provider batches (wave number → state), when the run goes through one.
    batches: BTreeMap<usize, Value>,
}

#[derive(Default)]
struct RowView {
    status: &'static str,
    cells: Vec<CellView>,
    failure: Option<Value>,
}

#[derive(Default, Clone)]
struct CellView {
    state: &'static str,
    value: Option<String>,
    prompt: Option<String>,
    attempt: u32,
}

impl CellView {
    fn json(&self) -> Value {
        json!({
            "state": self.state,
            "value": self.value,
            "prompt": self.prompt,
            "attempt": self.attempt,
        })
    }
}

/// `text`, cut at [`MAX_VALUE`] bytes (on a character boundary) with a note of the
/// length.
fn bounded(mut text: String) -> String {
    if text.len() > MAX_VALUE {
        let total = text.len();
        let mut end = MAX_VALUE;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push_str(&format!("… (cut: {total} bytes in all)"));
    }
    text
}

impl Broadcast {
    pub(crate) fn new(window: usize, prices: Option<(f64, f64)>, limiter: Option<Limiter>) -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        Broadcast {
            inner: Mutex::new(Inner {
                sender: Some(sender),
                ..Inner::default()
            }),
            window,
            prices,
            limiter,
        }
    }

    fn lock(&self) -> MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves a picture that is still valid JSON.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The live messages after a snapshot of the run so far: `None` once the run's
    /// viewer is closed.
    pub(crate) fn subscribe(&self) -> (Message, Option<broadcast::Receiver<Message>>) {
        let inner = self.lock();
        let receiver = inner.sender.as_ref().map(broadcast::Sender::subscribe);
        (self.snapshot_of(&inner), receiver)
    }

    /// The run so far, as one message.
    pub(crate) fn snapshot(&self) -> Message {
        self.snapshot_of(&self.lock())
    }

    fn snapshot_of(&self, inner: &Inner) -> Message {
        let rows: Vec<Value> = inner
            .rows
            .iter()
            .map(|(row, view)| {
                json!({
                    "row": row,
                    "status": view.status,
                    "cells": view.cells.iter().map(CellView::json).collect::<Vec<_>>(),
                    "failure": view.failure,
                })
            })
            .collect();
        let json = json!({
            "type": "snapshot",
            "start": inner.start,
            "rows": rows,
            "stats": self.stats(inner),
            "batches": inner.batches.values().collect::<Vec<_>>(),
            "end": inner.end,
        });
        Message {
            seq: inner.seq,
            json: json.to_string().into(),
        }
    }

    /// Ends the stream: pages get what was sent, then the end of the stream.
    pub(crate) fn close(&self) {
        self.lock().sender.take();
    }

    fn cost(&self, usage: &Usage) -> Option<f64> {
        self.prices.map(|(input, output)| {
            (usage.input_tokens as f64 * input + usage.output_tokens as f64 * output) / 1e6
        })
    }

    fn stats(&self, inner: &Inner) -> Value {
        json!({
            "total": inner.total,
            "done": inner.done,
            "failed": inner.failed_count,
            "retries": inner.retries,
            "in_flight": self.limiter.as_ref().map(Limiter::in_flight),
            "input_tokens": inner.usage.input_tokens,
            "output_tokens": inner.usage.output_tokens,
            "cost": self.cost(&inner.usage),
            "elapsed_ms": inner.started.map_or(0, |s| s.elapsed().as_millis() as u64),
        })
    }

    fn publish(inner: &mut Inner, message: Value) {
        inner.seq += 1;
        if let Some(sender) = &inner.sender {
            // No page connected: nothing to send to.
            let _ = sender.send(Message {
                seq: inner.seq,
                json: message.to_string().into(),
            });
        }
    }

    /// The row's view, made when the row is first heard of.
    fn row(inner: &mut Inner, row: usize) -> &mut RowView {
        let columns = inner.columns.len();
        inner.rows.entry(row).or_insert_with(|| RowView {
            status: "running",
            cells: vec![
                CellView {
                    state: "empty",
                    ..CellView::default()
                };
                columns
            ],
            failure: None,
        })
    }

    fn column(inner: &Inner, name: &str) -> Option<usize> {
        inner.columns.iter().position(|c| *c == name)
    }

    /// Forgets finished (or failed) rows beyond what is kept.
    fn evict(inner: &mut Inner, failed: bool, keep: usize) {
        let queue = if failed {
            &mut inner.failed
        } else {
            &mut inner.finished
        };
        while queue.len() > keep {
            if let Some(old) = queue.pop_front() {
                inner.rows.remove(&old);
            }
        }
    }
}

impl Broadcast {
    /// A generated cell is waiting for its request to be sent (`pending`) or has it in
    /// flight (`flight`), at request number `attempt`.
    fn cell_state(
        &self,
        inner: &mut Inner,
        row: usize,
        column: &str,
        state: &'static str,
        attempt: u32,
    ) {
        let Some(c) = Self::column(inner, column) else {
            return;
        };
        let cell = &mut Self::row(inner, row).cells[c];
        if cell.state == "filled" {
            return;
        }
        cell.state = state;
        cell.attempt = attempt;
        Self::publish(
            inner,
            json!({"type": "cell", "row": row, "column": c, "state": state, "attempt": attempt}),
        );
    }

    /// A request (or a question whose reply did not parse) is tried again.
    fn retried(
        &self,
        inner: &mut Inner,
        row: usize,
        column: &str,
        attempt: u32,
        error: &dyn std::fmt::Display,
    ) {
        inner.retries += 1;
        let message = json!({"type": "retry", "row": row, "column": column,
            "attempt": attempt, "error": error.to_string(), "stats": self.stats(inner)});
        Self::publish(inner, message);
    }
}

impl Observer for Broadcast {
    fn on_event(&self, event: &Event<'_>) {
        let mut inner = self.lock();
        let inner = &mut *inner;
        match event {
            Event::RunStarted {
                rows,
                seed,
                columns,
            } => {
                inner.columns = columns.iter().map(|c| c.name).collect();
                inner.total = *rows;
                inner.started = Some(Instant::now());
                let start = json!({
                    "type": "start",
                    "rows": rows,
                    "seed": seed.to_string(),
                    "window": self.window,
                    "columns": columns
                        .iter()
                        .map(|c| json!({"name": c.name, "kind": c.kind.as_str()}))
                        .collect::<Vec<_>>(),
                });
                inner.start = Some(start.clone());
                Self::publish(inner, start);
            }
            Event::CellStarted {
                row,
                column,
                prompt,
                attempt,
            } => {
                let Some(c) = Self::column(inner, column) else {
                    return;
                };
                let prompt = bounded((*prompt).to_owned());
                let cell = &mut Self::row(inner, *row).cells[c];
                cell.state = "pending";
                cell.prompt = Some(prompt.clone());
                cell.attempt = *attempt;
                Self::publish(
                    inner,
                    json!({"type": "cell", "row": row, "column": c, "state": "pending",
                           "prompt": prompt, "attempt": attempt}),
                );
            }
            Event::RequestSent {
                row,
                column,
                attempt,
            } => self.cell_state(inner, *row, column, "flight", *attempt),
            Event::CellFilled { row, column, value } => {
                let Some(c) = Self::column(inner, column) else {
                    return;
                };
                let value = bounded(value.to_string());
                let cell = &mut Self::row(inner, *row).cells[c];
                cell.state = "filled";
                cell.value = Some(value.clone());
                Self::publish(
                    inner,
                    json!({"type": "cell", "row": row, "column": c, "state": "filled",
                           "value": value}),
                );
            }
            Event::Retrying {
                row,
                column,
                attempt,
                error,
                ..
            } => {
                // Waiting to be sent again.
                self.cell_state(inner, *row, column, "pending", *attempt + 1);
                self.retried(inner, *row, column, *attempt, error);
            }
            Event::Reasking {
                row,
                column,
                attempts,
                error,
            } => self.retried(inner, *row, column, *attempts, error),
            Event::BatchProgress {
                wave,
                batch,
                requests,
                done,
                failed,
                ended,
                resumed,
            } => {
                let batch = json!({"wave": wave, "id": batch, "requests": requests,
                    "done": done, "failed": failed, "ended": ended, "resumed": resumed});
                inner.batches.insert(*wave, batch.clone());
                while inner.batches.len() > KEEP_BATCHES {
                    inner.batches.pop_first();
                }
                Self::publish(inner, json!({"type": "batch", "batch": batch}));
            }
            Event::RowsAdded { rows } => inner.total += rows,
            Event::RowDone { row, usage } => {
                inner.done += 1;
                inner.usage += *usage;
                Self::row(inner, *row).status = "done";
                inner.finished.push_back(*row);
                Self::evict(inner, false, self.window);
                let message = json!({"type": "row", "row": row, "status": "done",
                    "usage": usage, "stats": self.stats(inner)});
                Self::publish(inner, message);
            }
            Event::RowFailed { row, error } => {
                inner.failed_count += 1;
                let failure = match error {
                    chatan_core::Error::Cell { column, cause, .. } => json!({
                        "column": column,
                        "attempts": cause.attempts(),
                        "cause": cause.to_string(),
                    }),
                    other => json!({"column": null, "attempts": null, "cause": other.to_string()}),
                };
                let view = Self::row(inner, *row);
                view.status = "failed";
                view.failure = Some(failure.clone());
                inner.failed.push_back(*row);
                Self::evict(inner, true, KEEP_FAILED);
                let message = json!({"type": "row", "row": row, "status": "failed",
                    "failure": failure, "stats": self.stats(inner)});
                Self::publish(inner, message);
            }
            Event::RunFinished {
                done,
                failed,
                usage,
            } => {
                let end = json!({
                    "type": "end",
                    "done": done,
                    "failed": failed,
                    "usage": usage,
                    "cost": self.cost(usage),
                    "stats": self.stats(inner),
                });
                inner.end = Some(end.clone());
                Self::publish(inner, end);
            }
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests;
