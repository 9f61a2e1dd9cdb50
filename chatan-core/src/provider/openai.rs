//! OpenAI chat completions, and every server that speaks them (vLLM, llama.cpp server,
//! Ollama, LM Studio, Together, Groq, ...) by base URL.

use std::borrow::Cow;

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::format::{Auth, Info, Message, Provider, WireFormat, conversation};
use crate::error::{Error, GeneratorError};
use crate::reply::{Finish, Reply, Usage};
use crate::request::Request;

/// The default base URL.
pub const BASE_URL: &str = "https://api.openai.com/v1";
/// The default model.
pub const DEFAULT_MODEL: &str = "gpt-4.1-mini";

/// A generator backed by an OpenAI-compatible chat-completions endpoint.
///
/// ```
/// use chatan::OpenAi;
/// use chatan::generate::SetOptions;
/// use chatan::provider::{MaxTokensParam, StructuredOutput};
/// use std::time::Duration;
///
/// # fn main() -> Result<(), chatan::Error> {
/// let openai = OpenAi::new("sk-...")?.model("gpt-4.1-mini").temperature(0.7);
/// let local = OpenAi::compatible("http://localhost:8000/v1")?
///     .model("Qwen/Qwen2.5-0.5B-Instruct")
///     .structured_output(StructuredOutput::InPrompt) // a server without json_schema
///     .max_tokens_param(MaxTokensParam::MaxTokens);
/// let patient = OpenAi::new("sk-...")?.timeout(Duration::from_secs(300));
/// assert!(!format!("{openai:?}").contains("sk-"));
/// # Ok(()) }
/// ```
///
/// [`from_env`](Provider::from_env) reads `OPENAI_API_KEY`, `OPENAI_BASE_URL` (default
/// `https://api.openai.com/v1`) and `OPENAI_MODEL` (default `gpt-4.1-mini`).
///
/// A reply length limit is sent as `max_completion_tokens` to OpenAI itself (which
/// every current OpenAI chat model takes, and its reasoning models require) and as
/// `max_tokens` to any other base URL (what vLLM, llama.cpp, Ollama and most compatible
/// servers read); [`max_tokens_param`](Provider::max_tokens_param) overrides it.
pub type OpenAi = Provider<ChatCompletions>;

/// How a structured column's schema reaches an OpenAI-compatible server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum StructuredOutput {
    /// `response_format: {"type": "json_schema", ...}` (OpenAI, vLLM, llama.cpp, Ollama).
    #[default]
    Native,
    /// The schema written into the prompt, for servers without `json_schema`.
    InPrompt,
}

/// Whose rules a chat-completions endpoint keeps: OpenAI's own (`max_completion_tokens`,
/// no `top_k`) or those of a compatible server (vLLM, llama.cpp, Ollama: `max_tokens`,
/// `top_k` sent).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Dialect {
    /// OpenAI's API, at its own URL or behind a proxy.
    OpenAi,
    /// An OpenAI-compatible server.
    Compatible,
}

/// Which field carries the reply length limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum MaxTokensParam {
    /// `max_tokens`.
    MaxTokens,
    /// `max_completion_tokens`.
    MaxCompletionTokens,
}

impl Provider<ChatCompletions> {
    /// An OpenAI-compatible server that needs no key, at `base_url` (the part before
    /// `/chat/completions`, such as `http://localhost:8000/v1`).
    pub fn compatible(base_url: &str) -> Result<Self, Error> {
        Self::build(None, base_url, "base URL")
    }

    /// How structured columns ask for their schema (default
    /// [`StructuredOutput::Native`]).
    pub fn structured_output(mut self, mode: StructuredOutput) -> Self {
        self.format_mut().structured = mode;
        self
    }

    /// Whether `json_schema` requests are `strict` (default yes: the server must keep to
    /// the schema; the schema is made strict-compatible first).
    pub fn strict(mut self, strict: bool) -> Self {
        self.format_mut().strict = strict;
        self
    }

    /// Which field carries the reply length limit (default: by endpoint, see
    /// [`OpenAi`]).
    pub fn max_tokens_param(mut self, param: MaxTokensParam) -> Self {
        self.format_mut().max_tokens_param = Some(param);
        self
    }

    /// Whose rules the endpoint keeps (default: [`Dialect::OpenAi`] for
    /// `https://api.openai.com`, [`Dialect::Compatible`] for any other base URL): set
    /// `OpenAi` for a proxy or gateway in front of OpenAI. Set again after
    /// [`base_url`](Provider::base_url), which chooses by URL.
    pub fn dialect(mut self, dialect: Dialect) -> Self {
        self.format_mut().official = dialect == Dialect::OpenAi;
        self
    }
}

/// The chat-completions wire format.
#[derive(Debug, Clone, Copy)]
pub struct ChatCompletions {
    structured: StructuredOutput,
    strict: bool,
    max_tokens_param: Option<MaxTokensParam>,
    /// Whether the base URL is OpenAI's own.
    official: bool,
}

impl Default for ChatCompletions {
    fn default() -> Self {
        ChatCompletions {
            structured: StructuredOutput::Native,
            strict: true,
            max_tokens_param: None,
            official: true,
        }
    }
}

/// What a prompt gains when the schema goes in it.
fn schema_instructions(schema: &Value) -> String {
    format!(
        "\n\nReply with only a JSON value, no prose and no code fence, that matches this \
         JSON Schema:\n{schema}"
    )
}

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
        let mut prompt = Cow::Borrowed(request.prompt);
        let mut response_format = None;
        if let Some(schema) = request.schema {
            match self.structured {
                StructuredOutput::Native => {
                    // A type strict mode cannot say (a map) goes as it is, not strict.
                    let (schema, strict) = match self.strict.then(|| schema.strict()).flatten() {
                        Some(strict) => (strict, true),
                        None => (schema.json().clone(), false),
                    };
                    response_format = Some(json!({
                        "type": "json_schema",
                        "json_schema": {"name": schema_name(request.column), "strict": strict, "schema": schema},
                    }));
                }
                StructuredOutput::InPrompt => {
                    prompt = Cow::Owned(format!(
                        "{}{}",
                        request.prompt,
                        schema_instructions(schema.json())
                    ));
                }
            }
        }
        let mut messages = Vec::with_capacity(2);
        if let Some(system) = request.options.system {
            messages.push(Message {
                role: "system",
                content: system.into(),
            });
        }
        messages.extend(conversation(request, prompt));
        let completion = match self.max_tokens_param {
            Some(param) => param == MaxTokensParam::MaxCompletionTokens,
            None => self.official,
        };
        ChatRequest {
            model,
            messages,
            temperature: request.options.temperature,
            max_tokens: request.options.max_tokens.filter(|_| !completion),
            max_completion_tokens: request.options.max_tokens.filter(|_| completion),
            top_p: request.options.top_p,
            // Compatible servers (vLLM, llama.cpp, Together) take it; OpenAI's own
            // endpoint does not (`check` refuses it there).
            top_k: request.options.top_k.filter(|_| !self.official),
            stop: request.options.stop,
            seed: request.options.seed,
            response_format,
        }
    }

    /// What OpenAI's OpenAPI spec allows (`CreateChatCompletionRequest`): `temperature`
    /// 0 to 2, `top_p` 0 to 1, up to 4 `stop` sequences, a `seed` that fits an int64;
    /// and no `top_k` on OpenAI's own endpoint, which has no such option.
    fn check(&self, request: &Request<'_>, _model: &str) -> Result<(), String> {
        if let Some(t) = request
            .options
            .temperature
            .filter(|t| !(0.0..=2.0).contains(t))
        {
            return Err(format!("OpenAI takes a temperature from 0 to 2, not {t}"));
        }
        if let Some(p) = request.options.top_p.filter(|p| !(0.0..=1.0).contains(p)) {
            return Err(format!("OpenAI takes a top_p from 0 to 1, not {p}"));
        }
        if request.options.stop.len() > 4 {
            return Err(format!(
                "OpenAI takes up to 4 stop sequences, not {}",
                request.options.stop.len()
            ));
        }
        if request.options.stop.iter().any(|s| s.is_empty()) {
            return Err("OpenAI takes no empty stop sequence".into());
        }
        if let Some(seed) = request.options.seed.filter(|&s| s > i64::MAX as u64) {
            return Err(format!(
                "OpenAI takes a seed that fits an int64, not {seed}"
            ));
        }
        if request.options.top_k.is_some() && self.official {
            return Err(
                "OpenAI's API has no top_k (set it for Anthropic, local models or a \
                 compatible server such as vLLM), or use top_p"
                    .into(),
            );
        }
        Ok(())
    }

    /// `finish_reason` `length` is a truncated reply; a `refusal` (with `content:
    /// null`) or `content_filter` is a refusal (OpenAI's `ChatCompletionResponseMessage`
    /// and `finish_reason`).
    fn reply(
        &self,
        _request: &Request<'_>,
        response: ChatResponse,
    ) -> Result<Reply, GeneratorError> {
        let choice = response
            .choices
            .into_iter()
            .next()
            .ok_or_else(|| GeneratorError::Malformed("the reply has no choices".into()))?;
        let (text, finish) = match (choice.message.refusal, choice.message.content) {
            (Some(refusal), _) => (refusal, Finish::Refused),
            (None, content) if choice.finish_reason.as_deref() == Some("content_filter") => (
                content.unwrap_or_else(|| "(withheld by the content filter)".into()),
                Finish::Refused,
            ),
            (None, Some(text)) if choice.finish_reason.as_deref() == Some("length") => {
                (text, Finish::Truncated)
            }
            (None, Some(text)) => (text, Finish::Complete),
            (None, None) => {
                return Err(GeneratorError::Malformed(
                    "the reply has no message content".into(),
                ));
            }
        };
        Ok(Reply::new(text, response.usage).finished(finish))
    }

    fn endpoint(&mut self, base_url: &str) {
        self.official = base_url
            .trim_end_matches('/')
            .starts_with("https://api.openai.com");
    }
}

/// A `json_schema` name: the column's name, kept to the allowed characters.
fn schema_name(column: &str) -> String {
    let name: String = column
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
        .take(64)
        .collect();
    if name.is_empty() {
        "answer".to_owned()
    } else {
        name
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
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_p: Option<f32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    top_k: Option<u32>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    stop: &'a [&'a str],
    #[serde(skip_serializing_if = "Option::is_none")]
    seed: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    response_format: Option<Value>,
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
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct ReplyMessage {
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::options::SetOptions;

    fn body(format: &ChatCompletions, request: &Request<'_>) -> Value {
        serde_json::to_value(format.body(request, "m")).unwrap()
    }

    #[test]
    fn the_length_limit_field_follows_the_endpoint() {
        let request = Request::new("hi").max_tokens(10);
        let mut format = ChatCompletions::default();
        format.endpoint("https://api.openai.com/v1");
        let official = body(&format, &request);
        assert_eq!(official["max_completion_tokens"], 10);
        assert!(official.get("max_tokens").is_none());
        format.endpoint("http://localhost:8000/v1");
        let local = body(&format, &request);
        assert_eq!(local["max_tokens"], 10);
        assert!(local.get("max_completion_tokens").is_none());
        format.max_tokens_param = Some(MaxTokensParam::MaxCompletionTokens);
        assert_eq!(body(&format, &request)["max_completion_tokens"], 10);
    }

    #[test]
    fn feedback_adds_the_reply_and_a_follow_up() {
        let mut request = Request::new("rate it").system("be fair");
        request.feedback = Some(crate::request::Feedback {
            reply: "seven",
            problem: "the reply is not JSON",
        });
        let messages = body(&ChatCompletions::default(), &request)["messages"].clone();
        let roles: Vec<&str> = messages
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["role"].as_str().unwrap())
            .collect();
        assert_eq!(roles, ["system", "user", "assistant", "user"]);
        assert_eq!(messages[2]["content"], "seven");
        assert!(
            messages[3]["content"]
                .as_str()
                .unwrap()
                .contains("not JSON")
        );
    }
}
