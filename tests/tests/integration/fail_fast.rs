//! Failures that every request would meet — a rejected key, no access, no quota — stop
//! a run at once: the requests not yet sent are never sent. And a stream under the
//! default policy hands over every row before the first failed one, then the error.

use chatan_mock::{Fault, MockConfig};
use futures::StreamExt;

chatan::dataset! {
    #[derive(Debug)]
    struct Three {
        topic: String = sample::choice(["tides", "stars"]),
        question: String = gen("write a question about {topic}"),
        fact: String = gen("a fact about {topic}"),
        answer: String = gen("answer: {question}"),
    }
}

const CONCURRENCY: usize = 8;

#[tokio::test]
async fn a_rejection_every_request_would_get_is_sent_once_per_wave_not_per_row() {
    for (fault, skip) in [
        (Fault::Unauthorized, false),
        (Fault::Forbidden, false),
        (Fault::NoQuota, false),
        // Even when the run goes on past failed rows, these stop it.
        (Fault::Unauthorized, true),
        (Fault::NoQuota, true),
    ] {
        let (server, llm) = tests::openai_mock(MockConfig::new().fail_from(0, fault)).await;
        let runner = Three::runner(&llm).concurrency(CONCURRENCY);
        let runner = if skip { runner.skip_failed() } else { runner };
        let result = runner.run(1_000).await;
        let sent = server.exchanges().len();
        // The requests already in flight when the first answer came back, at most;
        // nothing is retried and no new row starts.
        assert!(
            sent <= CONCURRENCY,
            "{fault:?} (skip {skip}): {sent} requests reached the server"
        );
        match result {
            Err(e) => assert!(e.completed().is_empty(), "{fault:?}"),
            Ok(generated) => {
                assert!(skip);
                assert!(generated.rows.is_empty());
                assert!(
                    generated.report.failed.len() < 1_000,
                    "rows were admitted after the stop"
                );
            }
        }
    }
}

#[tokio::test]
async fn a_bad_parameter_stops_a_stopping_run_at_once_too() {
    let (server, llm) = tests::openai_mock(MockConfig::new().fail_from(0, Fault::BadRequest)).await;
    let err = Three::runner(&llm)
        .concurrency(CONCURRENCY)
        .generate(500)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("HTTP 400"), "{err}");
    assert!(server.exchanges().len() <= CONCURRENCY);
}

#[tokio::test]
async fn a_stream_yields_every_row_before_the_first_failed_one_then_the_error() {
    // Row failures are permanent for prompts about "stars"; others finish.
    let (_server, llm) =
        tests::openai_mock(MockConfig::new().fail_for("about stars", Fault::ServerError)).await;
    let mut stream = Three::runner(&llm)
        .seed(3)
        .retry(tests::quick_retries().max_attempts(2))
        .concurrency(4)
        .stream(40)
        .unwrap();
    let mut rows = Vec::new();
    let mut error = None;
    // The README's loop: stop at the first error.
    while let Some(item) = stream.next().await {
        match item {
            Ok(row) => rows.push(row),
            Err(e) => {
                error = Some(e);
                break;
            }
        }
    }
    assert!(error.is_some(), "some row is about stars");
    assert!(stream.next().await.is_none(), "the error is the last item");
    assert!(rows.iter().all(|r| r.topic == "tides"));
    // Exactly the rows before the first failed one, every one of them: what a stream
    // hands over is a prefix of the row order (the same seed's preview says which rows
    // are about stars). Rows after the failed one may have finished, but never come out
    // past the gap.
    let preview = Three::runner(&llm).seed(3).preview(40).unwrap();
    let first_failed = preview
        .rows
        .iter()
        .position(|r| r.prompt("fact").unwrap().prompt.contains("stars"))
        .unwrap();
    assert_eq!(rows.len(), first_failed);
}

#[tokio::test]
async fn a_reply_body_past_the_cap_is_a_clear_error_not_a_full_memory() {
    let huge = "x".repeat(200_000);
    let (_server, llm) =
        tests::openai_mock(MockConfig::new().reply_for("write a question", [huge])).await;
    let llm = llm.max_reply_bytes(64 * 1024);
    let err = Three::generate(&llm, 1).await.unwrap_err();
    let text = err.to_string();
    assert!(
        text.contains("larger than 65536 bytes") && text.contains("max_reply_bytes"),
        "{text}"
    );
    // Not retried: the same request would bring the same body.
    assert!(text.contains("gave up after 1 attempt)"), "{text}");
}
