//! Writing rows to files, chosen by extension or named explicitly. A file is written under
//! a temporary name beside its final one and renamed into place, so a crash never leaves
//! a half-written file under the final name.

use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

use polars::prelude::{
    CsvWriter, DataFrame, JsonFormat, JsonWriter, ParquetWriter, PolarsError, SerWriter,
};

use super::{ToFrame, to_dataframe};

/// A file format rows can be saved in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Format {
    /// Apache Parquet (`.parquet`), with every dtype intact.
    Parquet,
    /// Comma-separated values (`.csv`), with a header; list columns cannot be written.
    Csv,
    /// One JSON array of records (`.json`).
    Json,
    /// One JSON record per line (`.jsonl`, `.ndjson`).
    JsonLines,
}

impl Format {
    /// The extensions [`save`] knows, for messages.
    pub const EXTENSIONS: &'static [&'static str] = &["parquet", "csv", "json", "jsonl", "ndjson"];

    /// The format a path's extension names.
    pub fn from_path(path: &Path) -> Result<Format, DataError> {
        let extension = path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("parquet") => Ok(Format::Parquet),
            Some("csv") => Ok(Format::Csv),
            Some("json") => Ok(Format::Json),
            Some("jsonl" | "ndjson") => Ok(Format::JsonLines),
            _ => Err(DataError::UnknownFormat {
                path: path.to_owned(),
            }),
        }
    }
}

/// Why rows could not be saved.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DataError {
    /// The path's extension names no format [`save`] knows.
    #[error(
        "{path:?}: cannot tell the format from the extension; use .parquet, .csv, .json or \
         .jsonl (or .ndjson), or name the format with `chatan::data::save_as`"
    )]
    UnknownFormat {
        /// The path.
        path: PathBuf,
    },
    /// A file could not be written.
    #[error("{path:?}: {source}")]
    Io {
        /// The path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// A file lacks a column that was asked for.
    #[error("{path:?} has no column {column:?}; its columns are {available:?}")]
    MissingColumn {
        /// The file.
        path: PathBuf,
        /// The column asked for.
        column: String,
        /// The file's columns.
        available: Vec<String>,
    },
    /// A dataset could not be had from the Hugging Face hub.
    #[error("hub dataset {repo:?}: {message}")]
    Hub {
        /// The dataset id.
        repo: String,
        /// What went wrong, and what to do.
        message: String,
    },
    /// A table's row does not fit the type asked for (a missing column, a value of
    /// another type).
    #[error("row {row}: {message}")]
    Row {
        /// The row's index.
        row: usize,
        /// What does not fit (serde's message names the field).
        message: String,
    },
    /// The parts of a sharded dataset do not fit together.
    #[error("{dir:?}: {message}")]
    Shards {
        /// The dataset folder.
        dir: PathBuf,
        /// What does not fit.
        message: String,
    },
    /// An object store (S3, GCS, Azure) could not be reached, or refused.
    #[error("{url}: {message}")]
    Remote {
        /// The dataset folder's URL.
        url: String,
        /// What went wrong.
        message: String,
    },
    /// polars could not build or write the frame (a list column in a csv file, say).
    #[error(transparent)]
    Polars(#[from] PolarsError),
}

/// Saves `rows` to `path`, in the format its extension names (`.parquet`, `.csv`,
/// `.json`, `.jsonl`).
pub fn save<R: ToFrame>(rows: &[R], path: impl AsRef<Path>) -> Result<(), DataError> {
    let path = path.as_ref();
    save_as(rows, path, Format::from_path(path)?)
}

/// Saves `rows` to `path` in `format`, whatever the extension.
pub fn save_as<R: ToFrame>(
    rows: &[R],
    path: impl AsRef<Path>,
    format: Format,
) -> Result<(), DataError> {
    let mut frame = to_dataframe(rows)?;
    write_frame(&mut frame, path, format)
}

/// Writes a `DataFrame` to `path` in `format`, through a temporary file renamed into
/// place.
pub fn write_frame(
    frame: &mut DataFrame,
    path: impl AsRef<Path>,
    format: Format,
) -> Result<(), DataError> {
    let path = path.as_ref();
    let io = |source| DataError::Io {
        path: path.to_owned(),
        source,
    };
    let temporary = temporary(path).map_err(io)?;
    let written = (|| {
        let file = File::create(&temporary).map_err(io)?;
        let mut out = BufWriter::new(file);
        match format {
            Format::Parquet => {
                ParquetWriter::new(&mut out).finish(frame)?;
            }
            Format::Csv => CsvWriter::new(&mut out)
                .include_header(true)
                .finish(frame)?,
            Format::Json => JsonWriter::new(&mut out)
                .with_json_format(JsonFormat::Json)
                .finish(frame)?,
            Format::JsonLines => JsonWriter::new(&mut out)
                .with_json_format(JsonFormat::JsonLines)
                .finish(frame)?,
        }
        let file = out.into_inner().map_err(|e| io(e.into_error()))?;
        file.sync_all().map_err(io)?;
        std::fs::rename(&temporary, path).map_err(io)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&temporary);
    }
    written
}

/// The temporary name a file is written under before it is renamed to `path`: hidden,
/// beside it (so the rename stays on one file system), and unique to this process.
pub(crate) fn temporary(path: &Path) -> std::io::Result<PathBuf> {
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the path names no file"))?;
    Ok(path.with_file_name(format!(
        ".{}.{}.tmp",
        name.to_string_lossy(),
        std::process::id()
    )))
}
