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
async fn after_a_failure_the_stream_yields_what_finished_then_the_error() {
    let (server, llm) = tests::openai_mock(
        MockConfig::new()
            .latency(Duration::from_millis(2))
            .fail_from(10, Fault::BadRequest),
    )
    .await;
    let items: Vec<Result<Numbered, Error>> = Numbered::runner(&llm)
        .concurrency(2)
        .seed(5)
        .stream(1_000)
        .unwrap()
        .collect()
        .await;
    // The rows before the first that did not finish, in row order, then the error that
    // ended the run: the failure of the row the prefix ends at. (Which rows' requests
    // were refused depends on the order they reached the server in.)
    let preview = Numbered::runner(&llm).seed(5).preview(40).unwrap();
    let row_of = |prompt: &str| {
        preview
            .rows
            .iter()
            .position(|p| p.prompts[0].prompt == prompt)
            .unwrap()
    };
    let (last, rows) = items.split_last().expect("items");
    let Err(Error::Cell {
        row: failed,
        column: "text",
        ..
    }) = last
    else {
        panic!("{last:?}")
    };
    assert_eq!(*failed, rows.len(), "the error is the gap's");
    assert!(rows.len() <= 10, "{}", rows.len());
    for (i, row) in rows.iter().enumerate() {
        let prompt = format!("say {}", row.as_ref().unwrap().n);
        assert_eq!(preview.rows[i].prompts[0].prompt, prompt, "row {i}");
    }
    // A 400 stops the run at once: once the first was answered (and the answer had time
    // to reach the client: 20 ms), no request of a row after it was sent.
    let log = server.exchanges();
    let first_400 = log
        .iter()
        .filter(|e| e.fault.is_some())
        .min_by_key(|e| e.finished)
        .unwrap();
    let limit = row_of(&first_400.prompt);
    let heard = first_400.finished + Duration::from_millis(20);
    for e in log.iter().filter(|e| e.received > heard) {
        assert!(row_of(&e.prompt) < limit, "{e:?} after {first_400:?}");
    }
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

#[tokio::test]
async fn a_stop_that_gives_up_a_row_ends_the_ordered_stream_at_it() {
    // Row 2's reply takes 10 s, every other is instant. The stop comes once the rows
    // after it have finished, with 100 ms of grace: row 2 is given up, and the stream
    // hands over rows 0 and 1 only — never rows 3.. past the hole.
    let (_probe, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Numbered::runner(&llm).seed(8).generate(3).await.unwrap();
    let slow = format!("say {}", rows[2].n);
    let (server, llm) =
        tests::openai_mock(MockConfig::new().latency_for(slow.as_str(), Duration::from_secs(10)))
            .await;
    let stop = chatan::Stop::new();
    let thrower = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        thrower.stop();
    });
    let items: Vec<Result<Numbered, Error>> = Numbered::runner(&llm)
        .seed(8)
        .concurrency(8)
        .stop_on(stop)
        .grace(Duration::from_millis(100))
        .stream(40)
        .unwrap()
        .collect()
        .await;
    // (The ordered window lets 16 rows past the slow one start.)
    assert!(
        server.stats().replies >= 10,
        "rows after the slow one finished"
    );
    let (last, handed) = items.split_last().expect("items");
    assert!(matches!(last, Err(Error::Stopped)), "{last:?}");
    let handed: Vec<&Numbered> = handed.iter().map(|r| r.as_ref().unwrap()).collect();
    assert_eq!(handed, [&rows[0], &rows[1]]);
}
