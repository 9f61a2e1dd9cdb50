//! Sharded datasets in object storage (feature `object-store`): the folder layout of
//! [`write_shard`](crate::WriteRows::write_shard) — `data/{split}-{k}-of-{n}.parquet`,
//! `.chatan/{split}-{k}-of-{n}.json` manifests, `README.md` — under a prefix of an S3,
//! GCS or Azure bucket, through the `object_store` crate. Each part is uploaded as a
//! multipart upload while it is written (a part per 8 MiB of row groups), completed
//! only when the part is whole, so a reader never sees half a part. A shard's checkpoint
//! is appended to row by row on local disk, under [`Remote::state_dir`], and goes up to
//! the store in segments as the shard runs (`.chatan/{split}-{k}-of-{n}.checkpoint/`), so
//! a shard that runs again on another machine resumes from what reached the store.

use std::io::{Read, Seek, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use bytes::Bytes;
use futures::StreamExt;
use object_store::path::Path as ObjectPath;
use object_store::{MultipartUpload, ObjectStore, ObjectStoreExt, PutPayload};
use polars::prelude::{ParquetReader, ParquetWriter, SerReader};

use super::{DataError, ToFrame, to_dataframe};

/// Bytes of row groups gathered before they go up as one part of the upload (S3 wants
/// at least 5 MiB in every part but the last).
const PART_BYTES: usize = 8 << 20;
/// Rows per row group.
const ROW_GROUP: usize = 10_000;

/// A dataset folder under a prefix of an object store: `s3://bucket/datasets/qa`.
///
/// ```no_run
/// # chatan::dataset! { #[derive(Debug, serde::Serialize, serde::Deserialize)] struct Qa { q: String = gen("a question") } }
/// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// use chatan::data::{Remote, WriteRows};
///
/// // Credentials and endpoint from the environment (AWS_ACCESS_KEY_ID,
/// // AWS_SECRET_ACCESS_KEY, AWS_REGION, AWS_ENDPOINT, ...; GOOGLE_*, AZURE_*).
/// let bucket = Remote::from_url("s3://my-bucket/datasets/qa")?;
/// let llm = chatan::OpenAi::from_env()?;
/// let shard = chatan::Shard::from_env()?.unwrap_or(chatan::Shard::WHOLE);
/// let part = Qa::runner(&llm)
///     .seed(7)
///     .shard(shard)
///     .write_shard_remote(&bucket, "train", 1_000_000)
///     .await?;
/// let check = chatan::data::verify_shards_remote(&bucket, "train").await?;
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Remote {
    store: Arc<dyn ObjectStore>,
    prefix: ObjectPath,
    url: String,
    state: PathBuf,
    row_group: usize,
}

fn remote_error(url: &str, e: impl std::fmt::Display) -> DataError {
    DataError::Remote {
        url: url.to_owned(),
        message: e.to_string(),
    }
}

impl Remote {
    /// The store and prefix of `url` (`s3://`, `gs://`, `az://`, `abfs://`, `https://`
    /// forms that `object_store` knows), configured from the environment's `AWS_*`,
    /// `GOOGLE_*` and `AZURE_*` variables.
    pub fn from_url(url: &str) -> Result<Remote, DataError> {
        let parsed = url::Url::parse(url).map_err(|e| remote_error(url, e))?;
        let options = std::env::vars()
            .filter(|(k, _)| {
                k.starts_with("AWS_") || k.starts_with("GOOGLE_") || k.starts_with("AZURE_")
            })
            .map(|(k, v)| (k.to_ascii_lowercase(), v));
        let (store, prefix) =
            object_store::parse_url_opts(&parsed, options).map_err(|e| remote_error(url, e))?;
        Ok(Self::with_path(Arc::from(store), prefix, url))
    }

    /// A dataset folder at `prefix` of `store` (any `object_store` store).
    pub fn new(store: Arc<dyn ObjectStore>, prefix: &str) -> Remote {
        let url = format!("{store}/{prefix}");
        Self::with_path(store, ObjectPath::from(prefix), &url)
    }

    fn with_path(store: Arc<dyn ObjectStore>, prefix: ObjectPath, url: &str) -> Remote {
        let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
        for byte in url.bytes() {
            hash = (hash ^ u64::from(byte)).wrapping_mul(0x0100_0000_01b3);
        }
        Remote {
            store,
            prefix,
            url: url.to_owned(),
            state: PathBuf::from(".chatan-state").join(format!("{hash:016x}")),
            row_group: ROW_GROUP,
        }
    }

    /// Where the shards' checkpoints are kept on local disk (default
    /// `.chatan-state/<hash of the URL>` in the working folder). A shard that runs
    /// again finds its checkpoint there.
    pub fn state_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.state = dir.into();
        self
    }

    /// Rows per parquet row group (default 10 000; at least 1). Row groups go up in
    /// parts of about 8 MiB as they are written.
    pub fn row_group(mut self, rows: usize) -> Self {
        self.row_group = rows.max(1);
        self
    }

    /// The folder's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    pub(crate) fn state(&self) -> &PathBuf {
        &self.state
    }

    fn path(&self, relative: &str) -> ObjectPath {
        relative
            .split('/')
            .fold(self.prefix.clone(), |path, part| path.join(part))
    }

    pub(crate) async fn put(&self, relative: &str, bytes: Vec<u8>) -> Result<(), DataError> {
        self.store
            .put(&self.path(relative), PutPayload::from(bytes))
            .await
            .map(|_| ())
            .map_err(|e| remote_error(&self.url, e))
    }

    /// The object at `relative` under the folder (`data/train-00000-of-00004.parquet`,
    /// `README.md`), or `None` if there is none.
    pub async fn read(&self, relative: &str) -> Result<Option<Bytes>, DataError> {
        self.get(relative).await
    }

    pub(crate) async fn get(&self, relative: &str) -> Result<Option<Bytes>, DataError> {
        match self.store.get(&self.path(relative)).await {
            Ok(result) => result
                .bytes()
                .await
                .map(Some)
                .map_err(|e| remote_error(&self.url, e)),
            Err(object_store::Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(remote_error(&self.url, e)),
        }
    }

    /// The objects directly under `relative` (a folder): names and sizes.
    pub(crate) async fn list(&self, relative: &str) -> Result<Vec<(String, u64)>, DataError> {
        let folder = self.path(relative);
        let mut listing = self.store.list(Some(&folder));
        let mut out = Vec::new();
        while let Some(meta) = listing.next().await {
            let meta = meta.map_err(|e| remote_error(&self.url, e))?;
            if let Some(name) = meta.location.filename() {
                out.push((name.to_owned(), meta.size));
            }
        }
        out.sort();
        Ok(out)
    }

    /// Rows in the parquet object at `relative`.
    pub(crate) async fn count_rows(&self, relative: &str) -> Result<usize, DataError> {
        let bytes = self
            .get(relative)
            .await?
            .ok_or_else(|| remote_error(&self.url, format!("{relative} is not there")))?;
        Ok(ParquetReader::new(std::io::Cursor::new(bytes)).num_rows()?)
    }
}

/// Bytes the parquet writer has written and the upload has not yet taken.
#[derive(Clone, Default)]
struct Written(Arc<Mutex<Vec<u8>>>);

impl Write for Written {
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(data);
        Ok(data.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Written {
    fn take(&self) -> Vec<u8> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|e| e.into_inner()))
    }

    fn len(&self) -> usize {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).len()
    }
}

/// A parquet part being uploaded as it is written.
pub(crate) struct RemotePart<R> {
    upload: Box<dyn MultipartUpload>,
    writer: polars::io::parquet::write::BatchedWriter<Written>,
    written: Written,
    batch: Vec<R>,
    rows: usize,
    parts: usize,
    row_group: usize,
    url: String,
}

impl<R: ToFrame> RemotePart<R> {
    pub(crate) async fn create(remote: &Remote, relative: &str) -> Result<Self, DataError> {
        let upload = remote
            .store
            .put_multipart(&remote.path(relative))
            .await
            .map_err(|e| remote_error(&remote.url, e))?;
        let written = Written::default();
        let writer = ParquetWriter::new(written.clone()).batched(&R::schema())?;
        Ok(RemotePart {
            upload,
            writer,
            written,
            batch: Vec::new(),
            rows: 0,
            parts: 0,
            row_group: remote.row_group,
            url: remote.url.clone(),
        })
    }

    pub(crate) async fn push(&mut self, row: R) -> Result<(), DataError> {
        self.batch.push(row);
        if self.batch.len() >= self.row_group {
            self.write_batch()?;
            if self.written.len() >= PART_BYTES {
                self.send_part().await?;
            }
        }
        Ok(())
    }

    fn write_batch(&mut self) -> Result<(), DataError> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.writer.write_batch(&to_dataframe(&self.batch)?)?;
        self.rows += self.batch.len();
        self.batch.clear();
        Ok(())
    }

    async fn send_part(&mut self) -> Result<(), DataError> {
        let bytes = self.written.take();
        self.parts += 1;
        self.upload
            .put_part(PutPayload::from(bytes))
            .await
            .map_err(|e| remote_error(&self.url, e))
    }

    /// Writes the rest and the footer, and completes the upload: the part appears
    /// whole. The rows in it, and the parts it was uploaded in.
    pub(crate) async fn finish(mut self) -> Result<(usize, usize), DataError> {
        self.write_batch()?;
        self.writer.finish()?;
        self.send_part().await?;
        self.upload
            .complete()
            .await
            .map_err(|e| remote_error(&self.url, e))?;
        Ok((self.rows, self.parts))
    }
}

/// A shard's checkpoint kept in the store as well as on local disk: the local journal's
/// new complete lines go up as numbered segments (`{folder}/00000000.jsonl`, ...), and a
/// machine whose journal holds less than the store rebuilds it from the segments before
/// the run. Segments hold whole lines only, so their concatenation is always a journal.
pub(crate) struct RemoteCheckpoint {
    remote: Remote,
    folder: String,
    local: PathBuf,
    /// Bytes of the local journal the store has.
    stored: u64,
    /// The next segment's number.
    next: usize,
}

impl RemoteCheckpoint {
    /// The checkpoint `local` of shard `stem`, rebuilt from the store's segments when it
    /// holds less than they do (a new machine has none).
    pub(crate) async fn restore(
        remote: &Remote,
        stem: &str,
        local: &Path,
    ) -> Result<Self, DataError> {
        let folder = format!(".chatan/{stem}.checkpoint");
        let mut segments: Vec<(usize, String, u64)> = remote
            .list(&folder)
            .await?
            .into_iter()
            .filter_map(|(name, size)| {
                let number = name.strip_suffix(".jsonl")?.parse().ok()?;
                Some((number, name, size))
            })
            .collect();
        segments.sort();
        if let Some(gap) = segments.iter().enumerate().find(|(i, s)| s.0 != *i) {
            return Err(remote_error(
                &remote.url,
                format!("{folder}: checkpoint segment {} is missing", gap.0),
            ));
        }
        let stored: u64 = segments.iter().map(|s| s.2).sum();
        let io = |source| DataError::Io {
            path: local.to_owned(),
            source,
        };
        let here = std::fs::metadata(local).map_or(0, |m| m.len());
        if here < stored {
            let mut journal = Vec::with_capacity(stored as usize);
            for (_, name, _) in &segments {
                let segment = remote
                    .get(&format!("{folder}/{name}"))
                    .await?
                    .ok_or_else(|| remote_error(&remote.url, format!("{folder}/{name} went")))?;
                journal.extend_from_slice(&segment);
            }
            let part = local.with_extension("jsonl.part");
            std::fs::write(&part, &journal).map_err(io)?;
            std::fs::rename(&part, local).map_err(io)?;
            tracing::info!(
                checkpoint = %local.display(),
                segments = segments.len(),
                "the shard's checkpoint came from the store"
            );
        }
        Ok(RemoteCheckpoint {
            remote: remote.clone(),
            folder,
            local: local.to_owned(),
            stored,
            next: segments.len(),
        })
    }

    /// Sends what the local journal has gained, up to its last complete line, as the
    /// next segment.
    pub(crate) async fn upload(&mut self) -> Result<(), DataError> {
        let io = |source| DataError::Io {
            path: self.local.clone(),
            source,
        };
        let mut file = std::fs::File::open(&self.local).map_err(io)?;
        file.seek(std::io::SeekFrom::Start(self.stored))
            .map_err(io)?;
        let mut new = Vec::new();
        file.read_to_end(&mut new).map_err(io)?;
        let Some(end) = new.iter().rposition(|&b| b == b'\n') else {
            return Ok(());
        };
        new.truncate(end + 1);
        let len = new.len() as u64;
        self.remote
            .put(&format!("{}/{:08}.jsonl", self.folder, self.next), new)
            .await?;
        self.stored += len;
        self.next += 1;
        Ok(())
    }

    /// Rows per segment: one per row group.
    pub(crate) fn every(&self) -> usize {
        self.remote.row_group
    }
}

#[cfg(test)]
mod tests {
    use super::{Remote, RemoteCheckpoint};
    use object_store::memory::InMemory;
    use std::sync::Arc;

    fn scratch(name: &str) -> std::path::PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "chatan-remote-checkpoint-{}-{name}",
            std::process::id()
        ));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[tokio::test]
    async fn a_checkpoint_goes_up_in_whole_lines_and_comes_back_on_a_new_machine() {
        let remote = Remote::new(Arc::new(InMemory::new()), "ds").row_group(2);
        let here = scratch("first").join("train.checkpoint.jsonl");
        let mut checkpoint = RemoteCheckpoint::restore(&remote, "train", &here)
            .await
            .unwrap();
        // A torn last line (a row being written) stays behind until it is whole.
        std::fs::write(&here, "{\"h\":1}\n{\"row\":0}\n{\"ro").unwrap();
        checkpoint.upload().await.unwrap();
        let first = remote.get(".chatan/train.checkpoint/00000000.jsonl").await;
        assert_eq!(&first.unwrap().unwrap()[..], b"{\"h\":1}\n{\"row\":0}\n");
        std::fs::write(&here, "{\"h\":1}\n{\"row\":0}\n{\"row\":1}\n").unwrap();
        checkpoint.upload().await.unwrap();
        // Nothing new: no segment.
        checkpoint.upload().await.unwrap();
        assert_eq!(
            remote.list(".chatan/train.checkpoint").await.unwrap().len(),
            2
        );

        let there = scratch("second").join("train.checkpoint.jsonl");
        RemoteCheckpoint::restore(&remote, "train", &there)
            .await
            .unwrap();
        assert_eq!(
            std::fs::read_to_string(&there).unwrap(),
            "{\"h\":1}\n{\"row\":0}\n{\"row\":1}\n"
        );
    }

    #[tokio::test]
    async fn a_missing_checkpoint_segment_is_an_error_naming_it() {
        let remote = Remote::new(Arc::new(InMemory::new()), "ds");
        for n in [0, 2] {
            let name = format!(".chatan/train.checkpoint/{n:08}.jsonl");
            remote.put(&name, b"{}\n".to_vec()).await.unwrap();
        }
        let here = scratch("gap").join("train.checkpoint.jsonl");
        let error = RemoteCheckpoint::restore(&remote, "train", &here)
            .await
            .err()
            .expect("a gap is refused")
            .to_string();
        assert!(error.contains("checkpoint segment 1 is missing"), "{error}");
        assert!(!here.exists(), "nothing half-made on disk");
    }

    #[test]
    fn a_url_object_store_cannot_read_is_an_error_naming_it() {
        for url in ["not a url", "ftp://bucket/prefix"] {
            let error = Remote::from_url(url).unwrap_err().to_string();
            assert!(error.starts_with(url), "{error}");
        }
    }
}
