//! OpenAI chat completions, and every server that speaks them (vLLM, llama.cpp server,
//! Ollama, LM Studio, Together, Groq, ...) by base URL.

use std::fmt;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use serde::{Deserialize, Serialize};

use super::http::Endpoint;
use crate::error::{Error, GeneratorError};
use crate::generator::{Generator, Reply, Request, Usage};
use crate::secret::ApiKey;

/// The default base URL.
pub const OPENAI_BASE_URL: &str = "https://api.openai.com/v1";
/// The default model.
pub const OPENAI_DEFAULT_MODEL: &str = "gpt-4o-mini";

/// A generator backed by an OpenAI-compatible chat-completions endpoint.
///
/// ```
/// use chatan::OpenAi;
/// use std::time::Duration;
///
/// # fn main() -> Result<(), chatan::Error> {
/// let openai = OpenAi::new("sk-...")?.model("gpt-4o-mini");
/// let local = OpenAi::compatible("http://localhost:8000/v1")?.model("Qwen/Qwen2.5-0.5B-Instruct");
/// let patient = OpenAi::new("sk-...")?.timeout(Duration::from_secs(300));
/// assert!(!format!("{openai:?}").contains("sk-"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct OpenAi {
    api: Endpoint,
}

impl OpenAi {
    /// OpenAI itself, with `api_key`.
    pub fn new(api_key: impl Into<String>) -> Result<Self, Error> {
        Self::build(Some(ApiKey::new(api_key)?), OPENAI_BASE_URL)
    }

    /// An OpenAI-compatible server that needs no key, at `base_url` (the part before
    /// `/chat/completions`, such as `http://localhost:8000/v1`).
    pub fn compatible(base_url: &str) -> Result<Self, Error> {
        Self::build(None, base_url)
    }

    /// From the environment: `OPENAI_API_KEY`, `OPENAI_BASE_URL` (default
    /// `https://api.openai.com/v1`) and `OPENAI_MODEL` (default `gpt-4o-mini`). The key
    /// may be left out when a base URL is set, for local servers that need none.
    pub fn from_env() -> Result<Self, Error> {
        let key = super::env("OPENAI_API_KEY");
        let base = super::env("OPENAI_BASE_URL");
        let generator = match (key, base) {
            (None, None) => {
                return Err(Error::Config(
                    "OpenAI is not configured: set OPENAI_API_KEY, or OPENAI_BASE_URL for an \
                     OpenAI-compatible server"
                        .into(),
                ));
            }
            (key, base) => Self::build(
                key.map(ApiKey::new).transpose()?,
                base.as_deref().unwrap_or(OPENAI_BASE_URL),
            )?,
        };
        Ok(match super::env("OPENAI_MODEL") {
            Some(model) => generator.model(model),
            None => generator,
        })
    }

    fn build(key: Option<ApiKey>, base_url: &str) -> Result<Self, Error> {
        let mut headers = HeaderMap::new();
        if let Some(key) = &key {
            headers.insert(AUTHORIZATION, key.header("Bearer ")?);
        }
        Ok(OpenAi {
            api: Endpoint::new(
                key,
                headers,
                base_url,
                "/chat/completions",
                "OPENAI_BASE_URL",
                OPENAI_DEFAULT_MODEL,
            )?,
        })
    }

    /// Sends requests to `base_url` instead (the part before `/chat/completions`).
    pub fn base_url(mut self, base_url: &str) -> Result<Self, Error> {
        self.api.set_base_url(base_url)?;
        Ok(self)
    }

    /// The model of columns that do not name one.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.api.model = model.into();
        self
    }

    /// Gives up on a request after `timeout` (default 120 s); a timeout is retried.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.api.timeout = timeout;
        self
    }
}

impl fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.api.debug("OpenAi", f)
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatResponse {
    choices: Vec<Choice>,
    usage: Option<ChatUsage>,
}

#[derive(Deserialize)]
struct Choice {
    message: ReplyMessage,
}

#[derive(Deserialize)]
struct ReplyMessage {
    content: Option<String>,
}

#[derive(Deserialize)]
struct ChatUsage {
    prompt_tokens: u64,
    completion_tokens: u64,
}

impl Generator for OpenAi {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = request.system {
            messages.push(Message {
                role: "system",
                content: system,
            });
        }
        messages.push(Message {
            role: "user",
            content: request.prompt,
        });
        let body = ChatRequest {
            model: request.model.unwrap_or(&self.api.model),
            messages,
            temperature: request.temperature,
            max_tokens: request.max_tokens,
        };
        let response: ChatResponse = self.api.post(&body).await?;
        let text = response
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| GeneratorError::Malformed("the reply has no message content".into()))?;
        Ok(match response.usage {
            Some(u) => Reply::with_usage(
                text,
                Usage {
                    input_tokens: u.prompt_tokens,
                    output_tokens: u.completion_tokens,
                },
            ),
            None => Reply::from(text),
        })
    }

    fn name(&self) -> &str {
        "openai"
    }
}
