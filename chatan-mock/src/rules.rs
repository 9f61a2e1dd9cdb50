//! What the providers refuse, as their own documentation and published specs say. The
//! mock refuses the same requests with a 400 in the provider's error format, so a client
//! that would be refused in production is refused in tests. Every rule names its
//! source; none is taken from a client.
//!
//! * OpenAI, chat completions: the `CreateChatCompletionRequest` schema of OpenAI's
//!   published OpenAPI spec (github.com/openai/openai-openapi): `temperature` 0–2,
//!   `top_p` 0–1, `stop` a string or 1–4 strings, `seed` an int64, `n` 1–128,
//!   `messages` at least one, a `json_schema` response format's `name` of `a-z, A-Z,
//!   0-9, _ and -`, at most 64; the parameters it lists (any other is refused, as the
//!   API refuses an unrecognized argument); and the Structured Outputs guide's
//!   "Supported schemas" for `strict: true` (see [`strict_schema`]).
//! * Anthropic, messages: the SDK's `MessageCreateParams` (anthropics/anthropic-sdk-python)
//!   and the API reference ("Create a Message"): `temperature` 0–1, `top_p` 0–1, `top_k`
//!   at least 0, `max_tokens` at least 1, the parameters it lists; the Claude 4.5
//!   migration guide: Claude Haiku 4.5, Sonnet 4.5 and the Opus 4.x models take
//!   `temperature` or `top_p`, not both; the API's own 400s: "stop_sequences: each stop
//!   sequence must contain non-whitespace", "all messages must have non-empty content
//!   except for the optional final assistant message".

use serde_json::Value;

use crate::config::MockConfig;
use crate::wire::Api;

/// Why the provider would refuse the request `body`, if it would.
pub(crate) fn check(api: Api, body: &Value, config: &MockConfig) -> Result<(), String> {
    match api {
        Api::OpenAi => openai(body, config),
        Api::Anthropic => anthropic(body, config),
    }
}

/// The top-level parameters of `CreateChatCompletionRequest` (with those of
/// `CreateModelResponseProperties` it includes), in OpenAI's OpenAPI spec.
const OPENAI_PARAMS: &[&str] = &[
    "messages",
    "model",
    "modalities",
    "verbosity",
    "reasoning_effort",
    "max_completion_tokens",
    "frequency_penalty",
    "presence_penalty",
    "web_search_options",
    "top_logprobs",
    "response_format",
    "audio",
    "store",
    "stream",
    "stop",
    "logit_bias",
    "logprobs",
    "max_tokens",
    "n",
    "prediction",
    "seed",
    "stream_options",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "function_call",
    "functions",
    "metadata",
    "temperature",
    "top_p",
    "user",
    "safety_identifier",
    "prompt_cache_key",
    "prompt_cache_retention",
    "service_tier",
];

/// A number field of `body` outside `low..=high`, named as the API names it.
fn range(body: &Value, field: &str, low: f64, high: f64) -> Result<(), String> {
    match body.get(field) {
        None | Some(Value::Null) => Ok(()),
        Some(v) => match v.as_f64() {
            Some(x) if (low..=high).contains(&x) => Ok(()),
            Some(x) => Err(format!(
                "{x} is not a valid value for '{field}': it must be between {low} and {high}"
            )),
            None => Err(format!("'{field}' must be a number, not {v}")),
        },
    }
}

fn openai(body: &Value, config: &MockConfig) -> Result<(), String> {
    let Value::Object(map) = body else {
        return Err("the request body must be a JSON object".into());
    };
    for key in map.keys() {
        let extra = config.extra_params.iter().any(|p| p == key);
        if !OPENAI_PARAMS.contains(&key.as_str()) && !extra {
            return Err(format!("Unrecognized request argument supplied: {key}"));
        }
    }
    range(body, "temperature", 0.0, 2.0)?;
    range(body, "top_p", 0.0, 1.0)?;
    range(body, "n", 1.0, 128.0)?;
    match body.get("messages") {
        Some(Value::Array(messages)) if !messages.is_empty() => {}
        _ => return Err("'messages' must be an array of at least 1 message".into()),
    }
    match body.get("stop") {
        None | Some(Value::Null) | Some(Value::String(_)) => {}
        Some(Value::Array(stops)) => {
            if stops.is_empty() || stops.len() > 4 {
                return Err(format!(
                    "'stop' holds {} sequences: between 1 and 4 are allowed",
                    stops.len()
                ));
            }
            if !stops.iter().all(Value::is_string) {
                return Err("'stop' must hold strings".into());
            }
        }
        Some(other) => return Err(format!("'stop' must be a string or an array, not {other}")),
    }
    if let Some(seed) = body.get("seed").filter(|s| !s.is_null())
        && seed.as_i64().is_none()
    {
        return Err(format!(
            "'seed' must be an integer that fits an int64, not {seed}"
        ));
    }
    if let Some(format) = body.get("response_format").filter(|f| !f.is_null()) {
        match format["type"].as_str() {
            Some("text" | "json_object") => {}
            Some("json_schema") => {
                let spec = &format["json_schema"];
                let name = spec["name"]
                    .as_str()
                    .ok_or("response_format.json_schema.name is required")?;
                let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
                if name.is_empty() || name.len() > 64 || !name.chars().all(allowed) {
                    return Err(format!(
                        "Invalid 'response_format.json_schema.name': '{name}'. It must contain \
                         only a-z, A-Z, 0-9, underscores and dashes, at most 64 of them"
                    ));
                }
                if spec["strict"] == Value::Bool(true) {
                    let schema = spec.get("schema").unwrap_or(&Value::Null);
                    strict_schema(schema).map_err(|problem| {
                        format!("Invalid schema for response_format '{name}': {problem}")
                    })?;
                }
            }
            _ => return Err(format!("unsupported response_format: {format}")),
        }
    }
    Ok(())
}

/// The keywords a schema may use under `strict: true`, per OpenAI's Structured Outputs
/// guide ("Supported schemas": the types, `enum`, `const`, `anyOf`, `$ref`/`$defs`,
/// `description`/`title`, `pattern` and `format` for strings, `multipleOf`, `minimum`,
/// `maximum`, `exclusiveMinimum`, `exclusiveMaximum` for numbers, `minItems` and
/// `maxItems` for arrays, objects with `properties`, `required` and
/// `additionalProperties`).
const STRICT_KEYWORDS: &[&str] = &[
    "type",
    "description",
    "title",
    "properties",
    "required",
    "additionalProperties",
    "items",
    "enum",
    "const",
    "anyOf",
    "$ref",
    "$defs",
    "definitions",
    "pattern",
    "format",
    "multipleOf",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minItems",
    "maxItems",
];

/// The string formats the same guide lists.
const STRICT_FORMATS: &[&str] = &[
    "date-time",
    "time",
    "date",
    "duration",
    "email",
    "hostname",
    "ipv4",
    "ipv6",
    "uuid",
];

/// Why OpenAI would refuse `schema` under `strict: true` (the Structured Outputs guide):
/// a root that is not an object (or is an `anyOf`); an object without
/// `additionalProperties: false`, or with a property left out of `required`; a keyword
/// the guide does not list (`minLength`, `maxLength`, `oneOf`, `allOf`, `not`,
/// `patternProperties`, `uniqueItems`, ...); a `format` it does not list; more than 10
/// levels of nesting, 5 000 properties in all, or 1 000 enum values in all.
pub(crate) fn strict_schema(schema: &Value) -> Result<(), String> {
    if schema["type"] != "object" || schema.get("anyOf").is_some() {
        return Err("the root schema must be an object, not anyOf".into());
    }
    let mut counts = (0usize, 0usize);
    walk(schema, "root", 0, &mut counts)?;
    if counts.0 > 5_000 {
        return Err(format!(
            "{} object properties; at most 5000 are allowed",
            counts.0
        ));
    }
    if counts.1 > 1_000 {
        return Err(format!(
            "{} enum values; at most 1000 are allowed",
            counts.1
        ));
    }
    Ok(())
}

fn walk(schema: &Value, at: &str, depth: usize, counts: &mut (usize, usize)) -> Result<(), String> {
    let Value::Object(map) = schema else {
        return Ok(());
    };
    if depth > 10 {
        return Err(format!(
            "In context={at}, the schema is nested deeper than 10 levels"
        ));
    }
    for key in map.keys() {
        if !STRICT_KEYWORDS.contains(&key.as_str()) {
            return Err(format!("In context={at}, '{key}' is not permitted."));
        }
    }
    if let Some(format) = map.get("format").and_then(Value::as_str)
        && !STRICT_FORMATS.contains(&format)
    {
        return Err(format!(
            "In context={at}, format '{format}' is not permitted."
        ));
    }
    if let Some(Value::Array(values)) = map.get("enum") {
        counts.1 += values.len();
    }
    if let Some(Value::Object(properties)) = map.get("properties") {
        counts.0 += properties.len();
        if map.get("additionalProperties") != Some(&Value::Bool(false)) {
            return Err(format!(
                "In context={at}, 'additionalProperties' is required to be supplied and to be false."
            ));
        }
        let required: Vec<&str> = match map.get("required") {
            Some(Value::Array(names)) => names.iter().filter_map(Value::as_str).collect(),
            _ => Vec::new(),
        };
        for name in properties.keys() {
            if !required.contains(&name.as_str()) {
                return Err(format!(
                    "In context={at}, 'required' is required to be supplied and to be an array \
                     including every key in properties. Missing '{name}'."
                ));
            }
        }
        for (name, property) in properties {
            walk(
                property,
                &format!("{at}.properties.{name}"),
                depth + 1,
                counts,
            )?;
        }
    } else if map.get("type") == Some(&Value::from("object"))
        && map.get("additionalProperties") != Some(&Value::Bool(false))
    {
        return Err(format!(
            "In context={at}, 'additionalProperties' is required to be supplied and to be false."
        ));
    }
    if let Some(items) = map.get("items") {
        walk(items, &format!("{at}.items"), depth + 1, counts)?;
    }
    if let Some(Value::Array(options)) = map.get("anyOf") {
        for (i, option) in options.iter().enumerate() {
            walk(option, &format!("{at}.anyOf.{i}"), depth, counts)?;
        }
    }
    for key in ["$defs", "definitions"] {
        if let Some(Value::Object(defs)) = map.get(key) {
            for (name, def) in defs {
                walk(def, &format!("{at}.{key}.{name}"), depth, counts)?;
            }
        }
    }
    Ok(())
}

/// The top-level parameters of the SDK's `MessageCreateParams` (0.x, with sampling
/// parameters, and 2.x).
const ANTHROPIC_PARAMS: &[&str] = &[
    "max_tokens",
    "messages",
    "model",
    "cache_control",
    "container",
    "context_management",
    "diagnostics",
    "inference_geo",
    "mcp_servers",
    "metadata",
    "output_config",
    "output_format",
    "service_tier",
    "speed",
    "stop_sequences",
    "stream",
    "system",
    "temperature",
    "thinking",
    "tool_choice",
    "tools",
    "top_k",
    "top_p",
];

/// Whether `model` is of the Claude 4 families, which take `temperature` or `top_p` but
/// not both (the Claude 4.5 migration guide).
fn one_sampling_parameter(model: &str) -> bool {
    ["claude-haiku-4", "claude-sonnet-4", "claude-opus-4"]
        .iter()
        .any(|family| model.starts_with(family))
}

fn anthropic(body: &Value, config: &MockConfig) -> Result<(), String> {
    let Value::Object(map) = body else {
        return Err("the request body must be a JSON object".into());
    };
    for key in map.keys() {
        if !ANTHROPIC_PARAMS.contains(&key.as_str()) {
            return Err(format!("{key}: Extra inputs are not permitted"));
        }
    }
    let model = body["model"].as_str().unwrap_or_default();
    match body["max_tokens"].as_u64() {
        Some(n) if n >= 1 => {}
        _ => return Err("max_tokens: Field required (an integer of at least 1)".into()),
    }
    range(body, "temperature", 0.0, 1.0)?;
    range(body, "top_p", 0.0, 1.0)?;
    if let Some(k) = body.get("top_k")
        && k.as_u64().is_none()
    {
        return Err(format!("top_k: {k} is not an integer of at least 0"));
    }
    let sampling: Vec<&str> = ["temperature", "top_p", "top_k"]
        .into_iter()
        .filter(|p| map.contains_key(*p))
        .collect();
    if config.no_sampling_models.iter().any(|m| m == model) && !sampling.is_empty() {
        return Err(format!(
            "{}: not supported by {model}, which takes no sampling parameters",
            sampling.join(", ")
        ));
    }
    if one_sampling_parameter(model) && map.contains_key("temperature") && map.contains_key("top_p")
    {
        return Err(format!(
            "`temperature` and `top_p` cannot both be specified for this model ({model}). Please use only one."
        ));
    }
    if let Some(stops) = body.get("stop_sequences") {
        let Value::Array(stops) = stops else {
            return Err("stop_sequences: must be an array of strings".into());
        };
        for stop in stops {
            match stop.as_str() {
                Some("") => {
                    return Err("stop_sequences: each stop sequence must be non-empty".into());
                }
                Some(s) if s.trim().is_empty() => {
                    return Err(
                        "stop_sequences: each stop sequence must contain non-whitespace".into(),
                    );
                }
                Some(_) => {}
                None => return Err("stop_sequences: must be an array of strings".into()),
            }
        }
    }
    let Some(Value::Array(messages)) = body.get("messages") else {
        return Err("messages: Field required".into());
    };
    if messages.is_empty() {
        return Err("messages: at least one message is required".into());
    }
    for (i, message) in messages.iter().enumerate() {
        let role = message["role"].as_str().unwrap_or_default();
        if role != "user" && role != "assistant" {
            return Err(format!(
                "messages.{i}.role: Input should be 'user' or 'assistant'"
            ));
        }
        let last = i + 1 == messages.len();
        let text = match &message["content"] {
            Value::String(text) => text.clone(),
            Value::Array(blocks) => blocks
                .iter()
                .map(|b| {
                    b["text"]
                        .as_str()
                        .unwrap_or(if b["type"] == "text" { "" } else { "x" })
                })
                .collect(),
            _ => String::new(),
        };
        if text.trim().is_empty() && !(last && role == "assistant") {
            return Err(format!(
                "messages.{i}: all messages must have non-empty content except for the optional final assistant message"
            ));
        }
    }
    if let Some(Value::Array(tools)) = body.get("tools") {
        for (i, tool) in tools.iter().enumerate() {
            let name = tool["name"].as_str().unwrap_or_default();
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if name.is_empty() || name.len() > 128 || !name.chars().all(allowed) {
                return Err(format!(
                    "tools.{i}.name: String should match pattern '^[a-zA-Z0-9_-]{{1,128}}$'"
                ));
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn openai_body(extra: Value) -> Value {
        let mut body =
            json!({"model": "gpt-4.1-mini", "messages": [{"role": "user", "content": "hi"}]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    }

    fn anthropic_body(extra: Value) -> Value {
        let mut body = json!({"model": "claude-haiku-4-5", "max_tokens": 10,
                              "messages": [{"role": "user", "content": "hi"}]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    }

    #[test]
    fn openai_refuses_what_its_spec_does_not_allow() {
        let config = MockConfig::new();
        let ok = |extra: Value| check(Api::OpenAi, &openai_body(extra), &config);
        assert!(
            ok(json!({"temperature": 2.0, "top_p": 1.0, "stop": ["a", "b", "c", "d"]})).is_ok()
        );
        assert!(
            ok(json!({"temperature": 2.1}))
                .unwrap_err()
                .contains("temperature")
        );
        assert!(ok(json!({"top_p": 1.5})).is_err());
        assert!(
            ok(json!({"stop": ["a", "b", "c", "d", "e"]}))
                .unwrap_err()
                .contains("stop")
        );
        assert!(
            ok(json!({"seed": 18446744073709551615u64}))
                .unwrap_err()
                .contains("int64")
        );
        assert!(
            ok(json!({"top_k": 40}))
                .unwrap_err()
                .contains("Unrecognized")
        );
        let vllm = MockConfig::new().extra_params(["top_k"]);
        assert!(check(Api::OpenAi, &openai_body(json!({"top_k": 40})), &vllm).is_ok());
        let named = |name: &str| {
            ok(
                json!({"response_format": {"type": "json_schema", "json_schema": {"name": name, "strict": false, "schema": {"type": "object"}}}}),
            )
        };
        assert!(named("answer_1-x").is_ok());
        assert!(named("an answer").is_err());
        assert!(named(&"x".repeat(65)).is_err());
    }

    #[test]
    fn strict_schemas_keep_to_the_supported_subset() {
        let good = json!({"type": "object", "additionalProperties": false,
            "required": ["format", "n", "tags", "shape"],
            "properties": {
                "format": {"type": "string", "description": "a field called format"},
                "n": {"type": "integer", "minimum": 1, "maximum": 10},
                "tags": {"type": "array", "maxItems": 3, "items": {"type": "string", "format": "uuid"}},
                "shape": {"anyOf": [{"type": "string", "enum": ["point"]},
                    {"type": "object", "additionalProperties": false, "required": ["r"],
                     "properties": {"r": {"type": "number"}}}]}}});
        assert_eq!(strict_schema(&good), Ok(()));
        let broken = |path: &[&str], key: &str, value: Value| {
            let mut schema = good.clone();
            let mut at = &mut schema;
            for step in path {
                at = &mut at[*step];
            }
            at[key] = value;
            strict_schema(&schema)
        };
        let properties = ["properties", "format"];
        assert!(
            broken(&properties, "minLength", json!(10))
                .unwrap_err()
                .contains("'minLength' is not permitted")
        );
        assert!(broken(&properties, "maxLength", json!(10)).is_err());
        assert!(
            broken(&["properties", "shape"], "oneOf", json!([]))
                .unwrap_err()
                .contains("oneOf")
        );
        assert!(
            broken(&properties, "format", json!("uri"))
                .unwrap_err()
                .contains("format 'uri'")
        );
        assert!(
            broken(&[], "required", json!(["n", "tags", "shape"]))
                .unwrap_err()
                .contains("Missing 'format'")
        );
        assert!(broken(&[], "additionalProperties", json!(true)).is_err());
        assert!(strict_schema(&json!({"anyOf": [good.clone()]})).is_err());
    }

    #[test]
    fn anthropic_refuses_what_its_api_does_not_take() {
        let config = MockConfig::new().no_sampling_models(["claude-next"]);
        let ok = |extra: Value| check(Api::Anthropic, &anthropic_body(extra), &config);
        assert!(ok(json!({"temperature": 1.0, "top_k": 40, "stop_sequences": ["END"]})).is_ok());
        assert!(
            ok(json!({"temperature": 1.2}))
                .unwrap_err()
                .contains("temperature")
        );
        assert!(
            ok(json!({"temperature": 0.5, "top_p": 0.9}))
                .unwrap_err()
                .contains("cannot both")
        );
        assert!(
            ok(json!({"stop_sequences": ["\n"]}))
                .unwrap_err()
                .contains("non-whitespace")
        );
        assert!(
            ok(json!({"stop_sequences": [""]}))
                .unwrap_err()
                .contains("non-empty")
        );
        assert!(ok(json!({"seed": 1})).unwrap_err().contains("Extra inputs"));
        let empty_turn = json!({"messages": [{"role": "user", "content": "hi"},
            {"role": "assistant", "content": ""}, {"role": "user", "content": "again"}]});
        assert!(ok(empty_turn).unwrap_err().contains("non-empty content"));
        let prefill = json!({"messages": [{"role": "user", "content": "hi"},
            {"role": "assistant", "content": ""}]});
        assert!(ok(prefill).is_ok(), "a final assistant turn may be empty");
        // An older model takes both; a model without sampling parameters takes none.
        let older = json!({"model": "claude-3-5-haiku-latest", "temperature": 0.5, "top_p": 0.9});
        assert!(ok(older).is_ok());
        assert!(
            ok(json!({"model": "claude-next", "temperature": 0.5}))
                .unwrap_err()
                .contains("no sampling")
        );
        assert!(ok(json!({"model": "claude-next"})).is_ok());
    }
}
