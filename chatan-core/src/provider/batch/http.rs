//! The requests every batch API makes: create an object, fetch one, read JSON lines.

use reqwest::Method;
use serde_json::Value;

use crate::error::GeneratorError;
use crate::provider::transport::Transport;

/// Posts the JSON `body` to `path` of the API and returns the `id` of what it made.
pub(super) async fn create(
    transport: &Transport,
    path: &str,
    body: &Value,
) -> Result<String, GeneratorError> {
    let created: Value = transport
        .call_json(
            Method::POST,
            &transport.url_of(path),
            Some(("application/json", body.to_string().into_bytes())),
        )
        .await?;
    created["id"]
        .as_str()
        .map(str::to_owned)
        .ok_or_else(|| GeneratorError::Malformed(format!("what {path} made has no id")))
}

/// The JSON at `path` of the API.
pub(super) async fn fetch(transport: &Transport, path: &str) -> Result<Value, GeneratorError> {
    transport
        .call_json(Method::GET, &transport.url_of(path), None)
        .await
}

/// One line of a jsonl text.
pub(super) fn jsonl(bytes: &[u8]) -> impl Iterator<Item = Value> + '_ {
    String::from_utf8_lossy(bytes)
        .lines()
        .filter_map(|line| serde_json::from_str(line).ok())
        .collect::<Vec<_>>()
        .into_iter()
}
