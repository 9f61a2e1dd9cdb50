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
async fn a_rejection_every_request_would_get_costs_one_request_whatever_the_policy() {
    for (fault, skip) in [
        (Fault::Unauthorized, false),
        (Fault::Forbidden, false),
        (Fault::NoQuota, false),
        // Even when the run goes on past failed rows, these stop it, as an error.
        (Fault::Unauthorized, true),
        (Fault::NoQuota, true),
    ] {
        let (server, llm) = tests::openai_mock(MockConfig::new().fail_from(0, fault)).await;
        let runner = Three::runner(&llm).concurrency(CONCURRENCY);
        let runner = if skip { runner.skip_failed() } else { runner };
        let started = std::time::Instant::now();
        let error = runner
            .run(1_000)
            .await
            .expect_err("a run that cannot go on is an error");
        // The run's first request goes alone: its answer halts the run before any
        // other is sent.
        assert_eq!(
            server.exchanges().len(),
            1,
            "{fault:?} (skip {skip}): {} requests",
            server.exchanges().len()
        );
        assert!(started.elapsed() < std::time::Duration::from_secs(2));
        assert!(error.completed().is_empty(), "{fault:?}");
        let report = error.report();
        assert_eq!(report.failed.len(), 1, "{fault:?}: {report}");
        assert!(report.not_started >= 1_000 - 16, "{fault:?}: {report}");
        if skip {
            assert!(
                matches!(error.error(), chatan::Error::Halted { not_started, .. } if *not_started == report.not_started),
                "{fault:?}: {}",
                error.error()
            );
            assert!(error.to_string().contains("not started"), "{error}");
        } else {
            assert!(
                matches!(error.error(), chatan::Error::Cell { .. }),
                "{error}"
            );
        }
    }
}

#[tokio::test]
async fn a_wrong_key_to_anthropic_costs_one_request_too() {
    let (server, llm) = tests::anthropic_mock(MockConfig::new().api_key("right"), "wrong").await;
    let error = Three::runner(&llm).run(500).await.unwrap_err();
    assert!(error.to_string().contains("401"), "{error}");
    assert_eq!(server.stats().requests, 1);
}

#[tokio::test]
async fn an_unknown_model_costs_one_request() {
    let (server, llm) = tests::openai_mock(MockConfig::new().models(["gpt-4.1-mini"])).await;
    let llm = llm.model("gpt-nonexistent");
    let error = Three::runner(&llm)
        .skip_failed()
        .run(500)
        .await
        .unwrap_err();
    assert!(error.to_string().contains("404"), "{error}");
    assert!(error.to_string().contains("gpt-nonexistent"), "{error}");
    assert_eq!(server.stats().requests, 1);
}

#[tokio::test]
async fn a_halted_stream_under_skip_ends_with_the_halt_and_a_file_run_is_an_error() {
    let (server, llm) =
        tests::openai_mock(MockConfig::new().fail_from(3, Fault::Unauthorized)).await;
    let items: Vec<Result<Three, chatan::Error>> = Three::runner(&llm)
        .concurrency(2)
        .skip_failed()
        .stream(200)
        .unwrap()
        .collect()
        .await;
    let last = items.last().unwrap();
    assert!(
        matches!(last, Err(chatan::Error::Halted { .. })),
        "{last:?}"
    );
    assert!(server.stats().requests <= 3 + 2);
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
