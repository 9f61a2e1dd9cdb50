//! Runs written straight into files as they go: one file ([`WriteRows::write_to`]), or
//! one shard of a Hugging Face dataset folder, on disk or in object storage.

use chatan_core::__private::Recipe;
use chatan_core::{Dataset, Error, FailurePolicy, Generators, IntoRowSet, Runner};
use futures::StreamExt;

use crate::ToFrame;

/// A run written straight into files, as it goes: implemented by [`Runner`] (bring the
/// trait into scope: `use chatan::data::WriteRows;`).
#[allow(async_fn_in_trait)] // Only `Runner` implements it; its futures are `Send` when the run's are.
pub trait WriteRows: Sized {
    /// The row type of the run.
    type Row;

    /// Streams rows `rows` straight into the file `path` (parquet, csv, json or jsonl, by
    /// extension; see [`Sink`](crate::Sink)), in row order, with memory flat for
    /// any number of rows; the number of rows written. Under
    /// [`skip_failed`](chatan_core::Runner::skip_failed), failed rows are left out of the file and
    /// listed beside it, as they fail, in `<name>.failed.jsonl` (unless
    /// [`failures_to`](chatan_core::Runner::failures_to) names another file), and the run goes on;
    /// otherwise the first failure stops the run, the file is completed with the rows
    /// before the first one that did not finish (the first `written` rows of `rows`,
    /// with no gap), and the error is returned.
    ///
    /// ```no_run
    /// # chatan::dataset! { #[derive(Debug)] struct Qa { q: String = gen("a question") } }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use chatan::data::WriteRows;
    ///
    /// let llm = chatan::OpenAi::from_env()?;
    /// let written = Qa::runner(&llm).skip_failed().write_to("qa.parquet", 1_000_000).await?;
    /// # Ok(()) }
    /// ```
    async fn write_to(
        self,
        path: impl AsRef<std::path::Path>,
        rows: impl IntoRowSet,
    ) -> Result<usize, crate::StreamError>;

    /// Makes this process's [`shard`](chatan_core::Runner::shard) of `rows` (all of them without
    /// one) as one part of the Hugging Face dataset folder `dir`:
    /// `data/{split}-{k:05}-of-{n:05}.parquet`, moved into place when complete, with a
    /// manifest of its rows and its own checkpoint under `dir/.chatan/` (a shard that
    /// failed or was stopped runs again alone, and makes only what it lacks), and the
    /// folder's `README.md` card rewritten. Once every shard has run, the folder is one
    /// dataset that Python's `datasets.load_dataset(dir)` opens;
    /// [`verify_shards`](crate::verify_shards) checks that every row is there
    /// exactly once.
    ///
    /// ```no_run
    /// # chatan::dataset! { #[derive(Debug, serde::Serialize, serde::Deserialize)] struct Qa { q: String = gen("a question") } }
    /// # #[tokio::main] async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// use chatan::data::WriteRows;
    ///
    /// let llm = chatan::OpenAi::from_env()?;
    /// // In each task of a Slurm array or Kubernetes Indexed Job:
    /// let shard = chatan::Shard::from_env()?.unwrap_or(chatan::Shard::WHOLE);
    /// let part = Qa::runner(&llm)
    ///     .seed(7)
    ///     .shard(shard)
    ///     .skip_failed()
    ///     .write_shard("qa-dataset", "train", 1_000_000)
    ///     .await?;
    /// println!("{}: {} rows in {}", part.shard, part.rows, part.path.display());
    /// # Ok(()) }
    /// ```
    async fn write_shard(
        self,
        dir: impl AsRef<std::path::Path>,
        split: &str,
        rows: impl IntoRowSet,
    ) -> Result<crate::ShardWritten, crate::StreamError>
    where
        Self::Row: serde::Serialize + serde::de::DeserializeOwned;

    /// [`write_shard`](WriteRows::write_shard) into a dataset folder in object storage
    /// (feature `object-store`; see [`Remote`](crate::Remote)): the part goes up
    /// as a multipart upload while it is written and appears whole when complete; its
    /// manifest and the card go beside it. Its checkpoint is written on local disk,
    /// under the remote's [`state_dir`](crate::Remote::state_dir), and goes up to
    /// the store too, a segment per row group (`.chatan/{split}-{k}-of-{n}.checkpoint/`):
    /// the shard run again on another machine (a rescheduled pod) fetches it and makes
    /// only the rows the store does not have.
    #[cfg(feature = "object-store")]
    async fn write_shard_remote(
        self,
        remote: &crate::Remote,
        split: &str,
        rows: impl IntoRowSet,
    ) -> Result<crate::ShardWritten, crate::StreamError>
    where
        Self::Row: serde::Serialize + serde::de::DeserializeOwned;
}

impl<'g, R, G> WriteRows for Runner<'g, R, G>
where
    R: Dataset + ToFrame,
    G: Generators + ?Sized,
{
    type Row = R;

    async fn write_to(
        self,
        path: impl AsRef<std::path::Path>,
        rows: impl IntoRowSet,
    ) -> Result<usize, crate::StreamError> {
        write_to(self, path, rows).await
    }

    async fn write_shard(
        self,
        dir: impl AsRef<std::path::Path>,
        split: &str,
        rows: impl IntoRowSet,
    ) -> Result<crate::ShardWritten, crate::StreamError>
    where
        R: serde::Serialize + serde::de::DeserializeOwned,
    {
        write_shard(self, dir, split, rows).await
    }

    #[cfg(feature = "object-store")]
    async fn write_shard_remote(
        self,
        remote: &crate::Remote,
        split: &str,
        rows: impl IntoRowSet,
    ) -> Result<crate::ShardWritten, crate::StreamError>
    where
        R: serde::Serialize + serde::de::DeserializeOwned,
    {
        write_shard_remote(self, remote, split, rows).await
    }
}

/// [`WriteRows::write_to`], as a function.
pub async fn write_to<'g, R, G>(
    mut runner: Runner<'g, R, G>,
    path: impl AsRef<std::path::Path>,
    rows: impl IntoRowSet,
) -> Result<usize, crate::StreamError>
where
    R: Dataset + ToFrame,
    G: Generators + ?Sized,
{
    let path = path.as_ref();
    let skip = runner.failure_policy() == FailurePolicy::Skip;
    if skip && runner.failures_path().is_none() {
        let stem = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        runner = runner.failures_to(path.with_file_name(format!("{stem}.failed.jsonl")));
    }
    let mut sink = crate::Sink::create(path)?;
    let mut stream = runner
        .stream(rows)
        .map_err(|error| crate::StreamError::Run { error, written: 0 })?;
    let mut stopped = None;
    while let Some(row) = stream.next().await {
        match row {
            Ok(row) => sink.push(row)?,
            // Listed in the failures file as it failed; the run goes on.
            Err(Error::Cell { .. }) if skip => {}
            Err(error) => {
                stopped.get_or_insert(error);
            }
        }
    }
    let written = sink.finish()?;
    match stopped {
        Some(error) => Err(crate::StreamError::Run { error, written }),
        None => Ok(written),
    }
}

/// [`WriteRows::write_shard`], as a function.
pub async fn write_shard<'g, R, G>(
    runner: Runner<'g, R, G>,
    dir: impl AsRef<std::path::Path>,
    split: &str,
    rows: impl IntoRowSet,
) -> Result<crate::ShardWritten, crate::StreamError>
where
    R: Dataset + ToFrame + serde::Serialize + serde::de::DeserializeOwned,
    G: Generators + ?Sized,
{
    let dir = dir.as_ref();
    let shard = runner.which_shard().unwrap_or(chatan_core::Shard::WHOLE);
    let paths = crate::PartPaths::new(dir, &shard.file_stem(split))?;
    let mut sink = crate::Sink::create(&paths.parquet)?;
    let (outcome, manifest) = shard_run(runner, &paths, split, rows, |row| {
        let pushed = sink.push(row);
        async move { pushed }
    })
    .await?;
    let count = sink.finish()?;
    manifest.write(&paths.manifest)?;
    crate::write_shard_card::<R>(dir)?;
    outcome.finish(shard, paths.parquet, count, 0)
}

#[cfg(feature = "object-store")]
/// [`WriteRows::write_shard_remote`], as a function.
pub async fn write_shard_remote<'g, R, G>(
    runner: Runner<'g, R, G>,
    remote: &crate::Remote,
    split: &str,
    rows: impl IntoRowSet,
) -> Result<crate::ShardWritten, crate::StreamError>
where
    R: Dataset + ToFrame + serde::Serialize + serde::de::DeserializeOwned,
    G: Generators + ?Sized,
{
    let shard = runner.which_shard().unwrap_or(chatan_core::Shard::WHOLE);
    let stem = shard.file_stem(split);
    let paths = crate::PartPaths::new(remote.state(), &stem)?;
    let relative = format!("data/{stem}.parquet");
    let checkpoint = crate::RemoteCheckpoint::restore(remote, &stem, &paths.checkpoint).await?;
    let part = crate::RemotePart::<R>::create(remote, &relative).await?;
    let writing = tokio::sync::Mutex::new((part, checkpoint, 0usize));
    let (outcome, manifest) = {
        let writing = &writing;
        shard_run(runner, &paths, split, rows, move |row| async move {
            // One row at a time: the run's loop awaits each push.
            let (part, checkpoint, since) = &mut *writing.lock().await;
            part.push(row).await?;
            *since += 1;
            if *since >= checkpoint.every() {
                *since = 0;
                checkpoint.upload().await?;
            }
            Ok(())
        })
        .await?
    };
    let (part, mut checkpoint, _) = writing.into_inner();
    // The rows the run ended with (and the failed ones' absence) reach the store
    // before the part is complete.
    checkpoint.upload().await?;
    let (count, uploads) = part.finish().await?;
    let text = serde_json::to_vec_pretty(&manifest).map_err(|e| crate::DataError::Remote {
        url: remote.url().to_owned(),
        message: e.to_string(),
    })?;
    remote.put(&format!(".chatan/{stem}.json"), text).await?;
    crate::write_remote_card::<R>(remote).await?;
    let path = std::path::PathBuf::from(format!("{}/{relative}", remote.url()));
    outcome.finish(shard, path, count, uploads)
}

/// The run of a shard into a part: checkpoint and failures list at `paths`, each
/// finished row handed to `push` in row order; the outcome and the part's manifest.
async fn shard_run<'g, R, G, P, Fut>(
    mut runner: Runner<'g, R, G>,
    paths: &crate::PartPaths,
    split: &str,
    rows: impl IntoRowSet,
    mut push: P,
) -> Result<(ShardOutcome, crate::Manifest), crate::StreamError>
where
    R: Dataset + ToFrame + serde::Serialize + serde::de::DeserializeOwned,
    G: Generators + ?Sized,
    P: FnMut(R) -> Fut,
    Fut: std::future::Future<Output = Result<(), crate::DataError>>,
{
    let shard = runner.which_shard().unwrap_or(chatan_core::Shard::WHOLE);
    if runner.failures_path().is_none() {
        runner = runner.failures_to(&paths.failures);
    }
    runner = runner.checkpoint(&paths.checkpoint);
    let skip = runner.failure_policy() == FailurePolicy::Skip;
    let rows = rows.into_row_set();
    let run = rows.bounds();
    let part = shard.part_of(rows.clone()).bounds();
    let mut stream = runner
        .stream_indexed(rows)
        .map_err(|error| crate::StreamError::Run { error, written: 0 })?;
    let seed = stream.seed();
    let mut written = crate::Ranges::default();
    let mut failed = Vec::new();
    let mut stopped = None;
    while let Some((index, result)) = stream.next().await {
        match result {
            Ok(row) => {
                push(row).await?;
                written.push(index);
            }
            Err(Error::Cell { .. }) if skip => failed.push(index),
            Err(error) => {
                stopped.get_or_insert(error);
            }
        }
    }
    stream.close().await;
    let spec = &<R::__Recipe as Recipe>::SPEC;
    let manifest = crate::Manifest {
        recipe: spec.name.to_owned(),
        fingerprint: format!("{:016x}", spec.fingerprint()),
        seed: seed.to_string(),
        split: split.to_owned(),
        shard: shard.index(),
        of: shard.count(),
        run,
        rows: part,
        written: written.0,
        failed: failed.clone(),
    };
    Ok((ShardOutcome { failed, stopped }, manifest))
}

/// How a shard's run ended: the rows that failed, and the error that stopped it.
struct ShardOutcome {
    failed: Vec<usize>,
    stopped: Option<Error>,
}

impl ShardOutcome {
    // The error is the public methods' own (`write_shard`'s), passed straight up.
    #[allow(clippy::result_large_err)]
    fn finish(
        self,
        shard: chatan_core::Shard,
        path: std::path::PathBuf,
        rows: usize,
        uploads: usize,
    ) -> Result<crate::ShardWritten, crate::StreamError> {
        match self.stopped {
            Some(error) => Err(crate::StreamError::Run {
                error,
                written: rows,
            }),
            None => Ok(crate::ShardWritten {
                shard,
                path,
                rows,
                failed: self.failed,
                uploads,
            }),
        }
    }
}
