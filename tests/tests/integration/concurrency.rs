//! `concurrency(k)` bounds the requests in flight across all rows and columns, observed
//! at the server; and row admission is bounded, so memory is too.

use std::time::Duration;

use chatan_mock::MockConfig;
use futures::StreamExt;

chatan::dataset! {
    #[derive(Debug)]
    struct Pair {
        topic: String = sample::choice(["a", "b", "c"]),
        left: String = gen("left about {topic}"),
        right: String = gen("right about {topic}"),
        both: String = gen("compare {left} and {right}"),
    }
}

async fn max_in_flight(k: usize, rows: usize) -> usize {
    let (server, llm) =
        tests::openai_mock(MockConfig::new().latency(Duration::from_millis(20))).await;
    let out = Pair::runner(&llm)
        .concurrency(k)
        .generate(rows)
        .await
        .unwrap();
    check(&out, &server, rows)
}

/// The rows are right and every request was answered; the most in flight at once.
fn check(out: &[Pair], server: &chatan_mock::MockServer, rows: usize) -> usize {
    assert_eq!(out.len(), rows);
    for r in out {
        assert!(
            r.left.ends_with(&format!("left about {}", r.topic)),
            "{r:?}"
        );
        assert!(
            r.right.ends_with(&format!("right about {}", r.topic)),
            "{r:?}"
        );
        assert!(r.both.contains("compare"), "{r:?}");
    }
    let stats = server.stats();
    assert_eq!(stats.requests, 3 * rows as u64);
    assert_eq!(stats.in_flight, 0);
    stats.max_in_flight
}

#[tokio::test]
async fn never_more_than_k_and_k_reached() {
    for k in [1, 3, 8] {
        let seen = max_in_flight(k, 12).await;
        assert_eq!(
            seen, k,
            "concurrency({k}) saw {seen} requests in flight at most"
        );
    }
}

#[tokio::test]
async fn independent_columns_of_one_row_are_in_flight_together() {
    // One row: `left` and `right` go out together. (Without the runner's layers: its
    // governor sends a run's first request alone, so that a bad key costs one.)
    let (server, llm) =
        tests::openai_mock(MockConfig::new().latency(Duration::from_millis(20))).await;
    let out = Pair::runner(&llm).bare().generate(1).await.unwrap();
    assert_eq!(check(&out, &server, 1), 2);
}

#[tokio::test]
async fn a_runs_first_request_goes_alone_then_the_rest_at_the_limit() {
    let (server, llm) =
        tests::openai_mock(MockConfig::new().latency(Duration::from_millis(20))).await;
    let out = Pair::runner(&llm).concurrency(6).generate(6).await.unwrap();
    assert_eq!(check(&out, &server, 6), 6);
    let log = server.exchanges();
    let first = log.iter().min_by_key(|e| e.received).unwrap();
    let overlapping = log
        .iter()
        .filter(|e| e.id != first.id && e.received < first.finished)
        .count();
    assert_eq!(overlapping, 0, "a request went with the first: {log:#?}");
}

#[tokio::test]
async fn rows_are_admitted_as_slots_free_up() {
    // A stream over a billion rows: taking 20 must not start more than a bounded
    // window of rows, whatever n is.
    let (server, llm) =
        tests::openai_mock(MockConfig::new().latency(Duration::from_millis(5))).await;
    let stream = Pair::runner(&llm)
        .concurrency(4)
        .stream(1_000_000_000)
        .unwrap();
    let first: Vec<Pair> = stream.take(20).map(|r| r.expect("row")).collect().await;
    assert_eq!(first.len(), 20);
    let requests = server.stats().requests;
    // Each row makes 3 requests; the runner keeps at most max(2k, 16) rows open.
    assert!(requests <= 3 * (20 + 16), "{requests} requests for 20 rows");
}
