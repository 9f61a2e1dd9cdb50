//! Writing rows to a file as they are generated: a [`Sink`] takes rows one by one, in row
//! order, and holds at most one batch of them in memory, so a run of any length streams
//! to disk.
//!
//! * jsonl writes and flushes every row at once, under its final name: an interrupted run
//!   keeps every row it finished.
//! * parquet (one row group per batch) and csv are written under a temporary name and
//!   renamed into place by [`Sink::finish`], so the final name never holds a file cut
//!   short.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::marker::PhantomData;
use std::path::{Path, PathBuf};

use futures::stream::{Stream, StreamExt};
use polars::prelude::{CsvWriter, JsonFormat, JsonWriter, ParquetWriter, SerWriter};

use super::{DataError, Format, ToFrame, to_dataframe};
use chatan_core::Error;

/// How many rows a parquet row group or a csv batch holds by default.
pub const DEFAULT_BATCH: usize = 10_000;

/// A file being written row by row, in row order, with at most one batch of rows in
/// memory. jsonl writes and flushes every row at once, under its final name; parquet
/// (one row group per batch) and csv are written under a temporary name and renamed into
/// place by [`finish`](Sink::finish).
///
/// ```no_run
/// # chatan::dataset! { #[derive(Debug)] struct Qa { q: String = gen("a question") } }
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let llm = chatan::OpenAi::from_env()?;
/// let rows = Qa::runner(&llm).stream(1_000_000)?;
/// let written = chatan::data::write_stream(rows, "qa.parquet").await?;
/// println!("{written} rows");
/// # Ok(()) }
/// ```
pub struct Sink<R> {
    path: PathBuf,
    temporary: PathBuf,
    writer: Writer,
    batch: Vec<R>,
    batch_size: usize,
    written: usize,
    _rows: PhantomData<fn(R)>,
}

enum Writer {
    Parquet(Box<polars::io::parquet::write::BatchedWriter<BufWriter<File>>>),
    Csv(polars::io::csv::write::BatchedWriter<BufWriter<File>>),
    JsonLines(BufWriter<File>),
    /// `.json` is one array: rows are kept to the end.
    Json,
}

impl<R: ToFrame> Sink<R> {
    /// A sink writing to `path`, in the format its extension names.
    pub fn create(path: impl AsRef<Path>) -> Result<Self, DataError> {
        let path = path.as_ref();
        Self::create_as(path, Format::from_path(path)?)
    }

    /// A sink writing to `path` in `format`.
    pub fn create_as(path: impl AsRef<Path>, format: Format) -> Result<Self, DataError> {
        let path = path.as_ref().to_owned();
        let io = |source| DataError::Io {
            path: path.clone(),
            source,
        };
        let temporary = match format {
            Format::JsonLines => path.clone(),
            _ => super::save::temporary(&path).map_err(io)?,
        };
        let file = || File::create(&temporary).map(BufWriter::new).map_err(io);
        let schema = R::schema();
        let writer = match format {
            Format::Parquet => {
                Writer::Parquet(Box::new(ParquetWriter::new(file()?).batched(&schema)?))
            }
            Format::Csv => Writer::Csv(
                CsvWriter::new(file()?)
                    .include_header(true)
                    .batched(&schema)?,
            ),
            Format::JsonLines => Writer::JsonLines(file()?),
            Format::Json => Writer::Json,
        };
        Ok(Sink {
            path,
            temporary,
            writer,
            batch: Vec::new(),
            batch_size: DEFAULT_BATCH,
            written: 0,
            _rows: PhantomData,
        })
    }

    /// Rows per parquet row group or csv batch (at least 1).
    pub fn batch_size(mut self, rows: usize) -> Self {
        self.batch_size = rows.max(1);
        self
    }

    /// Adds the next row.
    pub fn push(&mut self, row: R) -> Result<(), DataError> {
        self.batch.push(row);
        match &self.writer {
            Writer::JsonLines(_) => self.flush_batch(),
            Writer::Json => Ok(()),
            _ if self.batch.len() >= self.batch_size => self.flush_batch(),
            _ => Ok(()),
        }
    }

    /// Rows written so far (for jsonl, on disk; otherwise, handed to the writer).
    pub fn written(&self) -> usize {
        self.written
    }

    /// Writes what is left and closes the file (moving it into place); the number of
    /// rows in it.
    pub fn finish(mut self) -> Result<usize, DataError> {
        if matches!(self.writer, Writer::Json) {
            let rows = std::mem::take(&mut self.batch);
            super::save_as(&rows, &self.temporary, Format::Json)?;
            self.written = rows.len();
        } else {
            self.flush_batch()?;
        }
        let io = |source| DataError::Io {
            path: self.path.clone(),
            source,
        };
        match std::mem::replace(&mut self.writer, Writer::Json) {
            Writer::Parquet(writer) => {
                writer.finish()?;
                drop(writer);
                File::open(&self.temporary)
                    .and_then(|f| f.sync_all())
                    .map_err(io)?;
            }
            Writer::Csv(mut writer) => {
                writer.finish()?;
                drop(writer);
                File::open(&self.temporary)
                    .and_then(|f| f.sync_all())
                    .map_err(io)?;
            }
            Writer::JsonLines(mut out) => {
                out.flush().map_err(io)?;
                out.get_ref().sync_all().map_err(io)?;
            }
            Writer::Json => {}
        }
        if self.temporary != self.path {
            std::fs::rename(&self.temporary, &self.path).map_err(io)?;
        }
        Ok(self.written)
    }

    fn flush_batch(&mut self) -> Result<(), DataError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        let mut frame = to_dataframe(&self.batch)?;
        let io = |source| DataError::Io {
            path: self.path.clone(),
            source,
        };
        match &mut self.writer {
            Writer::Parquet(writer) => writer.write_batch(&frame)?,
            Writer::Csv(writer) => writer.write_batch(&frame)?,
            Writer::JsonLines(out) => {
                JsonWriter::new(&mut *out)
                    .with_json_format(JsonFormat::JsonLines)
                    .finish(&mut frame)?;
                out.flush().map_err(io)?;
            }
            Writer::Json => return Ok(()),
        }
        self.written += self.batch.len();
        self.batch.clear();
        Ok(())
    }
}

impl<R> Drop for Sink<R> {
    fn drop(&mut self) {
        // A sink dropped before `finish` leaves no temporary file behind (jsonl keeps
        // its rows: that is the point of it).
        if self.temporary != self.path && !matches!(self.writer, Writer::Json) {
            let _ = std::fs::remove_file(&self.temporary);
        }
    }
}

/// Why streaming rows to a file stopped.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StreamError {
    /// A row failed and the run stopped; the rows before it are in the file.
    #[error("{error} ({written} rows were written before the run stopped)")]
    Run {
        /// What failed.
        error: Error,
        /// Rows in the file.
        written: usize,
    },
    /// The file could not be written.
    #[error(transparent)]
    Data(#[from] DataError),
}

/// Writes a run's rows to `path` as they come (see [`Runner::stream`](chatan_core::Runner::stream)),
/// in the format its extension names; the number of rows written. If a row fails, the
/// rows the stream yielded are written and the file is completed before the error is
/// returned: from [`Runner::stream`](chatan_core::Runner::stream), the first `written` rows,
/// with no gap.
pub async fn write_stream<R, S>(rows: S, path: impl AsRef<Path>) -> Result<usize, StreamError>
where
    R: ToFrame,
    S: Stream<Item = Result<R, Error>>,
{
    let mut sink = Sink::create(path)?;
    let mut rows = std::pin::pin!(rows);
    let mut failure = None;
    while let Some(row) = rows.next().await {
        match row {
            Ok(row) => sink.push(row)?,
            Err(error) if failure.is_none() => failure = Some(error),
            Err(error) => tracing::warn!(%error, "another row failed"),
        }
    }
    let written = sink.finish()?;
    match failure {
        Some(error) => Err(StreamError::Run { error, written }),
        None => Ok(written),
    }
}
