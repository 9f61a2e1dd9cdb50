//! Datasets from the Hugging Face hub, as the seed's `load_dataset("owner/name")`: the
//! split's parquet files, fetched once into the Hugging Face cache and read from there
//! afterwards (features `polars` and `hub`).

use std::path::Path;

use polars::prelude::{ParquetReader, SerReader};

use super::{DataError, Table};
use crate::hub::{Hub, split_repo};

impl Hub {
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
}
