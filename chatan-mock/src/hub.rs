//! A stand-in for the Hugging Face hub's dataset endpoints, so that tests download
//! datasets over real HTTP without reaching the internet:
//!
//! * `GET /api/datasets/{owner}/{name}/parquet/{config}/{split}`: the JSON list of the
//!   split's parquet file URLs, as the hub serves it;
//! * `GET /datasets/{owner}/{name}/resolve/{revision}/{path}`: a file's bytes;
//! * uploads as `huggingface_hub` makes them: `POST /api/repos/create`,
//!   `POST /api/datasets/{owner}/{name}/preupload/{revision}` (parquet goes to LFS),
//!   the LFS batch API at `POST /datasets/{owner}/{name}.git/info/lfs/objects/batch`
//!   with upload and verify actions, and `POST /api/datasets/{owner}/{name}/commit/{revision}`
//!   (NDJSON: a header, then `file` and `lfsFile` lines). A committed
//!   `data/{split}-…parquet` file is then listed as split `split` of config `default`,
//!   so a test can push a dataset and read it back.
//!
//! * model repositories as `huggingface_hub.snapshot_download` reads them:
//!   `GET /api/models/{repo}/revision/{revision}` (the commit and the file list) and
//!   `GET /{repo}/resolve/{revision}/{path}` (a file's bytes), for repos `name` or
//!   `owner/name`.
//!
//! An optional token is required as `Authorization: Bearer <token>`; every request is
//! counted by path.

use std::collections::{BTreeMap, HashMap};
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

/// The revision the hub keeps its parquet conversions under.
const PARQUET_REVISION: &str = "refs%2Fconvert%2Fparquet";

struct State {
    /// `(repo, config, split)` → the split's parquet files.
    splits: Mutex<HashMap<(String, String, String), Vec<Bytes>>>,
    token: Option<String>,
    hits: Mutex<HashMap<String, u64>>,
    /// Repositories made or pushed to: repo → path → bytes.
    repos: Mutex<HashMap<String, BTreeMap<String, Bytes>>>,
    /// LFS objects uploaded, by sha256.
    lfs: Mutex<HashMap<String, Bytes>>,
    commits: Mutex<u64>,
    /// Model repositories: repo → path → bytes.
    models: HashMap<String, BTreeMap<String, Bytes>>,
}

fn lock<T>(mutex: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A running stand-in for the Hugging Face hub's dataset endpoints, on a loopback port:
/// `GET /api/datasets/{owner}/{name}/parquet/{config}/{split}` lists a split's parquet
/// file URLs, `GET /datasets/{owner}/{name}/resolve/{revision}/{path}` serves a file. An
/// optional token is required as `Authorization: Bearer <token>`; requests are counted
/// by path.
///
/// ```
/// use chatan_mock::MockHub;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let hub = MockHub::builder()
///     .split("owner/prompts", "default", "train", vec![/* parquet bytes */])
///     .start()
///     .await?;
/// println!("HF_ENDPOINT={}", hub.url());
/// # Ok(()) }
/// ```
pub struct MockHub {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
}

/// What a [`MockHub`] serves.
#[derive(Default)]
pub struct MockHubBuilder {
    splits: HashMap<(String, String, String), Vec<Bytes>>,
    token: Option<String>,
    models: HashMap<String, BTreeMap<String, Bytes>>,
}

impl MockHubBuilder {
    /// Adds a parquet file to split `split` of config `config` of dataset `repo`
    /// (`owner/name`).
    pub fn split(mut self, repo: &str, config: &str, split: &str, parquet: Vec<u8>) -> Self {
        self.splits
            .entry((repo.to_owned(), config.to_owned(), split.to_owned()))
            .or_default()
            .push(Bytes::from(parquet));
        self
    }

    /// Serves model repository `repo` (`name` or `owner/name`) with the files of folder
    /// `dir` and its subfolders (`1_Pooling/config.json`), by their paths in it.
    pub fn model_folder(mut self, repo: &str, dir: &std::path::Path) -> io::Result<Self> {
        let mut files = BTreeMap::new();
        let mut folders = vec![dir.to_owned()];
        while let Some(folder) = folders.pop() {
            for entry in std::fs::read_dir(&folder)? {
                let path = entry?.path();
                if path.is_dir() {
                    folders.push(path);
                } else if path.is_file() {
                    let name = path
                        .strip_prefix(dir)
                        .unwrap_or(&path)
                        .components()
                        .map(|c| c.as_os_str().to_string_lossy().into_owned())
                        .collect::<Vec<_>>()
                        .join("/");
                    files.insert(name, Bytes::from(std::fs::read(&path)?));
                }
            }
        }
        self.models.insert(repo.to_owned(), files);
        Ok(self)
    }

    /// Requires this token.
    pub fn token(mut self, token: &str) -> Self {
        self.token = Some(token.to_owned());
        self
    }

    /// Starts serving on an ephemeral loopback port.
    pub async fn start(self) -> io::Result<MockHub> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            splits: Mutex::new(self.splits),
            token: self.token,
            hits: Mutex::new(HashMap::new()),
            repos: Mutex::new(HashMap::new()),
            lfs: Mutex::new(HashMap::new()),
            commits: Mutex::new(0),
            models: self.models,
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
                        async move { Ok::<_, std::convert::Infallible>(handle(&state, addr, req).await) }
                    });
                    let _ = http1::Builder::new()
                        .serve_connection(TokioIo::new(stream), service)
                        .await;
                });
            }
        });
        Ok(MockHub {
            addr,
            state,
            accept,
        })
    }
}

impl MockHub {
    /// What to serve.
    pub fn builder() -> MockHubBuilder {
        MockHubBuilder::default()
    }

    /// The endpoint, for `HF_ENDPOINT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// How many requests each path got.
    pub fn hits(&self) -> HashMap<String, u64> {
        self.state
            .hits
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    /// The files of dataset `repo` as its commits left them, if it was created.
    pub fn repo_files(&self, repo: &str) -> Option<BTreeMap<String, Vec<u8>>> {
        lock(&self.state.repos).get(repo).map(|files| {
            files
                .iter()
                .map(|(path, bytes)| (path.clone(), bytes.to_vec()))
                .collect()
        })
    }

    /// How many commits were made.
    pub fn commits(&self) -> u64 {
        *lock(&self.state.commits)
    }

    /// How many requests were for file contents.
    pub fn downloads(&self) -> u64 {
        self.hits()
            .iter()
            .filter(|(path, _)| path.contains("/resolve/"))
            .map(|(_, n)| n)
            .sum()
    }
}

impl Drop for MockHub {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn respond(status: StatusCode, body: impl Into<Bytes>) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    response
}

async fn handle(state: &State, addr: SocketAddr, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    let method = req.method().clone();
    *state
        .hits
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(path.clone())
        .or_default() += 1;
    // LFS upload URLs stand for presigned storage URLs: they carry no token.
    let presigned = path.starts_with("/lfs-upload/");
    if let (Some(token), false) = (&state.token, presigned) {
        let sent = req
            .headers()
            .get("authorization")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.strip_prefix("Bearer "));
        if sent != Some(token.as_str()) {
            return respond(
                StatusCode::UNAUTHORIZED,
                r#"{"error":"Invalid credentials in Authorization header"}"#,
            );
        }
    }
    let body = match req.into_body().collect().await {
        Ok(body) => body.to_bytes(),
        Err(_) => return respond(StatusCode::BAD_REQUEST, "unreadable body"),
    };
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = || respond(StatusCode::NOT_FOUND, r#"{"error":"Repository not found"}"#);
    if method == hyper::Method::POST || method == hyper::Method::PUT {
        return upload(state, addr, &parts, &body);
    }
    match parts.as_slice() {
        ["api", "datasets", owner, name, "parquet", config, split] => {
            let key = (
                format!("{owner}/{name}"),
                config.to_string(),
                split.to_string(),
            );
            let splits = lock(&state.splits);
            let Some(files) = splits.get(&key) else {
                return not_found();
            };
            let urls: Vec<String> = (0..files.len())
                .map(|i| {
                    format!(
                        "http://{addr}/datasets/{owner}/{name}/resolve/{PARQUET_REVISION}/{config}/{split}/{i:04}.parquet"
                    )
                })
                .collect();
            respond(
                StatusCode::OK,
                serde_json::to_string(&urls).unwrap_or_default(),
            )
        }
        [
            "datasets",
            owner,
            name,
            "resolve",
            _revision,
            config,
            split,
            file,
        ] => {
            let key = (
                format!("{owner}/{name}"),
                config.to_string(),
                split.to_string(),
            );
            let index = file
                .strip_suffix(".parquet")
                .and_then(|n| n.parse::<usize>().ok());
            match (lock(&state.splits).get(&key), index) {
                (Some(files), Some(i)) if i < files.len() => {
                    respond(StatusCode::OK, files[i].clone())
                }
                _ => not_found(),
            }
        }
        _ => model(state, &parts).unwrap_or_else(not_found),
    }
}

/// A model repository's commit: a digest of its files, so it changes when they do.
fn model_commit(files: &BTreeMap<String, Bytes>) -> String {
    let mut all = Vec::new();
    for (name, bytes) in files {
        all.extend_from_slice(name.as_bytes());
        all.extend_from_slice(&sha256(bytes).into_bytes());
    }
    sha256(&all)[..40].to_owned()
}

/// The model routes: `api/models/{repo}/revision/{rev}` and `{repo}/resolve/{rev}/{file}`.
fn model(state: &State, parts: &[&str]) -> Option<Response<Full<Bytes>>> {
    if let ["api", "models", repo @ .., "revision", _revision] = parts {
        let files = state.models.get(&repo.join("/"))?;
        let info = serde_json::json!({
            "id": repo.join("/"),
            "sha": model_commit(files),
            "siblings": files.keys().map(|f| serde_json::json!({"rfilename": f})).collect::<Vec<_>>(),
        });
        return Some(respond(StatusCode::OK, info.to_string()));
    }
    let at = parts.iter().position(|p| *p == "resolve")?;
    let (repo, rest) = (&parts[..at], &parts[at + 1..]);
    let [_revision, file @ ..] = rest else {
        return None;
    };
    let bytes = state
        .models
        .get(&repo.join("/"))?
        .get(&file.join("/"))?
        .clone();
    Some(respond(StatusCode::OK, bytes))
}

/// The upload routes: repository creation, preupload, LFS batch / upload / verify, commit.
fn upload(state: &State, addr: SocketAddr, parts: &[&str], body: &Bytes) -> Response<Full<Bytes>> {
    let bad = |message: &str| {
        respond(
            StatusCode::BAD_REQUEST,
            serde_json::json!({ "error": message }).to_string(),
        )
    };
    let json = || serde_json::from_slice::<serde_json::Value>(body);
    match parts {
        ["api", "repos", "create"] => {
            let Ok(request) = json() else {
                return bad("the body is not JSON");
            };
            if request["type"] != "dataset" {
                return bad("this stand-in makes dataset repositories only");
            }
            let (Some(owner), Some(name)) =
                (request["organization"].as_str(), request["name"].as_str())
            else {
                return bad("organization and name are required");
            };
            let repo = format!("{owner}/{name}");
            let mut repos = lock(&state.repos);
            if repos.contains_key(&repo) {
                return respond(
                    StatusCode::CONFLICT,
                    r#"{"error":"You already created this dataset repo"}"#,
                );
            }
            repos.insert(repo.clone(), BTreeMap::new());
            respond(
                StatusCode::OK,
                serde_json::json!({ "url": format!("http://{addr}/datasets/{repo}") }).to_string(),
            )
        }
        ["api", "datasets", owner, name, "preupload", _revision] => {
            if !lock(&state.repos).contains_key(&format!("{owner}/{name}")) {
                return respond(StatusCode::NOT_FOUND, r#"{"error":"Repository not found"}"#);
            }
            let Ok(request) = json() else {
                return bad("the body is not JSON");
            };
            let files: Vec<serde_json::Value> = request["files"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|f| {
                    let path = f["path"].as_str().unwrap_or_default();
                    let mode = if path.ends_with(".parquet") {
                        "lfs"
                    } else {
                        "regular"
                    };
                    serde_json::json!({ "path": path, "uploadMode": mode, "shouldIgnore": false })
                })
                .collect();
            respond(
                StatusCode::OK,
                serde_json::json!({ "files": files }).to_string(),
            )
        }
        [
            "datasets",
            owner,
            name_git,
            "info",
            "lfs",
            "objects",
            "batch",
        ] => {
            let Some(name) = name_git.strip_suffix(".git") else {
                return bad("not an LFS endpoint");
            };
            if !lock(&state.repos).contains_key(&format!("{owner}/{name}")) {
                return respond(
                    StatusCode::NOT_FOUND,
                    r#"{"message":"Repository not found"}"#,
                );
            }
            let Ok(request) = json() else {
                return bad("the body is not JSON");
            };
            let stored = lock(&state.lfs);
            let objects: Vec<serde_json::Value> = request["objects"]
                .as_array()
                .into_iter()
                .flatten()
                .map(|o| {
                    let oid = o["oid"].as_str().unwrap_or_default();
                    if stored.contains_key(oid) {
                        return serde_json::json!({ "oid": oid, "size": o["size"] });
                    }
                    serde_json::json!({
                        "oid": oid,
                        "size": o["size"],
                        "actions": {
                            "upload": { "href": format!("http://{addr}/lfs-upload/{oid}") },
                            "verify": { "href": format!("http://{addr}/lfs-verify/{oid}") },
                        },
                    })
                })
                .collect();
            respond(
                StatusCode::OK,
                serde_json::json!({ "objects": objects }).to_string(),
            )
        }
        ["lfs-upload", oid] => {
            if sha256(body) != *oid {
                return bad("the uploaded bytes do not hash to the object id");
            }
            lock(&state.lfs).insert(oid.to_string(), body.clone());
            respond(StatusCode::OK, "")
        }
        ["lfs-verify", oid] => {
            if lock(&state.lfs).contains_key(*oid) {
                respond(StatusCode::OK, "{}")
            } else {
                respond(StatusCode::NOT_FOUND, r#"{"message":"object not found"}"#)
            }
        }
        ["api", "datasets", owner, name, "commit", _revision] => {
            let repo = format!("{owner}/{name}");
            if !lock(&state.repos).contains_key(&repo) {
                return respond(StatusCode::NOT_FOUND, r#"{"error":"Repository not found"}"#);
            }
            let mut files = BTreeMap::new();
            let mut header = false;
            for line in body.split(|b| *b == b'\n').filter(|l| !l.is_empty()) {
                let Ok(line) = serde_json::from_slice::<serde_json::Value>(line) else {
                    return bad("a commit line is not JSON");
                };
                let value = &line["value"];
                let path = value["path"].as_str().unwrap_or_default().to_owned();
                match line["key"].as_str() {
                    Some("header") => header = value["summary"].is_string(),
                    Some("file") => {
                        use base64::Engine as _;
                        let Ok(bytes) = base64::engine::general_purpose::STANDARD
                            .decode(value["content"].as_str().unwrap_or_default())
                        else {
                            return bad("a file's content is not base64");
                        };
                        files.insert(path, Bytes::from(bytes));
                    }
                    Some("lfsFile") => {
                        let oid = value["oid"].as_str().unwrap_or_default();
                        let Some(bytes) = lock(&state.lfs).get(oid).cloned() else {
                            return bad(&format!("LFS object {oid} of {path} was never uploaded"));
                        };
                        files.insert(path, bytes);
                    }
                    _ => return bad("unknown commit line"),
                }
            }
            if !header {
                return bad("a commit starts with a header holding a summary");
            }
            // A commit's parquet files replace the splits they belong to, in path order.
            let mut pushed: BTreeMap<String, Vec<Bytes>> = BTreeMap::new();
            for (path, bytes) in &files {
                let split = path
                    .strip_prefix("data/")
                    .and_then(|f| f.strip_suffix(".parquet"))
                    .and_then(|f| f.split_once('-'))
                    .map(|(split, _)| split.to_owned());
                if let Some(split) = split {
                    pushed.entry(split).or_default().push(bytes.clone());
                }
            }
            let mut splits = lock(&state.splits);
            for (split, parts) in pushed {
                splits.insert((repo.clone(), "default".to_owned(), split), parts);
            }
            drop(splits);
            lock(&state.repos)
                .entry(repo.clone())
                .or_default()
                .extend(files);
            let mut commits = lock(&state.commits);
            *commits += 1;
            let oid = sha256(format!("{repo}{commits}").as_bytes());
            respond(
                StatusCode::OK,
                serde_json::json!({
                    "commitUrl": format!("http://{addr}/datasets/{repo}/commit/{oid}"),
                    "commitOid": oid,
                })
                .to_string(),
            )
        }
        _ => respond(StatusCode::NOT_FOUND, r#"{"error":"not found"}"#),
    }
}

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}
