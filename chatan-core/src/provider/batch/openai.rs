//! OpenAI's Batch API: a JSONL file of requests uploaded, a batch made of it, its
//! output and error files read when it ends.

use reqwest::Method;
use serde_json::{Value, json};

use super::http::{create, fetch, jsonl};
use super::sealed::{BatchWire, Poll};
use crate::error::GeneratorError;
use crate::provider::format::Provider;
use crate::provider::transport::Transport;

impl BatchWire for crate::provider::openai::ChatCompletions {
    // 50 000 requests and a 200 MB input file.
    const MAX_REQUESTS: usize = 50_000;
    const MAX_BYTES: usize = 190_000_000;

    async fn submit(
        provider: &Provider<Self>,
        entries: &[(String, Vec<u8>)],
    ) -> Result<String, GeneratorError> {
        let transport = provider.transport();
        let mut file = Vec::new();
        for (custom_id, body) in entries {
            let body: Value = serde_json::from_slice(body).map_err(GeneratorError::other)?;
            let line = json!({"custom_id": custom_id, "method": "POST",
                              "url": "/v1/chat/completions", "body": body});
            file.extend_from_slice(line.to_string().as_bytes());
            file.push(b'\n');
        }
        const BOUNDARY: &str = "chatan-batch-boundary-7f3a9c";
        let mut upload = Vec::new();
        upload.extend_from_slice(
            format!(
                "--{BOUNDARY}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
                 --{BOUNDARY}\r\nContent-Disposition: form-data; name=\"file\"; \
                 filename=\"chatan-batch.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n"
            )
            .as_bytes(),
        );
        upload.extend_from_slice(&file);
        upload.extend_from_slice(format!("\r\n--{BOUNDARY}--\r\n").as_bytes());
        let uploaded: Value = transport
            .call_json(
                Method::POST,
                &transport.url_of("/files"),
                Some((
                    "multipart/form-data; boundary=chatan-batch-boundary-7f3a9c",
                    upload,
                )),
            )
            .await?;
        let file_id = uploaded["id"]
            .as_str()
            .ok_or_else(|| GeneratorError::Malformed("the file upload has no id".into()))?;
        let batch = json!({"input_file_id": file_id, "endpoint": "/v1/chat/completions",
                           "completion_window": "24h"});
        create(transport, "/batches", &batch).await
    }

    async fn poll(provider: &Provider<Self>, id: &str) -> Result<Poll, GeneratorError> {
        let transport = provider.transport();
        let batch = fetch(transport, &format!("/batches/{id}")).await?;
        // The batch object's `status` (OpenAI's OpenAPI spec, `Batch.status`):
        // `validating`, `in_progress`, `finalizing` and `cancelling` go on; `completed`,
        // `expired` and `cancelled` end with an output file (the requests that ran,
        // billed) and an error file (the rest); `failed` ends with neither, the
        // reasons in `errors.data`.
        let status = batch["status"].as_str().unwrap_or_default();
        match status {
            "completed" | "expired" | "cancelled" => {}
            "failed" => return Ok(Poll::Failed(openai_batch_failure(id, &batch))),
            _ => {
                let counts = &batch["request_counts"];
                let count = |key: &str| counts[key].as_u64().unwrap_or(0) as usize;
                return Ok(Poll::Pending {
                    done: count("completed"),
                    failed: count("failed"),
                });
            }
        }
        let mut results = Vec::new();
        for key in ["output_file_id", "error_file_id"] {
            let Some(file) = batch[key].as_str() else {
                continue;
            };
            let bytes = transport
                .call(
                    Method::GET,
                    &transport.url_of(&format!("/files/{file}/content")),
                    None,
                )
                .await?;
            for line in jsonl(&bytes) {
                let Some(custom_id) = line["custom_id"].as_str() else {
                    continue;
                };
                let result = openai_result(transport, id, status, &line);
                results.push((custom_id.to_owned(), result));
            }
        }
        Ok(Poll::Ended(results))
    }
}

/// One line of an OpenAI batch's output or error file (the request output object:
/// `response` with `status_code` and `body`, or `response: null` and an `error` with
/// `code` and `message` for a request that did not run, such as `batch_expired` and
/// `batch_cancelled` in the error file of a batch that ended `expired` or `cancelled`).
fn openai_result(
    transport: &Transport,
    id: &str,
    status: &str,
    line: &Value,
) -> Result<Value, GeneratorError> {
    let response = &line["response"];
    if let Some(code) = response["status_code"].as_u64() {
        let code = code as u16;
        return if (200..300).contains(&code) {
            Ok(response["body"].clone())
        } else {
            Err(transport.error_of(code, response["body"].to_string().as_bytes()))
        };
    }
    let error = &line["error"];
    let code = error["code"].as_str().unwrap_or("unknown");
    let text = error["message"]
        .as_str()
        .unwrap_or("the request did not run");
    let expired = code == "batch_expired" || (status == "expired" && code != "batch_cancelled");
    Err(GeneratorError::Unprocessed {
        expired,
        message: format!("batch {id} ended {status} before this request ran ({code}: {text})"),
    })
}

/// The error every request of a `failed` OpenAI batch gets: the reasons the provider
/// gives in `errors.data` (a code, a message, the input line), as a rejection.
fn openai_batch_failure(id: &str, batch: &Value) -> GeneratorError {
    let reasons: Vec<String> = batch["errors"]["data"]
        .as_array()
        .map(Vec::as_slice)
        .unwrap_or_default()
        .iter()
        .take(5)
        .map(|e| {
            let line = e["line"]
                .as_u64()
                .map(|l| format!("line {l}: "))
                .unwrap_or_default();
            format!(
                "{line}{}: {}",
                e["code"].as_str().unwrap_or("error"),
                e["message"].as_str().unwrap_or("no message")
            )
        })
        .collect();
    GeneratorError::Rejected {
        status: 400,
        message: if reasons.is_empty() {
            format!("batch {id} failed, with no reason given")
        } else {
            format!("batch {id} failed: {}", reasons.join("; "))
        },
    }
}
