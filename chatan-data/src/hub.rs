//! Datasets from the Hugging Face hub, as the seed's `load_dataset("owner/name")`: the
//! split's parquet files, fetched once into the Hugging Face cache and read from there
//! afterwards (features `polars` and `hub`).

use std::path::Path;

use polars::prelude::{ParquetReader, SerReader};

use super::{DataError, Table};
use chatan_hub::{Hub, split_repo};

/// Datasets read from the Hugging Face hub: implemented by [`Hub`] (bring it into scope:
/// `use chatan::data::HubTables;`).
#[allow(async_fn_in_trait)] // Only `Hub` implements it.
pub trait HubTables {
    /// Split `split` of config `config` (usually `"default"`) of dataset `repo`
    /// (`owner/name`), from the cache, or fetched into it first.
    async fn table(&self, repo: &str, config: &str, split: &str) -> Result<Table, DataError>;
}

impl HubTables for Hub {
    async fn table(&self, repo: &str, config: &str, split: &str) -> Result<Table, DataError> {
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
            fetch(self, repo, config, split, &dir, &manifest)
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
}

/// Downloads the split's files into `dir`, then writes the manifest that marks the
/// download complete (so an interrupted download is started again, never half-used).
async fn fetch(
    hub: &Hub,
    repo: &str,
    config: &str,
    split: &str,
    dir: &Path,
    manifest: &Path,
) -> Result<(), String> {
    let listing = format!(
        "{}/api/datasets/{repo}/parquet/{config}/{split}",
        hub.endpoint
    );
    let urls: Vec<String> = hub
        .get(&listing)
        .await?
        .json()
        .await
        .map_err(|e| format!("the hub's parquet listing could not be read: {e}"))?;
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut names = Vec::new();
    for (i, url) in urls.iter().enumerate() {
        let bytes = hub
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
