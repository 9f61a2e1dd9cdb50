//! Generators: what turns a prompt into text. One trait for every provider and every
//! layer (retry, limit, ...), and the hand-off of one or several generators to a recipe.

use std::fmt;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::GeneratorError;
use crate::event::{Event, Observer};
use crate::layer::{Limit, Limiter, Retry, RetryPolicy};

/// One request to a generator: the rendered prompt, the column's options, where it comes
/// from (row, column, attempt), and where to report what happens to it.
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The prompt, with every `{column}` filled in.
    pub prompt: &'a str,
    /// The column's system prompt, if any.
    pub system: Option<&'a str>,
    /// The column's sampling temperature, if set.
    pub temperature: Option<f32>,
    /// The column's reply length limit, if set.
    pub max_tokens: Option<u32>,
    /// The column's nucleus-sampling `top_p`, if set.
    pub top_p: Option<f32>,
    /// The column's `top_k` (sample among the k most likely tokens), if set: Anthropic
    /// and local models use it, OpenAI's API has no such option.
    pub top_k: Option<u32>,
    /// The column's model override, if set.
    pub model: Option<&'a str>,
    /// Sequences that end the reply (the column's `stop`), empty if none.
    pub stop: &'a [&'a str],
    /// The column's sampling seed, for providers that take one (OpenAI-compatible
    /// servers); others ignore it.
    pub seed: Option<u64>,
    /// Whether to ask the provider to cache the system prompt (Anthropic's
    /// `cache_control`; others cache long shared prefixes by themselves).
    pub cache_system: bool,
    /// The JSON Schema the reply must match, for a structured column (see
    /// [`Schema`](crate::structured::Schema)); `None` for text.
    pub schema: Option<&'a crate::structured::Schema>,
    /// When a question is asked again because its reply could not be used: that reply
    /// and why, so the model can correct itself.
    pub feedback: Option<Feedback<'a>>,
    /// The row being generated.
    pub row: usize,
    /// The column being generated.
    pub column: &'a str,
    /// Which request for this cell this is, from 1: retries (by [`Retry`]) and questions
    /// asked again after a reply that did not parse count up. A cache must not answer a
    /// request with `attempt > 1` from an earlier reply to the same prompt.
    pub attempt: u32,
    /// The run's [checkpoint](crate::Runner::checkpoint) file, if it has one: a layer
    /// that keeps state across runs of the same recipe keeps it beside this file (a
    /// [`Batch`](crate::provider::Batch)'s journal of submitted batches does).
    pub checkpoint: Option<&'a std::path::Path>,
    observer: Option<&'a dyn Observer>,
}

/// A generator's defaults for the options a column leaves unset.
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub temperature: Option<f32>,
    pub max_tokens: Option<u32>,
    pub top_p: Option<f32>,
    pub top_k: Option<u32>,
    pub system: Option<String>,
}

impl Defaults {
    /// `request` with these defaults where it sets nothing.
    pub fn apply<'a>(&'a self, request: &Request<'a>) -> Request<'a> {
        let mut request = *request;
        request.temperature = request.temperature.or(self.temperature);
        request.max_tokens = request.max_tokens.or(self.max_tokens);
        request.top_p = request.top_p.or(self.top_p);
        request.top_k = request.top_k.or(self.top_k);
        request.system = request.system.or(self.system.as_deref());
        request
    }
}

/// The setters of a generator's [`Defaults`] (a `defaults` field), shared by every
/// generator that has them.
#[doc(hidden)]
#[macro_export]
macro_rules! __default_setters {
    () => {
        /// The sampling temperature of columns that set none.
        pub fn temperature(mut self, temperature: f32) -> Self {
            self.defaults.temperature = Some(temperature);
            self
        }

        /// The reply length limit of columns that set none.
        pub fn max_tokens(mut self, max_tokens: u32) -> Self {
            self.defaults.max_tokens = Some(max_tokens);
            self
        }

        /// The nucleus-sampling `top_p` of columns that set none.
        pub fn top_p(mut self, top_p: f32) -> Self {
            self.defaults.top_p = Some(top_p);
            self
        }

        /// The `top_k` of columns that set none (Anthropic and local models; OpenAI's
        /// API has no `top_k`).
        pub fn top_k(mut self, top_k: u32) -> Self {
            self.defaults.top_k = Some(top_k);
            self
        }

        /// The system prompt of columns that set none.
        pub fn system(mut self, system: impl Into<String>) -> Self {
            self.defaults.system = Some(system.into());
            self
        }
    };
}

impl<'a> Request<'a> {
    /// A request for `prompt` with no options (row 0, column `""`, attempt 1): for calling
    /// a generator directly, as in tests of your own generator.
    pub fn new(prompt: &'a str) -> Self {
        Request {
            prompt,
            system: None,
            temperature: None,
            max_tokens: None,
            top_p: None,
            top_k: None,
            model: None,
            stop: &[],
            seed: None,
            cache_system: false,
            schema: None,
            feedback: None,
            row: 0,
            column: "",
            attempt: 1,
            checkpoint: None,
            observer: None,
        }
    }

    /// With a row and column, as the engine sends them.
    pub fn cell(mut self, row: usize, column: &'a str) -> Self {
        self.row = row;
        self.column = column;
        self
    }

    /// As attempt number `attempt` (from 1).
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt.max(1);
        self
    }

    /// Reporting to `observer` (see [`report`](Request::report)).
    pub fn observed_by(mut self, observer: &'a dyn Observer) -> Self {
        self.observer = Some(observer);
        self
    }

    /// Tells the run's observers about something that happened to this request, such as
    /// a retry. Layers call it; it does nothing for a request made by hand.
    pub fn report(&self, event: &Event<'_>) {
        if let Some(observer) = self.observer {
            observer.on_event(event);
        }
    }

    /// Whether [`report`](Request::report) goes anywhere.
    #[cfg(any(feature = "openai", feature = "anthropic"))]
    pub(crate) fn is_observed(&self) -> bool {
        self.observer.is_some()
    }

    /// With a system prompt.
    pub fn system(mut self, system: &'a str) -> Self {
        self.system = Some(system);
        self
    }

    /// With a temperature.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// With a reply length limit.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// With a `top_p`.
    pub fn top_p(mut self, top_p: f32) -> Self {
        self.top_p = Some(top_p);
        self
    }

    /// With a `top_k`.
    pub fn top_k(mut self, top_k: u32) -> Self {
        self.top_k = Some(top_k);
        self
    }

    /// With a model override.
    pub fn model(mut self, model: &'a str) -> Self {
        self.model = Some(model);
        self
    }

    /// With stop sequences.
    pub fn stop(mut self, stop: &'a [&'a str]) -> Self {
        self.stop = stop;
        self
    }

    /// With a sampling seed.
    pub fn seed(mut self, seed: u64) -> Self {
        self.seed = Some(seed);
        self
    }

    /// Asking for a reply that matches `schema`.
    pub fn schema(mut self, schema: &'a crate::structured::Schema) -> Self {
        self.schema = Some(schema);
        self
    }
}

/// A reply that could not be used, and why; sent back with the question when it is asked
/// again (see [`Request::feedback`]).
#[derive(Debug, Clone, Copy)]
pub struct Feedback<'a> {
    /// The reply.
    pub reply: &'a str,
    /// Why it could not be used.
    pub problem: &'a str,
}

impl Feedback<'_> {
    /// The follow-up message that asks for a corrected reply.
    pub fn message(&self) -> String {
        let that = if self.reply.trim().is_empty() {
            "Your reply was empty, so it"
        } else {
            "That reply"
        };
        format!(
            "{that} could not be used: {}. Answer the request again, correcting this, \
             and reply with the answer only.",
            self.problem
        )
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("prompt", &self.prompt)
            .field("system", &self.system)
            .field("temperature", &self.temperature)
            .field("max_tokens", &self.max_tokens)
            .field("top_p", &self.top_p)
            .field("top_k", &self.top_k)
            .field("model", &self.model)
            .field("stop", &self.stop)
            .field("seed", &self.seed)
            .field("cache_system", &self.cache_system)
            .field("schema", &self.schema.is_some())
            .field("feedback", &self.feedback)
            .field("row", &self.row)
            .field("column", &self.column)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}

/// A generator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reply {
    /// The generated text.
    pub text: String,
    /// Token counts, if the provider reported them.
    pub usage: Option<Usage>,
    /// How many requests it took (1 unless a [`Retry`] layer retried).
    pub attempts: u32,
    /// What the provider said of its rate limits with this reply, if it said.
    pub limits: Option<RateLimits>,
    /// Whether the reply is whole, cut off by its token limit, or a refusal.
    pub finish: Finish,
}

/// Why a reply ended: the providers' `finish_reason` (OpenAI) and `stop_reason`
/// (Anthropic). A run never keeps a reply that is not whole as if it were: see
/// [`Runner::on_truncated`](crate::Runner::on_truncated) and
/// [`Runner::on_refused`](crate::Runner::on_refused).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum Finish {
    /// The model said all it had to (or met a stop sequence). Also what a reply is
    /// when the provider does not say.
    #[default]
    Complete,
    /// Cut off by the token limit (OpenAI's `finish_reason: "length"`, Anthropic's
    /// `stop_reason: "max_tokens"` or `"model_context_window_exceeded"`, a local model
    /// that reached `max_tokens`): the text is partial.
    Truncated,
    /// The model refused (OpenAI's `refusal`, or `finish_reason: "content_filter"`;
    /// Anthropic's `stop_reason: "refusal"`): the text is the refusal, or whatever the
    /// model said before it.
    Refused,
}

/// A provider's rate-limit state as its reply headers tell it (OpenAI's
/// `x-ratelimit-remaining-*` / `-reset-*`, Anthropic's `anthropic-ratelimit-*`), read by
/// the [`Governor`](crate::Governor).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct RateLimits {
    /// Requests left in the current window.
    pub requests_remaining: Option<u64>,
    /// When the request window resets, from now.
    pub requests_reset: Option<std::time::Duration>,
    /// Tokens left in the current window.
    pub tokens_remaining: Option<u64>,
    /// When the token window resets, from now.
    pub tokens_reset: Option<std::time::Duration>,
}

impl Reply {
    /// A reply, with token counts if the provider reported them.
    pub fn new(text: String, usage: Option<Usage>) -> Self {
        Reply {
            text,
            usage,
            attempts: 1,
            limits: None,
            finish: Finish::Complete,
        }
    }

    /// A reply with token counts.
    pub fn with_usage(text: String, usage: Usage) -> Self {
        Reply::new(text, Some(usage))
    }

    /// This reply, ended for `finish`.
    pub fn finished(mut self, finish: Finish) -> Self {
        self.finish = finish;
        self
    }
}

impl From<String> for Reply {
    fn from(text: String) -> Self {
        Reply::new(text, None)
    }
}

impl From<&str> for Reply {
    fn from(text: &str) -> Self {
        Reply::from(text.to_owned())
    }
}

/// Token counts: of one request, of one row, or of a whole run.
///
/// Deserializes from the providers' usage objects alike: OpenAI's `prompt_tokens` /
/// `completion_tokens` (whose prompt count includes
/// `prompt_tokens_details.cached_tokens`), and Anthropic's `input_tokens` /
/// `output_tokens`, whose input count leaves out `cache_creation_input_tokens` and
/// `cache_read_input_tokens`: they are added in, so `input_tokens` is always every
/// token of the prompt, cached or not.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(from = "RawUsage")]
pub struct Usage {
    /// Tokens in the prompt, those read from or written to a prompt cache included.
    pub input_tokens: u64,
    /// Tokens in the reply.
    pub output_tokens: u64,
    /// Of `input_tokens`, those read from the provider's prompt cache (billed at a
    /// fraction of the price).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_read_tokens: u64,
    /// Of `input_tokens`, those written to the provider's prompt cache (Anthropic bills
    /// them at more than the price).
    #[serde(default, skip_serializing_if = "is_zero")]
    pub cache_write_tokens: u64,
}

fn is_zero(n: &u64) -> bool {
    *n == 0
}

/// Any provider's usage object, or ours as serialized.
#[derive(serde::Deserialize)]
struct RawUsage {
    #[serde(default, alias = "prompt_tokens")]
    input_tokens: u64,
    #[serde(default, alias = "completion_tokens")]
    output_tokens: u64,
    // Ours.
    #[serde(default)]
    cache_read_tokens: u64,
    #[serde(default)]
    cache_write_tokens: u64,
    // Anthropic's (not in `input_tokens`).
    #[serde(default)]
    cache_read_input_tokens: Option<u64>,
    #[serde(default)]
    cache_creation_input_tokens: Option<u64>,
    // OpenAI's (in `prompt_tokens`).
    #[serde(default)]
    prompt_tokens_details: Option<PromptDetails>,
}

#[derive(serde::Deserialize)]
struct PromptDetails {
    #[serde(default)]
    cached_tokens: Option<u64>,
}

impl From<RawUsage> for Usage {
    fn from(raw: RawUsage) -> Usage {
        let read = raw.cache_read_input_tokens.unwrap_or(0);
        let written = raw.cache_creation_input_tokens.unwrap_or(0);
        let openai_cached = raw
            .prompt_tokens_details
            .and_then(|d| d.cached_tokens)
            .unwrap_or(0);
        Usage {
            input_tokens: raw.input_tokens + read + written,
            output_tokens: raw.output_tokens,
            cache_read_tokens: raw.cache_read_tokens + read + openai_cached,
            cache_write_tokens: raw.cache_write_tokens + written,
        }
    }
}

impl Usage {
    /// `input` prompt tokens (none cached) and `output` reply tokens.
    pub fn new(input: u64, output: u64) -> Self {
        Usage {
            input_tokens: input,
            output_tokens: output,
            ..Usage::default()
        }
    }

    /// Prompt and reply tokens together.
    pub fn total(&self) -> u64 {
        self.input_tokens + self.output_tokens
    }
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
        self.cache_read_tokens += other.cache_read_tokens;
        self.cache_write_tokens += other.cache_write_tokens;
    }
}

impl std::ops::Add for Usage {
    type Output = Usage;
    fn add(mut self, other: Usage) -> Usage {
        self += other;
        self
    }
}

/// Turns a prompt into text. Implemented by [`OpenAi`](crate::OpenAi),
/// [`Anthropic`](crate::Anthropic) and `chatan::AnyGenerator`; implement
/// it to plug in anything else.
///
/// Return a retryable [`GeneratorError`] (rate limit, server error, timeout, connection)
/// for failures worth retrying; a [`Retry`] layer retries them with backoff.
///
/// # Layers
///
/// Policy wraps a generator in another generator: [`retry`](Generator::retry),
/// [`limit`](Generator::limit), or your own wrapper type. Each call wraps what came
/// before, so `llm.limit(8).retry(policy)` retries around a limit of 8 requests at once
/// (a retry waits for its backoff without holding a slot). A runner puts today's
/// defaults around whatever it is given — a limit of 64 and [`RetryPolicy::default`] —
/// and layers you compose yourself take precedence: an inner retry that gives up is not
/// retried again, and an inner limit below 64 is the one that binds.
///
/// ```
/// use chatan::{Generator, RetryPolicy};
/// # fn main() -> Result<(), chatan::Error> {
/// let llm = chatan::OpenAi::compatible("http://localhost:8000/v1")?
///     .limit(16)
///     .retry(RetryPolicy::new().max_attempts(8));
/// # Ok(()) }
/// ```
///
/// ```
/// use chatan::{Generator, GeneratorError, Reply, Request};
///
/// /// Shouts the prompt back.
/// struct Echo;
///
/// impl Generator for Echo {
///     async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
///         Ok(request.prompt.to_uppercase().into())
///     }
/// }
///
/// chatan::dataset! {
///     #[derive(Debug)]
///     struct Shout {
///         word: String = sample::choice(["hi", "bye"]),
///         loud: String = gen("{word}!"),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rows = Shout::generate(&Echo, 3).await.unwrap();
/// assert_eq!(rows[0].loud, format!("{}!", rows[0].word.to_uppercase()));
/// # }
/// ```
pub trait Generator: Send + Sync {
    /// Generates a reply to one request.
    fn generate(
        &self,
        request: &Request<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send;

    /// A short name for logs and progress, such as `openai`.
    fn name(&self) -> &str {
        "custom"
    }

    /// The model a request goes to when it names none, if the generator has one (the
    /// response cache keys replies by it).
    fn model(&self) -> Option<&str> {
        None
    }

    /// How many requests a runner should keep in flight through this generator when it
    /// is not told ([`Runner::concurrency`](crate::Runner::concurrency)): `None`, the
    /// default, leaves the runner's 64. A provider [`Batch`](crate::provider::Batch)
    /// asks for a whole batch's worth, since a wave holds only the requests in flight.
    fn concurrency_hint(&self) -> Option<usize> {
        None
    }

    /// Where this generator's requests go (a provider's URL), if it says: the response
    /// cache keys replies by it, so a generator aimed elsewhere is not answered with
    /// another server's replies.
    fn endpoint(&self) -> Option<&str> {
        None
    }

    /// `request` as this generator will send it: its own defaults (a
    /// [`system`](crate::provider::Provider::system) prompt, a
    /// [`temperature`](crate::provider::Provider::temperature), ...) filled in where the
    /// request sets nothing. The engine resolves every request before any layer sees
    /// it, so a layer that reads options (the cache's key, the governor's token
    /// estimate) reads what is sent; resolving twice changes nothing. A layer passes
    /// this to the generator it wraps. The default is the request as it is.
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        *request
    }

    /// Retries this generator's retryable failures by `policy` (see [`Retry`]).
    fn retry(self, policy: RetryPolicy) -> Retry<Self>
    where
        Self: Sized,
    {
        Retry::new(self, policy)
    }

    /// At most `requests` requests to this generator at once (see [`Limit`]).
    fn limit(self, requests: usize) -> Limit<Self>
    where
        Self: Sized,
    {
        Limit::new(self, Limiter::new(requests))
    }

    /// Answers requests from `cache` when it has the reply, and keeps new replies in it
    /// (see [`ReplyCache`](crate::ReplyCache)).
    fn cache(self, cache: &crate::ReplyCache) -> crate::Cached<Self>
    where
        Self: Sized,
    {
        crate::Cached::new(self, cache.clone())
    }

    /// Keeps this generator's requests to `governance`'s budgets and to what the
    /// provider says of its limits (see [`Governor`](crate::Governor)); share one
    /// `Governance` between generators behind the same limits.
    fn govern(self, governance: &crate::Governance) -> crate::Governor<Self>
    where
        Self: Sized,
    {
        crate::Governor::new(self, governance.clone())
    }

    /// Counts this generator's requests against `limiter`, which other generators may
    /// share: one bound across several providers.
    fn limit_with(self, limiter: &Limiter) -> Limit<Self>
    where
        Self: Sized,
    {
        Limit::new(self, limiter.clone())
    }
}

impl<G: Generator + ?Sized> Generator for &G {
    fn generate(
        &self,
        request: &Request<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send {
        (**self).generate(request)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
    fn concurrency_hint(&self) -> Option<usize> {
        (**self).concurrency_hint()
    }
    fn endpoint(&self) -> Option<&str> {
        (**self).endpoint()
    }
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        (**self).resolve(request)
    }
}

impl<G: Generator + ?Sized> Generator for Arc<G> {
    fn generate(
        &self,
        request: &Request<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send {
        (**self).generate(request)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
    fn concurrency_hint(&self) -> Option<usize> {
        (**self).concurrency_hint()
    }
    fn endpoint(&self) -> Option<&str> {
        (**self).endpoint()
    }
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        (**self).resolve(request)
    }
}

/// A boxed generator, as a generator (for the runner's own stacks).
pub(crate) struct Boxed<'g>(pub(crate) Box<dyn DynGenerator + 'g>);

impl Generator for Boxed<'_> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        self.0.generate_boxed(request).await
    }
    fn name(&self) -> &str {
        self.0.name()
    }
    fn model(&self) -> Option<&str> {
        self.0.model()
    }
    fn concurrency_hint(&self) -> Option<usize> {
        self.0.concurrency_hint()
    }
    fn endpoint(&self) -> Option<&str> {
        self.0.endpoint()
    }
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        self.0.resolve(request)
    }
}

/// A boxed future, as returned by [`DynGenerator`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`Generator`], implemented for every generator, so that
/// generators of different types can sit in one [`GeneratorSet`].
pub trait DynGenerator: Send + Sync {
    /// [`Generator::generate`], boxed.
    fn generate_boxed<'a>(
        &'a self,
        request: &'a Request<'a>,
    ) -> BoxFuture<'a, Result<Reply, GeneratorError>>;

    /// [`Generator::name`].
    fn name(&self) -> &str;

    /// [`Generator::model`].
    fn model(&self) -> Option<&str>;

    /// [`Generator::concurrency_hint`].
    fn concurrency_hint(&self) -> Option<usize>;

    /// [`Generator::endpoint`].
    fn endpoint(&self) -> Option<&str>;

    /// [`Generator::resolve`].
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r>;
}

impl<G: Generator> DynGenerator for G {
    fn generate_boxed<'a>(
        &'a self,
        request: &'a Request<'a>,
    ) -> BoxFuture<'a, Result<Reply, GeneratorError>> {
        Box::pin(self.generate(request))
    }

    fn name(&self) -> &str {
        Generator::name(self)
    }

    fn model(&self) -> Option<&str> {
        Generator::model(self)
    }

    fn concurrency_hint(&self) -> Option<usize> {
        Generator::concurrency_hint(self)
    }

    fn endpoint(&self) -> Option<&str> {
        Generator::endpoint(self)
    }

    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        Generator::resolve(self, request)
    }
}

impl Generator for dyn DynGenerator + '_ {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        self.generate_boxed(request).await
    }

    fn name(&self) -> &str {
        DynGenerator::name(self)
    }

    fn model(&self) -> Option<&str> {
        DynGenerator::model(self)
    }

    fn concurrency_hint(&self) -> Option<usize> {
        DynGenerator::concurrency_hint(self)
    }

    fn endpoint(&self) -> Option<&str> {
        DynGenerator::endpoint(self)
    }

    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        DynGenerator::resolve(self, request)
    }
}

/// What a recipe's `gen` columns draw on: one generator, or a [`GeneratorSet`] of named
/// ones. A column picks a named generator with `gen("...", generator = "judge")`; columns
/// without that option use the default.
///
/// A single [`Generator`] is the default and has no named ones.
pub trait Generators: Send + Sync {
    /// The generator called `name`, or the default one for `None`.
    fn get(&self, name: Option<&str>) -> Option<&dyn DynGenerator>;

    /// The names of the named generators, for error messages.
    fn names(&self) -> Vec<String>;
}

impl<G: Generator> Generators for G {
    fn get(&self, name: Option<&str>) -> Option<&dyn DynGenerator> {
        match name {
            None => Some(self),
            Some(_) => None,
        }
    }

    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Several generators for one recipe: a default one and named ones.
///
/// ```
/// use chatan::{GeneratorSet, OpenAi, Anthropic};
///
/// chatan::dataset! {
///     struct Judged {
///         question: String = gen("write a trivia question"),
///         answer: String = gen("answer: {question}"),
///         verdict: String = gen("is this answer right? {question} {answer}", generator = "judge"),
///     }
/// }
///
/// # fn main() -> Result<(), chatan::Error> {
/// let generators = GeneratorSet::new()
///     .with_default(OpenAi::new("sk-...")?)
///     .with("judge", Anthropic::new("sk-ant-...")?);
/// let runner = Judged::runner(&generators);
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct GeneratorSet {
    default: Option<Box<dyn DynGenerator>>,
    named: Vec<(String, Box<dyn DynGenerator>)>,
}

impl GeneratorSet {
    /// An empty set.
    pub fn new() -> Self {
        GeneratorSet::default()
    }

    /// Sets the generator of columns that name none.
    pub fn with_default(mut self, generator: impl Generator + 'static) -> Self {
        self.default = Some(Box::new(generator));
        self
    }

    /// Adds (or replaces) the generator called `name`.
    pub fn with(mut self, name: impl Into<String>, generator: impl Generator + 'static) -> Self {
        let name = name.into();
        self.named.retain(|(n, _)| *n != name);
        self.named.push((name, Box::new(generator)));
        self
    }
}

impl Generators for GeneratorSet {
    fn get(&self, name: Option<&str>) -> Option<&dyn DynGenerator> {
        match name {
            None => self.default.as_deref(),
            Some(name) => self
                .named
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, g)| g.as_ref()),
        }
    }

    fn names(&self) -> Vec<String> {
        self.named.iter().map(|(n, _)| n.clone()).collect()
    }
}

impl std::fmt::Debug for GeneratorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratorSet")
            .field("default", &self.default.as_ref().map(|g| g.name()))
            .field(
                "named",
                &self
                    .named
                    .iter()
                    .map(|(n, g)| (n.as_str(), g.name()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
