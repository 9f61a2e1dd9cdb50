//! A stand-in for the Hugging Face hub's dataset endpoints, so that tests download
//! datasets over real HTTP without reaching the internet:
//!
//! * `GET /api/datasets/{owner}/{name}/parquet/{config}/{split}`: the JSON list of the
//!   split's parquet file URLs, as the hub serves it;
//! * `GET /datasets/{owner}/{name}/resolve/{revision}/{path}`: a file's bytes.
//!
//! An optional token is required as `Authorization: Bearer <token>`; every request is
//! counted by path.

use std::collections::HashMap;
use std::io;
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

/// The revision the hub keeps its parquet conversions under.
const PARQUET_REVISION: &str = "refs%2Fconvert%2Fparquet";

struct State {
    /// `(repo, config, split)` → the split's parquet files.
    splits: HashMap<(String, String, String), Vec<Bytes>>,
    token: Option<String>,
    hits: Mutex<HashMap<String, u64>>,
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
            splits: self.splits,
            token: self.token,
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
                        async move { Ok::<_, std::convert::Infallible>(handle(&state, addr, req)) }
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

fn handle(state: &State, addr: SocketAddr, req: Request<Incoming>) -> Response<Full<Bytes>> {
    let path = req.uri().path().to_owned();
    *state
        .hits
        .lock()
        .unwrap_or_else(PoisonError::into_inner)
        .entry(path.clone())
        .or_default() += 1;
    if let Some(token) = &state.token {
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
    let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
    let not_found = || respond(StatusCode::NOT_FOUND, r#"{"error":"Repository not found"}"#);
    match parts.as_slice() {
        ["api", "datasets", owner, name, "parquet", config, split] => {
            let key = (
                format!("{owner}/{name}"),
                config.to_string(),
                split.to_string(),
            );
            let Some(files) = state.splits.get(&key) else {
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
            match (state.splits.get(&key), index) {
                (Some(files), Some(i)) if i < files.len() => {
                    respond(StatusCode::OK, files[i].clone())
                }
                _ => not_found(),
            }
        }
        _ => not_found(),
    }
}
