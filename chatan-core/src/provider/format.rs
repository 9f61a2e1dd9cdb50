//! A provider is a [`WireFormat`] over the shared HTTP transport: [`Provider<F>`] holds
//! the transport, the default model and the format, and is the one place where the
//! builder methods, `from_env` and the [`Generator`] impl live for every format.

use std::fmt;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap, HeaderName, HeaderValue};
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::env;
use super::transport::Transport;
use crate::error::{ConfigError, Error, GeneratorError};
use crate::generator::Generator;
use crate::options::{Options, SetOptions};
use crate::reply::Reply;
use crate::request::{Defaults, Request};
use crate::secret::ApiKey;

/// How a provider sends its key.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Auth {
    /// `Authorization: Bearer <key>`.
    Bearer,
    /// The key alone in the named header (such as `x-api-key`).
    Header(&'static str),
}

/// What names a provider and where it lives by default.
#[derive(Debug, Clone, Copy)]
pub struct Info {
    /// The provider's short name, for logs (`openai`).
    pub name: &'static str,
    /// The type's name in `Debug` output (`OpenAi`).
    pub debug_name: &'static str,
    /// The path joined to the base URL (`/chat/completions`).
    pub path: &'static str,
    /// The default base URL.
    pub base_url: &'static str,
    /// The default model.
    pub model: &'static str,
}

impl Info {
    /// The fields in the order above.
    pub const fn new(
        name: &'static str,
        debug_name: &'static str,
        path: &'static str,
        base_url: &'static str,
        model: &'static str,
    ) -> Self {
        Info {
            name,
            debug_name,
            path,
            base_url,
            model,
        }
    }
}

/// How one API turns a [`Request`] into a body and a response body into a [`Reply`]:
/// OpenAI's chat completions ([`ChatCompletions`](super::openai::ChatCompletions)) and
/// Anthropic's messages ([`Messages`](super::anthropic::Messages)). The transport (client,
/// key, URL, timeout, errors) is the same for every format.
pub trait WireFormat: Clone + Send + Sync + 'static {
    /// Names, path and defaults.
    const INFO: Info;
    /// How the key is sent.
    const AUTH: Auth;
    /// Headers sent with every request, besides the key.
    const HEADERS: &'static [(&'static str, &'static str)] = &[];
    /// The prefix of the environment variables of [`Provider::from_env`]: `OPENAI` reads
    /// `OPENAI_API_KEY`, `OPENAI_BASE_URL` and `OPENAI_MODEL`.
    const ENV: &'static str;
    /// What to tell a user whose environment sets none of them.
    const SETUP: &'static str;

    /// The response body.
    type Response: DeserializeOwned;

    /// The request body for `request`, with `model` (the column's, else the default).
    fn body<'a>(&'a self, request: &'a Request<'a>, model: &'a str) -> impl Serialize + 'a;

    /// The reply to `request` in a response body: its text, usage and
    /// [`Finish`](crate::reply::Finish).
    fn reply(
        &self,
        request: &Request<'_>,
        response: Self::Response,
    ) -> Result<Reply, GeneratorError>;

    /// Told the base URL whenever it is set (the format may behave differently for the
    /// provider's own endpoint than for compatible servers).
    fn endpoint(&mut self, _base_url: &str) {}

    /// Why the provider would refuse `request` (with `model`), if it would and the format
    /// cannot adapt it: checked before anything is sent, so the error is a
    /// [`GeneratorError::Unsupported`] naming the option, not a 400 from the server.
    fn check(&self, _request: &Request<'_>, _model: &str) -> Result<(), String> {
        Ok(())
    }
}

#[cfg(any(feature = "openai", feature = "anthropic"))]
/// One chat message of a request body; both built-in formats send them.
#[derive(Serialize)]
pub(crate) struct Message<'a> {
    pub role: &'static str,
    pub content: std::borrow::Cow<'a, str>,
}

#[cfg(any(feature = "openai", feature = "anthropic"))]
/// The conversation of a request: the prompt, and when a question is asked again, the
/// reply that could not be used and the follow-up that says why.
pub(crate) fn conversation<'a>(
    request: &Request<'a>,
    prompt: std::borrow::Cow<'a, str>,
) -> Vec<Message<'a>> {
    let mut messages = vec![Message {
        role: "user",
        content: prompt,
    }];
    if let Some(feedback) = request.feedback {
        // An empty (or blank) reply is not sent back as a turn: Anthropic refuses a
        // message with no text but a final assistant one ("all messages must have
        // non-empty content except for the optional final assistant message"), and
        // the follow-up says it was empty.
        if !feedback.reply.trim().is_empty() {
            messages.push(Message {
                role: "assistant",
                content: feedback.reply.into(),
            });
        }
        messages.push(Message {
            role: "user",
            content: feedback.message().into(),
        });
    }
    messages
}

/// A generator that speaks the wire format `F` over HTTP. Used as
/// [`OpenAi`](crate::OpenAi) and [`Anthropic`](crate::Anthropic).
///
/// Request options have three levels: a column's own option (`gen(.., temperature =
/// 0.2)`) wins over the generator's default set here (`.temperature(0.7)`), which wins
/// over the provider's own default (the option is not sent).
#[derive(Clone)]
pub struct Provider<F> {
    transport: Transport,
    model: String,
    defaults: Defaults,
    format: F,
}

impl<F: WireFormat + Default> Provider<F> {
    /// The provider itself, at its default base URL, with `api_key`.
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        Self::build(Some(ApiKey::new(api_key)?), F::INFO.base_url, "base URL")
    }

    /// From the environment: `<ENV>_API_KEY`, `<ENV>_BASE_URL` (default
    /// [`Info::base_url`]) and `<ENV>_MODEL`, where `<ENV>` is [`WireFormat::ENV`]. The
    /// key may be left out when a base URL is set, for local servers that need none.
    pub fn from_env() -> Result<Self, Error> {
        let key_variable = format!("{}_API_KEY", F::ENV);
        let key = env(&key_variable);
        let base_variable = format!("{}_BASE_URL", F::ENV);
        let base = env(&base_variable);
        if key.is_none() && base.is_none() && super::set_but_empty(&key_variable) {
            return Err(Error::Config(ConfigError::EmptyVariable(key_variable)));
        }
        if key.is_none() && base.is_none() {
            return Err(Error::Config(ConfigError::NotConfigured {
                provider: F::INFO.debug_name,
                set: F::SETUP,
            }));
        }
        let provider = Self::build(
            key.map(ApiKey::new).transpose()?,
            base.as_deref().unwrap_or(F::INFO.base_url),
            &base_variable,
        )?;
        Ok(match env(&format!("{}_MODEL", F::ENV)) {
            Some(model) => provider.model(model),
            None => provider,
        })
    }

    pub(crate) fn build(
        key: Option<ApiKey>,
        base_url: &str,
        variable: &str,
    ) -> Result<Self, Error> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &key {
            match F::AUTH {
                Auth::Bearer => headers.insert(AUTHORIZATION, key.header("Bearer ")?),
                Auth::Header(name) => {
                    headers.insert(HeaderName::from_static(name), key.header("")?)
                }
            };
        }
        for (name, value) in F::HEADERS {
            headers.insert(
                HeaderName::from_static(name),
                HeaderValue::from_static(value),
            );
        }
        let mut format = F::default();
        format.endpoint(base_url);
        Ok(Provider {
            transport: Transport::new(key, headers, base_url, F::INFO.path, variable)?,
            model: F::INFO.model.to_owned(),
            defaults: Defaults::default(),
            format,
        })
    }
}

impl<F: WireFormat> Provider<F> {
    /// Sends requests to `base_url` instead (the part before [`Info::path`]).
    pub fn base_url(mut self, base_url: &str) -> Result<Self, Error> {
        self.transport.set_base_url(base_url)?;
        self.format.endpoint(base_url);
        Ok(self)
    }

    /// The model of columns that do not name one.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Gives up on a request after `timeout` (default 120 s); a timeout is retried.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.transport.timeout = timeout;
        self
    }

    /// The largest reply body read (default 32 MiB); a larger one fails the request with
    /// [`GeneratorError::TooLarge`] instead of filling memory.
    pub fn max_reply_bytes(mut self, bytes: usize) -> Self {
        self.transport.max_reply_bytes = bytes;
        self
    }

    /// The system prompt of columns that set none (owned text; the other defaults are
    /// set by [`SetOptions`]: `.temperature(0.7)`).
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.defaults.system = Some(system.into());
        self
    }

    /// The wire format, to change how it writes requests.
    #[cfg_attr(not(feature = "openai"), allow(dead_code))]
    pub(crate) fn format_mut(&mut self) -> &mut F {
        &mut self.format
    }
}

impl<F: WireFormat> fmt::Debug for Provider<F> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct(F::INFO.debug_name)
            .field("endpoint", &self.transport.url)
            .field("model", &self.model)
            .field("defaults", &self.defaults)
            .field("api_key", self.transport.key())
            .field("timeout", &self.transport.timeout)
            .finish()
    }
}

impl<F: WireFormat> Provider<F> {
    /// The body `request` is sent with, as the chat endpoint would get it.
    pub(crate) fn request_body(&self, request: &Request<'_>) -> Result<Vec<u8>, GeneratorError> {
        let request = self.defaults.apply(request);
        let model = request.options.model.unwrap_or(&self.model);
        self.format
            .check(&request, model)
            .map_err(|message| GeneratorError::Unsupported { message })?;
        // Room for the prompt, the system prompt and the rest of the body at once.
        let text = request.prompt.len() + request.options.system.map_or(0, str::len);
        let mut body = Vec::with_capacity(text + 512);
        serde_json::to_writer(&mut body, &self.format.body(&request, model))
            .map_err(GeneratorError::other)?;
        Ok(body)
    }

    /// The reply to `request` in a response body (as JSON) of the chat endpoint.
    #[cfg_attr(not(any(feature = "openai", feature = "anthropic")), allow(dead_code))]
    pub(crate) fn reply_of(
        &self,
        request: &Request<'_>,
        response: serde_json::Value,
    ) -> Result<Reply, GeneratorError> {
        let response: F::Response = serde_json::from_value(response)
            .map_err(|e| GeneratorError::Malformed(format!("a batch result: {e}")))?;
        self.format.reply(&self.defaults.apply(request), response)
    }

    #[cfg_attr(not(any(feature = "openai", feature = "anthropic")), allow(dead_code))]
    pub(crate) fn transport(&self) -> &Transport {
        &self.transport
    }
}

/// The defaults of columns that set none.
impl<F: WireFormat> SetOptions<'static> for Provider<F> {
    fn options_mut(&mut self) -> &mut Options<'static> {
        &mut self.defaults.options
    }
}

impl<F: WireFormat> Generator for Provider<F> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        let body = self.request_body(request)?;
        let (response, limits): (F::Response, _) = self.transport.post(body).await?;
        let mut reply = self.format.reply(&self.defaults.apply(request), response)?;
        reply.limits = limits;
        Ok(reply)
    }

    fn name(&self) -> &str {
        F::INFO.name
    }

    fn model(&self) -> Option<&str> {
        Some(&self.model)
    }

    fn endpoint(&self) -> Option<&str> {
        Some(&self.transport.url)
    }

    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        self.defaults.apply(request)
    }
}
