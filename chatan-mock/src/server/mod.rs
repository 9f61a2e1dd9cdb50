//! The HTTP server: routing, auth, latency, fault injection, and the request log.

use std::collections::HashMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;

use crate::config::{Fault, MockConfig};
use crate::wire::{self, Api};

mod batches;
mod faults;
mod respond;

use self::batches::batch;
use self::faults::{check_headers, latency, next_fault, over_rate, roll};
use self::respond::respond;

/// One request as the server saw it.
#[derive(Debug, Clone)]
pub struct Exchange {
    /// Order of arrival, from 0.
    pub id: u64,
    /// Which API it used.
    pub api: Api,
    /// The model asked for.
    pub model: String,
    /// The system prompt, if any.
    pub system: Option<String>,
    /// The user prompt.
    pub prompt: String,
    /// The temperature, if given.
    pub temperature: Option<f64>,
    /// The reply length limit, if given.
    pub max_tokens: Option<u64>,
    /// The nucleus-sampling `top_p`, if given.
    pub top_p: Option<f64>,
    /// Which field carried the length limit: `max_tokens` or `max_completion_tokens`.
    pub max_tokens_param: Option<&'static str>,
    /// Stop sequences (`stop`, or Anthropic's `stop_sequences`).
    pub stop: Vec<String>,
    /// The sampling seed, if given (OpenAI only).
    pub seed: Option<u64>,
    /// The JSON Schema the reply had to match, for a structured request.
    pub schema: Option<serde_json::Value>,
    /// How the request asked for structured output.
    pub structured: Option<crate::wire::Structured>,
    /// Whether the system prompt was marked for caching (Anthropic `cache_control`).
    pub cache_system: bool,
    /// Every message of the request, as (role, text): a question asked again carries
    /// the reply before and the follow-up.
    pub turns: Vec<(String, String)>,
    /// When the request arrived, since the server started.
    pub received: Duration,
    /// When the response was sent (or the connection dropped), since the server started.
    pub finished: Duration,
    /// The fault injected, if any.
    pub fault: Option<Fault>,
    /// The reply text, for successful requests.
    pub reply: Option<String>,
    /// The request body as sent.
    pub body: serde_json::Value,
}

/// Counters since the server started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Stats {
    /// Requests that reached a chat endpoint.
    pub requests: u64,
    /// Requests answered with a reply.
    pub replies: u64,
    /// Requests that got each injected fault.
    pub faults: HashMap<Fault, u64>,
    /// Requests that were refused (bad key, bad body) without an injected fault.
    pub refused: u64,
    /// Requests being handled now.
    pub in_flight: usize,
    /// The most requests ever handled at once.
    pub max_in_flight: usize,
    /// Prompt tokens of the requests answered with a reply, as their `usage` said.
    pub input_tokens: u64,
    /// Reply tokens of the requests answered with a reply, as their `usage` said.
    pub output_tokens: u64,
    /// Requests answered inside batches (OpenAI Batch, Anthropic Message Batches).
    pub batch_requests: u64,
}

struct State {
    config: MockConfig,
    started: Instant,
    next_id: AtomicU64,
    in_flight: AtomicUsize,
    max_in_flight: AtomicUsize,
    script: Mutex<std::collections::VecDeque<Fault>>,
    dice: Mutex<u64>,
    reply_turns: Vec<AtomicUsize>,
    log: Mutex<Vec<Exchange>>,
    refused: AtomicU64,
    /// Arrival times of the requests let through in the last second (for
    /// `MockConfig::requests_per_second`).
    window: Mutex<std::collections::VecDeque<Instant>>,
    batches: Mutex<crate::batch::Store>,
    batch_requests: AtomicU64,
    /// System prompts marked for caching that are in Anthropic's prompt cache.
    cached_systems: Mutex<std::collections::HashSet<String>>,
}

/// A running mock LLM server on a loopback port. Dropping it stops accepting
/// connections.
///
/// ```
/// use chatan_mock::{MockConfig, MockServer};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
/// let server = MockServer::start(MockConfig::new()).await?;
/// println!("OpenAI base URL: {}", server.openai_url());
/// println!("Anthropic base URL: {}", server.anthropic_url());
/// # Ok(()) }
/// ```
pub struct MockServer {
    addr: SocketAddr,
    state: Arc<State>,
    accept: JoinHandle<()>,
    /// Set when the server is killed: every open connection closes.
    killed: tokio::sync::watch::Sender<bool>,
}

impl MockServer {
    /// Starts a server on an ephemeral loopback port.
    pub async fn start(config: MockConfig) -> io::Result<Self> {
        Self::bind(SocketAddr::from(([127, 0, 0, 1], 0)), config).await
    }

    /// Starts a server on `addr`.
    pub async fn bind(addr: SocketAddr, config: MockConfig) -> io::Result<Self> {
        let listener = TcpListener::bind(addr).await?;
        let addr = listener.local_addr()?;
        let state = Arc::new(State {
            started: Instant::now(),
            next_id: AtomicU64::new(0),
            in_flight: AtomicUsize::new(0),
            max_in_flight: AtomicUsize::new(0),
            script: Mutex::new(config.script.iter().copied().collect()),
            dice: Mutex::new(config.seed),
            reply_turns: config
                .reply_rules
                .iter()
                .map(|_| AtomicUsize::new(0))
                .collect(),
            log: Mutex::new(Vec::new()),
            refused: AtomicU64::new(0),
            window: Mutex::new(std::collections::VecDeque::new()),
            batches: Mutex::new(crate::batch::Store::default()),
            batch_requests: AtomicU64::new(0),
            cached_systems: Mutex::new(std::collections::HashSet::new()),
            config,
        });
        let accept_state = Arc::clone(&state);
        let (killed, alive) = tokio::sync::watch::channel(false);
        let accept = tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let state = Arc::clone(&accept_state);
                let mut alive = alive.clone();
                tokio::spawn(async move {
                    let service = service_fn(move |req| handle(Arc::clone(&state), req));
                    let connection = http1::Builder::new()
                        .keep_alive(true)
                        .serve_connection(TokioIo::new(stream), service);
                    // Errors here are dropped connections, some of them on purpose.
                    tokio::select! {
                        _ = connection => {}
                        _ = alive.wait_for(|killed| *killed) => {}
                    }
                });
            }
        });
        Ok(MockServer {
            addr,
            state,
            accept,
            killed,
        })
    }

    /// Stops the server as a crash would: it listens no more, and every open connection
    /// is closed, with any request on it unanswered.
    pub fn kill(&self) {
        self.accept.abort();
        let _ = self.killed.send(true);
    }

    /// The batches it was sent (OpenAI Batch and Anthropic Message Batches).
    pub fn batches(&self) -> Vec<crate::batch::BatchInfo> {
        lock(&self.state.batches).infos()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The base URL for OpenAI clients (ends in `/v1`).
    pub fn openai_url(&self) -> String {
        format!("http://{}/v1", self.addr)
    }

    /// The base URL for Anthropic clients.
    pub fn anthropic_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The counters so far.
    pub fn stats(&self) -> Stats {
        let log = lock(&self.state.log);
        let mut faults = HashMap::new();
        for fault in log.iter().filter_map(|e| e.fault) {
            *faults.entry(fault).or_insert(0) += 1;
        }
        Stats {
            requests: self.state.next_id.load(Ordering::SeqCst),
            replies: log.iter().filter(|e| e.reply.is_some()).count() as u64,
            faults,
            refused: self.state.refused.load(Ordering::SeqCst),
            in_flight: self.state.in_flight.load(Ordering::SeqCst),
            max_in_flight: self.state.max_in_flight.load(Ordering::SeqCst),
            input_tokens: log
                .iter()
                .filter(|e| e.reply.is_some())
                .map(|e| wire::tokens(&e.prompt) as u64)
                .sum(),
            output_tokens: log
                .iter()
                .filter_map(|e| e.reply.as_deref())
                .map(|r| wire::tokens(r) as u64)
                .sum(),
            batch_requests: self.state.batch_requests.load(Ordering::SeqCst),
        }
    }

    /// Every finished request so far, in order of completion.
    pub fn exchanges(&self) -> Vec<Exchange> {
        lock(&self.state.log).clone()
    }
}

impl Drop for MockServer {
    fn drop(&mut self) {
        self.accept.abort();
    }
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

type Reply = Response<Full<Bytes>>;
type Failure = Box<dyn std::error::Error + Send + Sync>;

fn json(status: StatusCode, body: &serde_json::Value) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        hyper::header::CONTENT_TYPE,
        hyper::header::HeaderValue::from_static("application/json"),
    );
    response
}

async fn handle(state: Arc<State>, req: Request<Incoming>) -> Result<Reply, Failure> {
    if let Some(route) = crate::batch::Route::of(req.method(), req.uri().path()) {
        return batch(&state, route, req).await;
    }
    let api = match (req.method(), req.uri().path()) {
        (&Method::POST, "/v1/chat/completions") => Api::OpenAi,
        (&Method::POST, "/v1/messages") => Api::Anthropic,
        (&Method::GET, "/health") => {
            return Ok(Response::new(Full::new(Bytes::from_static(b"ok"))));
        }
        (_, path) => {
            let path = path.to_owned();
            return Ok(json(
                StatusCode::NOT_FOUND,
                &wire::error(Api::OpenAi, 404, &format!("no route for {path}")),
            ));
        }
    };
    if let Some(refusal) = check_headers(&state.config, api, &req) {
        state.refused.fetch_add(1, Ordering::SeqCst);
        state.next_id.fetch_add(1, Ordering::SeqCst);
        return Ok(refusal);
    }
    let sent_key = req
        .headers()
        .get(if api == Api::OpenAi {
            "authorization"
        } else {
            "x-api-key"
        })
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned);
    let body = req.into_body().collect().await?.to_bytes();
    let raw: serde_json::Value = serde_json::from_slice(&body).unwrap_or_default();
    let checked = serde_json::from_slice::<serde_json::Value>(&body)
        .map_err(|e| format!("invalid request body: {e}"))
        .and_then(|value| crate::rules::check(api, &value, &state.config));
    let asked = match checked.and_then(|()| wire::parse(api, &body)) {
        Ok(asked) => asked,
        Err(message) => {
            state.refused.fetch_add(1, Ordering::SeqCst);
            state.next_id.fetch_add(1, Ordering::SeqCst);
            return Ok(json(
                StatusCode::BAD_REQUEST,
                &wire::error(api, 400, &message),
            ));
        }
    };
    if !state.config.models.is_empty() && !state.config.models.contains(&asked.model) {
        state.refused.fetch_add(1, Ordering::SeqCst);
        state.next_id.fetch_add(1, Ordering::SeqCst);
        return Ok(json(
            StatusCode::NOT_FOUND,
            &wire::unknown_model(api, &asked.model),
        ));
    }
    let id = state.next_id.fetch_add(1, Ordering::SeqCst);
    let received = state.started.elapsed();
    let now = state.in_flight.fetch_add(1, Ordering::SeqCst) + 1;
    state.max_in_flight.fetch_max(now, Ordering::SeqCst);

    let limited = over_rate(&state);
    let fault = limited
        .map(|_| Fault::RateLimit)
        .or_else(|| next_fault(&state, id))
        .or_else(|| {
            state
                .config
                .fault_rules
                .iter()
                .find(|rule| asked.prompt.contains(&rule.needle))
                .map(|rule| rule.fault)
        });
    let slow = match state.config.slow {
        Some((fraction, extra)) if roll(&state) < fraction => extra,
        _ => Duration::ZERO,
    };
    tokio::time::sleep(latency(&state.config, &asked.prompt) + slow).await;
    let (result, reply_text) = respond(
        &state,
        api,
        id,
        &asked,
        (fault, limited),
        sent_key.as_deref(),
    );

    state.in_flight.fetch_sub(1, Ordering::SeqCst);
    lock(&state.log).push(Exchange {
        id,
        api,
        model: asked.model,
        system: asked.system,
        prompt: asked.prompt,
        temperature: asked.temperature,
        max_tokens: asked.max_tokens,
        top_p: asked.top_p,
        max_tokens_param: asked.max_tokens_param,
        stop: asked.stop,
        seed: asked.seed,
        schema: asked.schema,
        structured: asked.structured,
        cache_system: asked.cache_system,
        turns: asked.turns,
        received,
        finished: state.started.elapsed(),
        fault,
        reply: reply_text,
        body: raw,
    });
    result
}
