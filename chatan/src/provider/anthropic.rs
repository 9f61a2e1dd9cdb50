//! Anthropic messages.

use serde::{Deserialize, Serialize};

use super::format::{Auth, Info, Provider, WireFormat};
use crate::error::GeneratorError;
use crate::generator::{Reply, Request, Usage};

/// The default base URL.
pub const BASE_URL: &str = "https://api.anthropic.com";
/// The default model.
pub const DEFAULT_MODEL: &str = "claude-3-5-haiku-latest";
/// The messages API requires a reply length limit; this one is used when a column sets
/// none.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;

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
///
/// [`from_env`](Provider::from_env) reads `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`
/// (default `https://api.anthropic.com`) and `ANTHROPIC_MODEL` (default
/// `claude-3-5-haiku-latest`).
pub type Anthropic = Provider<Messages>;

impl Provider<Messages> {
    /// The reply length limit of columns that set no `max_tokens` (default 1024).
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.format_mut().max_tokens = max_tokens;
        self
    }
}

/// The messages wire format.
#[derive(Debug, Clone, Copy)]
pub struct Messages {
    max_tokens: u32,
}

impl Default for Messages {
    fn default() -> Self {
        Messages {
            max_tokens: DEFAULT_MAX_TOKENS,
        }
    }
}

impl WireFormat for Messages {
    const INFO: Info = Info::new(
        "anthropic",
        "Anthropic",
        "/v1/messages",
        BASE_URL,
        DEFAULT_MODEL,
    );
    const AUTH: Auth = Auth::Header("x-api-key");
    const HEADERS: &'static [(&'static str, &'static str)] = &[("anthropic-version", "2023-06-01")];
    const ENV: &'static str = "ANTHROPIC";
    const SETUP: &'static str = "ANTHROPIC_API_KEY";

    type Response = MessagesResponse;

    fn body<'a>(&'a self, request: &'a Request<'a>, model: &'a str) -> impl Serialize + 'a {
        MessagesRequest {
            model,
            max_tokens: request.max_tokens.unwrap_or(self.max_tokens),
            system: request.system,
            messages: [Message {
                role: "user",
                content: request.prompt,
            }],
            temperature: request.temperature,
        }
    }

    fn reply(&self, response: MessagesResponse) -> Result<Reply, GeneratorError> {
        if !response.content.iter().any(|b| b.kind == "text") {
            return Err(GeneratorError::Malformed(
                "the reply has no text block".into(),
            ));
        }
        let mut text = String::new();
        for block in response.content.iter().filter(|b| b.kind == "text") {
            text.push_str(&block.text);
        }
        Ok(Reply::new(text, response.usage))
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

/// A messages response body.
#[derive(Debug, Deserialize)]
pub struct MessagesResponse {
    content: Vec<Block>,
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Block {
    #[serde(rename = "type")]
    kind: String,
    #[serde(default)]
    text: String,
}
