//! Datasets from the Hugging Face hub, as the seed's `load_dataset("owner/name")`: the
//! split's parquet files, fetched once into the Hugging Face cache and read from there
//! afterwards (features `polars` and `http`).
//!
//! The environment is respected as Hugging Face's own tools do: `HF_ENDPOINT` (default
//! `https://huggingface.co`), `HF_TOKEN`, `HF_HOME` (default `~/.cache/huggingface`; files
//! go under `hub/`), and `HF_HUB_OFFLINE=1` (only the cache is used).

use std::path::{Path, PathBuf};

use polars::prelude::{ParquetReader, SerReader};

use super::{DataError, Table};

/// Where and how to fetch hub datasets.
///
/// ```no_run
/// # async fn run() -> Result<(), chatan::data::DataError> {
/// let hub = chatan::data::Hub::from_env();
/// let kernelbench = hub.table("ScalingIntelligence/KernelBench", "default", "train").await?;
/// let ids = chatan::sample::from_dataset(&kernelbench, "id");
/// # let _ = ids; Ok(()) }
/// ```
#[derive(Clone)]
pub struct Hub {
    pub(super) endpoint: String,
    pub(super) token: Option<String>,
    cache: PathBuf,
    pub(super) offline: bool,
    pub(super) client: reqwest::Client,
}

impl std::fmt::Debug for Hub {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Hub")
            .field("endpoint", &self.endpoint)
            .field("token", &self.token.as_ref().map(|_| "[redacted]"))
            .field("cache", &self.cache)
            .field("offline", &self.offline)
            .finish()
    }
}

impl Hub {
    /// From `HF_ENDPOINT`, `HF_TOKEN`, `HF_HOME` and `HF_HUB_OFFLINE`.
    pub fn from_env() -> Self {
        let var = crate::provider::env;
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

    /// A token for private or gated datasets.
    pub fn token(mut self, token: impl Into<String>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Uses only the cache.
    pub fn offline(mut self, offline: bool) -> Self {
        self.offline = offline;
        self
    }

    /// Split `split` of config `config` (usually `"default"`) of dataset `repo`
    /// (`owner/name`), from the cache, or fetched into it first.
    pub async fn table(&self, repo: &str, config: &str, split: &str) -> Result<Table, DataError> {
        let fail = |message: String| DataError::Hub {
            repo: repo.to_owned(),
            message,
        };
        let (owner, name) =
            split_repo(repo).ok_or_else(|| fail("a dataset id is `owner/name`".into()))?;
        let dir = self
            .cache
            .join(format!("datasets--{owner}--{name}"))
            .join("parquet")
            .join(config)
            .join(split);
        let manifest = dir.join(".complete");
        if !manifest.exists() {
            if self.offline {
                return Err(fail(format!(
                    "split {split:?} of config {config:?} is not in the cache at {} and the \
                     hub is offline (HF_HUB_OFFLINE)",
                    dir.display()
                )));
            }
            self.fetch(repo, config, split, &dir, &manifest)
                .await
                .map_err(fail)?;
        }
        let files = std::fs::read_to_string(&manifest).map_err(|e| fail(e.to_string()))?;
        let mut frame: Option<polars::prelude::DataFrame> = None;
        for file in files.lines().filter(|l| !l.is_empty()) {
            let path = dir.join(file);
            let part = ParquetReader::new(
                std::fs::File::open(&path).map_err(|e| fail(format!("{}: {e}", path.display())))?,
            )
            .finish()?;
            match &mut frame {
                Some(frame) => {
                    frame.vstack_mut(&part)?;
                }
                None => frame = Some(part),
            }
        }
        frame
            .map(Table::from)
            .ok_or_else(|| fail(format!("split {split:?} has no parquet files")))
    }

    /// Downloads the split's files into `dir`, then writes the manifest that marks the
    /// download complete (so an interrupted download is started again, never half-used).
    async fn fetch(
        &self,
        repo: &str,
        config: &str,
        split: &str,
        dir: &Path,
        manifest: &Path,
    ) -> Result<(), String> {
        let listing = format!(
            "{}/api/datasets/{repo}/parquet/{config}/{split}",
            self.endpoint
        );
        let urls: Vec<String> = self
            .get(&listing)
            .await?
            .json()
            .await
            .map_err(|e| format!("the hub's parquet listing could not be read: {e}"))?;
        std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
        let mut names = Vec::new();
        for (i, url) in urls.iter().enumerate() {
            let bytes = self
                .get(url)
                .await?
                .bytes()
                .await
                .map_err(|e| format!("{url}: {e}"))?;
            let name = format!("{i:04}.parquet");
            let path = dir.join(&name);
            let temporary = dir.join(format!(".{name}.tmp"));
            std::fs::write(&temporary, &bytes)
                .and_then(|()| std::fs::rename(&temporary, &path))
                .map_err(|e| format!("{}: {e}", path.display()))?;
            names.push(name);
        }
        std::fs::write(manifest, names.join("\n")).map_err(|e| format!("{}: {e}", dir.display()))
    }

    async fn get(&self, url: &str) -> Result<reqwest::Response, String> {
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
    pub(super) fn authorized(&self, request: reqwest::RequestBuilder) -> reqwest::RequestBuilder {
        match &self.token {
            Some(token) => request.bearer_auth(token),
            None => request,
        }
    }
}

/// `owner/name` as its two parts.
pub(super) fn split_repo(repo: &str) -> Option<(&str, &str)> {
    repo.split_once('/')
        .filter(|(o, n)| !o.is_empty() && !n.is_empty() && !n.contains('/'))
}

/// An error status from the hub, with what to do about it.
pub(super) fn status_error(status: reqwest::StatusCode, url: &str) -> String {
    let hint = match status.as_u16() {
        401 | 403 => "; set HF_TOKEN to a token with access to it",
        404 => "; check the dataset id, config and split",
        _ => "",
    };
    format!("the hub answered HTTP {status} for {url}{hint}")
}
