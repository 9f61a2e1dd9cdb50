//! The providers' batch APIs, as far as a client needs them, answered by the same reply
//! logic as single requests (canned replies, schemas, `fail_for` faults as failed
//! entries), after a configurable processing delay:
//!
//! * OpenAI Batch: `POST /v1/files` (multipart, `purpose=batch`, a jsonl of requests),
//!   `POST /v1/batches`, `GET /v1/batches/{id}` (`validating` → `in_progress` → one of
//!   `completed`, `expired`, `cancelled` with `output_file_id` and `error_file_id`, or
//!   `failed` with `errors`; see [`BatchEnd`]), `POST /v1/batches/{id}/cancel`, `GET
//!   /v1/files/{id}/content`.
//! * Anthropic Message Batches: `POST /v1/messages/batches`, `GET
//!   /v1/messages/batches/{id}` (`in_progress` → `ended`, with `results_url`), `GET
//!   /v1/messages/batches/{id}/results` (jsonl: `succeeded`, `errored`, `canceled`,
//!   `expired`).

use std::collections::HashMap;
use std::time::{Duration, Instant};

use bytes::Bytes;
use serde_json::{Value, json};

use crate::config::BatchEnd;
use crate::wire::Api;

/// One request of a batch answered: a reply body, or a status and an error body.
pub(crate) type Answer = Result<Value, (u16, Value)>;

/// What the server holds of batches: uploaded files and batch jobs.
#[derive(Default)]
pub(crate) struct Store {
    files: HashMap<String, Bytes>,
    jobs: HashMap<String, Job>,
    next: u64,
}

/// A batch job: its requests, and their answers once processed.
pub(crate) struct Job {
    id: String,
    api: Api,
    created: Instant,
    input_file_id: Option<String>,
    entries: Vec<(String, Value)>,
    /// What created it and its input file's lines, as sent.
    create: Value,
    lines: Vec<Value>,
    /// How it ends; a cancel makes it [`BatchEnd::Cancelled`].
    end: BatchEnd,
    cancelled: bool,
    done: Option<Done>,
}

struct Done {
    succeeded: usize,
    failed: usize,
    /// Requests that never ran (expired or cancelled).
    not_run: usize,
    output_file_id: Option<String>,
    error_file_id: Option<String>,
    results: String,
}

/// A batch as the server's owner sees it (for tests).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchInfo {
    /// The batch's id.
    pub id: String,
    /// The API it came in on.
    pub api: Api,
    /// Requests in it.
    pub requests: usize,
    /// Whether it has been processed (its results are ready).
    pub ended: bool,
    /// Whether it was cancelled.
    pub cancelled: bool,
    /// What created it, as sent: OpenAI's `POST /v1/batches` body, or Anthropic's
    /// `POST /v1/messages/batches` body.
    pub create: Value,
    /// OpenAI's input file, a line each (empty for Anthropic).
    pub lines: Vec<Value>,
}

/// The batch routes.
pub(crate) enum Route {
    UploadFile,
    FileContent(String),
    CreateOpenAi,
    GetOpenAi(String),
    CancelOpenAi(String),
    CreateAnthropic,
    GetAnthropic(String),
    AnthropicResults(String),
}

impl Route {
    pub(crate) fn of(method: &hyper::Method, path: &str) -> Option<Route> {
        let parts: Vec<&str> = path.trim_start_matches('/').split('/').collect();
        let post = method == hyper::Method::POST;
        let get = method == hyper::Method::GET;
        Some(match parts.as_slice() {
            ["v1", "files"] if post => Route::UploadFile,
            ["v1", "files", id, "content"] if get => Route::FileContent((*id).to_owned()),
            ["v1", "batches"] if post => Route::CreateOpenAi,
            ["v1", "batches", id] if get => Route::GetOpenAi((*id).to_owned()),
            ["v1", "batches", id, "cancel"] if post => Route::CancelOpenAi((*id).to_owned()),
            ["v1", "messages", "batches"] if post => Route::CreateAnthropic,
            ["v1", "messages", "batches", id] if get => Route::GetAnthropic((*id).to_owned()),
            ["v1", "messages", "batches", id, "results"] if get => {
                Route::AnthropicResults((*id).to_owned())
            }
            _ => return None,
        })
    }

    /// The API whose errors and key header the route uses.
    pub(crate) fn api(&self) -> Api {
        match self {
            Route::CreateAnthropic | Route::GetAnthropic(_) | Route::AnthropicResults(_) => {
                Api::Anthropic
            }
            _ => Api::OpenAi,
        }
    }
}

/// The content of the part named `file` of a `multipart/form-data` body.
pub(crate) fn multipart_file(content_type: &str, body: &[u8]) -> Result<Bytes, String> {
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .ok_or("the upload is not multipart/form-data with a boundary")?
        .trim_matches('"');
    let delimiter = format!("--{boundary}");
    let text = body;
    let mut at = 0;
    let find = |from: usize, needle: &[u8]| {
        text[from..]
            .windows(needle.len())
            .position(|w| w == needle)
            .map(|i| from + i)
    };
    while let Some(start) = find(at, delimiter.as_bytes()) {
        let headers_start = start + delimiter.len();
        let Some(headers_end) = find(headers_start, b"\r\n\r\n") else {
            break;
        };
        let headers = String::from_utf8_lossy(&text[headers_start..headers_end]);
        let content_start = headers_end + 4;
        let Some(next) = find(content_start, format!("\r\n{delimiter}").as_bytes()) else {
            break;
        };
        if headers.contains("name=\"file\"") {
            return Ok(Bytes::copy_from_slice(&text[content_start..next]));
        }
        at = next + 2;
    }
    Err("the upload has no part named \"file\"".into())
}

/// Both providers require each request's `custom_id` to be unique in its batch.
fn unique_ids(entries: &[(String, Value)]) -> Result<(), String> {
    let mut seen = std::collections::HashSet::new();
    match entries.iter().find(|(id, _)| !seen.insert(id.as_str())) {
        Some((id, _)) => Err(format!("custom_id {id:?} is used by more than one request")),
        None => Ok(()),
    }
}

impl Store {
    fn id(&mut self, prefix: &str) -> String {
        self.next += 1;
        format!("{prefix}_mock_{:06}", self.next)
    }

    /// Keeps an uploaded file; its id.
    pub(crate) fn upload(&mut self, bytes: Bytes) -> Value {
        let id = self.id("file");
        let size = bytes.len();
        self.files.insert(id.clone(), bytes);
        json!({"id": id, "object": "file", "bytes": size, "purpose": "batch",
               "filename": "batch.jsonl", "created_at": 0})
    }

    pub(crate) fn file(&self, id: &str) -> Option<Bytes> {
        self.files.get(id).cloned()
    }

    /// An OpenAI batch over the uploaded file named in `body`.
    pub(crate) fn create_openai(
        &mut self,
        body: &Value,
        delay: Duration,
        end: BatchEnd,
    ) -> Result<Value, String> {
        let file_id = body["input_file_id"]
            .as_str()
            .ok_or("input_file_id is required")?;
        if body["endpoint"] != "/v1/chat/completions" {
            return Err("endpoint must be /v1/chat/completions".into());
        }
        let file = self
            .files
            .get(file_id)
            .ok_or_else(|| format!("no file {file_id}"))?;
        let mut entries = Vec::new();
        let mut lines = Vec::new();
        for (n, line) in String::from_utf8_lossy(file).lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let entry: Value =
                serde_json::from_str(line).map_err(|e| format!("line {}: {e}", n + 1))?;
            lines.push(entry.clone());
            let custom_id = entry["custom_id"]
                .as_str()
                .ok_or_else(|| format!("line {}: custom_id is required", n + 1))?;
            if entry["url"] != "/v1/chat/completions" || entry["method"] != "POST" {
                return Err(format!("line {}: must POST /v1/chat/completions", n + 1));
            }
            entries.push((custom_id.to_owned(), entry["body"].clone()));
        }
        unique_ids(&entries)?;
        let id = self.id("batch");
        self.jobs.insert(
            id.clone(),
            Job {
                id: id.clone(),
                api: Api::OpenAi,
                created: Instant::now(),
                input_file_id: Some(file_id.to_owned()),
                entries,
                create: body.clone(),
                lines,
                end,
                cancelled: false,
                done: None,
            },
        );
        Ok(self.openai_object(&id, delay))
    }

    /// An Anthropic message batch of the requests in `body`.
    pub(crate) fn create_anthropic(
        &mut self,
        body: &Value,
        end: BatchEnd,
    ) -> Result<Value, String> {
        let requests = body["requests"].as_array().ok_or("requests is required")?;
        // Anthropic's API reference, "Create a Message Batch": `requests` holds 1 to
        // 100 000 items; each `custom_id` is 1 to 64 characters of `[a-zA-Z0-9_-]`,
        // unique in the batch.
        if requests.is_empty() || requests.len() > 100_000 {
            return Err(format!(
                "requests: {} items; between 1 and 100000 are allowed",
                requests.len()
            ));
        }
        let mut entries = Vec::new();
        for (n, request) in requests.iter().enumerate() {
            let custom_id = request["custom_id"]
                .as_str()
                .ok_or_else(|| format!("requests.{n}.custom_id is required"))?;
            let allowed = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == '-';
            if custom_id.is_empty() || custom_id.len() > 64 || !custom_id.chars().all(allowed) {
                return Err(format!(
                    "requests.{n}.custom_id: String should match pattern '^[a-zA-Z0-9_-]{{1,64}}$'"
                ));
            }
            entries.push((custom_id.to_owned(), request["params"].clone()));
        }
        unique_ids(&entries)?;
        let id = self.id("msgbatch");
        self.jobs.insert(
            id.clone(),
            Job {
                id: id.clone(),
                api: Api::Anthropic,
                created: Instant::now(),
                input_file_id: None,
                entries,
                create: body.clone(),
                lines: Vec::new(),
                // Anthropic has no batch that fails as a whole once created.
                end: if end == BatchEnd::Failed {
                    BatchEnd::Completed
                } else {
                    end
                },
                cancelled: false,
                done: None,
            },
        );
        Ok(self.anthropic_object(&id, ""))
    }

    /// Cancels job `id` (it ends at its next poll, with no request run); whether it
    /// exists.
    pub(crate) fn cancel(&mut self, id: &str) -> bool {
        match self.jobs.get_mut(id) {
            Some(job) if job.done.is_none() => {
                job.cancelled = true;
                job.end = BatchEnd::Cancelled { ran: 0 };
                true
            }
            Some(_) => true,
            None => false,
        }
    }

    pub(crate) fn has(&self, id: &str, api: Api) -> bool {
        self.jobs.get(id).is_some_and(|j| j.api == api)
    }

    /// Processes job `id` if its time has come: `answer` turns one request body into
    /// a reply body, or a status and an error body.
    pub(crate) fn process(
        &mut self,
        id: &str,
        delay: Duration,
        answer: &dyn Fn(Api, &Value) -> Answer,
    ) {
        let Some(job) = self.jobs.get(id) else {
            return;
        };
        if job.done.is_some() || !(job.cancelled || job.created.elapsed() >= delay) {
            return;
        }
        let (api, entries, end) = (job.api, job.entries.clone(), job.end);
        let ran = match end {
            BatchEnd::Completed => entries.len(),
            BatchEnd::Expired { ran } | BatchEnd::Cancelled { ran } => ran,
            BatchEnd::Failed => 0,
        };
        let mut output = String::new();
        let mut errors = String::new();
        let (mut succeeded, mut failed, mut not_run) = (0, 0, 0);
        for (n, (custom_id, body)) in entries.iter().enumerate() {
            if end == BatchEnd::Failed {
                break;
            }
            if n >= ran {
                not_run += 1;
                let expired = matches!(end, BatchEnd::Expired { .. });
                match api {
                    Api::OpenAi => {
                        let (code, message) = if expired {
                            (
                                "batch_expired",
                                "This request could not be executed before the completion window expired.",
                            )
                        } else {
                            (
                                "batch_cancelled",
                                "This request was not executed because the batch was cancelled.",
                            )
                        };
                        let line = json!({"id": format!("batch_req_{n}"), "custom_id": custom_id,
                               "response": null, "error": {"code": code, "message": message}});
                        errors.push_str(&line.to_string());
                        errors.push('\n');
                    }
                    Api::Anthropic => {
                        let kind = if expired { "expired" } else { "canceled" };
                        let line = json!({"custom_id": custom_id, "result": {"type": kind}});
                        output.push_str(&line.to_string());
                        output.push('\n');
                    }
                }
                continue;
            }
            let result = answer(api, body);
            let line = match (api, result) {
                (Api::OpenAi, Ok(reply)) => {
                    succeeded += 1;
                    json!({"id": format!("batch_req_{n}"), "custom_id": custom_id,
                           "response": {"status_code": 200, "request_id": format!("req_{n}"), "body": reply},
                           "error": null})
                }
                (Api::OpenAi, Err((status, error))) => {
                    failed += 1;
                    let line = json!({"id": format!("batch_req_{n}"), "custom_id": custom_id,
                           "response": {"status_code": status, "request_id": format!("req_{n}"), "body": error},
                           "error": null});
                    errors.push_str(&line.to_string());
                    errors.push('\n');
                    continue;
                }
                (Api::Anthropic, Ok(message)) => {
                    succeeded += 1;
                    json!({"custom_id": custom_id, "result": {"type": "succeeded", "message": message}})
                }
                (Api::Anthropic, Err((_, error))) => {
                    failed += 1;
                    json!({"custom_id": custom_id, "result": {"type": "errored", "error": error}})
                }
            };
            output.push_str(&line.to_string());
            output.push('\n');
        }
        let (output_file_id, error_file_id) = match api {
            // A failed batch has neither file.
            Api::OpenAi if end == BatchEnd::Failed => (None, None),
            Api::OpenAi => {
                let out = self.id("file");
                self.files.insert(out.clone(), Bytes::from(output.clone()));
                let err = (!errors.is_empty()).then(|| {
                    let err = self.id("file");
                    self.files.insert(err.clone(), Bytes::from(errors));
                    err
                });
                (Some(out), err)
            }
            Api::Anthropic => (None, None),
        };
        if let Some(job) = self.jobs.get_mut(id) {
            job.done = Some(Done {
                succeeded,
                failed,
                not_run,
                output_file_id,
                error_file_id,
                results: output,
            });
        }
    }

    /// The OpenAI batch object of job `id`, `delay` being its processing time.
    pub(crate) fn openai_object(&self, id: &str, delay: Duration) -> Value {
        let Some(job) = self.jobs.get(id) else {
            return Value::Null;
        };
        let total = job.entries.len();
        let (status, completed, failed) = match (&job.done, job.end) {
            (Some(_), BatchEnd::Failed) => ("failed", 0, 0),
            (Some(done), end) => {
                let status = match end {
                    BatchEnd::Expired { .. } => "expired",
                    BatchEnd::Cancelled { .. } => "cancelled",
                    _ => "completed",
                };
                (status, done.succeeded, done.failed)
            }
            (None, _) if job.cancelled => ("cancelling", 0, 0),
            (None, _) if job.created.elapsed() < delay / 4 => ("validating", 0, 0),
            (None, _) => ("in_progress", 0, 0),
        };
        let done = job.done.as_ref();
        // Why a batch failed validation, as `errors.data` gives it (code, message,
        // param, line): here, OpenAI's enqueued-token limit.
        let errors = (status == "failed").then(|| {
            json!({"object": "list", "data": [{
                "code": "token_limit_exceeded",
                "message": "Enqueued token limit reached for the model in organization org-mock. Please try again once some in_progress batches have been completed. (injected by chatan-mock)",
                "param": null,
                "line": null,
            }]})
        });
        json!({
            "id": job.id,
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "errors": errors,
            "input_file_id": job.input_file_id,
            "completion_window": "24h",
            "status": status,
            "output_file_id": done.and_then(|d| d.output_file_id.clone()),
            "error_file_id": done.and_then(|d| d.error_file_id.clone()),
            "created_at": 0,
            "request_counts": {"total": total, "completed": completed, "failed": failed},
        })
    }

    /// The Anthropic message batch object of job `id`, its results at `base`.
    pub(crate) fn anthropic_object(&self, id: &str, base: &str) -> Value {
        let Some(job) = self.jobs.get(id) else {
            return Value::Null;
        };
        let total = job.entries.len();
        let (status, processing, succeeded, errored, canceled, expired) = match &job.done {
            Some(done) => {
                let (canceled, expired) = match job.end {
                    BatchEnd::Expired { .. } => (0, done.not_run),
                    _ => (done.not_run, 0),
                };
                ("ended", 0, done.succeeded, done.failed, canceled, expired)
            }
            None if job.cancelled => ("canceling", total, 0, 0, 0, 0),
            None => ("in_progress", total, 0, 0, 0, 0),
        };
        json!({
            "id": job.id,
            "type": "message_batch",
            "processing_status": status,
            "request_counts": {"processing": processing, "succeeded": succeeded,
                               "errored": errored, "canceled": canceled, "expired": expired},
            "results_url": (status == "ended")
                .then(|| format!("{base}/v1/messages/batches/{}/results", job.id)),
            "created_at": "1970-01-01T00:00:00Z",
        })
    }

    /// The results (jsonl) of an ended Anthropic batch.
    pub(crate) fn anthropic_results(&self, id: &str) -> Option<String> {
        self.jobs.get(id)?.done.as_ref().map(|d| d.results.clone())
    }

    pub(crate) fn infos(&self) -> Vec<BatchInfo> {
        let mut out: Vec<BatchInfo> = self
            .jobs
            .values()
            .map(|j| BatchInfo {
                id: j.id.clone(),
                api: j.api,
                requests: j.entries.len(),
                ended: j.done.is_some(),
                cancelled: j.cancelled,
                create: j.create.clone(),
                lines: j.lines.clone(),
            })
            .collect();
        out.sort_by(|a, b| a.id.cmp(&b.id));
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_file_part_of_a_multipart_upload() {
        let body = b"--XyZ\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n--XyZ\r\nContent-Disposition: form-data; name=\"file\"; filename=\"b.jsonl\"\r\nContent-Type: application/jsonl\r\n\r\n{\"a\":1}\n{\"b\":2}\n\r\n--XyZ--\r\n";
        let file = multipart_file("multipart/form-data; boundary=XyZ", body).unwrap();
        assert_eq!(&file[..], b"{\"a\":1}\n{\"b\":2}\n");
        assert!(multipart_file("application/json", body).is_err());
    }
}
