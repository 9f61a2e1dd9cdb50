//! A response cache on disk: a reply is kept under a key made of the generator, its
//! model, the request's options, the rendered prompt, and the row, column and attempt.
//! Row and column keep identical prompts in different rows independent samples; the
//! attempt keeps a question asked again (its reply did not parse) from being answered
//! with the reply that failed. Editing one template changes only the prompts of that
//! column and of the columns that read it, so a rerun asks only those again.
//!
//! The store is a JSON-lines file (see `jsonl.rs`), appended to as replies arrive and
//! read whole when opened, like the checkpoint journal.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};

use crate::context::RunContext;
use crate::error::{Error, GeneratorError};
use crate::generator::Generator;
use crate::reply::{Reply, Usage};
use crate::request::Request;

/// An on-disk cache of replies, shared by every [`Cached`] generator made with it.
///
/// ```no_run
/// use chatan::layer::ReplyCache;
/// use chatan::layer::GeneratorExt;
/// # fn main() -> Result<(), chatan::Error> {
/// let cache = ReplyCache::open("replies.jsonl")?;
/// let llm = chatan::OpenAi::from_env()?.cache(&cache);
/// # let _ = llm; Ok(()) }
/// ```
#[derive(Clone)]
pub struct ReplyCache(Arc<Store>);

struct Store {
    path: PathBuf,
    replies: Mutex<HashMap<u128, (String, Option<Usage>)>>,
    file: Mutex<BufWriter<File>>,
    hits: AtomicU64,
    misses: AtomicU64,
}

impl std::fmt::Debug for ReplyCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyCache")
            .field("path", &self.0.path)
            .field("replies", &self.len())
            .field("hits", &self.hits())
            .finish()
    }
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

#[derive(serde::Serialize, serde::Deserialize)]
struct Line {
    key: String,
    text: String,
    usage: Option<Usage>,
}

impl ReplyCache {
    /// Opens the cache at `path`, creating it if needed.
    pub fn open(path: impl AsRef<Path>) -> Result<Self, Error> {
        let path = path.as_ref();
        let fail = |e: std::io::Error| Error::Checkpoint {
            path: path.to_owned(),
            message: format!("the reply cache cannot be used: {e}"),
        };
        let (file, lines) = crate::jsonl::open::<Line>(path).map_err(fail)?;
        let mut replies = HashMap::new();
        for line in lines {
            if let Ok(key) = u128::from_str_radix(&line.key, 16) {
                replies.insert(key, (line.text, line.usage));
            }
        }
        Ok(ReplyCache(Arc::new(Store {
            path: path.to_owned(),
            replies: Mutex::new(replies),
            file: Mutex::new(BufWriter::new(file)),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        })))
    }

    /// Replies stored.
    pub fn len(&self) -> usize {
        lock(&self.0.replies).len()
    }

    /// Whether no reply is stored.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Requests answered from the cache since it was opened.
    pub fn hits(&self) -> u64 {
        self.0.hits.load(Ordering::Relaxed)
    }

    /// Requests the cache could not answer since it was opened.
    pub fn misses(&self) -> u64 {
        self.0.misses.load(Ordering::Relaxed)
    }

    fn get(&self, key: u128) -> Option<(String, Option<Usage>)> {
        lock(&self.0.replies).get(&key).cloned()
    }

    fn put(&self, key: u128, reply: &Reply) {
        let line = Line {
            key: format!("{key:032x}"),
            text: reply.text.clone(),
            usage: reply.usage,
        };
        let written = serde_json::to_vec(&line)
            .map_err(std::io::Error::other)
            .and_then(|mut bytes| {
                bytes.push(b'\n');
                let mut file = lock(&self.0.file);
                file.write_all(&bytes)?;
                file.flush()
            });
        if let Err(error) = written {
            // The reply is still used; only its reuse is lost.
            tracing::warn!(path = %self.0.path.display(), %error, "reply cache not written");
        }
        lock(&self.0.replies).insert(key, (reply.text.clone(), reply.usage));
    }
}

/// The cache key of `request` (resolved: the generator's defaults filled in) to
/// generator `name` with default model `model` at `endpoint`.
fn key(name: &str, model: Option<&str>, endpoint: Option<&str>, request: &Request<'_>) -> u128 {
    let schema = request.schema.map(|s| s.json().to_string());
    let feedback = request.feedback.map(|f| (f.reply, f.problem));
    let mut text = serde_json::json!([
        name,
        model,
        request.prompt,
        schema,
        feedback,
        request.row,
        request.column,
        request.attempt,
        endpoint,
    ])
    .to_string();
    text.push_str(&request.options.describe());
    // Two FNV-1a passes with different starts: 128 bits, stable across runs and builds.
    let fnv = |start: u64| {
        text.bytes().fold(start, |hash, b| {
            (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    };
    (u128::from(fnv(0xcbf2_9ce4_8422_2325)) << 64) | u128::from(fnv(0x6c62_272e_07bb_0142))
}

/// A generator whose replies are kept in, and answered from, a [`ReplyCache`]; made by
/// [`GeneratorExt::cache`](super::GeneratorExt::cache) or the runner's
/// [`cache`](crate::Runner::cache).
#[derive(Debug, Clone)]
pub struct Cached<G> {
    inner: G,
    cache: ReplyCache,
}

impl<G> Cached<G> {
    /// Wraps `inner`.
    pub fn new(inner: G, cache: ReplyCache) -> Self {
        Cached { inner, cache }
    }

    /// The wrapped generator.
    pub fn inner(&self) -> &G {
        &self.inner
    }
}

impl<G: Generator> Generator for Cached<G> {
    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        // Keyed on what would be sent: the generator's defaults count.
        let request = self.inner.resolve(request);
        let inner = &self.inner;
        let key = key(inner.name(), inner.model(), inner.endpoint(), &request);
        if let Some((text, usage)) = self.cache.get(key) {
            self.cache.0.hits.fetch_add(1, Ordering::Relaxed);
            let mut reply = Reply::new(text, usage);
            // No request was made for it.
            reply.attempts = 0;
            return Ok(reply);
        }
        self.cache.0.misses.fetch_add(1, Ordering::Relaxed);
        let reply = self.inner.generate_in(&request, run).await?;
        self.cache.put(key, &reply);
        Ok(reply)
    }

    crate::layer::passes_through!(inner);
}
