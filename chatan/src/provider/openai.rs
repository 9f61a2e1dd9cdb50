//! OpenAI chat completions, and every server that speaks them (vLLM, llama.cpp server,
//! Ollama, LM Studio, Together, Groq, ...) by base URL.

use serde::{Deserialize, Serialize};

use super::format::{Auth, Info, Message, Provider, WireFormat};
use crate::error::{Error, GeneratorError};
use crate::generator::{Reply, Request, Usage};

/// The default base URL.
pub const BASE_URL: &str = "https://api.openai.com/v1";
/// The default model.
pub const DEFAULT_MODEL: &str = "gpt-4.1-mini";

/// A generator backed by an OpenAI-compatible chat-completions endpoint.
///
/// ```
/// use chatan::OpenAi;
/// use std::time::Duration;
///
/// # fn main() -> Result<(), chatan::Error> {
/// let openai = OpenAi::new("sk-...")?.model("gpt-4.1-mini").temperature(0.7);
/// let local = OpenAi::compatible("http://localhost:8000/v1")?.model("Qwen/Qwen2.5-0.5B-Instruct");
/// let patient = OpenAi::new("sk-...")?.timeout(Duration::from_secs(300));
/// assert!(!format!("{openai:?}").contains("sk-"));
/// # Ok(()) }
/// ```
///
/// [`from_env`](Provider::from_env) reads `OPENAI_API_KEY`, `OPENAI_BASE_URL` (default
/// `https://api.openai.com/v1`) and `OPENAI_MODEL` (default `gpt-4.1-mini`).
pub type OpenAi = Provider<ChatCompletions>;

impl Provider<ChatCompletions> {
    /// An OpenAI-compatible server that needs no key, at `base_url` (the part before
    /// `/chat/completions`, such as `http://localhost:8000/v1`).
    pub fn compatible(base_url: &str) -> Result<Self, Error> {
        Self::build(None, base_url, "base URL")
    }
}

/// The chat-completions wire format.
#[derive(Debug, Clone, Copy, Default)]
pub struct ChatCompletions;

impl WireFormat for ChatCompletions {
    const INFO: Info = Info::new(
        "openai",
        "OpenAi",
        "/chat/completions",
        BASE_URL,
        DEFAULT_MODEL,
    );
    const AUTH: Auth = Auth::Bearer;
    const ENV: &'static str = "OPENAI";
    const SETUP: &'static str =
        "OPENAI_API_KEY, or OPENAI_BASE_URL for an OpenAI-compatible server";

    type Response = ChatResponse;

    fn body<'a>(&'a self, request: &'a Request<'a>, model: &'a str) -> impl Serialize + 'a {
        let user = Message {
            role: "user",
            content: request.prompt,
        };
        let messages = match request.system {
            Some(system) => vec![
                Message {
                    role: "system",
                    content: system,
                },
                user,
            ],
            None => vec![user],
        };
        ChatRequest {
            model,
            messages,
            temperature: request.temperature,
            max_tokens: request.max_tokens,
            top_p: request.top_p,
        }
    }

    fn reply(&self, response: ChatResponse) -> Result<Reply, GeneratorError> {
        let text = response
            .choices
            .into_iter()
            .next()
            .and_then(|c| c.message.content)
            .ok_or_else(|| GeneratorError::Malformed("the reply has no message content".into()))?;
        Ok(Reply::new(text, response.usage))
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
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
}

/// A chat-completions response body.
#[derive(Debug, Deserialize)]
pub struct ChatResponse {
    choices: Vec<Choice>,
    usage: Option<Usage>,
}

#[derive(Debug, Deserialize)]
struct Choice {
    message: ReplyMessage,
}

#[derive(Debug, Deserialize)]
struct ReplyMessage {
    content: Option<String>,
}
