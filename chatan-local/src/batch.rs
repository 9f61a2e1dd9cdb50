//! The model's thread: continuous batching. Requests queue on a channel; each step
//! admits waiting requests (up to the batch size), feeds every active sequence its new
//! tokens in one forward pass — a whole prompt for a sequence just admitted, one token
//! for the others — samples each sequence's next token, and answers the sequences that
//! finished, whose places the next step gives to waiting requests.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use super::constrain::{self, Grammars};
use super::load::Loaded;
use super::model::{Cache, Sequence};
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
    /// The JSON schema the reply must match (decoding is held to it), if any.
    pub(crate) schema: Option<serde_json::Value>,
    pub(crate) reply: tokio::sync::oneshot::Sender<Result<Reply, GeneratorError>>,
}

/// A sequence being generated.
struct Active {
    job: Job,
    sampler: Sampler,
    cache: Cache,
    /// Every token so far (prompt and reply), for the repetition penalty.
    history: Vec<u32>,
    prompt_len: usize,
    /// Tokens not yet fed to the model.
    pending: Vec<u32>,
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

    fn finish(self, result: Result<String, String>) {
        let usage = Usage::new(
            self.prompt_len as u64,
            (self.history.len() - self.prompt_len) as u64,
        );
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
    let mut open = true;
    loop {
        // Admit: wait for work when there is none, otherwise take what is queued.
        if active.is_empty() {
            match queue.recv() {
                Ok(job) => admit(&loaded, &mut grammars, job, &mut active),
                Err(_) => return,
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
            return;
        }
        step(&loaded, &grammars, &mut active);
    }
}

/// Starts a job, or answers it at once if its prompt cannot run. `grammars` is built on
/// the first job with a schema.
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
    let matcher = match &job.schema {
        None => None,
        Some(schema) => {
            let built = grammars.get_or_insert_with(|| match loaded.eos.first() {
                Some(&eos) => Grammars::new(&loaded.tokenizer, eos),
                None => Err("the model names no end-of-sequence token".into()),
            });
            match built
                .as_ref()
                .map_err(Clone::clone)
                .and_then(|g| g.matcher(schema))
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
        pending: prompt.clone(),
        history: prompt,
        text: String::new(),
        matcher,
        failed: None,
        truncated: false,
        job,
    });
}

/// The next-token logits of every active sequence, in order. Sequences reading a prompt
/// run one by one; those decoding run together, one token each, in one pass.
fn forward(loaded: &Loaded, active: &mut [Active]) -> candle_core::Result<Vec<Vec<f32>>> {
    let mut logits: Vec<Option<Vec<f32>>> = vec![None; active.len()];
    let (prompts, decoding): (Vec<usize>, Vec<usize>) =
        (0..active.len()).partition(|&i| active[i].pending.len() > 1);
    for i in prompts {
        let a = &mut active[i];
        let mut one = [Sequence {
            tokens: &a.pending,
            cache: &mut a.cache,
        }];
        logits[i] = loaded.model.forward(&mut one)?.to_vec2::<f32>()?.pop();
    }
    if !decoding.is_empty() {
        let mut batch: Vec<Sequence<'_>> = active
            .iter_mut()
            .filter(|a| a.pending.len() == 1)
            .map(|a| Sequence {
                tokens: &a.pending,
                cache: &mut a.cache,
            })
            .collect();
        let rows = loaded.model.forward(&mut batch)?.to_vec2::<f32>()?;
        for (i, row) in decoding.into_iter().zip(rows) {
            logits[i] = Some(row);
        }
    }
    Ok(logits.into_iter().map(Option::unwrap_or_default).collect())
}

/// One forward pass over every active sequence, then one token for each.
fn step(loaded: &Loaded, grammars: &Option<Result<Grammars, String>>, active: &mut Vec<Active>) {
    // A caller that stopped waiting (a cancelled row) frees its place.
    active.retain(|a| !a.job.reply.is_closed());
    if active.is_empty() {
        return;
    }
    let logits = match forward(loaded, active) {
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
        let mut logits = logits;
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
        a.pending.clear();
        a.pending.push(next);
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
