//! One request to a generator: the prompt, the column's options, where it comes from,
//! and where to report what happens to it.

use std::fmt;

use crate::event::{Event, Observer};

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
    /// Which request for this cell this is, from 1: retries (by [`Retry`](crate::Retry)) and questions
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
