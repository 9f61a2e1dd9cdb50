//! Checkpoints: a journal of finished rows, so that a run stopped by a crash, a kill or
//! Ctrl-C can be run again and make only the rows it is missing.
//!
//! The journal is a JSON-lines file: a header naming the recipe, its fingerprint (a hash
//! of its definition the macro computes) and the seed, then one line per finished row,
//! `{"row": 12, "value": {...}}`, appended as rows finish and synced to disk every 64
//! rows or every second, and at the end. Appending is the whole protocol: a torn last
//! line (the process died mid-write) is dropped on reading, so the file is always
//! usable. JSON lines rather than an embedded database because a journal of appends
//! needs nothing more, the file is readable with any tool (`jq`, `datasets`), and it
//! adds no dependency or native build.

use std::collections::HashMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::error::Error;
use crate::recipe::Spec;

const FORMAT: u64 = 1;
const SYNC_ROWS: usize = 64;
const SYNC_EVERY: Duration = Duration::from_secs(1);

/// How to write and read rows of type `T` (set where `T: Serialize + Deserialize` is
/// known).
pub(crate) struct Codec<T> {
    pub(crate) write: fn(&T) -> serde_json::Result<Value>,
    pub(crate) read: fn(Value) -> serde_json::Result<T>,
}

impl<T> Clone for Codec<T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<T> Copy for Codec<T> {}

/// An open journal, appending.
pub(crate) struct Journal<T> {
    path: PathBuf,
    file: BufWriter<File>,
    codec: Codec<T>,
    unsynced: usize,
    last_sync: Instant,
}

/// A journal opened for a run: the seed to use and the rows it already holds.
pub(crate) struct Opened<T> {
    pub(crate) journal: Journal<T>,
    pub(crate) seed: u64,
    pub(crate) rows: HashMap<usize, T>,
}

fn fail(path: &Path, message: impl std::fmt::Display) -> Error {
    Error::Checkpoint {
        path: path.to_owned(),
        message: message.to_string(),
    }
}

/// Opens (or creates) the journal at `path` for `spec`. A journal of another recipe, or
/// of another version of this one, or made with another seed than `seed`, is refused.
/// With no `seed`, a new journal takes `fresh_seed` and an existing one its own.
pub(crate) fn open<T>(
    path: &Path,
    spec: &Spec,
    seed: Option<u64>,
    fresh_seed: u64,
    codec: Codec<T>,
) -> Result<Opened<T>, Error> {
    let io = |e: std::io::Error| fail(path, e);
    let (file, lines) = crate::jsonl::open::<Value>(path).map_err(io)?;
    let mut lines = lines.into_iter();
    let header = lines.next();
    let mut rows = HashMap::new();
    for line in lines {
        let row = line["row"]
            .as_u64()
            .ok_or_else(|| fail(path, format!("a line has no row number: {line}")))?;
        let data = (codec.read)(line["value"].clone())
            .map_err(|e| fail(path, format!("row {row} does not read back as a row: {e}")))?;
        rows.insert(row as usize, data);
    }
    let fingerprint = format!("{:016x}", spec.fingerprint());
    let seed = match &header {
        Some(header) => {
            if header["chatan_checkpoint"].as_u64() != Some(FORMAT) {
                return Err(fail(path, "the file is not a chatan checkpoint"));
            }
            if header["recipe"] != spec.name {
                return Err(fail(
                    path,
                    format!(
                        "it holds rows of recipe `{}`, not `{}`; use another file",
                        header["recipe"].as_str().unwrap_or("?"),
                        spec.name
                    ),
                ));
            }
            if header["fingerprint"] != fingerprint.as_str() {
                return Err(fail(
                    path,
                    format!(
                        "recipe `{}` has changed since this checkpoint was made (its \
                         columns, templates, options or code differ), so its rows would \
                         not match the new ones; delete the file to start again, or run \
                         the old recipe to finish it",
                        spec.name
                    ),
                ));
            }
            let saved = header["seed"]
                .as_u64()
                .ok_or_else(|| fail(path, "the header has no seed"))?;
            if let Some(seed) = seed.filter(|&s| s != saved) {
                return Err(fail(
                    path,
                    format!(
                        "it was made with seed {saved}, and this run asks for seed {seed}; \
                         rows of two seeds would not make one dataset"
                    ),
                ));
            }
            saved
        }
        None => seed.unwrap_or(fresh_seed),
    };
    let mut journal = Journal {
        path: path.to_owned(),
        file: BufWriter::new(file),
        codec,
        unsynced: 0,
        last_sync: Instant::now(),
    };
    if header.is_none() {
        let header = serde_json::json!({
            "chatan_checkpoint": FORMAT,
            "recipe": spec.name,
            "fingerprint": fingerprint,
            "seed": seed,
        });
        journal.line(&header)?;
        journal.sync()?;
    }
    Ok(Opened {
        journal,
        seed,
        rows,
    })
}

impl<T> Journal<T> {
    fn line(&mut self, value: &Value) -> Result<(), Error> {
        let io = |e: std::io::Error| fail(&self.path, e);
        serde_json::to_writer(&mut self.file, value).map_err(|e| fail(&self.path, e))?;
        self.file.write_all(b"\n").map_err(io)
    }

    /// Records finished row `row`; syncs every 64 rows or every second.
    pub(crate) fn append(&mut self, row: usize, value: &T) -> Result<(), Error> {
        let value = (self.codec.write)(value).map_err(|e| fail(&self.path, e))?;
        self.line(&serde_json::json!({"row": row, "value": value}))?;
        // Each row reaches the operating system at once (it survives the process being
        // killed); the disk sync, which survives a power cut, is batched.
        self.file.flush().map_err(|e| fail(&self.path, e))?;
        self.unsynced += 1;
        if self.unsynced >= SYNC_ROWS || self.last_sync.elapsed() >= SYNC_EVERY {
            self.sync()?;
        }
        Ok(())
    }

    /// Flushes and syncs to disk.
    pub(crate) fn sync(&mut self) -> Result<(), Error> {
        let io = |e: std::io::Error| fail(&self.path, e);
        self.file.flush().map_err(io)?;
        self.file.get_ref().sync_data().map_err(io)?;
        self.unsynced = 0;
        self.last_sync = Instant::now();
        Ok(())
    }
}
