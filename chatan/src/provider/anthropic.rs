//! Anthropic messages.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::format::{Auth, Info, Message, Provider, WireFormat, conversation};
use crate::error::GeneratorError;
use crate::generator::{Reply, Request, Usage};

/// The default base URL.
pub const BASE_URL: &str = "https://api.anthropic.com";
/// The default model.
pub const DEFAULT_MODEL: &str = "claude-haiku-4-5";
/// The messages API requires a reply length limit; this one is sent when neither the
/// column nor the generator ([`Provider::max_tokens`]) sets one.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
/// The tool a structured column's reply is asked for through.
pub const ANSWER_TOOL: &str = "answer";

/// A generator backed by Anthropic's messages API.
///
/// ```
/// use chatan::Anthropic;
///
/// # fn main() -> Result<(), chatan::Error> {
/// let claude = Anthropic::new("sk-ant-...")?.model("claude-haiku-4-5").temperature(0.7);
/// assert!(!format!("{claude:?}").contains("sk-ant"));
/// # Ok(()) }
/// ```
///
/// [`from_env`](Provider::from_env) reads `ANTHROPIC_API_KEY`, `ANTHROPIC_BASE_URL`
/// (default `https://api.anthropic.com`) and `ANTHROPIC_MODEL` (default
/// `claude-haiku-4-5`).
///
/// A structured column is asked for through tool use: one tool, [`ANSWER_TOOL`], whose
/// input schema is the column's, and `tool_choice` naming it; the tool call's input is
/// the reply. Stop sequences go as `stop_sequences`; a column's `seed` is not sent (the
/// API has none); `cache_system = true` marks the system prompt with `cache_control`.
pub type Anthropic = Provider<Messages>;

/// The messages wire format.
#[derive(Debug, Clone, Copy, Default)]
pub struct Messages;

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
        let system = request.system.map(|system| {
            if request.cache_system {
                json!([{"type": "text", "text": system, "cache_control": {"type": "ephemeral"}}])
            } else {
                Value::from(system)
            }
        });
        let (tools, tool_choice) = match request.schema {
            Some(schema) => (
                Some(json!([{
                    "name": ANSWER_TOOL,
                    "description": "Give the answer to the request as this tool's input.",
                    "input_schema": schema.json(),
                }])),
                Some(json!({"type": "tool", "name": ANSWER_TOOL})),
            ),
            None => (None, None),
        };
        MessagesRequest {
            model,
            max_tokens: request.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            system,
            messages: conversation(request, request.prompt.into()),
            temperature: request.temperature,
            top_p: request.top_p,
            top_k: request.top_k,
            stop_sequences: request.stop,
            tools,
            tool_choice,
        }
    }

    fn reply(&self, response: MessagesResponse) -> Result<Reply, GeneratorError> {
        if let Some(tool) = response.content.iter().find(|b| b.kind == "tool_use") {
            let input = tool.input.as_ref().ok_or_else(|| {
                GeneratorError::Malformed("the reply's tool call has no input".into())
            })?;
            return Ok(Reply::new(input.to_string(), response.usage));
        }
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
    system: Option<Value>,
    messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop_sequences: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    tools: Option<Value>,
    #[serde(skip_serializing_if = "Option::is_none")]
    tool_choice: Option<Value>,
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
    #[serde(default)]
    input: Option<Value>,
}
