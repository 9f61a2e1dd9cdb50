//! Anthropic messages.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::format::{Auth, Info, Message, Provider, WireFormat, conversation};
use crate::error::GeneratorError;
use crate::reply::{Finish, Reply, Usage};
use crate::request::Request;

/// The default base URL.
pub const BASE_URL: &str = "https://api.anthropic.com";
/// The default model.
pub const DEFAULT_MODEL: &str = "claude-haiku-4-5";
/// The messages API requires a reply length limit; this one is sent when neither the
/// column nor the generator
/// ([`SetOptions::max_tokens`](crate::options::SetOptions::max_tokens)) sets one.
pub const DEFAULT_MAX_TOKENS: u32 = 1024;
/// The tool a structured column's reply is asked for through.
pub const ANSWER_TOOL: &str = "answer";

/// A generator backed by Anthropic's messages API.
///
/// ```
/// use chatan::Anthropic;
/// use chatan::generate::SetOptions;
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
///
/// What the API takes (its reference and the Claude 4.5 migration guide), kept before
/// anything is sent: a `temperature` from 0 to 1 and a `top_p` from 0 to 1, and not
/// both (Claude Haiku 4.5, the default, and the Sonnet and Opus 4.x models refuse the
/// pair) — a request that breaks these fails with [`GeneratorError::Unsupported`], not a
/// 400. A stop sequence of whitespace only (`"\n"`), which the API refuses, is not sent
/// but applied here: the reply is cut where it first appears. Models that take no
/// sampling parameters at all: [`sampling_parameters(false)`](Provider::sampling_parameters).
pub type Anthropic = Provider<Messages>;

/// The messages wire format.
#[derive(Debug, Clone, Copy)]
pub struct Messages {
    /// Whether temperature, top_p and top_k are sent.
    sampling: bool,
}

impl Default for Messages {
    fn default() -> Self {
        Messages { sampling: true }
    }
}

impl Provider<Messages> {
    /// Whether the model takes sampling parameters (default yes). The newest Claude
    /// models take none (their SDK no longer has `temperature`, `top_p` or `top_k`):
    /// with `false`, none is sent, and a request that sets one (a column's
    /// `temperature`, a generator default) fails before it is sent with
    /// [`GeneratorError::Unsupported`] naming it, rather than being quietly changed.
    pub fn sampling_parameters(mut self, sent: bool) -> Self {
        self.format_mut().sampling = sent;
        self
    }
}

/// Whether a stop sequence is whitespace only, which the API refuses
/// (`stop_sequences: each stop sequence must contain non-whitespace`).
fn blank(stop: &str) -> bool {
    stop.trim().is_empty()
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
        let system = request.options.system.map(|system| {
            if request.options.cache_system {
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
        let sampling = self.sampling;
        MessagesRequest {
            model,
            max_tokens: request.options.max_tokens.unwrap_or(DEFAULT_MAX_TOKENS),
            system,
            messages: conversation(request, request.prompt.into()),
            temperature: request.options.temperature.filter(|_| sampling),
            top_p: request.options.top_p.filter(|_| sampling),
            top_k: request.options.top_k.filter(|_| sampling),
            stop_sequences: request
                .options
                .stop
                .iter()
                .copied()
                .filter(|s| !blank(s))
                .collect(),
            tools,
            tool_choice,
        }
    }

    fn check(&self, request: &Request<'_>, model: &str) -> Result<(), String> {
        if !self.sampling {
            let set = [
                request
                    .options
                    .temperature
                    .map(|t| format!("temperature {t}")),
                request.options.top_p.map(|p| format!("top_p {p}")),
                request.options.top_k.map(|k| format!("top_k {k}")),
            ];
            let set: Vec<String> = set.into_iter().flatten().collect();
            if !set.is_empty() {
                return Err(format!(
                    "{model} is set to take no sampling parameters \
                     (Anthropic::sampling_parameters(false)), but the request sets {}",
                    set.join(" and ")
                ));
            }
        }
        if let Some(t) = request
            .options
            .temperature
            .filter(|t| !(0.0..=1.0).contains(t))
        {
            return Err(format!(
                "Anthropic takes a temperature from 0 to 1, not {t}"
            ));
        }
        if let Some(p) = request.options.top_p.filter(|p| !(0.0..=1.0).contains(p)) {
            return Err(format!("Anthropic takes a top_p from 0 to 1, not {p}"));
        }
        if let (Some(t), Some(p)) = (request.options.temperature, request.options.top_p)
            && self.sampling
        {
            return Err(format!(
                "Anthropic's models take temperature or top_p, not both (Claude 4.5 and \
                 later refuse the pair): the request sets temperature {t} and top_p {p}"
            ));
        }
        if request.options.stop.iter().any(|s| s.is_empty()) {
            return Err("Anthropic takes no empty stop sequence".into());
        }
        Ok(())
    }

    /// `stop_reason` (the SDK's `StopReason`): `max_tokens` and
    /// `model_context_window_exceeded` cut the reply off, `pause_turn` leaves it
    /// unfinished, `refusal` is a refusal. Stop sequences of whitespace only, which were
    /// not sent, cut the text here.
    fn reply(
        &self,
        request: &Request<'_>,
        response: MessagesResponse,
    ) -> Result<Reply, GeneratorError> {
        let mut finish = match response.stop_reason.as_deref() {
            Some("max_tokens" | "model_context_window_exceeded" | "pause_turn") => {
                Finish::Truncated
            }
            Some("refusal") => Finish::Refused,
            _ => Finish::Complete,
        };
        if let Some(tool) = response.content.iter().find(|b| b.kind == "tool_use") {
            let input = tool.input.as_ref().ok_or_else(|| {
                GeneratorError::Malformed("the reply's tool call has no input".into())
            })?;
            return Ok(Reply::new(input.to_string(), response.usage).finished(finish));
        }
        let mut text = String::new();
        for block in response.content.iter().filter(|b| b.kind == "text") {
            text.push_str(&block.text);
        }
        if finish == Finish::Refused {
            if text.trim().is_empty() {
                text = "(the model refused, with no text)".into();
            }
            return Ok(Reply::new(text, response.usage).finished(finish));
        }
        if !response.content.iter().any(|b| b.kind == "text") {
            return Err(GeneratorError::Malformed(
                "the reply has no text block".into(),
            ));
        }
        let cut = request
            .options
            .stop
            .iter()
            .filter(|s| blank(s))
            .filter_map(|s| text.find(s))
            .min();
        if let Some(cut) = cut {
            // Where the model would have stopped: what follows was never asked for.
            text.truncate(cut);
            finish = Finish::Complete;
        }
        Ok(Reply::new(text, response.usage).finished(finish))
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
    #[serde(skip_serializing_if = "Vec::is_empty")]
    stop_sequences: Vec<&'a str>,
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
    #[serde(default)]
    stop_reason: Option<String>,
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
