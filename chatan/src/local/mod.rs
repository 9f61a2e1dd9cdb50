//! Local models on candle (cargo feature `local`): a GGUF model file run on the CPU in
//! this process, as the seed's `generator("transformers", ...)` runs a local model.
//!
//! [`Local::gguf`] loads a Llama-family GGUF (SmolLM2, TinyLlama, Llama) with its
//! tokenizer and chat template from the file's own metadata. The model is loaded once
//! and runs on a thread of its own, off the async runtime; requests queue for it.
//! Instruct models get their chat template applied (with the column's system prompt);
//! sampling follows the column's temperature, `top_p`, `max_tokens`, stop sequences and
//! the model's end-of-sequence token, and is reproducible: each cell's sampler is seeded
//! from its row and column (and the column's `seed`).

mod chat;
mod tokenizer;

use std::path::{Path, PathBuf};
use std::sync::mpsc;

use candle_core::quantized::gguf_file::Content;
use candle_core::{Device, Tensor};
use candle_transformers::generation::{LogitsProcessor, Sampling};
use candle_transformers::models::quantized_llama::ModelWeights;
use tokenizers::Tokenizer;

use crate::error::{Error, GeneratorError};
use crate::generator::{Generator, Reply, Request, Usage};
use crate::rng::column_key;

use self::chat::ChatTemplate;

/// A model file loaded for generation; a [`Generator`].
///
/// ```no_run
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let local = chatan::local::Local::gguf("SmolLM2-135M-Instruct.Q4_1.gguf")?;
/// // Row::generate(&local, 5).await?
/// # let _ = local; Ok(()) }
/// ```
pub struct Local {
    jobs: mpsc::Sender<Job>,
    model: String,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local").field("model", &self.model).finish()
    }
}

/// One generation for the model's thread.
struct Job {
    prompt: String,
    system: Option<String>,
    settings: Settings,
    reply: tokio::sync::oneshot::Sender<Result<Reply, GeneratorError>>,
}

#[derive(Debug, Clone)]
struct Settings {
    temperature: f64,
    top_p: Option<f64>,
    max_new_tokens: usize,
    stop: Vec<String>,
    seed: u64,
}

/// The default reply length.
const DEFAULT_MAX_NEW_TOKENS: usize = 256;
/// A mild repetition penalty over the last tokens, as most local runners apply.
const REPEAT_PENALTY: f32 = 1.1;
const REPEAT_WINDOW: usize = 64;

fn load_error(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Config(crate::error::ConfigError::Local(format!(
        "{}: {message}",
        path.display()
    )))
}

impl Local {
    /// Loads a GGUF model file (a Llama-family architecture), its tokenizer and its chat
    /// template from the file's metadata. An unsupported architecture or tokenizer is an
    /// error naming what is supported.
    pub fn gguf(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path: PathBuf = path.as_ref().to_owned();
        let mut file = std::fs::File::open(&path).map_err(|e| load_error(&path, e))?;
        let content = Content::read(&mut file).map_err(|e| load_error(&path, e))?;
        let architecture = content
            .metadata
            .get("general.architecture")
            .and_then(|v| v.to_string().ok())
            .cloned()
            .unwrap_or_default();
        if architecture != "llama" {
            return Err(load_error(
                &path,
                format!(
                    "architecture {architecture:?} is not supported here; GGUF files of the \
                     Llama family (\"llama\": SmolLM2, TinyLlama, Llama) are"
                ),
            ));
        }
        let tokenizer = tokenizer::from_gguf(&content).map_err(|e| load_error(&path, e))?;
        let token = |key: &str| -> Option<(u32, String)> {
            let id = content.metadata.get(key)?.to_u32().ok()?;
            Some((id, tokenizer.id_to_token(id)?))
        };
        let eos = token("tokenizer.ggml.eos_token_id");
        let bos = token("tokenizer.ggml.bos_token_id");
        let chat = match content
            .metadata
            .get("tokenizer.chat_template")
            .and_then(|v| v.to_string().ok())
        {
            Some(source) => Some(
                ChatTemplate::new(
                    source.clone(),
                    bos.clone().map(|b| b.1).unwrap_or_default(),
                    eos.clone().map(|e| e.1).unwrap_or_default(),
                )
                .map_err(|e| load_error(&path, e))?,
            ),
            None => None,
        };
        let device = Device::Cpu;
        let weights = ModelWeights::from_gguf(content, &mut file, &device)
            .map_err(|e| load_error(&path, e))?;
        let model = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let (jobs, queue) = mpsc::channel::<Job>();
        let worker = Worker {
            weights,
            tokenizer,
            chat,
            eos: eos.map(|e| e.0),
            device,
        };
        std::thread::Builder::new()
            .name(format!("chatan-local-{model}"))
            .spawn(move || worker.serve(queue))
            .map_err(|e| load_error(&path, e))?;
        Ok(Local { jobs, model })
    }
}

impl Generator for Local {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        let seed = request
            .seed
            .unwrap_or(0)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ (request.row as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93)
            ^ column_key(request.column)
            ^ u64::from(request.attempt);
        let settings = Settings {
            temperature: request.temperature.map_or(0.7, f64::from),
            top_p: request.top_p.map(f64::from),
            max_new_tokens: request
                .max_tokens
                .map_or(DEFAULT_MAX_NEW_TOKENS, |n| n as usize),
            stop: request.stop.iter().map(|s| (*s).to_owned()).collect(),
            seed,
        };
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            prompt: request.prompt.to_owned(),
            system: request.system.map(str::to_owned),
            settings,
            reply,
        };
        self.jobs
            .send(job)
            .map_err(|_| GeneratorError::other("the local model's thread has stopped"))?;
        answer
            .await
            .map_err(|_| GeneratorError::other("the local model's thread has stopped"))?
    }

    fn name(&self) -> &str {
        "local"
    }

    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }
}

/// The model's thread.
struct Worker {
    weights: ModelWeights,
    tokenizer: Tokenizer,
    chat: Option<ChatTemplate>,
    eos: Option<u32>,
    device: Device,
}

impl Worker {
    fn serve(mut self, queue: mpsc::Receiver<Job>) {
        while let Ok(job) = queue.recv() {
            let result = self
                .generate(&job)
                .map_err(|e| GeneratorError::other(format!("local model: {e}")));
            let _ = job.reply.send(result);
        }
    }

    fn generate(&mut self, job: &Job) -> Result<Reply, String> {
        let text = match &self.chat {
            Some(chat) => chat.render(job.system.as_deref(), &job.prompt)?,
            None => match &job.system {
                Some(system) => format!("{system}\n\n{}", job.prompt),
                None => job.prompt.clone(),
            },
        };
        let encoding = self
            .tokenizer
            .encode(text.as_str(), false)
            .map_err(|e| e.to_string())?;
        let prompt: Vec<u32> = encoding.get_ids().to_vec();
        let s = &job.settings;
        let sampling = if s.temperature <= 1e-7 {
            Sampling::ArgMax
        } else {
            match s.top_p {
                Some(p) => Sampling::TopP {
                    p,
                    temperature: s.temperature,
                },
                None => Sampling::All {
                    temperature: s.temperature,
                },
            }
        };
        let mut sampler = LogitsProcessor::from_sampling(s.seed, sampling);
        self.weights.clear_kv_cache();
        let mut tokens = prompt.clone();
        let mut generated: Vec<u32> = Vec::new();
        let mut out = String::new();
        let mut position = 0;
        let mut input = prompt.clone();
        while generated.len() < s.max_new_tokens {
            let x = Tensor::new(input.as_slice(), &self.device)
                .and_then(|t| t.unsqueeze(0))
                .map_err(|e| e.to_string())?;
            let logits = self
                .weights
                .forward(&x, position)
                .and_then(|l| l.squeeze(0))
                .map_err(|e| e.to_string())?;
            position += input.len();
            let start = tokens.len().saturating_sub(REPEAT_WINDOW);
            let logits = candle_transformers::utils::apply_repeat_penalty(
                &logits,
                REPEAT_PENALTY,
                &tokens[start..],
            )
            .map_err(|e| e.to_string())?;
            let next = sampler.sample(&logits).map_err(|e| e.to_string())?;
            if Some(next) == self.eos {
                break;
            }
            tokens.push(next);
            generated.push(next);
            input = vec![next];
            out = self
                .tokenizer
                .decode(&generated, true)
                .map_err(|e| e.to_string())?;
            if let Some(cut) = s
                .stop
                .iter()
                .filter_map(|stop| out.find(stop.as_str()))
                .min()
            {
                out.truncate(cut);
                break;
            }
        }
        let usage = Usage {
            input_tokens: prompt.len() as u64,
            output_tokens: generated.len() as u64,
        };
        Ok(Reply::new(out, Some(usage)))
    }
}
