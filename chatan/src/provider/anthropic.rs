//! Anthropic messages.

use std::fmt;
use std::time::Duration;

use reqwest::header::{HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};

use super::http::Endpoint;
use crate::error::{Error, GeneratorError};
use crate::generator::{Generator, Reply, Request, Usage};
use crate::secret::ApiKey;

/// The default base URL.
pub const ANTHROPIC_BASE_URL: &str = "https://api.anthropic.com";
/// The default model.
pub const ANTHROPIC_DEFAULT_MODEL: &str = "claude-3-5-haiku-latest";
/// The messages API requires a reply length limit; this one is used when a column sets
/// none.
pub const ANTHROPIC_DEFAULT_MAX_TOKENS: u32 = 1024;
const API_VERSION: &str = "2023-06-01";

/// A generator backed by Anthropic's messages API.
///
/// ```
/// use chatan::Anthropic;
///
/// # fn main() -> Result<(), chatan::Error> {
/// let claude = Anthropic::new("sk-ant-...")?.model("claude-3-5-haiku-latest");
/// assert!(!format!("{claude:?}").contains("sk-ant"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Anthropic {
    api: Endpoint,
    max_tokens: u32,
}

impl Anthropic {
    /// Anthropic itself, with `api_key`.
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        Self::build(Some(ApiKey::new(api_key)?), ANTHROPIC_BASE_URL)
    }

    /// From the environment: `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL` (default
    /// `https://api.anthropic.com`) and `ANTHROPIC_MODEL` (default
    /// `claude-3-5-haiku-latest`). The key may be left out when a base URL is set.
    pub fn from_env() -> Result<Self, Error> {
        let key = super::env("ANTHROPIC_API_KEY");
        let base = super::env("ANTHROPIC_BASE_URL");
        if key.is_none() && base.is_none() {
            return Err(Error::Config(
                "Anthropic is not configured: set ANTHROPIC_API_KEY".into(),
            ));
        }
        let generator = Self::build(
            key.map(ApiKey::new).transpose()?,
            base.as_deref().unwrap_or(ANTHROPIC_BASE_URL),
        )?;
        Ok(match super::env("ANTHROPIC_MODEL") {
            Some(model) => generator.model(model),
            None => generator,
        })
    }

    fn build(key: Option<ApiKey>, base_url: &str) -> Result<Self, Error> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &key {
            headers.insert(HeaderName::from_static("x-api-key"), key.header("")?);
        }
        headers.insert(
            HeaderName::from_static("anthropic-version"),
            HeaderValue::from_static(API_VERSION),
        );
        Ok(Anthropic {
            api: Endpoint::new(
                key,
                headers,
                base_url,
                "/v1/messages",
                "ANTHROPIC_BASE_URL",
                ANTHROPIC_DEFAULT_MODEL,
            )?,
            max_tokens: ANTHROPIC_DEFAULT_MAX_TOKENS,
        })
    }

    /// Sends requests to `base_url` instead (the part before `/v1/messages`).
    pub fn base_url(mut self, base_url: &str) -> Result<Self, Error> {
        self.api.set_base_url(base_url)?;
        Ok(self)
    }

    /// The model of columns that do not name one.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.api.model = model.into();
        self
    }

    /// The reply length limit of columns that set no `max_tokens` (default 1024).
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = max_tokens;
        self
    }

    /// Gives up on a request after `timeout` (default 120 s); a timeout is retried.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.api.timeout = timeout;
        self
    }
}

impl fmt::Debug for Anthropic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.api.debug("Anthropic", f)
    }
}

#[derive(Serialize)]
struct MessagesRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: [Message<'a>; 1],
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct MessagesResponse {
    content: Vec<Block>,
    usage: Option<MessagesUsage>,
}

#[derive(Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
}

#[derive(Deserialize)]
struct MessagesUsage {
    input_tokens: u64,
    output_tokens: u64,
}

impl Generator for Anthropic {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        let body = MessagesRequest {
            model: request.model.unwrap_or(&self.api.model),
            max_tokens: request.max_tokens.unwrap_or(self.max_tokens),
            system: request.system,
            messages: [Message {
                role: "user",
                content: request.prompt,
            }],
            temperature: request.temperature,
        };
        let response: MessagesResponse = self.api.post(&body).await?;
        let mut text = String::new();
        for block in response.content.iter().filter(|b| b.kind == "text") {
            text.push_str(&block.text);
        }
        if !response.content.iter().any(|b| b.kind == "text") {
            return Err(GeneratorError::Malformed(
                "the reply has no text block".into(),
            ));
        }
        Ok(match response.usage {
            Some(u) => Reply::with_usage(
                text,
                Usage {
                    input_tokens: u.input_tokens,
                    output_tokens: u.output_tokens,
                },
            ),
            None => Reply::from(text),
        })
    }

    fn name(&self) -> &str {
        "anthropic"
    }
}
