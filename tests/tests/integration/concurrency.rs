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
    assert_eq!(out.len(), rows);
    for r in &out {
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
    // One row, unlimited concurrency: `left` and `right` go out together.
    assert_eq!(max_in_flight(64, 1).await, 2);
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
