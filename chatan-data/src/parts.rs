//! A dataset made in parts, one per shard, in one Hugging Face folder: each shard writes
//! `data/{split}-{k:05}-of-{n:05}.parquet` (moved into place only when complete), a
//! manifest of the rows it holds, and its own checkpoint under `.chatan/`; the card is
//! rewritten as parts land. [`verify_shards`] checks the whole: every part there, from
//! one recipe and seed, every row index exactly once.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::DataError;
use super::huggingface::{count_rows, part_of_name};

/// What a part holds, kept beside it as `.chatan/{split}-{k}-of-{n}.json`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Manifest {
    pub(crate) recipe: String,
    pub(crate) fingerprint: String,
    pub(crate) seed: String,
    pub(crate) split: String,
    pub(crate) shard: usize,
    pub(crate) of: usize,
    /// The rows the whole run makes (every part's manifest says the same).
    pub(crate) run: Range<usize>,
    /// The rows the part was to make.
    pub(crate) rows: Range<usize>,
    /// The rows it holds, as ranges.
    pub(crate) written: Vec<Range<usize>>,
    /// Rows that failed (left out; a new run of the shard tries them again).
    pub(crate) failed: Vec<usize>,
}

/// Where a part's files go, in dataset folder `dir`.
pub(crate) struct PartPaths {
    pub(crate) parquet: PathBuf,
    pub(crate) manifest: PathBuf,
    pub(crate) checkpoint: PathBuf,
    pub(crate) failures: PathBuf,
}

impl PartPaths {
    pub(crate) fn new(dir: &Path, stem: &str) -> Result<Self, DataError> {
        let data = dir.join("data");
        let state = dir.join(".chatan");
        for folder in [&data, &state] {
            std::fs::create_dir_all(folder).map_err(|source| DataError::Io {
                path: folder.clone(),
                source,
            })?;
        }
        Ok(PartPaths {
            parquet: data.join(format!("{stem}.parquet")),
            manifest: state.join(format!("{stem}.json")),
            checkpoint: state.join(format!("{stem}.checkpoint.jsonl")),
            failures: state.join(format!("{stem}.failed.jsonl")),
        })
    }
}

/// Row indices, in increasing order, as ranges.
#[derive(Debug, Default)]
pub(crate) struct Ranges(pub(crate) Vec<Range<usize>>);

impl Ranges {
    pub(crate) fn push(&mut self, row: usize) {
        match self.0.last_mut() {
            Some(last) if last.end == row => last.end += 1,
            _ => self.0.push(row..row + 1),
        }
    }
}

impl Manifest {
    pub(crate) fn write(&self, path: &Path) -> Result<(), DataError> {
        let io = |source| DataError::Io {
            path: path.to_owned(),
            source,
        };
        let temporary = super::save::temporary(path).map_err(io)?;
        let text = serde_json::to_string_pretty(self).map_err(|e| io(std::io::Error::other(e)))?;
        std::fs::write(&temporary, text)
            .and_then(|()| std::fs::rename(&temporary, path))
            .map_err(io)
    }
}

/// What a [`write_shard`](crate::WriteRows::write_shard) run wrote.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct ShardWritten {
    /// The part it made.
    pub shard: chatan_core::Shard,
    /// Its parquet file, under the folder's `data/`.
    pub path: PathBuf,
    /// The rows in it.
    pub rows: usize,
    /// The rows that failed and were left out (under
    /// [`skip_failed`](chatan_core::Runner::skip_failed)); run the shard again to make them.
    pub failed: Vec<usize>,
    /// For a part in object storage, the parts of its multipart upload (0 on disk).
    pub uploads: usize,
}

/// What [`verify_shards`] found in a dataset folder.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardCheck {
    /// The split checked.
    pub split: String,
    /// How many parts the run was cut into (0 if no part was found).
    pub parts: usize,
    /// The parts whose parquet file or manifest is missing (not finished, or not run).
    pub missing_parts: Vec<usize>,
    /// The rows the finished parts hold.
    pub rows: usize,
    /// The rows the run was to make: `0..n` over all parts.
    pub expected: Range<usize>,
    /// Rows of finished parts that are not there (they failed; a new run of their shard
    /// makes them).
    pub missing_rows: Vec<usize>,
    /// Rows held by more than one part (never, unless parts of different runs were
    /// mixed).
    pub duplicate_rows: Vec<usize>,
}

impl ShardCheck {
    /// Whether every part is there and every row index is held exactly once.
    pub fn is_complete(&self) -> bool {
        self.parts > 0
            && self.missing_parts.is_empty()
            && self.missing_rows.is_empty()
            && self.duplicate_rows.is_empty()
            && self.rows == self.expected.len()
    }
}

impl std::fmt::Display for ShardCheck {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "split {}: {} of {} parts, {} rows of {}",
            self.split,
            self.parts - self.missing_parts.len(),
            self.parts,
            self.rows,
            self.expected.len()
        )?;
        if !self.missing_parts.is_empty() {
            write!(f, "; missing parts {:?}", self.missing_parts)?;
        }
        if !self.missing_rows.is_empty() {
            write!(f, "; {} rows missing", self.missing_rows.len())?;
        }
        if !self.duplicate_rows.is_empty() {
            write!(f, "; {} rows held twice", self.duplicate_rows.len())?;
        }
        Ok(())
    }
}

/// Checks the parts of split `split` of the dataset folder `dir` that sharded
/// [`write_shard`](crate::WriteRows::write_shard) runs wrote: every part of the run is
/// there with its manifest, all from the same recipe and seed, each parquet file holds
/// the rows its manifest lists, and together they hold every row index exactly once.
/// Parts from different runs (another recipe, seed or part count) are an error.
pub fn verify_shards(dir: impl AsRef<Path>, split: &str) -> Result<ShardCheck, DataError> {
    let dir = dir.as_ref();
    let data = dir.join("data");
    let io = |source| DataError::Io {
        path: data.clone(),
        source,
    };
    let mut names = Vec::new();
    for entry in std::fs::read_dir(&data).map_err(io)? {
        names.push(
            entry
                .map_err(io)?
                .file_name()
                .to_string_lossy()
                .into_owned(),
        );
    }
    check(
        &dir.display().to_string(),
        split,
        &names,
        |stem| std::fs::read_to_string(dir.join(".chatan").join(format!("{stem}.json"))).ok(),
        |name| count_rows(&data.join(name)),
    )
}

/// What [`verify_shards`] checks, over any storage: the data files' `names`, each
/// part's manifest by stem, and the rows of a data file by name.
pub(crate) fn check(
    place: &str,
    split: &str,
    names: &[String],
    manifest_of: impl Fn(&str) -> Option<String>,
    mut count_rows: impl FnMut(&str) -> Result<usize, DataError>,
) -> Result<ShardCheck, DataError> {
    let mismatch = |message: String| DataError::Shards {
        dir: PathBuf::from(place),
        message,
    };
    let mut files: BTreeMap<usize, &str> = BTreeMap::new();
    let mut parts = None;
    for name in names {
        let Some((found, index, count)) = part_of_name(name) else {
            continue;
        };
        if found != split {
            continue;
        }
        match parts {
            Some(n) if n != count => {
                return Err(mismatch(format!(
                    "parts of {n} and of {count} are mixed in {place}/data"
                )));
            }
            _ => parts = Some(count),
        }
        files.insert(index, name);
    }
    let parts = parts.unwrap_or(0);
    let mut missing_parts = Vec::new();
    let mut owner: Option<(usize, String, String, Range<usize>)> = None;
    let mut assigned: Vec<Range<usize>> = Vec::new();
    let mut held: Vec<Range<usize>> = Vec::new();
    let mut rows = 0;
    for index in 0..parts {
        let stem = chatan_core::Shard::new(index, parts)
            .map_err(|e| mismatch(e.to_string()))?
            .file_stem(split);
        let (Some(file), Some(text)) = (files.get(&index), manifest_of(&stem)) else {
            missing_parts.push(index);
            continue;
        };
        let manifest: Manifest = serde_json::from_str(&text)
            .map_err(|e| mismatch(format!(".chatan/{stem}.json: {e}")))?;
        let identity = (
            index,
            manifest.fingerprint.clone(),
            manifest.seed.clone(),
            manifest.run.clone(),
        );
        match &owner {
            Some(first)
                if first.1 != identity.1 || first.2 != identity.2 || first.3 != identity.3 =>
            {
                return Err(mismatch(format!(
                    "part {index} comes from another run (recipe fingerprint {}, seed {}, \
                     rows {:?}) than part {} (fingerprint {}, seed {}, rows {:?})",
                    identity.1, identity.2, identity.3, first.0, first.1, first.2, first.3
                )));
            }
            Some(_) => {}
            None => owner = Some(identity),
        }
        let listed: usize = manifest.written.iter().map(Range::len).sum();
        let in_file = count_rows(file)?;
        if listed != in_file {
            return Err(mismatch(format!(
                "data/{file} holds {in_file} rows, its manifest lists {listed}"
            )));
        }
        rows += in_file;
        assigned.push(manifest.rows.clone());
        held.extend(manifest.written.iter().cloned());
    }
    let expected = owner.map_or(0..0, |o| o.3);
    held.sort_by_key(|r| r.start);
    let mut duplicate_rows = Vec::new();
    let mut missing_rows = Vec::new();
    for range in &assigned {
        let mut next = range.start;
        for h in held
            .iter()
            .filter(|h| h.start < range.end && h.end > range.start)
        {
            missing_rows.extend(next..h.start.max(next));
            duplicate_rows.extend(h.start..h.end.min(next));
            next = next.max(h.end);
        }
        missing_rows.extend(next..range.end);
    }
    Ok(ShardCheck {
        split: split.to_owned(),
        parts,
        missing_parts,
        rows,
        expected,
        missing_rows,
        duplicate_rows,
    })
}

/// [`verify_shards`] for a dataset folder in object storage (feature `object-store`).
#[cfg(feature = "object-store")]
pub async fn verify_shards_remote(
    remote: &super::Remote,
    split: &str,
) -> Result<ShardCheck, DataError> {
    let names: Vec<String> = remote
        .list("data")
        .await?
        .into_iter()
        .map(|(n, _)| n)
        .collect();
    let mut manifests = std::collections::HashMap::new();
    let mut counts = std::collections::HashMap::new();
    for name in &names {
        let Some((found, index, count)) = part_of_name(name) else {
            continue;
        };
        if found != split {
            continue;
        }
        let Ok(shard) = chatan_core::Shard::new(index, count) else {
            continue;
        };
        let stem = shard.file_stem(split);
        if let Some(bytes) = remote.get(&format!(".chatan/{stem}.json")).await? {
            manifests.insert(stem, String::from_utf8_lossy(&bytes).into_owned());
        }
        counts.insert(
            name.clone(),
            remote.count_rows(&format!("data/{name}")).await?,
        );
    }
    check(
        remote.url(),
        split,
        &names,
        |stem| manifests.get(stem).cloned(),
        |name| {
            counts.get(name).copied().ok_or_else(|| DataError::Shards {
                dir: PathBuf::from(remote.url()),
                message: format!("data/{name} could not be read"),
            })
        },
    )
}

/// Rewrites the card of a dataset folder in object storage from its parts' manifests
/// (rows) and objects (bytes).
#[cfg(feature = "object-store")]
pub async fn write_remote_card<R: super::ToFrame>(remote: &super::Remote) -> Result<(), DataError> {
    let mut splits: Vec<(String, usize, u64)> = Vec::new();
    for (name, size) in remote.list("data").await? {
        let Some((split, index, count)) = part_of_name(&name) else {
            continue;
        };
        let Ok(shard) = chatan_core::Shard::new(index, count) else {
            continue;
        };
        let rows = match remote
            .get(&format!(".chatan/{}.json", shard.file_stem(split)))
            .await?
        {
            Some(bytes) => serde_json::from_slice::<Manifest>(&bytes)
                .map(|m| m.written.iter().map(Range::len).sum())
                .unwrap_or(0),
            None => 0,
        };
        match splits.iter_mut().find(|s| s.0 == split) {
            Some(known) => {
                known.1 += rows;
                known.2 += size;
            }
            None => splits.push((split.to_owned(), rows, size)),
        }
    }
    splits.sort();
    let card = super::huggingface::card(&R::columns(), &splits);
    remote.put("README.md", card.into_bytes()).await
}
