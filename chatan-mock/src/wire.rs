//! The OpenAI chat-completions and Anthropic messages wire formats, as far as the mock
//! needs them: reading a request's prompt and options, writing replies and errors.

use serde::Deserialize;
use serde_json::{Value, json};

/// Which API a request came in on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Api {
    /// `POST /v1/chat/completions`.
    OpenAi,
    /// `POST /v1/messages`.
    Anthropic,
}

/// What a request asked for.
#[derive(Debug, Clone, Default)]
pub(crate) struct Asked {
    pub model: String,
    pub system: Option<String>,
    pub prompt: String,
    pub temperature: Option<f64>,
    pub max_tokens: Option<u64>,
    pub top_p: Option<f64>,
    /// `max_tokens` or `max_completion_tokens`, whichever carried the limit.
    pub max_tokens_param: Option<&'static str>,
    pub stop: Vec<String>,
    pub seed: Option<u64>,
    /// The JSON Schema the reply must match: OpenAI's `response_format` `json_schema`,
    /// or the input schema of the tool Anthropic's `tool_choice` names.
    pub schema: Option<Value>,
    /// OpenAI's `strict`, or the Anthropic tool's name.
    pub structured: Option<Structured>,
    /// Whether the system prompt carried `cache_control`.
    pub cache_system: bool,
    /// Every message, as (role, text).
    pub turns: Vec<(String, String)>,
}

/// How a request asked for structured output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Structured {
    /// OpenAI `response_format: {"type": "json_schema"}`, with its `strict`.
    JsonSchema {
        /// The schema's name.
        name: String,
        /// Whether it was strict.
        strict: bool,
    },
    /// An Anthropic tool forced by `tool_choice`.
    Tool {
        /// The tool's name.
        name: String,
    },
}

#[derive(Deserialize)]
struct OpenAiRequest {
    model: String,
    messages: Vec<OpenAiMessage>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
    #[serde(default)]
    stop: Option<Stop>,
    seed: Option<u64>,
    response_format: Option<Value>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Stop {
    One(String),
    Many(Vec<String>),
}

impl Stop {
    fn list(self) -> Vec<String> {
        match self {
            Stop::One(s) => vec![s],
            Stop::Many(v) => v,
        }
    }
}

#[derive(Deserialize)]
struct OpenAiMessage {
    role: String,
    content: Content,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Content {
    Text(String),
    Parts(Vec<Part>),
}

#[derive(Deserialize)]
struct Part {
    #[serde(default)]
    text: String,
}

impl Content {
    fn text(self) -> String {
        match self {
            Content::Text(t) => t,
            Content::Parts(parts) => parts.into_iter().map(|p| p.text).collect(),
        }
    }
}

#[derive(Deserialize)]
struct AnthropicRequest {
    model: String,
    max_tokens: u64,
    system: Option<Value>,
    messages: Vec<OpenAiMessage>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    #[serde(default)]
    stop_sequences: Vec<String>,
    #[serde(default)]
    tools: Vec<Value>,
    tool_choice: Option<Value>,
}

/// Reads a request body; the error is the 400 message a real server would give.
pub(crate) fn parse(api: Api, body: &[u8]) -> Result<Asked, String> {
    match api {
        Api::OpenAi => {
            let r: OpenAiRequest =
                serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))?;
            let mut system = None;
            let mut prompt = None;
            let mut turns = Vec::new();
            for m in r.messages {
                let text = m.content.text();
                match m.role.as_str() {
                    "system" | "developer" => system = Some(text.clone()),
                    "user" if prompt.is_none() => prompt = Some(text.clone()),
                    _ => {}
                }
                turns.push((m.role, text));
            }
            let (schema, structured) = match &r.response_format {
                Some(format) if format["type"] == "json_schema" => {
                    let spec = &format["json_schema"];
                    let schema = spec
                        .get("schema")
                        .cloned()
                        .ok_or("response_format.json_schema.schema is required")?;
                    let name = spec["name"]
                        .as_str()
                        .ok_or("response_format.json_schema.name is required")?;
                    (
                        Some(schema),
                        Some(Structured::JsonSchema {
                            name: name.to_owned(),
                            strict: spec["strict"].as_bool().unwrap_or(false),
                        }),
                    )
                }
                Some(format) if format["type"] == "json_object" || format["type"] == "text" => {
                    (None, None)
                }
                Some(format) => return Err(format!("unsupported response_format: {format}")),
                None => (None, None),
            };
            if r.max_tokens.is_some() && r.max_completion_tokens.is_some() {
                return Err("max_tokens and max_completion_tokens cannot both be set".into());
            }
            Ok(Asked {
                model: r.model,
                system,
                prompt: prompt.ok_or("messages must contain a user message")?,
                temperature: r.temperature,
                max_tokens: r.max_tokens.or(r.max_completion_tokens),
                top_p: r.top_p,
                max_tokens_param: match (r.max_tokens, r.max_completion_tokens) {
                    (Some(_), _) => Some("max_tokens"),
                    (_, Some(_)) => Some("max_completion_tokens"),
                    _ => None,
                },
                stop: r.stop.map(Stop::list).unwrap_or_default(),
                seed: r.seed,
                schema,
                structured,
                cache_system: false,
                turns,
            })
        }
        Api::Anthropic => {
            let r: AnthropicRequest =
                serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))?;
            let (system, cache_system) = match r.system {
                None => (None, false),
                Some(Value::String(s)) => (Some(s), false),
                Some(Value::Array(blocks)) => (
                    Some(
                        blocks
                            .iter()
                            .filter_map(|b| b["text"].as_str())
                            .collect::<String>(),
                    ),
                    blocks.iter().any(|b| b.get("cache_control").is_some()),
                ),
                Some(other) => return Err(format!("system: unsupported value {other}")),
            };
            let (schema, structured) = match &r.tool_choice {
                Some(choice) if choice["type"] == "tool" => {
                    let name = choice["name"]
                        .as_str()
                        .ok_or("tool_choice.name is required")?;
                    let tool = r.tools.iter().find(|t| t["name"] == name).ok_or_else(|| {
                        format!("tool_choice names {name}, which is not in tools")
                    })?;
                    let schema = tool
                        .get("input_schema")
                        .cloned()
                        .ok_or("tools.input_schema is required")?;
                    if schema["type"] != "object" {
                        return Err("tools.input_schema: type must be object".into());
                    }
                    (
                        Some(schema),
                        Some(Structured::Tool {
                            name: name.to_owned(),
                        }),
                    )
                }
                _ => (None, None),
            };
            let mut turns = Vec::new();
            let mut prompt = None;
            for m in r.messages {
                let text = m.content.text();
                if m.role == "user" && prompt.is_none() {
                    prompt = Some(text.clone());
                }
                turns.push((m.role, text));
            }
            Ok(Asked {
                model: r.model,
                system,
                prompt: prompt.ok_or("messages must contain a user message")?,
                temperature: r.temperature,
                max_tokens: Some(r.max_tokens),
                top_p: r.top_p,
                max_tokens_param: Some("max_tokens"),
                stop: r.stop_sequences,
                seed: None,
                schema,
                structured,
                cache_system,
                turns,
            })
        }
    }
}

/// A value that matches `schema`, the same for the same `seed` (a fingerprint of the
/// prompt): an enum value and a number within the bounds picked by the seed, a
/// placeholder string, one item per array (or the minimum), every property of an object.
pub(crate) fn instance(schema: &Value, hint: &str, seed: u64) -> Value {
    // Each nested value draws from its own part of the seed.
    let seed = seed.rotate_left(7) ^ 0x9E37_79B9_7F4A_7C15;
    if let Some(Value::Array(values)) = schema.get("enum") {
        if values.is_empty() {
            return Value::Null;
        }
        return values[(seed % values.len() as u64) as usize].clone();
    }
    if let Some(value) = schema.get("const") {
        return value.clone();
    }
    for key in ["anyOf", "oneOf"] {
        if let Some(Value::Array(options)) = schema.get(key) {
            let option = options
                .iter()
                .find(|o| o["type"] != "null")
                .or(options.first());
            return option.map_or(Value::Null, |o| instance(o, hint, seed));
        }
    }
    let kind = match schema.get("type") {
        Some(Value::Array(types)) => types
            .iter()
            .find(|t| *t != "null")
            .and_then(Value::as_str)
            .unwrap_or("null"),
        Some(Value::String(t)) => t.as_str(),
        _ if schema.get("properties").is_some() => "object",
        _ => "string",
    };
    let bound = |key: &str| schema.get(key).and_then(Value::as_f64);
    match kind {
        "object" => {
            let mut object = serde_json::Map::new();
            if let Some(Value::Object(properties)) = schema.get("properties") {
                for (i, (name, property)) in properties.iter().enumerate() {
                    let seed = seed.wrapping_add((i as u64).wrapping_mul(0xD6E8_FEB8_6659_FD93));
                    object.insert(name.clone(), instance(property, name, seed));
                }
            }
            Value::Object(object)
        }
        "array" => {
            let n = schema
                .get("minItems")
                .and_then(Value::as_u64)
                .unwrap_or(1)
                .max(1);
            let item = schema.get("items").cloned().unwrap_or(Value::Null);
            Value::Array(
                (0..n)
                    .map(|i| instance(&item, hint, seed.wrapping_add(i)))
                    .collect(),
            )
        }
        "integer" => {
            let low = bound("minimum").unwrap_or(1.0);
            let high = bound("maximum").unwrap_or(low + 9.0).max(low);
            let span = ((high - low) as u64).saturating_add(1);
            json!(low as i64 + (seed % span) as i64)
        }
        "number" => {
            let low = bound("minimum").unwrap_or(0.0);
            let high = bound("maximum").unwrap_or(low + 1.0).max(low);
            json!(low + (high - low) * (seed % 101) as f64 / 100.0)
        }
        "boolean" => Value::Bool(true),
        "null" => Value::Null,
        _ if schema.get("format").is_some() => {
            // A value of the string formats structured outputs take.
            match schema["format"].as_str().unwrap_or_default() {
                "uuid" => Value::from(format!(
                    "{:08x}-{:04x}-4{:03x}-8{:03x}-{:012x}",
                    seed as u32,
                    (seed >> 32) as u16,
                    (seed >> 48) as u16 & 0xfff,
                    (seed >> 20) as u16 & 0xfff,
                    seed & 0xffff_ffff_ffff
                )),
                "date-time" => Value::from("2024-01-02T03:04:05Z"),
                "date" => Value::from("2024-01-02"),
                "time" => Value::from("03:04:05"),
                "duration" => Value::from("P1D"),
                "email" => Value::from("mock@example.com"),
                "hostname" => Value::from("mock.example.com"),
                "ipv4" => Value::from("192.0.2.1"),
                "ipv6" => Value::from("2001:db8::1"),
                _ => Value::from(format!("mock {hint}")),
            }
        }
        _ => {
            let text = format!("mock {hint}");
            let min = schema.get("minLength").and_then(Value::as_u64).unwrap_or(0) as usize;
            if text.chars().count() < min {
                Value::from(format!("{text}{}", "x".repeat(min - text.chars().count())))
            } else {
                Value::from(text)
            }
        }
    }
}

/// The mock's token count: words.
pub(crate) fn tokens(text: &str) -> usize {
    text.split_whitespace().count()
}

/// Why a reply ends, as the mock decides it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Ending {
    /// Said all it had.
    Done,
    /// Met one of the request's stop sequences (the text stops before it).
    Stopped,
    /// Cut off at the request's `max_tokens` (the mock counts words as tokens).
    Cut,
    /// Refused.
    Refused,
}

/// The refusal text the mock's model gives.
pub(crate) const REFUSAL: &str = "I'm sorry, but I can't help with that request.";

/// `text` as a model bound by `asked` would end it: cut before the first of its stop
/// sequences, else at `max_tokens` words.
pub(crate) fn end(asked: &Asked, text: &str) -> (String, Ending) {
    let stop = asked
        .stop
        .iter()
        .filter(|s| !s.is_empty())
        .filter_map(|s| text.find(s.as_str()))
        .min();
    if let Some(at) = stop {
        return (text[..at].to_owned(), Ending::Stopped);
    }
    match asked.max_tokens {
        Some(limit) if tokens(text) as u64 > limit => {
            let words: Vec<&str> = text.split_whitespace().take(limit as usize).collect();
            (words.join(" "), Ending::Cut)
        }
        _ => (text.to_owned(), Ending::Done),
    }
}

/// A successful reply body, ended by `ending`; `cached` is the system prompt's tokens
/// written to and read from Anthropic's prompt cache.
pub(crate) fn reply(
    api: Api,
    id: u64,
    asked: &Asked,
    text: &str,
    ending: Ending,
    cached: (usize, usize),
) -> Value {
    match api {
        // OpenAI's `ChatCompletionResponseMessage` (`content` null and `refusal` set for
        // a refusal) and `finish_reason` (`length` for a cut, `stop` otherwise).
        Api::OpenAi => json!({
            "id": format!("chatcmpl-mock-{id}"),
            "object": "chat.completion",
            "created": 0,
            "model": asked.model,
            "choices": [{
                "index": 0,
                "message": if ending == Ending::Refused {
                    json!({"role": "assistant", "content": null, "refusal": REFUSAL})
                } else {
                    json!({"role": "assistant", "content": text, "refusal": null})
                },
                "finish_reason": if ending == Ending::Cut { "length" } else { "stop" }
            }],
            "usage": {
                "prompt_tokens": tokens(&asked.prompt),
                "completion_tokens": tokens(text),
                "total_tokens": tokens(&asked.prompt) + tokens(text)
            }
        }),
        Api::Anthropic => {
            // A forced tool gets a tool call whose input is the reply, if the reply is
            // JSON; otherwise the text, as a model that ignored the tool would send.
            let tool_input = match &asked.structured {
                Some(Structured::Tool { name }) => serde_json::from_str::<Value>(text)
                    .ok()
                    .map(|input| (name.clone(), input)),
                _ => None,
            };
            // The SDK's `StopReason`: `refusal`, `max_tokens`, `stop_sequence` (with the
            // sequence met), `tool_use`, `end_turn`; its `Usage` counts the tokens
            // written to and read from the prompt cache apart from `input_tokens`.
            let (content, stop_reason) = match (ending, tool_input) {
                (Ending::Refused, _) => (json!([{"type": "text", "text": REFUSAL}]), "refusal"),
                (Ending::Cut, _) => (json!([{"type": "text", "text": text}]), "max_tokens"),
                (_, Some((name, input))) => (
                    json!([{"type": "tool_use", "id": format!("toolu_mock_{id}"), "name": name, "input": input}]),
                    "tool_use",
                ),
                (Ending::Stopped, None) => {
                    (json!([{"type": "text", "text": text}]), "stop_sequence")
                }
                (_, None) => (json!([{"type": "text", "text": text}]), "end_turn"),
            };
            let stop_sequence = (ending == Ending::Stopped).then(|| {
                asked
                    .stop
                    .iter()
                    .find(|s| !s.is_empty())
                    .cloned()
                    .unwrap_or_default()
            });
            let output = tokens(text);
            json!({
            "id": format!("msg_mock_{id}"),
            "type": "message",
            "role": "assistant",
            "model": asked.model,
            "content": content,
            "stop_reason": stop_reason,
            "stop_sequence": stop_sequence,
            "usage": {"input_tokens": tokens(&asked.prompt), "output_tokens": output,
                      "cache_creation_input_tokens": cached.0,
                      "cache_read_input_tokens": cached.1}
            })
        }
    }
}

/// The 404 body for a model that does not exist: OpenAI's `model_not_found` error
/// (`invalid_request_error`, `param: "model"`), Anthropic's `not_found_error` naming the
/// model (each provider's error object: `{"error": {"message", "type", "param", "code"}}`
/// in OpenAI's OpenAPI spec, `{"type": "error", "error": {"type", "message"}}` in
/// Anthropic's API errors documentation).
pub(crate) fn unknown_model(api: Api, model: &str) -> Value {
    match api {
        Api::OpenAi => json!({"error": {
            "message": format!("The model `{model}` does not exist or you do not have access to it."),
            "type": "invalid_request_error", "param": "model", "code": "model_not_found"}}),
        Api::Anthropic => json!({"type": "error", "error": {
            "type": "not_found_error", "message": format!("model: {model}")}}),
    }
}

/// An error body in the API's format.
pub(crate) fn error(api: Api, status: u16, message: &str) -> Value {
    let kind = match (api, status) {
        (Api::OpenAi, 401) => "invalid_request_error",
        (Api::OpenAi, 429) => "rate_limit_error",
        (Api::OpenAi, 400) => "invalid_request_error",
        (Api::OpenAi, _) => "server_error",
        (Api::Anthropic, 401) => "authentication_error",
        (Api::Anthropic, 429) => "rate_limit_error",
        (Api::Anthropic, 400) => "invalid_request_error",
        (Api::Anthropic, 404) => "not_found_error",
        (Api::Anthropic, _) => "api_error",
    };
    match api {
        Api::OpenAi => {
            json!({"error": {"message": message, "type": kind, "param": null, "code": null}})
        }
        Api::Anthropic => json!({"type": "error", "error": {"type": kind, "message": message}}),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_openai_requests() {
        let body = br#"{"model":"m","messages":[{"role":"system","content":"be brief"},{"role":"user","content":"hi"}],"temperature":0.2}"#;
        let a = parse(Api::OpenAi, body).unwrap();
        assert_eq!(
            (a.model.as_str(), a.system.as_deref(), a.prompt.as_str()),
            ("m", Some("be brief"), "hi")
        );
        assert_eq!(a.temperature, Some(0.2));
    }

    #[test]
    fn reads_anthropic_requests_and_requires_max_tokens() {
        let body = br#"{"model":"c","max_tokens":10,"system":"s","messages":[{"role":"user","content":[{"type":"text","text":"hi"}]}]}"#;
        let a = parse(Api::Anthropic, body).unwrap();
        assert_eq!((a.prompt.as_str(), a.max_tokens), ("hi", Some(10)));
        let missing = br#"{"model":"c","messages":[{"role":"user","content":"hi"}]}"#;
        assert!(
            parse(Api::Anthropic, missing)
                .unwrap_err()
                .contains("max_tokens")
        );
    }
}
