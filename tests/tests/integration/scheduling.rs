//! Each cell starts as soon as its own inputs are ready: not level by level, not column
//! by column across the dataset. Observed at the mock server, from request timings, in
//! runs without the runner's layers (`bare`: its governor sends a run's first request
//! alone).

use std::time::Duration;

use chatan_mock::{Exchange, MockConfig};

chatan::dataset! {
    #[derive(Debug)]
    struct Abc {
        a: String = gen("slow: tell a long story"),
        b: String = gen("fast: say hi"),
        c: String = gen("fast: reply to {b}"),
    }
}

fn find<'a>(log: &'a [Exchange], prefix: &str) -> &'a Exchange {
    log.iter()
        .find(|e| e.prompt.starts_with(prefix))
        .unwrap_or_else(|| panic!("no request starting {prefix:?} in {log:#?}"))
}

#[tokio::test]
async fn a_cell_runs_as_soon_as_its_own_inputs_are_done() {
    let (server, llm) = tests::openai_mock(
        MockConfig::new()
            .latency(Duration::from_millis(10))
            .latency_for("slow:", Duration::from_millis(400)),
    )
    .await;
    let rows = Abc::runner(&llm).bare().generate(1).await.unwrap();
    assert_eq!(rows.len(), 1);

    let log = server.exchanges();
    let (a, b, c) = (
        find(&log, "slow: tell"),
        find(&log, "fast: say hi"),
        find(&log, "fast: reply to"),
    );
    // a and b are independent: both are sent at once.
    assert!(
        b.received < a.finished && a.received < b.finished,
        "{log:#?}"
    );
    // c waits for b only: it is sent after b is answered, and is answered before a.
    assert!(c.received >= b.finished, "{log:#?}");
    assert!(
        c.finished < a.finished,
        "c must finish before the slow a: {log:#?}"
    );
    // And its prompt holds b's reply.
    assert_eq!(c.prompt, format!("fast: reply to {}", rows[0].b));
    assert_eq!(a.reply.as_deref(), Some(rows[0].a.as_str()));
    assert_eq!(c.reply.as_deref(), Some(rows[0].c.as_str()));
}

chatan::dataset! {
    struct Qa {
        question: String = gen("question #{n}"),
        answer: String = gen("answer: {question}"),
        n: u32 = sample::range(0, 1_000_000),
    }
}

#[tokio::test]
async fn rows_do_not_wait_for_each_other() {
    // With a seed, row 0's sample is known in advance: learn it from a quick run, then
    // make exactly row 0's question slow.
    let (_probe_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let probe = Qa::runner(&llm).seed(1).generate(2).await.unwrap();
    let slow_question = format!("question #{}", probe[0].n);

    let (server, llm) = tests::openai_mock(
        MockConfig::new()
            .latency(Duration::from_millis(5))
            .latency_for(&slow_question, Duration::from_millis(400)),
    )
    .await;
    let rows = Qa::runner(&llm).seed(1).bare().generate(2).await.unwrap();
    assert_eq!(rows[0].n, probe[0].n);
    let log = server.exchanges();
    let exact = |prompt: &str| {
        log.iter()
            .find(|e| e.prompt == prompt)
            .unwrap_or_else(|| panic!("no request {prompt:?} in {log:#?}"))
    };
    let row0_question = exact(&slow_question);
    let row1_answer = exact(&format!("answer: {}", rows[1].question));
    assert_eq!(row1_answer.reply.as_deref(), Some(rows[1].answer.as_str()));
    assert!(
        row1_answer.finished < row0_question.finished,
        "row 1 must finish its answer while row 0's question is still open: {log:#?}"
    );
}
