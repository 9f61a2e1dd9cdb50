//! One file downloaded to disk: streamed (never whole in memory), checked against the
//! sha256 it should have, written under a temporary name and renamed into place, with a
//! progress bar on a terminal (feature `progress`).

use std::io::Write as _;
use std::path::{Path, PathBuf};

use sha2::Digest as _;

use super::Hub;

/// Why a download failed: the server could not be reached (a cache or another source
/// may do), or it answered with an error or the wrong bytes (it will not).
#[derive(Debug)]
pub(crate) enum Fetch {
    Unreachable(String),
    Failed(String),
}

impl Fetch {
    pub(crate) fn message(self) -> String {
        match self {
            Fetch::Unreachable(m) | Fetch::Failed(m) => m,
        }
    }
}

/// The lowercase hex sha256 of what was written.
pub(crate) type Sha256 = String;

impl Hub {
    /// A GET of `url` sent, as a [`Fetch`] error when it cannot be sent or answers with
    /// an error status.
    pub(crate) async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, Fetch> {
        let response = request.send().await.map_err(|e| {
            Fetch::Unreachable(format!("could not be reached ({})", e.without_url()))
        })?;
        let status = response.status();
        if !status.is_success() {
            let url = response.url().to_string();
            return Err(Fetch::Failed(super::status_error(status, &url)));
        }
        Ok(response)
    }

    /// Downloads `url` (with the hub's token when `authorized`) to `path`, checking its
    /// sha256 against `sha256` when given. `what` names it on the progress bar.
    pub(crate) async fn download(
        &self,
        url: &str,
        authorized: bool,
        path: &Path,
        sha256: Option<&str>,
        what: &str,
    ) -> Result<Sha256, Fetch> {
        let request = self.client.get(url);
        let request = if authorized {
            self.authorized(request)
        } else {
            request
        };
        let mut response = self.send(request).await.map_err(|e| match e {
            Fetch::Unreachable(m) => Fetch::Unreachable(format!("{url} {m}")),
            failed => failed,
        })?;
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)
                .map_err(|e| Fetch::Failed(format!("{}: {e}", parent.display())))?;
        }
        let partial = incomplete(path);
        let mut file = std::fs::File::create(&partial)
            .map_err(|e| Fetch::Failed(format!("{}: {e}", partial.display())))?;
        let mut bar = Bar::new(what, response.content_length());
        let mut hasher = sha2::Sha256::new();
        let written = loop {
            let chunk = match response.chunk().await {
                Ok(Some(chunk)) => chunk,
                Ok(None) => break Ok(()),
                Err(e) => {
                    break Err(Fetch::Unreachable(format!(
                        "{url}: the download broke off ({})",
                        e.without_url()
                    )));
                }
            };
            hasher.update(&chunk);
            if let Err(e) = file.write_all(&chunk) {
                break Err(Fetch::Failed(format!("{}: {e}", partial.display())));
            }
            bar.advance(chunk.len());
        };
        bar.finish();
        let finished = written.and_then(|()| {
            file.sync_all()
                .map_err(|e| Fetch::Failed(format!("{}: {e}", partial.display())))?;
            let digest = hex(&hasher.finalize());
            check(&digest, sha256, url)?;
            Ok(digest)
        });
        match finished {
            Ok(digest) => {
                std::fs::rename(&partial, path)
                    .map_err(|e| Fetch::Failed(format!("{}: {e}", path.display())))?;
                Ok(digest)
            }
            Err(e) => {
                let _ = std::fs::remove_file(&partial);
                Err(e)
            }
        }
    }
}

/// An error unless `digest` is the `expected` one (when there is one).
pub(crate) fn check(digest: &str, expected: Option<&str>, what: &str) -> Result<(), Fetch> {
    match expected {
        Some(expected) if !digest.eq_ignore_ascii_case(expected) => Err(Fetch::Failed(format!(
            "{what}: the bytes received have sha256 {digest}, not the expected {expected}; \
             nothing was kept"
        ))),
        _ => Ok(()),
    }
}

/// Where `path` is written before it is whole: `.{name}.incomplete` beside it.
pub(crate) fn incomplete(path: &Path) -> PathBuf {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    path.with_file_name(format!(".{name}.incomplete"))
}

/// Lowercase hex.
pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A download's progress: a bar on standard error when it is a terminal (feature
/// `progress`), and a log line at its start and end either way.
pub(crate) struct Bar {
    #[cfg(feature = "progress")]
    bar: Option<indicatif::ProgressBar>,
    started: std::time::Instant,
    what: String,
    bytes: u64,
}

impl Bar {
    pub(crate) fn new(what: &str, length: Option<u64>) -> Self {
        tracing::info!(
            "downloading {what}{}",
            length
                .map(|n| format!(" ({})", megabytes(n)))
                .unwrap_or_default()
        );
        Bar {
            #[cfg(feature = "progress")]
            bar: progress_bar(what, length),
            started: std::time::Instant::now(),
            what: what.to_owned(),
            bytes: 0,
        }
    }

    pub(crate) fn advance(&mut self, n: usize) {
        self.bytes += n as u64;
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.inc(n as u64);
        }
    }

    pub(crate) fn finish(&self) {
        #[cfg(feature = "progress")]
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
        tracing::info!(
            "downloaded {} of {} in {:.1?}",
            megabytes(self.bytes),
            self.what,
            self.started.elapsed()
        );
    }
}

/// A bar for files big enough to wait for, when standard error is a terminal (unless
/// `CHATAN_PROGRESS=0`).
#[cfg(feature = "progress")]
fn progress_bar(what: &str, length: Option<u64>) -> Option<indicatif::ProgressBar> {
    use std::io::IsTerminal as _;
    let quiet = matches!(
        std::env::var("CHATAN_PROGRESS").as_deref(),
        Ok("0" | "false" | "off")
    );
    if quiet || !std::io::stderr().is_terminal() || length.is_some_and(|n| n < 1 << 20) {
        return None;
    }
    let bar = match length {
        Some(n) => indicatif::ProgressBar::new(n),
        None => indicatif::ProgressBar::no_length(),
    };
    let style = indicatif::ProgressStyle::with_template(
        "{msg} [{bar:24}] {bytes}/{total_bytes} {bytes_per_sec}, ETA {eta}",
    )
    .unwrap_or_else(|_| indicatif::ProgressStyle::default_bar());
    bar.set_style(style.progress_chars("=> "));
    bar.set_message(format!("downloading {what}"));
    Some(bar)
}

/// `n` bytes in megabytes, for people.
pub(crate) fn megabytes(n: u64) -> String {
    format!("{:.1} MB", n as f64 / 1e6)
}
