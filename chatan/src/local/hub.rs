//! Local models by Hugging Face hub id (features `local` and `hub`).

use std::path::PathBuf;

use crate::hub::Hub;

/// The folder of model `id`, from the cache or fetched into it (see [`Hub`]).
pub(crate) async fn snapshot(id: &str) -> Result<PathBuf, String> {
    Hub::from_env().model(id).await
}

/// [`snapshot`] from synchronous code, inside an async runtime or not: the download
/// runs on a thread of its own with its own small runtime.
pub(crate) fn snapshot_blocking(id: &str) -> Result<PathBuf, String> {
    let id = id.to_owned();
    std::thread::spawn(move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| e.to_string())?
            .block_on(snapshot(&id))
    })
    .join()
    .map_err(|_| "the download thread panicked".to_owned())?
}
