//! A run tells its observers when each request actually goes out: after the run's own
//! layers (retry, rate governor, concurrency limit), once per attempt. Every request the
//! server received was reported, and each cell's events come in order: started, sent,
//! (retrying, sent again)…, filled.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

use chatan::event::Event;
use chatan_mock::{Fault, MockConfig};

chatan::dataset! {
    #[derive(Debug)]
    struct Qa {
        topic: String = sample::choice(["rivers", "mountains", "deserts"]),
        question: String = gen("write a question about {topic}"),
        answer: String = gen("answer: {question}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_request_is_reported_as_sent_between_its_cells_start_and_fill() {
    let config = MockConfig::new().latency(Duration::from_millis(5)).script([
        Fault::RateLimit,
        Fault::ServerError,
        Fault::RateLimit,
    ]);
    let (server, llm) = tests::openai_mock(config).await;
    // Per cell, the events in the order the observer saw them.
    let seen: Mutex<HashMap<(usize, String), Vec<String>>> = Mutex::new(HashMap::new());
    let note = |row: usize, column: &str, what: String| {
        seen.lock()
            .unwrap()
            .entry((row, column.to_owned()))
            .or_default()
            .push(what);
    };
    let generated = Qa::runner(&llm)
        .concurrency(3)
        .seed(3)
        .retry(tests::quick_retries())
        .observe(|event: &Event<'_>| match *event {
            Event::CellStarted {
                row,
                column,
                attempt,
                ..
            } => note(row, column, format!("started {attempt}")),
            Event::RequestSent {
                row,
                column,
                attempt,
            } => note(row, column, format!("sent {attempt}")),
            Event::Retrying {
                row,
                column,
                attempt,
                ..
            } => note(row, column, format!("retrying {attempt}")),
            Event::CellFilled { row, column, .. } if column != "topic" => {
                note(row, column, "filled".to_owned())
            }
            _ => {}
        })
        .run(12)
        .await
        .unwrap();
    assert_eq!(generated.report.retries, 3);
    let seen = seen.into_inner().unwrap();
    assert_eq!(seen.len(), 24, "two generated cells in each of 12 rows");
    let sent: usize = seen
        .values()
        .map(|events| events.iter().filter(|e| e.starts_with("sent")).count())
        .sum();
    assert_eq!(
        sent as u64,
        server.stats().requests,
        "every request the server got"
    );
    let mut retried = 0;
    for ((row, column), events) in &seen {
        // started 1, sent 1, then for each retry: retrying k, sent k+1; then filled.
        let retries = (events.len() - 3) / 2;
        retried += retries;
        let mut expected = vec!["started 1".to_owned(), "sent 1".to_owned()];
        for k in 1..=retries {
            expected.push(format!("retrying {k}"));
            expected.push(format!("sent {}", k + 1));
        }
        expected.push("filled".to_owned());
        assert_eq!(events, &expected, "row {row}, column {column}");
    }
    assert_eq!(retried, 3);
}
