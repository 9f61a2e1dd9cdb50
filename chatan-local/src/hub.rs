//! Local models by Hugging Face hub id (features `local` and `hub`).

use std::path::{Path, PathBuf};

use chatan_hub::Hub;

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

/// `model` opened by `open`: as a path if one exists, else as a hub id fetched into the
/// cache (blocking). The flag says it came from the hub (and goes by its id).
pub(crate) fn path_or_hub<T>(
    model: &str,
    open: impl FnOnce(&Path) -> Result<T, chatan_core::Error>,
) -> Result<(T, bool), chatan_core::Error> {
    if Path::new(model).exists() {
        return open(Path::new(model)).map(|t| (t, false));
    }
    let folder = snapshot_blocking(model).map_err(|e| super::load_error(model, e))?;
    open(&folder).map(|t| (t, true))
}

/// Hub id `id` fetched into the cache, then opened by `open` off the async runtime.
pub(crate) async fn open_from_hub<T: Send + 'static>(
    id: &str,
    open: fn(&Path) -> Result<T, chatan_core::Error>,
) -> Result<T, chatan_core::Error> {
    let folder = snapshot(id).await.map_err(|e| super::load_error(id, e))?;
    tokio::task::spawn_blocking(move || open(&folder))
        .await
        .map_err(|e| super::load_error(id, e))?
}
