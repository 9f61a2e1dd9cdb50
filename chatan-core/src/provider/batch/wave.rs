//! Waves: the requests gathered while the run sends them, submitted as one batch,
//! journaled, polled until the batch ends, and each result sent back to its request.

use std::collections::{HashMap, HashSet};
use std::io::Write as _;
use std::path::Path;
use std::sync::Arc;

use serde_json::{Value, json};

use super::sealed::Poll;
use super::{BatchApi, Inner, MAX_POLL_FAILURES, Outcome, State, Waiting, Wave, lock};
use crate::context::RunContext;
use crate::error::GeneratorError;
use crate::event::Event;
use crate::reply::Reply;
use crate::request::Request;

impl<F: BatchApi> Inner<F> {
    /// Reads the journal once: the requests of batches submitted and not ended, each
    /// batch a wave of this run (in the order they were submitted). Whether it found
    /// any.
    pub(super) fn read_journal(&self, state: &mut State, checkpoint: Option<&Path>) -> bool {
        if state.journal_read {
            return false;
        }
        state.journal_read = true;
        state.journal = self.journal.clone().or_else(|| {
            let checkpoint = checkpoint?;
            let stem = checkpoint.file_stem()?.to_string_lossy().into_owned();
            Some(checkpoint.with_file_name(format!("{stem}.batches.jsonl")))
        });
        let Some(path) = &state.journal else {
            return false;
        };
        let Ok(text) = std::fs::read_to_string(path) else {
            return false;
        };
        let mut submitted: Vec<(String, Vec<String>)> = Vec::new();
        let mut ended = HashSet::new();
        for line in text.lines() {
            let Ok(entry) = serde_json::from_str::<Value>(line) else {
                continue;
            };
            let Some(batch) = entry["batch"].as_str() else {
                continue;
            };
            if entry["ended"] == true {
                ended.insert(batch.to_owned());
            } else if let Some(ids) = entry["requests"].as_array() {
                submitted.push((
                    batch.to_owned(),
                    ids.iter()
                        .filter_map(|i| i.as_str().map(str::to_owned))
                        .collect(),
                ));
            }
        }
        let mut found = false;
        for (batch, ids) in submitted {
            if ended.contains(&batch) {
                continue;
            }
            tracing::info!(
                batch,
                requests = ids.len(),
                "a pending batch from the journal"
            );
            found = true;
            state.waves.push(Wave {
                id: batch.clone(),
                requests: ids.len(),
                done: 0,
                failed: 0,
                ended: false,
                resumed: true,
                submitted: self.started.elapsed(),
                ended_at: None,
            });
            for id in ids {
                state.journaled.insert(id, batch.clone());
            }
            state.batches.entry(batch).or_default();
        }
        found
    }

    /// Notes a change of batch `id`'s wave (made if new), and says so when asked to.
    fn wave(&self, id: &str, change: impl FnOnce(&mut Wave)) {
        let now = self.started.elapsed();
        let mut state = lock(&self.state);
        let index = match state.waves.iter().position(|w| w.id == id) {
            Some(index) => index,
            None => {
                state.waves.push(Wave {
                    id: id.to_owned(),
                    requests: 0,
                    done: 0,
                    failed: 0,
                    ended: false,
                    resumed: false,
                    submitted: now,
                    ended_at: None,
                });
                state.waves.len() - 1
            }
        };
        let before = state.waves[index].clone();
        change(&mut state.waves[index]);
        let wave = &state.waves[index];
        if *wave == before {
            return;
        }
        if self.progress {
            eprintln!("chatan: {wave}");
        }
        drop(state);
        self.changes.send_modify(|version| *version += 1);
    }

    /// Reports every wave that changed since the last report, to `run`'s observers. Any
    /// waiting request may call it; each change is reported once.
    pub(super) fn report_waves(&self, run: &RunContext<'_>) {
        // Compared and replaced under one lock, so a report is never older than one
        // already made.
        let mut reported = lock(&self.reported);
        // Most waiters woken by a change find it reported already: no copy for them.
        let version = *self.changes.borrow();
        if reported.0 == version {
            return;
        }
        let waves = lock(&self.state).waves.clone();
        for (index, wave) in waves.iter().enumerate() {
            if reported.1.get(index) != Some(wave) {
                run.report(&Event::BatchProgress {
                    wave: index + 1,
                    batch: &wave.id,
                    requests: wave.requests,
                    done: wave.done,
                    failed: wave.failed,
                    ended: wave.ended,
                    resumed: wave.resumed,
                });
            }
        }
        *reported = (version, waves);
    }

    fn write_journal(&self, entry: &Value) -> Result<(), GeneratorError> {
        let Some(path) = lock(&self.state).journal.clone() else {
            return Ok(());
        };
        let mut file = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&path)
            .map_err(|e| GeneratorError::other(format!("batch journal {}: {e}", path.display())))?;
        writeln!(file, "{entry}")
            .and_then(|()| file.sync_data())
            .map_err(|e| GeneratorError::other(format!("batch journal {}: {e}", path.display())))
    }
}

/// How a wave of requests (their sizes in bytes, in order) is cut into batches of at most
/// `max_requests` requests and `max_bytes` bytes: the length of each batch. A request
/// larger than `max_bytes` goes alone (the provider then says what it thinks of it).
pub(super) fn batch_lengths(
    sizes: impl IntoIterator<Item = usize>,
    max_requests: usize,
    max_bytes: usize,
) -> Vec<usize> {
    let mut lengths = Vec::new();
    let (mut count, mut bytes) = (0, 0);
    for size in sizes {
        if count > 0 && (count == max_requests || bytes + size > max_bytes) {
            lengths.push(count);
            (count, bytes) = (0, 0);
        }
        count += 1;
        bytes += size;
    }
    if count > 0 {
        lengths.push(count);
    }
    lengths
}

/// Waits out the linger, then submits every request waiting, in as many batches as the
/// provider's limits need, and polls them until they end.
pub(super) async fn wave<F: BatchApi>(inner: Arc<Inner<F>>) {
    // Go once no request has come for a whole linger.
    loop {
        let before = lock(&inner.state).arrivals;
        tokio::time::sleep(inner.linger).await;
        if lock(&inner.state).arrivals == before {
            break;
        }
    }
    let waiting = {
        let mut state = lock(&inner.state);
        state.wave_scheduled = false;
        std::mem::take(&mut state.waiting)
    };
    // Each entry's share of the batch: its body, its id and the line's framing.
    let sizes = waiting
        .iter()
        .map(|w| w.body.len() + w.custom_id.len() + 128);
    let lengths = batch_lengths(sizes, inner.max_requests, F::MAX_BYTES);
    let mut rest = waiting.into_iter();
    let mut batches = Vec::new();
    for length in lengths {
        let batch: Vec<Waiting> = rest.by_ref().take(length).collect();
        batches.push(tokio::spawn(submit_and_poll(Arc::clone(&inner), batch)));
    }
    for batch in batches {
        // A panic in one batch's task leaves its requests to report "abandoned".
        let _ = batch.await;
    }
}

/// Submits `waiting` as one batch, and polls it until it ends.
async fn submit_and_poll<F: BatchApi>(inner: Arc<Inner<F>>, waiting: Vec<Waiting>) {
    let entries: Vec<(String, Vec<u8>)> = waiting
        .iter()
        .map(|w| (w.custom_id.clone(), w.body.clone()))
        .collect();
    let submitted = F::submit(&inner.provider, &entries).await.and_then(|id| {
        let ids: Vec<&str> = entries.iter().map(|(c, _)| c.as_str()).collect();
        inner
            .write_journal(&json!({"batch": id, "requests": ids}))
            .map(|()| id)
    });
    let id = match submitted {
        Ok(id) => id,
        Err(error) => {
            for w in waiting {
                let _ = w.reply.send(Some(Err(error.clone())));
            }
            return;
        }
    };
    tracing::info!(batch = id, requests = entries.len(), "batch submitted");
    inner.wave(&id, |wave| wave.requests = entries.len());
    {
        let mut state = lock(&inner.state);
        let pending = state.batches.entry(id.clone()).or_default();
        pending.polling = true;
        for w in waiting {
            pending.waiters.insert(w.custom_id, w.reply);
        }
    }
    poll_until_ended(inner, id).await;
}

/// Polls batch `id` until it ends, then answers every request waiting for it.
pub(super) async fn poll_until_ended<F: BatchApi>(inner: Arc<Inner<F>>, id: String) {
    let mut failures = 0;
    let results = loop {
        match F::poll(&inner.provider, &id).await {
            Ok(Poll::Ended(results)) => break Ok(results),
            Ok(Poll::Failed(error)) => break Err(error),
            Ok(Poll::Pending { done, failed }) => {
                failures = 0;
                inner.wave(&id, |wave| {
                    wave.done = done;
                    wave.failed = failed;
                });
                tokio::time::sleep(inner.poll_every).await;
            }
            // A poll that fails is tried again, for a while; one the provider rejects
            // ends the wait.
            Err(error) if error.cause().is_retryable() && failures + 1 < MAX_POLL_FAILURES => {
                failures += 1;
                tracing::warn!(batch = id, %error, "polling the batch failed; trying again");
                tokio::time::sleep(inner.poll_every).await;
            }
            Err(error) => break Err(error),
        }
    };
    let mut results: HashMap<String, Result<Value, GeneratorError>> = match results {
        Ok(results) => results.into_iter().collect(),
        Err(error) => {
            tracing::error!(batch = id, %error, "the batch ended without results");
            let ended_at = inner.started.elapsed();
            inner.wave(&id, |wave| {
                wave.failed = wave.requests;
                wave.ended = true;
                wave.ended_at = Some(ended_at);
            });
            let waiters = lock(&inner.state)
                .batches
                .remove(&id)
                .map(|pending| pending.waiters)
                .unwrap_or_default();
            for (_, waiter) in waiters {
                let _ = waiter.send(Some(Err(error.clone())));
            }
            let _ = inner.write_journal(&json!({"batch": id, "ended": true}));
            return;
        }
    };
    tracing::info!(batch = id, results = results.len(), "batch ended");
    let failed = results.values().filter(|r| r.is_err()).count();
    let total = results.len();
    let ended_at = inner.started.elapsed();
    inner.wave(&id, |wave| {
        wave.done = total - failed;
        wave.failed = failed;
        wave.ended = true;
        wave.ended_at = Some(ended_at);
    });
    let waiters = {
        let mut state = lock(&inner.state);
        let pending = state.batches.entry(id.clone()).or_default();
        std::mem::take(&mut pending.waiters)
    };
    for (custom_id, waiter) in waiters {
        let _ = waiter.send(results.remove(&custom_id));
    }
    // Requests of a resumed batch that have not come yet find their results here.
    let mut state = lock(&inner.state);
    if let Some(pending) = state.batches.get_mut(&id) {
        pending.results = Some(results);
        pending.polling = false;
    }
    drop(state);
    let _ = inner.write_journal(&json!({"batch": id, "ended": true}));
}

/// The reply to `request` that a batch's `result` for it holds.
pub(super) fn answer<F: BatchApi>(
    inner: &Inner<F>,
    request: &Request<'_>,
    result: Outcome,
    custom_id: &str,
) -> Result<Reply, GeneratorError> {
    match result {
        Some(Ok(body)) => {
            let reply = inner.provider.reply_of(request, body)?;
            if let Some(usage) = reply.usage {
                lock(&inner.state).usage += usage;
            }
            Ok(reply)
        }
        Some(Err(error)) => Err(error),
        None => Err(GeneratorError::Malformed(format!(
            "the batch's results have nothing for request {custom_id}"
        ))),
    }
}
