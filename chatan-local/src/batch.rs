//! The model's thread: continuous batching. Requests queue on a channel; each step
//! admits waiting requests (up to the batch size), feeds every active sequence its new
//! tokens — the next block of its prompt for a sequence reading one (or the blocks a
//! prompt before it left, see [`crate::prefix`]), one token for the others, all of
//! these in one forward pass — samples the next token of each sequence that has read
//! its prompt, and answers the sequences that finished, whose places the next step
//! gives to waiting requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use super::constrain::{self, Grammars};
use super::load::Loaded;
use super::model::{Cache, Sequence};
use super::prefix::{self, Prefixes};
use super::sampling::{Sampler, Sampling};
use chatan_core::GeneratorError;
use chatan_core::{Finish, Reply, Usage};

/// One generation for the model's thread.
pub(crate) struct Job {
    pub(crate) prompt: String,
    pub(crate) system: Option<String>,
    pub(crate) sampling: Sampling,
    pub(crate) max_new_tokens: usize,
    pub(crate) stop: Vec<String>,
    pub(crate) seed: u64,
    /// What the reply must match (decoding is held to it), if anything: a structured
    /// column's JSON schema, or a text column's shape.
    pub(crate) shape: Option<chatan_core::Shape>,
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<Reply, GeneratorError>>,
}

/// A sequence being generated.
struct Active {
    job: Job,
    sampler: Sampler,
    cache: Cache,
    /// Every token so far (prompt and reply); those past the cache's length are not yet
    /// fed to the model.
    history: Vec<u32>,
    prompt_len: usize,
    /// Prompt tokens whose keys and values were copied from an earlier prompt's blocks.
    reused: usize,
    text: String,
    /// What holds the reply to its schema, if it has one.
    matcher: Option<llguidance::Matcher>,
    /// Why the sequence cannot go on, if it cannot.
    failed: Option<String>,
    /// Whether it stopped at its token limit (or the model's context) rather than at an
    /// end of sequence or a stop sequence.
    truncated: bool,
}

impl Active {
    fn generated(&self) -> &[u32] {
        &self.history[self.prompt_len..]
    }

    /// Whether the sequence is still reading its prompt.
    fn reading(&self) -> bool {
        self.cache.len() < self.prompt_len
    }

    fn finish(self, result: Result<String, String>) {
        let mut usage = Usage::new(
            self.prompt_len as u64,
            (self.history.len() - self.prompt_len) as u64,
        );
        usage.cache_read_tokens = self.reused as u64;
        let finish = if self.truncated {
            Finish::Truncated
        } else {
            Finish::Complete
        };
        let result = result
            .map(|text| Reply::new(text, Some(usage)).finished(finish))
            .map_err(|e| GeneratorError::other(format!("local model: {e}")));
        let _ = self.job.reply.send(result);
    }
}

/// Runs `loaded` for the jobs of `queue` until every sender is gone.
pub(crate) fn serve(loaded: Loaded, queue: mpsc::Receiver<Job>, batch: &AtomicUsize) {
    let mut active: Vec<Active> = Vec::new();
    let mut grammars = None;
    let mut prefixes = Prefixes::new(prefix::DEFAULT_BUDGET);
    let mut open = true;
    loop {
        // Admit: wait for work when there is none, otherwise take what is queued.
        if active.is_empty() {
            match queue.recv() {
                Ok(job) => admit(&loaded, &mut grammars, job, &mut active),
                Err(_) => break,
            }
        }
        while open && active.len() < batch.load(Ordering::Relaxed).max(1) {
            match queue.try_recv() {
                Ok(job) => admit(&loaded, &mut grammars, job, &mut active),
                Err(mpsc::TryRecvError::Empty) => break,
                Err(mpsc::TryRecvError::Disconnected) => open = false,
            }
        }
        if active.is_empty() {
            if open {
                continue;
            }
            break;
        }
        step(&loaded, &grammars, &mut prefixes, &mut active);
    }
    tracing::debug!(
        reused = prefixes.reused,
        computed = prefixes.computed,
        "local model: prompt tokens read from shared prefixes, and computed"
    );
}

/// Starts a job, or answers it at once if its prompt cannot run. `grammars` is built on
/// the first job with a schema or a shape.
fn admit(
    loaded: &Loaded,
    grammars: &mut Option<Result<Grammars, String>>,
    job: Job,
    active: &mut Vec<Active>,
) {
    let text = match &loaded.chat {
        Some(chat) => chat.render(job.system.as_deref(), &job.prompt),
        None => Ok(match &job.system {
            Some(system) => format!("{system}\n\n{}", job.prompt),
            None => job.prompt.clone(),
        }),
    };
    let prompt = text.and_then(|text| {
        loaded
            .tokenizer
            .encode(text.as_str(), false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| format!("the prompt could not be tokenized: {e}"))
    });
    let error = |job: Job, message: String| {
        let _ = job.reply.send(Err(GeneratorError::other(format!(
            "local model: {message}"
        ))));
    };
    let prompt = match prompt {
        Ok(p) if p.is_empty() => return error(job, "the prompt is empty".into()),
        Ok(p) if p.len() >= loaded.model.max_positions() => {
            let limit = loaded.model.max_positions();
            return error(
                job,
                format!(
                    "the prompt is {} tokens; the model reads at most {limit}",
                    p.len()
                ),
            );
        }
        Ok(p) => p,
        Err(message) => return error(job, message),
    };
    if job.reply.is_closed() {
        return;
    }
    if job.max_new_tokens == 0 {
        let usage = Usage::new(prompt.len() as u64, 0);
        let _ = job.reply.send(Ok(Reply::new(String::new(), Some(usage))));
        return;
    }
    let matcher = match &job.shape {
        None => None,
        Some(shape) => {
            let built = grammars.get_or_insert_with(|| match loaded.eos.first() {
                Some(&eos) => Grammars::new(&loaded.tokenizer, eos),
                None => Err("the model names no end-of-sequence token".into()),
            });
            match built
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|g| g.matcher(shape))
            {
                Ok(matcher) => Some(matcher),
                Err(message) => return error(job, message),
            }
        }
    };
    active.push(Active {
        sampler: Sampler::new(job.sampling.clone(), job.seed),
        cache: loaded.model.cache(),
        prompt_len: prompt.len(),
        reused: 0,
        history: prompt,
        text: String::new(),
        matcher,
        failed: None,
        truncated: false,
        job,
    });
}

/// Feeds every active sequence its next tokens and returns, in order, the next-token
/// logits of each that has read its whole prompt (`None` for one still reading).
///
/// A sequence reading its prompt first copies the blocks a prompt before it left (as long
/// as one token is left to read), then reads the next block, alone; the others run
/// together, one token each, in one pass. The blocks read are kept for later prompts.
fn forward(
    loaded: &Loaded,
    prefixes: &mut Prefixes,
    active: &mut [Active],
) -> candle_core::Result<Vec<Option<Vec<f32>>>> {
    let mut logits: Vec<Option<Vec<f32>>> = vec![None; active.len()];
    let (reading, decoding): (Vec<usize>, Vec<usize>) =
        (0..active.len()).partition(|&i| active[i].reading());
    for i in reading {
        let a = &mut active[i];
        loop {
            let end = a.cache.len() + prefix::BLOCK;
            if end >= a.prompt_len {
                break;
            }
            let Some(block) = prefixes.get(&a.history[..end]) else {
                break;
            };
            a.cache.extend(block)?;
            a.reused += prefix::BLOCK;
            prefixes.reused += prefix::BLOCK as u64;
        }
        let start = a.cache.len();
        let end = (start + prefix::BLOCK).min(a.prompt_len);
        let mut one = [Sequence {
            tokens: &a.history[start..end],
            cache: &mut a.cache,
        }];
        let out = loaded.model.forward(&mut one)?;
        prefixes.computed += (end - start) as u64;
        if end - start == prefix::BLOCK {
            prefixes.keep(&a.history[..end], a.cache.block(start, prefix::BLOCK)?);
        }
        if end == a.prompt_len {
            logits[i] = out.to_vec2::<f32>()?.pop();
        }
    }
    if !decoding.is_empty() {
        // The sequences that were decoding before this step (not one that has just read
        // the last of its prompt above: its next token is not sampled yet).
        let mut batch: Vec<Sequence<'_>> = active
            .iter_mut()
            .enumerate()
            .filter(|(i, _)| decoding.binary_search(i).is_ok())
            .map(|(_, a)| Sequence {
                tokens: &a.history[a.cache.len()..],
                cache: &mut a.cache,
            })
            .collect();
        assert!(
            batch.iter().all(|s| s.tokens.len() == 1),
            "a decoding sequence feeds one token a step"
        );
        let rows = loaded.model.forward(&mut batch)?.to_vec2::<f32>()?;
        for (i, row) in decoding.into_iter().zip(rows) {
            logits[i] = Some(row);
        }
    }
    Ok(logits)
}

/// One forward pass over every active sequence, then one token for each that has read
/// its prompt.
fn step(
    loaded: &Loaded,
    grammars: &Option<Result<Grammars, String>>,
    prefixes: &mut Prefixes,
    active: &mut Vec<Active>,
) {
    // A caller that stopped waiting (a cancelled row) frees its place.
    active.retain(|a| !a.job.reply.is_closed());
    if active.is_empty() {
        return;
    }
    let logits = match forward(loaded, prefixes, active) {
        Ok(l) => l,
        Err(e) => {
            for a in active.drain(..) {
                a.finish(Err(e.to_string()));
            }
            return;
        }
    };
    let mut finished = Vec::new();
    for (i, (a, logits)) in active.iter_mut().zip(logits).enumerate() {
        // Still reading its prompt: nothing to sample yet.
        let Some(mut logits) = logits else {
            continue;
        };
        let budget = a.job.max_new_tokens;
        let remaining = budget.saturating_sub(a.generated().len());
        if let (Some(matcher), Some(Ok(grammars))) = (&mut a.matcher, grammars)
            && let Err(e) = constrain::mask(grammars, matcher, &mut logits, (remaining, budget))
        {
            a.failed = Some(format!("constrained decoding: {e}"));
            finished.push(i);
            continue;
        }
        let next = a.sampler.next(&logits, &a.history);
        if loaded.eos.contains(&next) {
            finished.push(i);
            continue;
        }
        a.history.push(next);
        // A reply held to a schema ends where the schema does.
        if let Some(matcher) = &mut a.matcher {
            if let Err(e) = matcher.consume_token(next) {
                a.failed = Some(format!("constrained decoding: {e}"));
                finished.push(i);
                continue;
            }
            if matcher.is_stopped() {
                finished.push(i);
                continue;
            }
        }
        // Only a reply that stop sequences may cut is decoded at every step; the others
        // once, when they finish.
        if !a.job.stop.is_empty() {
            match loaded.tokenizer.decode(a.generated(), true) {
                Ok(text) => a.text = text,
                Err(e) => {
                    a.failed = Some(format!("the reply could not be decoded: {e}"));
                    finished.push(i);
                    continue;
                }
            }
        }
        if let Some(cut) = a
            .job
            .stop
            .iter()
            .filter_map(|s| a.text.find(s.as_str()))
            .min()
        {
            a.text.truncate(cut);
            finished.push(i);
        } else if a.generated().len() >= a.job.max_new_tokens
            || a.cache.len() + 1 >= loaded.model.max_positions()
        {
            a.truncated = true;
            finished.push(i);
        }
    }
    // From the back, so each swap_remove moves a sequence that is not finished.
    for i in finished.into_iter().rev() {
        let mut a = active.swap_remove(i);
        let result = match a.failed.take() {
            Some(error) => Err(error),
            None if a.job.stop.is_empty() => loaded
                .tokenizer
                .decode(a.generated(), true)
                .map_err(|e| format!("the reply could not be decoded: {e}")),
            None => Ok(std::mem::take(&mut a.text)),
        };
        a.finish(result);
    }
}
