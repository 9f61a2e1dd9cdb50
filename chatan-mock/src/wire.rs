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
}

#[derive(Deserialize)]
struct OpenAiRequest {
    model: String,
    messages: Vec<OpenAiMessage>,
    temperature: Option<f64>,
    top_p: Option<f64>,
    max_tokens: Option<u64>,
    max_completion_tokens: Option<u64>,
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
    system: Option<String>,
    messages: Vec<OpenAiMessage>,
    temperature: Option<f64>,
    top_p: Option<f64>,
}

/// Reads a request body; the error is the 400 message a real server would give.
pub(crate) fn parse(api: Api, body: &[u8]) -> Result<Asked, String> {
    match api {
        Api::OpenAi => {
            let r: OpenAiRequest =
                serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))?;
            let mut system = None;
            let mut prompt = None;
            for m in r.messages {
                match m.role.as_str() {
                    "system" | "developer" => system = Some(m.content.text()),
                    "user" => prompt = Some(m.content.text()),
                    _ => {}
                }
            }
            Ok(Asked {
                model: r.model,
                system,
                prompt: prompt.ok_or("messages must contain a user message")?,
                temperature: r.temperature,
                max_tokens: r.max_tokens.or(r.max_completion_tokens),
                top_p: r.top_p,
            })
        }
        Api::Anthropic => {
            let r: AnthropicRequest =
                serde_json::from_slice(body).map_err(|e| format!("invalid request body: {e}"))?;
            let prompt = r
                .messages
                .into_iter()
                .rev()
                .find(|m| m.role == "user")
                .ok_or("messages must contain a user message")?
                .content
                .text();
            Ok(Asked {
                model: r.model,
                system: r.system,
                prompt,
                temperature: r.temperature,
                max_tokens: Some(r.max_tokens),
                top_p: r.top_p,
            })
        }
    }
}

/// The mock's token count: words.
pub(crate) fn tokens(text: &str) -> usize {
    text.split_whitespace().count()
}

/// A successful reply body.
pub(crate) fn reply(api: Api, id: u64, asked: &Asked, text: &str) -> Value {
    match api {
        Api::OpenAi => json!({
            "id": format!("chatcmpl-mock-{id}"),
            "object": "chat.completion",
            "created": 0,
            "model": asked.model,
            "choices": [{
                "index": 0,
                "message": {"role": "assistant", "content": text},
                "finish_reason": "stop"
            }],
            "usage": {
                "prompt_tokens": tokens(&asked.prompt),
                "completion_tokens": tokens(text),
                "total_tokens": tokens(&asked.prompt) + tokens(text)
            }
        }),
        Api::Anthropic => json!({
            "id": format!("msg_mock_{id}"),
            "type": "message",
            "role": "assistant",
            "model": asked.model,
            "content": [{"type": "text", "text": text}],
            "stop_reason": "end_turn",
            "usage": {"input_tokens": tokens(&asked.prompt), "output_tokens": tokens(text)}
        }),
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
