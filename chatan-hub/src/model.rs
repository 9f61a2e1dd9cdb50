//! Model checkpoints from the hub, for local models: the files a checkpoint needs,
//! fetched once into the Hugging Face cache layout
//! (`hub/models--{owner}--{name}/snapshots/{commit}/`, with `refs/main` naming the
//! commit), and found there afterwards without the network.

use std::path::{Path, PathBuf};

use super::Hub;

/// The files a checkpoint is read from (those present are fetched) besides weights.
/// Sentence-transformers models add their pipeline (`modules.json`), settings and
/// pooling.
const FILES: [&str; 8] = [
    "config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "generation_config.json",
    "chat_template.jinja",
    "modules.json",
    "sentence_bert_config.json",
    "1_Pooling/config.json",
];

#[derive(serde::Deserialize)]
struct Info {
    sha: String,
    #[serde(default)]
    siblings: Vec<Sibling>,
}

#[derive(serde::Deserialize)]
struct Sibling {
    rfilename: String,
}

impl Hub {
    /// The cache folder of model `id`.
    fn model_dir(&self, id: &str) -> PathBuf {
        self.cache
            .join(format!("models--{}", id.replace('/', "--")))
    }

    /// The cached snapshot of model `id` at `main`, if a complete one is there.
    fn cached_model(&self, id: &str) -> Option<PathBuf> {
        let dir = self.model_dir(id);
        let commit = std::fs::read_to_string(dir.join("refs").join("main")).ok()?;
        let snapshot = dir.join("snapshots").join(commit.trim());
        snapshot.is_dir().then_some(snapshot)
    }

    /// The folder holding model `id`'s checkpoint (config, tokenizer, safetensors
    /// weights): from the cache, or fetched into it first. Offline, or when the hub
    /// cannot be reached, the cache is used; without it the error names what is needed.
    pub async fn model(&self, id: &str) -> Result<PathBuf, String> {
        let valid = !id.is_empty()
            && id.split('/').count() <= 2
            && id.split('/').all(|p| !p.is_empty() && p != "..");
        if !valid {
            return Err("a model id is `name` or `owner/name`".into());
        }
        let missing = |why: &str| {
            format!(
                "{why}, and the model is not in the cache at {}; a local model needs its \
                 config.json, tokenizer.json and *.safetensors weights there (fetch them \
                 where the hub is reachable, or set HF_HOME to a cache that has them)",
                self.model_dir(id).display()
            )
        };
        if self.offline {
            return self
                .cached_model(id)
                .ok_or_else(|| missing("the hub is offline (HF_HUB_OFFLINE)"));
        }
        match self.fetch_model(id).await {
            Ok(folder) => Ok(folder),
            Err(Fetch::Unreachable(e)) => self.cached_model(id).ok_or_else(|| missing(&e)),
            Err(Fetch::Failed(e)) => Err(e),
        }
    }

    async fn fetch_model(&self, id: &str) -> Result<PathBuf, Fetch> {
        let url = format!("{}/api/models/{id}/revision/main", self.endpoint);
        let response = self
            .authorized(self.client.get(&url))
            .send()
            .await
            .map_err(|e| {
                Fetch::Unreachable(format!(
                    "the hub could not be reached ({})",
                    e.without_url()
                ))
            })?;
        if !response.status().is_success() {
            return Err(Fetch::Failed(super::status_error(response.status(), &url)));
        }
        let info: Info = response.json().await.map_err(|e| {
            Fetch::Failed(format!("the hub's answer for {id} could not be read: {e}"))
        })?;
        let names: Vec<&str> = info.siblings.iter().map(|s| s.rfilename.as_str()).collect();
        let weights: Vec<&str> = names
            .iter()
            .copied()
            .filter(|n| n.ends_with(".safetensors") && !n.contains('/'))
            .collect();
        if weights.is_empty() {
            return Err(Fetch::Failed(format!(
                "{id} has no .safetensors weights at its top level; chatan loads \
                 checkpoints in safetensors, or a GGUF file by path"
            )));
        }
        let dir = self.model_dir(id);
        let snapshot = dir.join("snapshots").join(&info.sha);
        std::fs::create_dir_all(&snapshot)
            .map_err(|e| Fetch::Failed(format!("{}: {e}", snapshot.display())))?;
        let wanted = FILES
            .iter()
            .copied()
            .filter(|f| names.contains(f))
            .chain(weights.iter().copied());
        for name in wanted {
            let path = snapshot.join(name);
            if path.exists() {
                continue;
            }
            if let Some(parent) = path.parent() {
                std::fs::create_dir_all(parent)
                    .map_err(|e| Fetch::Failed(format!("{}: {e}", parent.display())))?;
            }
            let url = format!("{}/{id}/resolve/{}/{name}", self.endpoint, info.sha);
            let bytes = self
                .get(&url)
                .await
                .map_err(Fetch::Failed)?
                .bytes()
                .await
                .map_err(|e| Fetch::Failed(format!("{url}: {e}")))?;
            write_whole(&path, &bytes).map_err(Fetch::Failed)?;
        }
        // The ref is written last: a snapshot it names is complete.
        let refs = dir.join("refs");
        std::fs::create_dir_all(&refs)
            .and_then(|()| std::fs::write(refs.join("main"), &info.sha))
            .map_err(|e| Fetch::Failed(format!("{}: {e}", refs.display())))?;
        Ok(snapshot)
    }
}

/// Why a fetch failed: the hub could not be reached (the cache may do), or it answered
/// with an error (it will not).
enum Fetch {
    Unreachable(String),
    Failed(String),
}

/// Writes `bytes` to `path` through a temporary file, so no half-written file is left
/// under its real name.
fn write_whole(path: &Path, bytes: &[u8]) -> Result<(), String> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let temporary = path.with_file_name(format!(".{name}.incomplete"));
    std::fs::write(&temporary, bytes)
        .and_then(|()| std::fs::rename(&temporary, path))
        .map_err(|e| format!("{}: {e}", path.display()))
}
