//! Sharded datasets in object storage (feature `object-store`): the folder layout of
//! [`write_shard`](crate::Runner::write_shard) — `data/{split}-{k}-of-{n}.parquet`,
//! `.chatan/{split}-{k}-of-{n}.json` manifests, `README.md` — under a prefix of an S3,
//! GCS or Azure bucket, through the `object_store` crate. Each part is uploaded as a
//! multipart upload while it is written (a part per 8 MiB of row groups), completed
//! only when the part is whole, so a reader never sees half a part. Checkpoints stay on
//! local disk (they are appended to row by row), under [`Remote::state_dir`].

use std::io::Write;
use std::path::PathBuf;
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
/// use chatan::data::Remote;
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

#[cfg(test)]
mod tests {
    use super::Remote;

    #[test]
    fn a_url_object_store_cannot_read_is_an_error_naming_it() {
        for url in ["not a url", "ftp://bucket/prefix"] {
            let error = Remote::from_url(url).unwrap_err().to_string();
            assert!(error.starts_with(url), "{error}");
        }
    }
}
