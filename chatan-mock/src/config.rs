//! What the mock server does: latency, scripted and random faults, canned replies, auth.

use std::time::Duration;

/// A failure the server can inject into one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Fault {
    /// `429 Too Many Requests` with a `Retry-After` header.
    RateLimit,
    /// `500 Internal Server Error`.
    ServerError,
    /// The connection is closed without a response.
    Drop,
    /// `200 OK` whose body is not valid JSON.
    Malformed,
    /// `401 Unauthorized`, as for a bad key.
    Unauthorized,
    /// `400 Bad Request`.
    BadRequest,
    /// `403 Forbidden`, as for a key without access to the model.
    Forbidden,
    /// `429` with OpenAI's `insufficient_quota` error: no credit left, which waiting
    /// does not fix.
    NoQuota,
}

impl Fault {
    /// A short lowercase name (`rate_limit`, `server_error`, ...).
    pub fn name(self) -> &'static str {
        match self {
            Fault::RateLimit => "rate_limit",
            Fault::ServerError => "server_error",
            Fault::Drop => "drop",
            Fault::Malformed => "malformed",
            Fault::Unauthorized => "unauthorized",
            Fault::BadRequest => "bad_request",
            Fault::Forbidden => "forbidden",
            Fault::NoQuota => "no_quota",
        }
    }
}

/// How the mock's batches end, once their processing delay is over.
///
/// The states are the providers' own: OpenAI's batch object (`status`: `validating`,
/// `in_progress`, `finalizing`, `completed`, `expired`, `cancelling`, `cancelled`,
/// `failed`, per the `Batch` schema of OpenAI's OpenAPI spec), whose output file holds
/// the requests that ran and whose error file holds the rest, each a request output
/// object (`response: null` with `error: {code, message}` for one that did not run:
/// `batch_expired`, `batch_cancelled`, per OpenAI's Batch guide); and Anthropic's Message
/// Batches (`processing_status` `ended`, each result `succeeded`, `errored`, `canceled`
/// or `expired`, per the SDK's `MessageBatchResult` types).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchEnd {
    /// Every request runs: OpenAI `completed`, Anthropic `ended`.
    #[default]
    Completed,
    /// The first `ran` requests run, then the batch's 24 hours run out: OpenAI
    /// `expired` (the rest `batch_expired` in the error file), Anthropic results
    /// `expired`.
    Expired {
        /// Requests that ran before it expired.
        ran: usize,
    },
    /// The first `ran` requests run, then the batch is cancelled: OpenAI `cancelled`
    /// (the rest `batch_cancelled`), Anthropic results `canceled`.
    Cancelled {
        /// Requests that ran before the cancel.
        ran: usize,
    },
    /// The input does not validate: OpenAI `failed`, with its reasons in `errors.data`
    /// and no output or error file, no request run. (Anthropic refuses such a batch
    /// when it is created; there this ends as `Completed`.)
    Failed,
}

/// A latency for prompts that contain `needle`.
#[derive(Debug, Clone)]
pub(crate) struct LatencyRule {
    pub needle: String,
    pub latency: Duration,
}

/// A fault for every prompt that contains `needle`.
#[derive(Debug, Clone)]
pub(crate) struct FaultRule {
    pub needle: String,
    pub fault: Fault,
}

/// Fixed replies for prompts that contain `needle`, used in turn.
#[derive(Debug, Clone)]
pub(crate) struct ReplyRule {
    pub needle: String,
    pub replies: Vec<String>,
}

/// The server's behaviour. Built with chained setters:
///
/// ```
/// use chatan_mock::{Fault, MockConfig};
/// use std::time::Duration;
///
/// let config = MockConfig::new()
///     .latency(Duration::from_millis(20))
///     .latency_for("slow:", Duration::from_millis(300))
///     .fault_rates(0.05, 0.02, 0.0, 0.0)
///     .script([Fault::RateLimit, Fault::ServerError])
///     .reply_for("how many", ["seven"]);
/// ```
#[derive(Debug, Clone, Default)]
pub struct MockConfig {
    pub(crate) latency: Duration,
    pub(crate) latency_rules: Vec<LatencyRule>,
    pub(crate) reply_rules: Vec<ReplyRule>,
    pub(crate) rate_limit: f64,
    pub(crate) server_error: f64,
    pub(crate) drop: f64,
    pub(crate) malformed: f64,
    pub(crate) seed: u64,
    pub(crate) script: Vec<Fault>,
    pub(crate) fail_from: Option<(u64, Fault)>,
    pub(crate) fault_rules: Vec<FaultRule>,
    pub(crate) retry_after: Duration,
    /// Whether `retry_after` was set (the limiter's 429s then carry it too).
    pub(crate) retry_after_set: bool,
    pub(crate) api_key: Option<String>,
    pub(crate) echo_key: bool,
    pub(crate) requests_per_second: Option<u32>,
    /// A share of replies delayed by this much (drawn with the faults' dice).
    pub(crate) slow: Option<(f64, Duration)>,
    /// How long a batch takes to process.
    pub(crate) batch_delay: Duration,
    /// How batches end.
    pub(crate) batch_end: BatchEnd,
    /// The models served, if only some are.
    pub(crate) models: Vec<String>,
    /// Request parameters taken beyond OpenAI's own (a compatible server's `top_k`).
    pub(crate) extra_params: Vec<String>,
    /// Anthropic models that take no sampling parameters.
    pub(crate) no_sampling_models: Vec<String>,
    /// Prompts answered with a refusal.
    pub(crate) refusals: Vec<String>,
}

impl MockConfig {
    /// Instant replies, no faults, no key required.
    pub fn new() -> Self {
        MockConfig::default()
    }

    /// How long a batch (OpenAI Batch, Anthropic Message Batches) takes to process:
    /// polls before then see it in progress (default zero). Failed entries come from
    /// [`fail_for`](MockConfig::fail_for) rules, as for single requests.
    pub fn batch_delay(mut self, delay: Duration) -> Self {
        self.batch_delay = delay;
        self
    }

    /// How batches end (default [`BatchEnd::Completed`]): expired or cancelled part way,
    /// or failed validation.
    pub fn batch_end(mut self, end: BatchEnd) -> Self {
        self.batch_end = end;
        self
    }

    /// Serves only these models: a request for another gets the 404 each provider gives
    /// for a model that does not exist (default: any model is served).
    pub fn models<S: Into<String>>(mut self, models: impl IntoIterator<Item = S>) -> Self {
        self.models = models.into_iter().map(Into::into).collect();
        self
    }

    /// Takes these request parameters on the OpenAI endpoint beyond those of OpenAI's
    /// spec, as a compatible server does (vLLM and llama.cpp take `top_k`); any other
    /// unknown parameter is refused, as OpenAI refuses it.
    pub fn extra_params<S: Into<String>>(mut self, params: impl IntoIterator<Item = S>) -> Self {
        self.extra_params = params.into_iter().map(Into::into).collect();
        self
    }

    /// Anthropic models that take no sampling parameters: a request to one with
    /// `temperature`, `top_p` or `top_k` is refused.
    pub fn no_sampling_models<S: Into<String>>(
        mut self,
        models: impl IntoIterator<Item = S>,
    ) -> Self {
        self.no_sampling_models = models.into_iter().map(Into::into).collect();
        self
    }

    /// Prompts containing `needle` are refused by the model, as the providers say so:
    /// OpenAI's `refusal` with `content: null`, Anthropic's `stop_reason: "refusal"`.
    pub fn refuse_for(mut self, needle: impl Into<String>) -> Self {
        self.refusals.push(needle.into());
        self
    }

    /// Delays every reply by `latency`.
    pub fn latency(mut self, latency: Duration) -> Self {
        self.latency = latency;
        self
    }

    /// Delays replies to prompts containing `needle` by `latency` instead (the first
    /// matching rule wins).
    pub fn latency_for(mut self, needle: impl Into<String>, latency: Duration) -> Self {
        self.latency_rules.push(LatencyRule {
            needle: needle.into(),
            latency,
        });
        self
    }

    /// Answers prompts containing `needle` with `replies`, in turn (then from the
    /// start again), instead of the derived placeholder text.
    pub fn reply_for<S: Into<String>>(
        mut self,
        needle: impl Into<String>,
        replies: impl IntoIterator<Item = S>,
    ) -> Self {
        self.reply_rules.push(ReplyRule {
            needle: needle.into(),
            replies: replies.into_iter().map(Into::into).collect(),
        });
        self
    }

    /// Injects faults at random: each request is rate limited, fails with a 500, is
    /// dropped, or gets a malformed body with these probabilities (drawn from a
    /// generator seeded by [`seed`](MockConfig::seed), in order of arrival).
    pub fn fault_rates(
        mut self,
        rate_limit: f64,
        server_error: f64,
        drop: f64,
        malformed: f64,
    ) -> Self {
        self.rate_limit = rate_limit;
        self.server_error = server_error;
        self.drop = drop;
        self.malformed = malformed;
        self
    }

    /// Delays a random share `fraction` of replies by `latency` (on top of the usual
    /// latency), to test client timeouts: a reply slower than the client waits.
    pub fn slow_replies(mut self, fraction: f64, latency: Duration) -> Self {
        self.slow = Some((fraction, latency));
        self
    }

    /// Seeds the random faults.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// The first requests to arrive get these faults, one each, in order (before any
    /// random ones).
    pub fn script(mut self, faults: impl IntoIterator<Item = Fault>) -> Self {
        self.script.extend(faults);
        self
    }

    /// Every request from the `n`-th on (counting from 0, scripted ones included) gets
    /// `fault`: an outage, or a key revoked mid-run.
    pub fn fail_from(mut self, n: u64, fault: Fault) -> Self {
        self.fail_from = Some((n, fault));
        self
    }

    /// Every request whose prompt contains `needle` gets `fault`, however often it is
    /// retried: a permanent failure of some rows only. Checked after the script.
    pub fn fail_for(mut self, needle: impl Into<String>, fault: Fault) -> Self {
        self.fault_rules.push(FaultRule {
            needle: needle.into(),
            fault,
        });
        self
    }

    /// Lets through at most `rps` requests in any second; the rest get a 429 with the
    /// rate-limit headers each provider sends (when the window has room again), and a
    /// `Retry-After` for OpenAI only if [`retry_after`](MockConfig::retry_after) is set.
    pub fn requests_per_second(mut self, rps: u32) -> Self {
        self.requests_per_second = Some(rps.max(1));
        self
    }

    /// The `Retry-After` sent with injected 429s (default zero, for fast tests), and with
    /// those of [`requests_per_second`](MockConfig::requests_per_second) once set.
    pub fn retry_after(mut self, wait: Duration) -> Self {
        self.retry_after = wait;
        self.retry_after_set = true;
        self
    }

    /// Requires this API key (`Authorization: Bearer` for OpenAI, `x-api-key` for
    /// Anthropic); other requests get a 401.
    pub fn api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Makes 401 messages quote the key that was sent, as some servers do, and malformed
    /// 200 bodies quote the request's key header, to test that clients redact it.
    pub fn echo_key_in_errors(mut self, echo: bool) -> Self {
        self.echo_key = echo;
        self
    }
}
