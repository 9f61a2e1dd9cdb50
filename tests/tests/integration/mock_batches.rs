//! The mock server's batch APIs over real HTTP, as the providers define them: OpenAI's
//! files + batches (multipart upload, `validating` → `in_progress` → `completed` after
//! the processing delay, output and error files) and Anthropic's message batches
//! (`in_progress` → `ended`, results as jsonl), with failed entries from `fail_for`
//! rules and replies equal to what the chat endpoints answer.

use std::time::Duration;

use chatan_mock::{Api, Fault, MockConfig, MockServer, placeholder};
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

#[tokio::test]
async fn openai_batches_go_from_a_file_to_output_and_error_files() {
    let server = MockServer::start(config()).await.unwrap();
    let base = format!("http://{}", server.addr());
    let client = reqwest::Client::new();
    let auth = format!("Bearer {KEY}");
    let jsonl: String = ["tides", "doomed stars", "owls"]
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
    let download = |file: Value| {
        let client = client.clone();
        let (base, auth) = (base.clone(), auth.clone());
        async move {
            text_of(
                client
                    .get(format!(
                        "{base}/v1/files/{}/content",
                        file.as_str().unwrap()
                    ))
                    .header("authorization", &auth),
            )
            .await
        }
    };
    let output = lines(&download(done["output_file_id"].clone()).await);
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
    let errors = lines(&download(done["error_file_id"].clone()).await);
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
