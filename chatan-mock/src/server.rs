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
use crate::reply;
use crate::wire::{self, Api, Asked};

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

/// The batch APIs (see [`crate::batch`]).
async fn batch(
    state: &Arc<State>,
    route: crate::batch::Route,
    req: Request<Incoming>,
) -> Result<Reply, Failure> {
    use crate::batch::Route;
    let api = route.api();
    if let Some(refusal) = check_headers(&state.config, api, &req) {
        state.refused.fetch_add(1, Ordering::SeqCst);
        return Ok(refusal);
    }
    let content_type = req
        .headers()
        .get(hyper::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("")
        .to_owned();
    let host = req
        .headers()
        .get(hyper::header::HOST)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("127.0.0.1")
        .to_owned();
    let body = req.into_body().collect().await?.to_bytes();
    let bad = |message: &str| {
        Ok(json(
            StatusCode::BAD_REQUEST,
            &wire::error(api, 400, message),
        ))
    };
    let missing = |what: &str| {
        Ok(json(
            StatusCode::NOT_FOUND,
            &wire::error(api, 404, &format!("no {what}")),
        ))
    };
    let read = || serde_json::from_slice::<serde_json::Value>(&body);
    let delay = state.config.batch_delay;
    let answer = |api: Api, body: &serde_json::Value| answer_in_batch(state, api, body);
    let mut store = lock(&state.batches);
    match route {
        Route::UploadFile => match crate::batch::multipart_file(&content_type, &body) {
            Ok(file) => Ok(json(StatusCode::OK, &store.upload(file))),
            Err(message) => bad(&message),
        },
        Route::FileContent(id) => match store.file(&id) {
            Some(bytes) => Ok(Response::new(Full::new(bytes))),
            None => missing(&format!("file {id}")),
        },
        Route::CreateOpenAi => match read()
            .map_err(|e| e.to_string())
            .and_then(|b| store.create_openai(&b, delay, state.config.batch_end))
        {
            Ok(object) => Ok(json(StatusCode::OK, &object)),
            Err(message) => bad(&message),
        },
        Route::CreateAnthropic => match read()
            .map_err(|e| e.to_string())
            .and_then(|b| store.create_anthropic(&b, state.config.batch_end))
        {
            Ok(object) => Ok(json(StatusCode::OK, &object)),
            Err(message) => bad(&message),
        },
        Route::GetOpenAi(id) if store.has(&id, Api::OpenAi) => {
            store.process(&id, delay, &answer);
            Ok(json(StatusCode::OK, &store.openai_object(&id, delay)))
        }
        Route::CancelOpenAi(id) if store.cancel(&id) => {
            Ok(json(StatusCode::OK, &store.openai_object(&id, delay)))
        }
        Route::GetAnthropic(id) if store.has(&id, Api::Anthropic) => {
            store.process(&id, delay, &answer);
            let base = format!("http://{host}");
            Ok(json(StatusCode::OK, &store.anthropic_object(&id, &base)))
        }
        Route::AnthropicResults(id) => match store.anthropic_results(&id) {
            Some(results) => Ok(Response::new(Full::new(Bytes::from(results)))),
            None => missing(&format!("ended batch {id}")),
        },
        Route::GetOpenAi(id) | Route::CancelOpenAi(id) | Route::GetAnthropic(id) => {
            missing(&format!("batch {id}"))
        }
    }
}

/// One request of a batch, answered as the chat endpoint would answer it: a reply
/// body, or the status and error body of the fault a `fail_for` rule gives it.
fn answer_in_batch(state: &State, api: Api, body: &serde_json::Value) -> crate::batch::Answer {
    let asked = crate::rules::check(api, body, &state.config)
        .and_then(|()| wire::parse(api, body.to_string().as_bytes()))
        .map_err(|message| (400, wire::error(api, 400, &message)))?;
    state.batch_requests.fetch_add(1, Ordering::SeqCst);
    let fault = state
        .config
        .fault_rules
        .iter()
        .find(|rule| asked.prompt.contains(&rule.needle))
        .map(|rule| rule.fault);
    if let Some(fault) = fault {
        let status = match fault {
            Fault::RateLimit | Fault::NoQuota => 429,
            Fault::BadRequest => 400,
            Fault::Unauthorized => 401,
            Fault::Forbidden => 403,
            Fault::ServerError | Fault::Drop | Fault::Malformed => 500,
        };
        let message = format!("{} (injected by chatan-mock)", fault.name());
        return Err((status, wire::error(api, status, &message)));
    }
    let (text, ending, cached) = answer(state, api, &asked);
    let id = state.batch_requests.load(Ordering::SeqCst);
    Ok(wire::reply(api, id, &asked, &text, ending, cached))
}

/// A refusal for a missing or wrong key or API version.
fn check_headers(config: &MockConfig, api: Api, req: &Request<Incoming>) -> Option<Reply> {
    let header = |name: &str| req.headers().get(name).and_then(|v| v.to_str().ok());
    if api == Api::Anthropic && header("anthropic-version").is_none() {
        return Some(json(
            StatusCode::BAD_REQUEST,
            &wire::error(api, 400, "anthropic-version: header is required"),
        ));
    }
    let expected = config.api_key.as_deref()?;
    let sent = match api {
        Api::OpenAi => header("authorization").and_then(|v| v.strip_prefix("Bearer ")),
        Api::Anthropic => header("x-api-key"),
    };
    if sent == Some(expected) {
        return None;
    }
    let message = match (config.echo_key, sent) {
        (true, Some(key)) => format!("Incorrect API key provided: {key}"),
        _ => "Incorrect API key provided".to_owned(),
    };
    Some(json(
        StatusCode::UNAUTHORIZED,
        &wire::error(api, 401, &message),
    ))
}

/// A rate limit when `requests_per_second` requests were let through in the last second:
/// how long until the window has room again.
fn over_rate(state: &State) -> Option<Duration> {
    let limit = state.config.requests_per_second?;
    let now = Instant::now();
    let mut window = lock(&state.window);
    while window
        .front()
        .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
    {
        window.pop_front();
    }
    if window.len() >= limit as usize {
        let oldest = *window.front().expect("the window is full");
        return Some((oldest + Duration::from_secs(1)).saturating_duration_since(now));
    }
    window.push_back(now);
    None
}

/// The headers of a 429 from the request limiter, which will have room again in
/// `reset`, as each provider sends them: OpenAI's `x-ratelimit-limit-requests`,
/// `x-ratelimit-remaining-requests` and `x-ratelimit-reset-requests` (a duration such as
/// `120ms`; the rate-limits guide), with `retry-after` only if the mock is told one;
/// Anthropic's `retry-after` (seconds) and `anthropic-ratelimit-requests-limit`,
/// `-remaining`, `-reset` (RFC 3339; the rate-limits documentation).
fn limiter_headers(config: &MockConfig, api: Api, reset: Duration, headers: &mut hyper::HeaderMap) {
    let limit = config.requests_per_second.unwrap_or(1);
    let value = |text: String| hyper::header::HeaderValue::from_str(&text).expect("ascii");
    match api {
        Api::OpenAi => {
            headers.insert(
                "x-ratelimit-limit-requests",
                value((limit * 60).to_string()),
            );
            headers.insert("x-ratelimit-remaining-requests", value("0".into()));
            headers.insert(
                "x-ratelimit-reset-requests",
                value(format!("{}ms", reset.as_millis().max(1))),
            );
        }
        Api::Anthropic => {
            let at = chrono::DateTime::<chrono::Utc>::from(std::time::SystemTime::now() + reset);
            headers.insert(
                "retry-after",
                value(reset.as_secs_f64().ceil().max(1.0).to_string()),
            );
            headers.insert(
                "anthropic-ratelimit-requests-limit",
                value((limit * 60).to_string()),
            );
            headers.insert("anthropic-ratelimit-requests-remaining", value("0".into()));
            headers.insert(
                "anthropic-ratelimit-requests-reset",
                value(at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            );
        }
    }
}

/// The next draw of the server's seeded dice, in `[0, 1)`.
fn roll(state: &State) -> f64 {
    let mut dice = lock(&state.dice);
    *dice = dice.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *dice;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    ((z ^ (z >> 31)) >> 11) as f64 / (1u64 << 53) as f64
}

fn next_fault(state: &State, id: u64) -> Option<Fault> {
    if let Some(fault) = lock(&state.script).pop_front() {
        return Some(fault);
    }
    if let Some((from, fault)) = state.config.fail_from
        && id >= from
    {
        return Some(fault);
    }
    let c = &state.config;
    if c.rate_limit + c.server_error + c.drop + c.malformed <= 0.0 {
        return None;
    }
    let roll = roll(state);
    let mut edge = 0.0;
    for (p, fault) in [
        (c.rate_limit, Fault::RateLimit),
        (c.server_error, Fault::ServerError),
        (c.drop, Fault::Drop),
        (c.malformed, Fault::Malformed),
    ] {
        edge += p;
        if roll < edge {
            return Some(fault);
        }
    }
    None
}

fn latency(config: &MockConfig, prompt: &str) -> Duration {
    config
        .latency_rules
        .iter()
        .find(|r| prompt.contains(&r.needle))
        .map_or(config.latency, |r| r.latency)
}

fn respond(
    state: &State,
    api: Api,
    id: u64,
    asked: &Asked,
    (fault, limited): (Option<Fault>, Option<Duration>),
    sent_key: Option<&str>,
) -> (Result<Reply, Failure>, Option<String>) {
    let error = |status: StatusCode, message: &str| {
        Ok(json(status, &wire::error(api, status.as_u16(), message)))
    };
    match fault {
        None => {
            let (text, ending, cached) = answer(state, api, asked);
            let body = wire::reply(api, id, asked, &text, ending, cached);
            (Ok(json(StatusCode::OK, &body)), Some(text))
        }
        Some(Fault::RateLimit) => {
            let mut response = json(
                StatusCode::TOO_MANY_REQUESTS,
                &wire::error(api, 429, "Rate limit reached (injected by chatan-mock)"),
            );
            let wait = state.config.retry_after;
            let headers = response.headers_mut();
            if let Some(reset) = limited {
                limiter_headers(&state.config, api, reset, headers);
            }
            // An injected 429 says when to come back; the limiter's only if told to.
            if limited.is_none() || state.config.retry_after_set {
                headers.insert(
                    "retry-after",
                    wait.as_secs().to_string().parse().expect("digits"),
                );
                headers.insert(
                    "retry-after-ms",
                    wait.as_millis().to_string().parse().expect("digits"),
                );
            }
            (Ok(response), None)
        }
        Some(Fault::ServerError) => (
            error(
                StatusCode::INTERNAL_SERVER_ERROR,
                "Internal error (injected by chatan-mock)",
            ),
            None,
        ),
        Some(Fault::Unauthorized) => (
            error(
                StatusCode::UNAUTHORIZED,
                "Incorrect API key provided (injected by chatan-mock)",
            ),
            None,
        ),
        Some(Fault::BadRequest) => (
            error(
                StatusCode::BAD_REQUEST,
                "Invalid request (injected by chatan-mock)",
            ),
            None,
        ),
        Some(Fault::Forbidden) => (
            error(
                StatusCode::FORBIDDEN,
                "You do not have access to this model (injected by chatan-mock)",
            ),
            None,
        ),
        Some(Fault::NoQuota) => {
            let body = match api {
                Api::OpenAi => serde_json::json!({"error": {
                    "message": "You exceeded your current quota, please check your plan and billing details. (injected by chatan-mock)",
                    "type": "insufficient_quota", "param": null, "code": "insufficient_quota"}}),
                Api::Anthropic => wire::error(
                    api,
                    400,
                    "Your credit balance is too low to access the Anthropic API. (injected by chatan-mock)",
                ),
            };
            let status = match api {
                Api::OpenAi => StatusCode::TOO_MANY_REQUESTS,
                Api::Anthropic => StatusCode::BAD_REQUEST,
            };
            (Ok(json(status, &body)), None)
        }
        Some(Fault::Malformed) => {
            let body = match (state.config.echo_key, sent_key) {
                // A broken proxy that echoes the request's headers into a 200.
                (true, Some(key)) => Bytes::from(format!(
                    "{{\"choices\": [{{\"mess <debug> authorization: {key} </debug>"
                )),
                _ => Bytes::from_static(b"{\"choices\": [{\"mess"),
            };
            let mut response = Response::new(Full::new(body));
            response.headers_mut().insert(
                hyper::header::CONTENT_TYPE,
                hyper::header::HeaderValue::from_static("application/json"),
            );
            (Ok(response), None)
        }
        Some(Fault::Drop) => (
            Err("connection dropped (injected by chatan-mock)".into()),
            None,
        ),
    }
}

/// The reply to `asked`, as the model would end it, and the system prompt's tokens
/// written to and read from Anthropic's prompt cache (a `cache_control` system prompt is
/// written the first time it is seen, read after).
fn answer(state: &State, api: Api, asked: &Asked) -> (String, wire::Ending, (usize, usize)) {
    let cached = match (&asked.system, api) {
        (Some(system), Api::Anthropic) if asked.cache_system => {
            let tokens = wire::tokens(system);
            if lock(&state.cached_systems).insert(system.clone()) {
                (tokens, 0)
            } else {
                (0, tokens)
            }
        }
        _ => (0, 0),
    };
    if state
        .config
        .refusals
        .iter()
        .any(|needle| asked.prompt.contains(needle.as_str()))
    {
        return (wire::REFUSAL.to_owned(), wire::Ending::Refused, cached);
    }
    let (text, ending) = wire::end(asked, &reply_text(state, asked));
    (text, ending, cached)
}

fn reply_text(state: &State, asked: &Asked) -> String {
    for (rule, turn) in state.config.reply_rules.iter().zip(&state.reply_turns) {
        if asked.prompt.contains(&rule.needle) && !rule.replies.is_empty() {
            let i = turn.fetch_add(1, Ordering::SeqCst) % rule.replies.len();
            return rule.replies[i].clone();
        }
    }
    match &asked.schema {
        Some(schema) => {
            let seed = reply::fingerprint(&[asked.system.as_deref().unwrap_or(""), &asked.prompt]);
            wire::instance(schema, "text", u64::from(seed)).to_string()
        }
        None => reply::placeholder(asked.system.as_deref(), &asked.prompt),
    }
}
