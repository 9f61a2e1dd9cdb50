//! The mock server's batch APIs over real HTTP, as the providers define them: OpenAI's
//! files + batches (multipart upload, `validating` → `in_progress` → `completed` after
//! the processing delay, output and error files) and Anthropic's message batches
//! (`in_progress` → `ended`, results as jsonl), with failed entries from `fail_for`
//! rules and replies equal to what the chat endpoints answer.

use std::time::Duration;

use chatan_mock::{Api, BatchEnd, Fault, MockConfig, MockServer, placeholder};
use serde_json::{Value, json};

const KEY: &str = "batch-key";

fn config() -> MockConfig {
    MockConfig::new()
        .api_key(KEY)
        .batch_delay(Duration::from_millis(300))
        .fail_for("doomed", Fault::ServerError)
}

fn chat(prompt: &str) -> Value {
    json!({"model": "gpt-test", "messages": [{"role": "user", "content": prompt}]})
}

/// Sends `request` and reads the reply's body as text.
async fn text_of(request: reqwest::RequestBuilder) -> String {
    request.send().await.unwrap().text().await.unwrap()
}

/// Sends `request` and reads the reply's body as JSON.
async fn json_of(request: reqwest::RequestBuilder) -> Value {
    serde_json::from_str(&text_of(request).await).unwrap()
}

fn lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

/// Uploads `prompts` as a batch file to `server` and creates an OpenAI batch over it;
/// the client, the base URL, the `Authorization` value and the batch object.
async fn submit_openai(
    server: &MockServer,
    prompts: &[&str],
) -> (reqwest::Client, String, String, Value) {
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::new();
    let auth = format!("Bearer {KEY}");
    let jsonl: String = prompts
        .iter()
        .enumerate()
        .map(|(i, p)| {
            json!({"custom_id": format!("row-{i}"), "method": "POST",
                   "url": "/v1/chat/completions", "body": chat(p)})
            .to_string()
                + "\n"
        })
        .collect();
    let body = format!(
        "--b0undary\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
         --b0undary\r\nContent-Disposition: form-data; name=\"file\"; filename=\"in.jsonl\"\r\n\
         Content-Type: application/jsonl\r\n\r\n{jsonl}\r\n--b0undary--\r\n"
    );
    let file: Value = json_of(
        client
            .post(format!("{base}/v1/files"))
            .header("authorization", &auth)
            .header("content-type", "multipart/form-data; boundary=b0undary")
            .body(body),
    )
    .await;
    assert_eq!(file["purpose"], "batch");
    assert_eq!(file["bytes"], jsonl.len());
    let batch: Value = json_of(
        client
            .post(format!("{base}/v1/batches"))
            .header("authorization", &auth)
            .json(
                &json!({"input_file_id": file["id"], "endpoint": "/v1/chat/completions",
                      "completion_window": "24h"}),
            ),
    )
    .await;
    (client, base, auth, batch)
}

/// The text of file `file` (an id) of the mock's OpenAI files API.
async fn download(client: &reqwest::Client, base: &str, auth: &str, file: &Value) -> String {
    text_of(
        client
            .get(format!(
                "{base}/v1/files/{}/content",
                file.as_str().unwrap()
            ))
            .header("authorization", auth),
    )
    .await
}

#[tokio::test]
async fn openai_batches_go_from_a_file_to_output_and_error_files() {
    let server = MockServer::start(config()).await.unwrap();
    let (client, base, auth, batch) =
        submit_openai(&server, &["tides", "doomed stars", "owls"]).await;
    assert_eq!(batch["status"], "validating");
    let id = batch["id"].as_str().unwrap().to_owned();
    let poll = || async {
        json_of(
            client
                .get(format!("{base}/v1/batches/{id}"))
                .header("authorization", &auth),
        )
        .await
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert_eq!(poll().await["status"], "in_progress");
    assert_eq!(
        server.stats().batch_requests,
        0,
        "nothing answered before the delay"
    );
    tokio::time::sleep(Duration::from_millis(250)).await;
    let done = poll().await;
    assert_eq!(done["status"], "completed", "{done}");
    assert_eq!(
        done["request_counts"],
        json!({"total": 3, "completed": 2, "failed": 1})
    );
    let output = lines(&download(&client, &base, &auth, &done["output_file_id"]).await);
    assert_eq!(output.len(), 2);
    for (line, (custom_id, prompt)) in output.iter().zip([("row-0", "tides"), ("row-2", "owls")]) {
        assert_eq!(line["custom_id"], custom_id);
        assert_eq!(line["response"]["status_code"], 200);
        assert_eq!(
            line["response"]["body"]["choices"][0]["message"]["content"],
            placeholder(None, prompt),
            "the reply the chat endpoint gives"
        );
    }
    let errors = lines(&download(&client, &base, &auth, &done["error_file_id"]).await);
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0]["custom_id"], "row-1");
    assert_eq!(errors[0]["response"]["status_code"], 500);
    assert_eq!(server.stats().batch_requests, 3);
    assert_eq!(server.stats().requests, 0, "no chat requests were made");
    let batches = server.batches();
    assert_eq!(batches.len(), 1);
    assert_eq!(
        (batches[0].api, batches[0].requests, batches[0].ended),
        (Api::OpenAi, 3, true)
    );

    // A wrong key, and an unknown batch.
    let refused = client
        .get(format!("{base}/v1/batches/{id}"))
        .header("authorization", "Bearer wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(refused.status(), 401);
    let unknown = client
        .get(format!("{base}/v1/batches/batch_nope"))
        .header("authorization", &auth)
        .send()
        .await
        .unwrap();
    assert_eq!(unknown.status(), 404);
}

#[tokio::test]
async fn anthropic_message_batches_end_with_results() {
    let server = MockServer::start(config()).await.unwrap();
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::new();
    let params = |prompt: &str| {
        json!({"model": "claude-test", "max_tokens": 64,
               "messages": [{"role": "user", "content": prompt}]})
    };
    let send = |request: reqwest::RequestBuilder| {
        request
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
    };
    let batch: Value = json_of(
        send(client.post(format!("{base}/v1/messages/batches"))).json(&json!({"requests": [
            {"custom_id": "a", "params": params("moss")},
            {"custom_id": "b", "params": params("doomed glaciers")},
        ]})),
    )
    .await;
    assert_eq!(batch["type"], "message_batch");
    assert_eq!(batch["processing_status"], "in_progress");
    assert_eq!(batch["request_counts"]["processing"], 2);
    let id = batch["id"].as_str().unwrap().to_owned();
    tokio::time::sleep(Duration::from_millis(350)).await;
    let ended: Value = json_of(send(client.get(format!("{base}/v1/messages/batches/{id}")))).await;
    assert_eq!(ended["processing_status"], "ended");
    assert_eq!(ended["request_counts"]["succeeded"], 1);
    assert_eq!(ended["request_counts"]["errored"], 1);
    let url = ended["results_url"].as_str().unwrap();
    let results = lines(&text_of(send(client.get(url))).await);
    assert_eq!(results[0]["custom_id"], "a");
    assert_eq!(results[0]["result"]["type"], "succeeded");
    assert_eq!(
        results[0]["result"]["message"]["content"][0]["text"],
        placeholder(None, "moss")
    );
    assert_eq!(results[1]["result"]["type"], "errored");
    assert_eq!(results[1]["result"]["error"]["error"]["type"], "api_error");
    // Anthropic's routes want its version header.
    let no_version = client
        .get(format!("{base}/v1/messages/batches/{id}"))
        .header("x-api-key", KEY)
        .send()
        .await
        .unwrap();
    assert_eq!(no_version.status(), 400);
}

/// Polls OpenAI batch `id` once its processing time is over.
async fn ended_openai(client: &reqwest::Client, base: &str, auth: &str, id: &Value) -> Value {
    tokio::time::sleep(Duration::from_millis(350)).await;
    json_of(
        client
            .get(format!("{base}/v1/batches/{}", id.as_str().unwrap()))
            .header("authorization", auth),
    )
    .await
}

#[tokio::test]
async fn an_expired_openai_batch_has_what_ran_in_its_output_and_the_rest_as_batch_expired() {
    let server = MockServer::start(config().batch_end(BatchEnd::Expired { ran: 2 }))
        .await
        .unwrap();
    let (client, base, auth, batch) =
        submit_openai(&server, &["tides", "doomed stars", "owls", "moss"]).await;
    let ended = ended_openai(&client, &base, &auth, &batch["id"]).await;
    assert_eq!(ended["status"], "expired", "{ended}");
    assert_eq!(
        ended["request_counts"],
        json!({"total": 4, "completed": 1, "failed": 1})
    );
    let output = lines(&download(&client, &base, &auth, &ended["output_file_id"]).await);
    assert_eq!(output.len(), 1);
    assert_eq!(output[0]["custom_id"], "row-0");
    let errors = lines(&download(&client, &base, &auth, &ended["error_file_id"]).await);
    let ids: Vec<&str> = errors
        .iter()
        .map(|l| l["custom_id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, ["row-1", "row-2", "row-3"]);
    // Row 1 ran and failed (an HTTP error in `response`); rows 2 and 3 never ran.
    assert_eq!(errors[0]["response"]["status_code"], 500);
    for line in &errors[1..] {
        assert_eq!(line["response"], Value::Null);
        assert_eq!(line["error"]["code"], "batch_expired");
    }
    assert_eq!(server.stats().batch_requests, 2);
}

#[tokio::test]
async fn a_cancelled_openai_batch_goes_through_cancelling_and_lists_what_did_not_run() {
    // With a long processing time, the cancel comes first: nothing ran.
    let server = MockServer::start(config().batch_delay(Duration::from_secs(60)))
        .await
        .unwrap();
    let (client, base, auth, batch) = submit_openai(&server, &["tides", "owls"]).await;
    let id = batch["id"].as_str().unwrap();
    let cancelling: Value = json_of(
        client
            .post(format!("{base}/v1/batches/{id}/cancel"))
            .header("authorization", &auth),
    )
    .await;
    assert_eq!(cancelling["status"], "cancelling");
    let ended = ended_openai(&client, &base, &auth, &batch["id"]).await;
    assert_eq!(ended["status"], "cancelled", "{ended}");
    let errors = lines(&download(&client, &base, &auth, &ended["error_file_id"]).await);
    assert_eq!(errors.len(), 2);
    assert!(
        errors
            .iter()
            .all(|l| l["error"]["code"] == "batch_cancelled")
    );
    assert_eq!(server.stats().batch_requests, 0);
}

#[tokio::test]
async fn a_failed_openai_batch_has_errors_and_no_files() {
    let server = MockServer::start(config().batch_end(BatchEnd::Failed))
        .await
        .unwrap();
    let (client, base, auth, batch) = submit_openai(&server, &["tides"]).await;
    let ended = ended_openai(&client, &base, &auth, &batch["id"]).await;
    assert_eq!(ended["status"], "failed", "{ended}");
    assert_eq!(ended["output_file_id"], Value::Null);
    assert_eq!(ended["error_file_id"], Value::Null);
    assert_eq!(ended["errors"]["object"], "list");
    assert_eq!(ended["errors"]["data"][0]["code"], "token_limit_exceeded");
    assert_eq!(server.stats().batch_requests, 0);
}

#[tokio::test]
async fn anthropic_batches_refuse_custom_ids_outside_the_pattern_or_repeated() {
    let server = MockServer::start(config()).await.unwrap();
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::new();
    let params = json!({"model": "claude-test", "max_tokens": 64,
                        "messages": [{"role": "user", "content": "moss"}]});
    let long = "x".repeat(65);
    for ids in [
        vec!["ok", "ok"],
        vec!["réponse"],
        vec![long.as_str()],
        vec![""],
        vec!["has space"],
    ] {
        let requests: Vec<Value> = ids
            .iter()
            .map(|id| json!({"custom_id": id, "params": params}))
            .collect();
        let response = client
            .post(format!("{base}/v1/messages/batches"))
            .header("x-api-key", KEY)
            .header("anthropic-version", "2023-06-01")
            .json(&json!({ "requests": requests }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 400, "{ids:?}");
    }
    assert!(server.batches().is_empty());
}
