//! Errors. Every runtime failure is a typed value that names what failed: the row, the
//! column and the cause. A run that fails still hands back the rows it completed
//! ([`RunError`]).

use std::time::Duration;

use crate::from_reply::ReplyError;

/// Whether a provider's message says the account has no quota or credit left.
pub(crate) fn is_quota(message: &str) -> bool {
    let m = message.to_ascii_lowercase();
    m.contains("insufficient_quota")
        || m.contains("exceeded your current quota")
        || m.contains("credit balance is too low")
}

/// Why one request to a generator failed.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum GeneratorError {
    /// The provider refused the request (400, 401, 403, 404, 422, ...): retrying will not
    /// help. `message` is the provider's own explanation.
    #[error("the provider rejected the request (HTTP {status}): {message}")]
    Rejected {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// Too many requests (429); retried after `retry_after` if the provider said.
    #[error("rate limited (HTTP 429): {message}")]
    RateLimited {
        /// The provider's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
        /// The provider's message.
        message: String,
    },
    /// The provider failed (5xx, 408); retried.
    #[error("server error (HTTP {status}): {message}")]
    Server {
        /// HTTP status.
        status: u16,
        /// The provider's message.
        message: String,
    },
    /// No reply within the request timeout; retried.
    #[error("no reply within {0:?}")]
    Timeout(Duration),
    /// The connection failed or was dropped; retried.
    #[error("connection failed: {0}")]
    Connection(String),
    /// The endpoint has never answered, and this request could not connect to it
    /// either (an unknown host, a refused connection): the base URL is wrong or the
    /// server is down. Not retried, and every other request would meet it too
    /// ([`is_fatal`](GeneratorError::is_fatal)). Once a provider has had an answer, a
    /// failed connection is [`Connection`](GeneratorError::Connection) (retried).
    #[error("the endpoint has never answered: {0}")]
    Unreachable(Box<GeneratorError>),
    /// A reply arrived but could not be read (bad JSON, no text); retried.
    #[error("malformed reply: {0}")]
    Malformed(String),
    /// The reply body was larger than the provider's limit
    /// ([`Provider::max_reply_bytes`](crate::provider::Provider::max_reply_bytes)); not
    /// retried.
    #[error(
        "the reply body is larger than {limit} bytes (raise Provider::max_reply_bytes if that is expected)"
    )]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A provider batch ended without running this request: the batch expired (its
    /// 24 hours ran out; retried, in a later batch) or was cancelled (not retried).
    /// `message` names the batch and says which.
    #[error("{message}")]
    Unprocessed {
        /// Whether the batch expired (rather than being cancelled).
        expired: bool,
        /// What happened, naming the batch.
        message: String,
    },
    /// Not sent: the provider does not take this request as it is (a temperature out of
    /// its range, a sampling option it has no such thing as, ...), and chatan cannot
    /// adapt it without changing what it asks. Every request of the column would meet
    /// it: [`is_fatal`](GeneratorError::is_fatal). `message` names the provider, the
    /// option and what it takes.
    #[error("not sent: {message}")]
    Unsupported {
        /// What the provider does not take, and what it takes instead.
        message: String,
    },
    /// Not sent: the run stopped before this request went out, because another request
    /// got an answer that every request would get (a bad key, a missing model, no
    /// quota). Not retried.
    #[error("not sent: the run stopped after a failure that every request would meet")]
    Cancelled,
    /// Any other failure of a user-written generator; not retried.
    #[error("{0}")]
    Other(std::sync::Arc<dyn std::error::Error + Send + Sync>),
    /// A layer that sends one request to several places (a [`Fleet`](crate::Fleet) trying
    /// each endpoint in turn) made `attempts` requests and all failed; `cause` is the
    /// last failure. Retried by an outer layer exactly when `cause` would be.
    #[error("{cause} ({attempts} attempts, one per endpoint)")]
    Failover {
        /// Requests made.
        attempts: u32,
        /// The last failure.
        cause: Box<GeneratorError>,
    },
    /// A [`Retry`](crate::Retry) layer made `attempts` requests and gave up; `cause` is
    /// the last failure. Not retried again by an outer layer.
    #[error("{cause} (gave up after {attempts} attempts)")]
    Exhausted {
        /// Requests made.
        attempts: u32,
        /// The last failure.
        cause: Box<GeneratorError>,
    },
}

impl GeneratorError {
    /// Wraps any error of a user-written generator (not retried).
    pub fn other(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        GeneratorError::Other(std::sync::Arc::from(error.into()))
    }

    /// Whether every request to the same provider would fail the same way: a rejected
    /// key (401), no permission (403), an unknown model or endpoint (404), no quota
    /// left, or an endpoint that has never answered. A run stops sending at once after
    /// one of these.
    pub fn is_fatal(&self) -> bool {
        match self.cause() {
            GeneratorError::Rejected { status, message } => {
                matches!(status, 401 | 403 | 404) || is_quota(message)
            }
            GeneratorError::Unreachable(_) | GeneratorError::Unsupported { .. } => true,
            _ => false,
        }
    }

    /// Replaces every message this error carries with `f` of it (to redact a secret).
    #[cfg_attr(not(feature = "http"), allow(dead_code))]
    pub(crate) fn map_messages(self, f: &dyn Fn(String) -> String) -> Self {
        match self {
            GeneratorError::Rejected { status, message } => GeneratorError::Rejected {
                status,
                message: f(message),
            },
            GeneratorError::RateLimited {
                retry_after,
                message,
            } => GeneratorError::RateLimited {
                retry_after,
                message: f(message),
            },
            GeneratorError::Server { status, message } => GeneratorError::Server {
                status,
                message: f(message),
            },
            GeneratorError::Connection(message) => GeneratorError::Connection(f(message)),
            GeneratorError::Unreachable(cause) => {
                GeneratorError::Unreachable(Box::new(cause.map_messages(f)))
            }
            GeneratorError::Malformed(message) => GeneratorError::Malformed(f(message)),
            GeneratorError::Unprocessed { expired, message } => GeneratorError::Unprocessed {
                expired,
                message: f(message),
            },
            GeneratorError::Exhausted { attempts, cause } => GeneratorError::Exhausted {
                attempts,
                cause: Box::new(cause.map_messages(f)),
            },
            GeneratorError::Failover { attempts, cause } => GeneratorError::Failover {
                attempts,
                cause: Box::new(cause.map_messages(f)),
            },
            other => other,
        }
    }

    /// Whether trying the same request again may succeed.
    pub fn is_retryable(&self) -> bool {
        if let GeneratorError::Failover { cause, .. } = self {
            return cause.is_retryable();
        }
        matches!(
            self,
            GeneratorError::RateLimited { .. }
                | GeneratorError::Server { .. }
                | GeneratorError::Timeout(_)
                | GeneratorError::Connection(_)
                | GeneratorError::Malformed(_)
                | GeneratorError::Unprocessed { expired: true, .. }
        )
    }

    /// How long the provider asked us to wait before retrying, if it said.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            GeneratorError::RateLimited { retry_after, .. } => *retry_after,
            _ => None,
        }
    }

    /// How many requests this failure stands for: the attempts of
    /// [`Exhausted`](GeneratorError::Exhausted) or [`Failover`](GeneratorError::Failover),
    /// else 1.
    pub fn attempts(&self) -> u32 {
        match self {
            GeneratorError::Exhausted { attempts, .. }
            | GeneratorError::Failover { attempts, .. } => *attempts,
            _ => 1,
        }
    }

    /// The failure itself, without the [`Exhausted`](GeneratorError::Exhausted) or
    /// [`Failover`](GeneratorError::Failover) wrapper.
    pub fn cause(&self) -> &GeneratorError {
        match self {
            GeneratorError::Exhausted { cause, .. } | GeneratorError::Failover { cause, .. } => {
                cause.cause()
            }
            other => other,
        }
    }

    /// Splits into the number of requests made and the failure itself.
    pub fn into_parts(self) -> (u32, GeneratorError) {
        match self {
            GeneratorError::Exhausted { attempts, cause }
            | GeneratorError::Failover { attempts, cause } => (attempts, cause.into_parts().1),
            other => (1, other),
        }
    }

    /// This failure, after `attempts` requests in all.
    pub(crate) fn with_attempts(self, attempts: u32) -> Self {
        let (_, cause) = self.into_parts();
        if attempts <= 1 {
            return cause;
        }
        GeneratorError::Exhausted {
            attempts,
            cause: Box::new(cause),
        }
    }
}

/// What went wrong in one cell.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum CellError {
    /// The generator failed, after `attempts` tries.
    #[error("{cause} (gave up after {attempts} attempt{s})", s = if *attempts == 1 { "" } else { "s" })]
    Generator {
        /// How many requests were made.
        attempts: u32,
        /// The last failure.
        cause: GeneratorError,
    },
    /// Every reply failed to parse into the column's type, after `attempts` tries.
    #[error("{cause} (gave up after {attempts} attempt{s})", s = if *attempts == 1 { "" } else { "s" })]
    Reply {
        /// How many requests were made.
        attempts: u32,
        /// The last parse failure.
        cause: ReplyError,
    },
    /// The reply was cut off by its token limit, and the run does not keep such
    /// replies ([`Runner::on_truncated`](crate::Runner::on_truncated)).
    #[error("the reply was cut off by the token limit (raise `max_tokens`): {excerpt:?} (after {attempts} attempt{s})", s = if *attempts == 1 { "" } else { "s" })]
    Truncated {
        /// How many requests were made.
        attempts: u32,
        /// The start of the last reply.
        excerpt: String,
    },
    /// The model refused, and the run does not keep refusals
    /// ([`Runner::on_refused`](crate::Runner::on_refused)).
    #[error("the model refused: {text:?} (after {attempts} attempt{s})", s = if *attempts == 1 { "" } else { "s" })]
    Refused {
        /// How many requests were made.
        attempts: u32,
        /// What the model said.
        text: String,
    },
    /// A derived column's closure returned an error.
    #[error("the derived column failed: {cause}")]
    Derived {
        /// The closure's error.
        cause: std::sync::Arc<dyn std::error::Error + Send + Sync>,
    },
    /// User code filling the cell panicked (a derived closure, a sampler, a `Display` or
    /// `FromReply` impl); the panic is caught and reported here instead of unwinding
    /// through the run.
    #[error("panicked: {message}")]
    Panicked {
        /// The panic's message.
        message: String,
    },
}

impl CellError {
    /// How many requests were made for the cell (0 for a derived or sampled cell).
    pub fn attempts(&self) -> u32 {
        match self {
            CellError::Generator { attempts, .. }
            | CellError::Reply { attempts, .. }
            | CellError::Truncated { attempts, .. }
            | CellError::Refused { attempts, .. } => *attempts,
            CellError::Derived { .. } | CellError::Panicked { .. } => 0,
        }
    }
}

/// A chatan error.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A cell could not be filled.
    #[error("row {row}, column `{column}`: {cause}")]
    Cell {
        /// The row's index.
        row: usize,
        /// The column's name.
        column: &'static str,
        /// What went wrong.
        cause: CellError,
    },
    /// A column's sampler cannot draw (an empty list, a reversed range, a missing input).
    #[error("column `{column}`: the sampler cannot be used: {cause}")]
    Sampler {
        /// The column's name.
        column: &'static str,
        /// Why.
        cause: crate::sample::SamplerError,
    },
    /// A column asks for a generator that was not given.
    #[error(
        "column `{column}` uses {}, but {}",
        match name { Some(n) => format!("generator {n:?}"), None => "the default generator".into() },
        if available.is_empty() { "no named generators were given".to_string() }
        else { format!("the generators given are: {}", available.join(", ")) }
    )]
    UnknownGenerator {
        /// The column's name.
        column: &'static str,
        /// The generator it names (`None`: the default one).
        name: Option<String>,
        /// The names that were given.
        available: Vec<String>,
    },
    /// `chatan::generator` was given a provider name it does not know.
    #[error("unknown provider {name:?}; the providers are: {}", known.join(", "))]
    UnknownProvider {
        /// The name given.
        name: String,
        /// The names known.
        known: &'static [&'static str],
    },
    /// A provider is not configured (a missing key, a bad base URL).
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// A checkpoint file cannot be used: it belongs to another recipe or seed, the
    /// recipe changed since it was made, or it cannot be read or written.
    #[error("checkpoint {}: {message}", path.display())]
    Checkpoint {
        /// The file.
        path: std::path::PathBuf,
        /// What is wrong, and what to do.
        message: String,
    },
    /// A shard cannot be run: an index out of range, a scheduler variable that is not a
    /// number, or a sharded run without a seed.
    #[error("shard: {0}")]
    Shard(String),
    /// The live viewer could not start (its port is taken, or no tokio runtime runs).
    #[error("viewer: {0}")]
    Viewer(String),
    /// An embedding model could not embed texts it was given (a tokenizer or model
    /// fault, or its thread stopped).
    #[error("embedding model {model}: {message}")]
    Embedding {
        /// The model's name.
        model: String,
        /// What went wrong.
        message: String,
    },
    /// A request met a failure that every request would meet (a rejected key, no
    /// access, no model, no quota, an endpoint that has never answered), so the run
    /// stopped sending, whatever its [`FailurePolicy`](crate::FailurePolicy): under
    /// [`skip_failed`](crate::Runner::skip_failed) the run ends with this error (and a
    /// stream's last item is this error), not with a report of every row failed.
    /// `cause` is that request's failure; `not_started` rows were never started.
    #[error("the run stopped: {cause}; {not_started} row{s} not started", s = if *not_started == 1 { " was" } else { "s were" })]
    Halted {
        /// The failure every request would meet (an [`Error::Cell`]).
        cause: Box<Error>,
        /// Rows of the run that were never started.
        not_started: usize,
    },
    /// The run was asked to stop (Ctrl-C, SIGTERM or [`Stop::stop`](crate::Stop::stop));
    /// the rows that finished are kept, and, with a checkpoint, a new run makes only the
    /// rest.
    #[error("the run was stopped before it finished")]
    Stopped,
    /// [`keep_if`](crate::Runner::keep_if) ran out of draws: some rows had no draw that
    /// passed within [`max_draws`](crate::Keeping::max_draws). The report's
    /// [`keep`](crate::Report::keep) says which and why the draws were dropped.
    #[error(
        "only {kept} of {wanted} rows passed: {unfilled} row{s} had no passing draw in \
         {max_draws}; raise `max_draws` or loosen the predicate",
        s = if *unfilled == 1 { "" } else { "s" }
    )]
    NotEnoughKept {
        /// Rows asked for.
        wanted: usize,
        /// Rows that passed.
        kept: usize,
        /// Rows with no passing draw.
        unfilled: usize,
        /// Draws each row could take.
        max_draws: u32,
    },
}

/// Why a provider cannot be set up.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The API key is empty.
    #[error("the API key is empty")]
    EmptyKey,
    /// An environment variable that holds a key is set, but empty.
    #[error("{0} is set but empty; set it to your API key, or unset it")]
    EmptyVariable(String),
    /// The API key holds characters an HTTP header cannot carry.
    #[error("the API key contains characters that cannot be sent in an HTTP header")]
    KeyNotHeaderSafe,
    /// A base URL is not an http(s) URL.
    #[error("{variable} {value:?} is not an http(s) URL")]
    BadUrl {
        /// Where it came from (`OPENAI_BASE_URL`, `base URL`).
        variable: String,
        /// What it was.
        value: String,
    },
    /// A local model could not be loaded; the message names the file and what is wrong.
    #[error("local model {0}")]
    Local(String),
    /// The HTTP client could not be built.
    #[error("could not build the HTTP client: {0}")]
    Client(String),
    /// One provider's environment variables are not set.
    #[error("{provider} is not configured: set {set}")]
    NotConfigured {
        /// The provider.
        provider: &'static str,
        /// What to set.
        set: &'static str,
    },
    /// No provider's environment variables are set.
    #[error(
        "no provider is configured: set OPENAI_API_KEY or ANTHROPIC_API_KEY, or \
         OPENAI_BASE_URL for an OpenAI-compatible server (vLLM, llama.cpp, Ollama)"
    )]
    NoProvider,
}

/// The text of a panic's payload (user code that panicked: a closure, a check, a
/// predicate).
pub(crate) fn panic_message(payload: &(dyn std::any::Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic with a non-text payload".to_owned())
}
