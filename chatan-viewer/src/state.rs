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
pub(crate) struct Hub {
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

impl Hub {
    pub(crate) fn new(window: usize, prices: Option<(f64, f64)>, limiter: Option<Limiter>) -> Self {
        let (sender, _) = broadcast::channel(BACKLOG);
        Hub {
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

impl Hub {
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

impl Observer for Hub {
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
mod tests {
    use super::*;
    use chatan_core::{CellKind, CellValue, Column};

    fn columns() -> Vec<Column> {
        vec![
            Column {
                name: "topic",
                kind: CellKind::Sampled,
            },
            Column {
                name: "answer",
                kind: CellKind::Generated,
            },
        ]
    }

    fn finish_row(hub: &Hub, row: usize) {
        hub.on_event(&Event::CellFilled {
            row,
            column: "topic",
            value: CellValue::new(&"tides"),
        });
        hub.on_event(&Event::CellStarted {
            row,
            column: "answer",
            prompt: "about tides",
            attempt: 1,
        });
        hub.on_event(&Event::CellFilled {
            row,
            column: "answer",
            value: CellValue::new(&"<b>waves</b>"),
        });
        hub.on_event(&Event::RowDone {
            row,
            usage: Usage::new(10, 5),
        });
    }

    fn snapshot(hub: &Hub) -> Value {
        serde_json::from_str(&hub.snapshot().json).unwrap()
    }

    #[test]
    fn the_picture_keeps_a_window_of_finished_rows_and_the_failed_ones() {
        let hub = Hub::new(5, Some((1.0, 2.0)), None);
        hub.on_event(&Event::RunStarted {
            rows: 50,
            seed: 7,
            columns: &columns(),
        });
        for row in 0..40 {
            finish_row(&hub, row);
        }
        let error = chatan_core::Error::Stopped;
        for row in 40..43 {
            hub.on_event(&Event::RowFailed { row, error: &error });
        }
        // Two rows under way.
        hub.on_event(&Event::CellStarted {
            row: 43,
            column: "answer",
            prompt: "p",
            attempt: 1,
        });
        hub.on_event(&Event::CellStarted {
            row: 44,
            column: "answer",
            prompt: "p",
            attempt: 2,
        });
        let picture = snapshot(&hub);
        let rows: Vec<(u64, &str)> = picture["rows"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| (r["row"].as_u64().unwrap(), r["status"].as_str().unwrap()))
            .collect();
        let done: Vec<u64> = rows.iter().filter(|r| r.1 == "done").map(|r| r.0).collect();
        assert_eq!(done, [35, 36, 37, 38, 39], "the latest five finished rows");
        assert_eq!(rows.iter().filter(|r| r.1 == "failed").count(), 3);
        assert_eq!(rows.iter().filter(|r| r.1 == "running").count(), 2);
        let stats = &picture["stats"];
        assert_eq!(stats["done"], 40);
        assert_eq!(stats["failed"], 3);
        assert_eq!(stats["input_tokens"], 400);
        assert_eq!(stats["output_tokens"], 200);
        // 400 * $1 + 200 * $2 per million.
        assert!((stats["cost"].as_f64().unwrap() - 0.0008).abs() < 1e-12);
        let kept = &picture["rows"][0]["cells"];
        assert_eq!(kept[1]["value"], "<b>waves</b>", "values are kept as text");
        assert_eq!(kept[1]["prompt"], "about tides");
    }

    #[test]
    fn messages_after_a_snapshot_are_numbered_after_it() {
        let hub = Hub::new(10, None, None);
        hub.on_event(&Event::RunStarted {
            rows: 3,
            seed: 1,
            columns: &columns(),
        });
        finish_row(&hub, 0);
        let (first, receiver) = hub.subscribe();
        let mut receiver = receiver.expect("open");
        finish_row(&hub, 1);
        let next = receiver.try_recv().unwrap();
        assert_eq!(next.seq, first.seq + 1, "nothing lost, nothing repeated");
        hub.close();
        let (_, closed) = hub.subscribe();
        assert!(closed.is_none(), "a closed viewer streams nothing more");
        // What was sent before the close is still read, then the end.
        let mut drained = 1;
        while receiver.try_recv().is_ok() {
            drained += 1;
        }
        assert_eq!(drained, 4, "the second row's four messages");
    }

    #[test]
    fn a_cell_is_queued_then_in_flight_then_queued_again_for_its_retry() {
        let hub = Hub::new(10, None, None);
        hub.on_event(&Event::RunStarted {
            rows: 1,
            seed: 7,
            columns: &columns(),
        });
        let state = |hub: &Hub| {
            let cell = snapshot(hub)["rows"][0]["cells"][1].clone();
            (cell["state"].clone(), cell["attempt"].clone())
        };
        hub.on_event(&Event::CellStarted {
            row: 0,
            column: "answer",
            prompt: "about tides",
            attempt: 1,
        });
        assert_eq!(state(&hub), (json!("pending"), json!(1)));
        let sent = |attempt| Event::RequestSent {
            row: 0,
            column: "answer",
            attempt,
        };
        hub.on_event(&sent(1));
        assert_eq!(state(&hub), (json!("flight"), json!(1)));
        let error = chatan_core::GeneratorError::Timeout(std::time::Duration::from_secs(30));
        hub.on_event(&Event::Retrying {
            row: 0,
            column: "answer",
            attempt: 1,
            error: &error,
            wait: std::time::Duration::from_millis(5),
        });
        assert_eq!(state(&hub), (json!("pending"), json!(2)));
        hub.on_event(&sent(2));
        assert_eq!(state(&hub), (json!("flight"), json!(2)));
        hub.on_event(&Event::CellFilled {
            row: 0,
            column: "answer",
            value: CellValue::new(&"waves"),
        });
        assert_eq!(state(&hub).0, json!("filled"));
    }

    #[test]
    fn provider_batches_are_sent_and_kept_by_wave() {
        let hub = Hub::new(10, None, None);
        let (_, receiver) = hub.subscribe();
        let mut receiver = receiver.unwrap();
        let wave = |wave, done, ended| Event::BatchProgress {
            wave,
            batch: "batch_1",
            requests: 8,
            done,
            failed: 1,
            ended,
            resumed: false,
        };
        hub.on_event(&wave(1, 0, false));
        hub.on_event(&wave(1, 7, true));
        hub.on_event(&wave(2, 3, false));
        let sent: Value = serde_json::from_str(&receiver.try_recv().unwrap().json).unwrap();
        assert_eq!(sent["type"], "batch");
        assert_eq!(sent["batch"]["wave"], 1);
        assert_eq!(sent["batch"]["ended"], false);
        // A page that connects now sees the latest state of each wave, in order.
        let batches = snapshot(&hub)["batches"].clone();
        assert_eq!(batches.as_array().unwrap().len(), 2, "{batches}");
        assert_eq!(
            (
                &batches[0]["done"],
                &batches[0]["ended"],
                &batches[0]["failed"]
            ),
            (&json!(7), &json!(true), &json!(1))
        );
        assert_eq!(
            (&batches[1]["wave"], &batches[1]["done"]),
            (&json!(2), &json!(3))
        );
        // Only the latest waves are kept.
        for n in 3..=(KEEP_BATCHES + 10) {
            hub.on_event(&wave(n, 0, false));
        }
        let batches = snapshot(&hub)["batches"].clone();
        assert_eq!(batches.as_array().unwrap().len(), KEEP_BATCHES);
        assert_eq!(batches[0]["wave"], 11);
    }

    #[test]
    fn long_values_are_cut_on_a_character_boundary() {
        let long = "é".repeat(MAX_VALUE);
        let cut = bounded(long.clone());
        assert!(cut.len() < long.len());
        assert!(cut.ends_with(&format!("(cut: {} bytes in all)", long.len())));
        assert_eq!(bounded("short".into()), "short");
    }
}
