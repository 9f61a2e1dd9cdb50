//! The live viewer over real HTTP, during a run against the mock server: the page, its
//! script and the event stream are served on the loopback interface and nothing else;
//! the stream delivers every row exactly once (in its snapshot or live), each cell's
//! value as the run made it and each generated cell's prompt as sent, hostile values
//! as plain JSON text; and the server is gone once the run returns.

use std::collections::BTreeMap;
use std::time::Duration;

use chatan::viewer::Viewer;
use chatan_mock::MockConfig;
use serde_json::Value;

const HOSTILE: &str = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">";

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Watched {
        topic: String = sample::choice(["tides", "stars", "hostile"]),
        question: String = gen("a question about {topic}"),
        answer: String = gen("answer: {question}"),
        length: usize = |row| row.answer.len(),
    }
}

/// The server-sent events of `url` until the run's `end` message (or the stream's end).
async fn read_events(client: &reqwest::Client, url: &str) -> Vec<Value> {
    let mut response = client
        .get(url)
        .send()
        .await
        .expect("the event stream opens");
    assert_eq!(response.status(), 200);
    assert_eq!(
        response.headers()["content-type"],
        "text/event-stream",
        "server-sent events"
    );
    let mut buffer = String::new();
    let mut messages = Vec::new();
    while let Some(chunk) = response.chunk().await.expect("the stream reads") {
        buffer.push_str(std::str::from_utf8(&chunk).unwrap());
        while let Some(end) = buffer.find("\n\n") {
            let event: String = buffer.drain(..end + 2).collect();
            for line in event.lines() {
                if let Some(data) = line.strip_prefix("data: ") {
                    messages.push(serde_json::from_str::<Value>(data).unwrap());
                }
            }
        }
        if messages.last().is_some_and(|m| m["type"] == "end") {
            break;
        }
    }
    messages
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_row_arrives_once_with_its_cells_and_the_server_is_gone_after_the_run() {
    let config = MockConfig::new()
        .latency(Duration::from_millis(25))
        .reply_for("hostile", [HOSTILE]);
    let (_server, llm) = tests::openai_mock(config).await;
    let viewer = Viewer::start().unwrap().quiet().window(100);
    let address = viewer.address();
    assert!(address.ip().is_loopback(), "{address}");
    let base = viewer.url();
    assert_eq!(base, format!("http://{address}/"));

    let client = reqwest::Client::new();
    let reader = {
        let client = client.clone();
        let base = base.clone();
        tokio::spawn(async move {
            // The page, its script, and nothing else.
            let page = client.get(&base).send().await.unwrap();
            assert_eq!(page.status(), 200);
            let policy = page.headers()["content-security-policy"]
                .to_str()
                .unwrap()
                .to_owned();
            assert!(policy.contains("script-src 'self'"), "{policy}");
            assert!(
                page.text()
                    .await
                    .unwrap()
                    .contains("<script src=\"/page.js\"></script>")
            );
            let script = client.get(format!("{base}page.js")).send().await.unwrap();
            assert_eq!(script.status(), 200);
            assert!(
                script
                    .text()
                    .await
                    .unwrap()
                    .contains("new EventSource(\"/events\")")
            );
            for path in ["favicon.ico", "events/", "../Cargo.toml", "page.html"] {
                let status = client
                    .get(format!("{base}{path}"))
                    .send()
                    .await
                    .unwrap()
                    .status();
                assert_eq!(status, 404, "{path}");
            }
            let status = client
                .post(format!("{base}events"))
                .send()
                .await
                .unwrap()
                .status();
            assert_eq!(status, 405);
            read_events(&client, &format!("{base}events")).await
        })
    };

    let generated = Watched::runner(&llm)
        .concurrency(6)
        .seed(3)
        .viewer(viewer)
        .run(30)
        .await
        .unwrap();
    // Gone when the run returns: nothing listens on its port.
    let refused = tokio::net::TcpStream::connect(address).await;
    assert!(refused.is_err(), "the viewer still listens after the run");

    let messages = tokio::time::timeout(Duration::from_secs(10), reader)
        .await
        .expect("the stream ended with the run")
        .unwrap();
    assert_eq!(messages[0]["type"], "snapshot", "a snapshot comes first");

    // Every cell value and every row's end, from the snapshot and then live messages.
    let columns = ["topic", "question", "answer", "length"];
    let mut values: BTreeMap<(u64, usize), String> = BTreeMap::new();
    let mut prompts: BTreeMap<(u64, usize), String> = BTreeMap::new();
    let mut finished: BTreeMap<u64, usize> = BTreeMap::new();
    let mut start = None;
    let mut end = None;
    for message in &messages {
        match message["type"].as_str().unwrap() {
            "snapshot" => {
                start = start.or(message["start"].as_object().cloned());
                for view in message["rows"].as_array().unwrap() {
                    let row = view["row"].as_u64().unwrap();
                    for (c, cell) in view["cells"].as_array().unwrap().iter().enumerate() {
                        if let Some(value) = cell["value"].as_str() {
                            values.insert((row, c), value.to_owned());
                        }
                        if let Some(prompt) = cell["prompt"].as_str() {
                            prompts.insert((row, c), prompt.to_owned());
                        }
                    }
                    if view["status"] == "done" {
                        *finished.entry(row).or_default() += 1;
                    }
                }
            }
            "start" => start = message.as_object().cloned(),
            "cell" => {
                let key = (
                    message["row"].as_u64().unwrap(),
                    message["column"].as_u64().unwrap() as usize,
                );
                if let Some(value) = message["value"].as_str() {
                    values.insert(key, value.to_owned());
                }
                if let Some(prompt) = message["prompt"].as_str() {
                    prompts.insert(key, prompt.to_owned());
                }
            }
            "row" => {
                assert_eq!(message["status"], "done", "{message}");
                *finished
                    .entry(message["row"].as_u64().unwrap())
                    .or_default() += 1;
            }
            "end" => end = Some(message.clone()),
            "retry" => {}
            other => panic!("unknown message type {other}"),
        }
    }
    let start = start.expect("the run's start was seen");
    let names: Vec<&str> = start["columns"]
        .as_array()
        .unwrap()
        .iter()
        .map(|c| c["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, columns);
    assert_eq!(start["columns"][1]["kind"], "generated");
    assert_eq!(start["rows"], 30);
    assert_eq!(
        finished,
        (0..30u64).map(|r| (r, 1)).collect::<BTreeMap<_, _>>(),
        "every row finished exactly once on the page"
    );
    let end = end.expect("the run's end was sent");
    assert_eq!(end["done"], 30);
    assert_eq!(end["failed"], 0);
    assert_eq!(end["stats"]["done"], 30);

    for (index, row) in generated.indices.iter().zip(&generated.rows) {
        let index = *index as u64;
        assert_eq!(values[&(index, 0)], row.topic);
        assert_eq!(values[&(index, 1)], row.question);
        assert_eq!(values[&(index, 2)], row.answer);
        assert_eq!(values[&(index, 3)], row.length.to_string());
        assert_eq!(
            prompts[&(index, 1)],
            format!("a question about {}", row.topic),
            "the prompt as sent"
        );
        assert_eq!(prompts[&(index, 2)], format!("answer: {}", row.question));
    }
    let hostile = generated
        .rows
        .iter()
        .position(|r| r.topic == "hostile")
        .expect("a hostile row among 30");
    assert_eq!(
        values[&(generated.indices[hostile] as u64, 1)],
        HOSTILE,
        "sent verbatim, as JSON text"
    );
}

#[tokio::test]
async fn a_taken_port_is_a_clear_error() {
    let first = Viewer::start().unwrap();
    let error = Viewer::on_port(first.address().port())
        .unwrap_err()
        .to_string();
    assert!(
        error.starts_with("viewer: cannot listen on 127.0.0.1:"),
        "{error}"
    );
}
