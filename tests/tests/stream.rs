//! Streaming rows: in row order, or as they finish; and what a stream does after a
//! failure.

use std::time::Duration;

use chatan::Error;
use chatan_mock::{Fault, MockConfig};
use futures::StreamExt;

chatan::dataset! {
    #[derive(Debug, Clone, PartialEq)]
    struct Numbered {
        n: u32 = sample::range(0, 1_000_000),
        text: String = gen("say {n}"),
    }
}

#[tokio::test]
async fn the_ordered_stream_yields_row_i_as_item_i() {
    let (_server, llm) =
        tests::openai_mock(MockConfig::new().latency(Duration::from_millis(2))).await;
    let expected = Numbered::runner(&llm).seed(4).generate(40).await.unwrap();
    let streamed: Vec<Numbered> = Numbered::runner(&llm)
        .seed(4)
        .concurrency(8)
        .stream(40)
        .unwrap()
        .map(|r| r.unwrap())
        .collect()
        .await;
    assert_eq!(streamed, expected);
}

#[tokio::test]
async fn the_unordered_stream_yields_every_row_once_as_it_finishes() {
    // Make one early row slow: it must not hold back the rows after it.
    let (_probe, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Numbered::runner(&llm).seed(4).generate(10).await.unwrap();
    let slow = format!("say {}", rows[1].n);
    let (_server, llm) =
        tests::openai_mock(MockConfig::new().latency_for(&slow, Duration::from_millis(300))).await;
    let seen: Vec<(usize, Numbered)> = Numbered::runner(&llm)
        .seed(4)
        .stream_unordered(10)
        .unwrap()
        .map(|(i, r)| (i, r.unwrap()))
        .collect()
        .await;
    let order: Vec<usize> = seen.iter().map(|(i, _)| *i).collect();
    assert_eq!(
        *order.last().unwrap(),
        1,
        "the slow row comes last: {order:?}"
    );
    let mut sorted = order.clone();
    sorted.sort();
    assert_eq!(sorted, (0..10).collect::<Vec<_>>());
    for (i, row) in seen {
        assert_eq!(row, rows[i]);
    }
}

#[tokio::test]
async fn after_a_failure_the_stream_yields_what_was_under_way_then_ends() {
    let (server, llm) = tests::openai_mock(
        MockConfig::new()
            .latency(Duration::from_millis(2))
            .fail_from(10, Fault::BadRequest),
    )
    .await;
    let items: Vec<Result<Numbered, Error>> = Numbered::runner(&llm)
        .concurrency(2)
        .stream(1_000)
        .unwrap()
        .collect()
        .await;
    // Item i is row i: a run of successes, then failures, and nothing is skipped.
    let first_failure = items
        .iter()
        .position(|r| r.is_err())
        .expect("some row fails");
    assert!(items[..first_failure].iter().all(|r| r.is_ok()));
    assert_eq!(items.iter().filter(|r| r.is_ok()).count(), 10);
    for (i, item) in items.iter().enumerate() {
        if let Err(Error::Cell { row, column, .. }) = item {
            assert_eq!((*row, *column), (i, "text"));
        }
    }
    // Far fewer than 1000 rows were started.
    assert!(items.len() < 50, "{} rows", items.len());
    assert_eq!(server.stats().requests as usize, items.len());
}

#[tokio::test]
async fn a_recipe_that_cannot_run_fails_when_the_stream_is_made() {
    chatan::dataset! {
        #[allow(dead_code)]
        struct Needs {
            x: String = sample::input(),
            y: String = gen("{x}"),
        }
    }
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let Err(error) = Needs::runner(&llm).stream(3) else {
        panic!("the stream should not start")
    };
    assert!(matches!(error, Error::Sampler { column: "x", .. }));
}
