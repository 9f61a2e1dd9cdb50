//! Anthropic's Message Batches: the requests sent as one batch, the results read
//! from its results URL when it ends.

use reqwest::Method;
use serde_json::{Value, json};

use super::http::{create, fetch, jsonl};
use super::sealed::{BatchWire, Poll};
use crate::error::GeneratorError;
use crate::provider::format::Provider;

impl BatchWire for crate::provider::anthropic::Messages {
    // 100 000 requests and 256 MB.
    const MAX_REQUESTS: usize = 100_000;
    const MAX_BYTES: usize = 240_000_000;

    async fn submit(
        provider: &Provider<Self>,
        entries: &[(String, Vec<u8>)],
    ) -> Result<String, GeneratorError> {
        let transport = provider.transport();
        let mut requests = Vec::with_capacity(entries.len());
        for (custom_id, body) in entries {
            let params: Value = serde_json::from_slice(body).map_err(GeneratorError::other)?;
            requests.push(json!({"custom_id": custom_id, "params": params}));
        }
        create(
            transport,
            "/v1/messages/batches",
            &json!({ "requests": requests }),
        )
        .await
    }

    async fn poll(provider: &Provider<Self>, id: &str) -> Result<Poll, GeneratorError> {
        let transport = provider.transport();
        let batch = fetch(transport, &format!("/v1/messages/batches/{id}")).await?;
        if batch["processing_status"] != "ended" {
            let counts = &batch["request_counts"];
            let count = |key: &str| counts[key].as_u64().unwrap_or(0) as usize;
            return Ok(Poll::Pending {
                done: count("succeeded"),
                failed: count("errored") + count("canceled") + count("expired"),
            });
        }
        let url = batch["results_url"].as_str().ok_or_else(|| {
            GeneratorError::Malformed(format!("batch {id} ended with no results_url"))
        })?;
        let bytes = transport.call(Method::GET, url, None).await?;
        let results = jsonl(&bytes)
            .filter_map(|line| {
                let custom_id = line["custom_id"].as_str()?.to_owned();
                let result = &line["result"];
                let outcome = match result["type"].as_str() {
                    Some("succeeded") => Ok(result["message"].clone()),
                    Some("errored") => Err(transport.error_of(
                        error_status(&result["error"]),
                        result["error"].to_string().as_bytes(),
                    )),
                    // `canceled` and `expired` results carry no error (the SDK's
                    // MessageBatchCanceledResult / MessageBatchExpiredResult).
                    Some(kind @ ("canceled" | "expired")) => Err(GeneratorError::Unprocessed {
                        expired: kind == "expired",
                        message: format!("batch {id} ended before this request ran ({kind})"),
                    }),
                    other => Err(GeneratorError::Malformed(format!(
                        "batch {id}: a result of type {}",
                        other.unwrap_or("(none)")
                    ))),
                };
                Some((custom_id, outcome))
            })
            .collect();
        Ok(Poll::Ended(results))
    }
}

/// The HTTP status an Anthropic error type stands for.
fn error_status(error: &Value) -> u16 {
    match error["error"]["type"].as_str() {
        Some("invalid_request_error") => 400,
        Some("authentication_error") => 401,
        Some("permission_error") => 403,
        Some("not_found_error") => 404,
        Some("rate_limit_error") => 429,
        Some("overloaded_error") => 529,
        _ => 500,
    }
}
