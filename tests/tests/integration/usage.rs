//! Token usage flows out of the engine: per row in events, in total in the report, and
//! both equal what the server counted.

use std::sync::Mutex;

use chatan::event::Event;
use chatan::generate::Usage;
use chatan_mock::{Fault, MockConfig};

chatan::dataset! {
    #[derive(Debug)]
    struct Qa {
        topic: String = sample::choice(["rivers", "mountains", "deserts of the world"]),
        question: String = gen("write a question about {topic}"),
        answer: String = gen("answer: {question}"),
    }
}

#[tokio::test]
async fn usage_totals_equal_the_servers_token_counts() {
    for anthropic in [false, true] {
        let config = MockConfig::new().script([Fault::RateLimit, Fault::ServerError]);
        let per_row = Mutex::new(Vec::new());
        let record = |event: &Event<'_>| {
            if let Event::RowDone { row, usage } = event {
                per_row.lock().unwrap().push((*row, *usage));
            }
        };
        let (server, llm): (_, chatan::AnyGenerator) = if anthropic {
            let (server, llm) = tests::anthropic_mock(config, "k").await;
            (server, llm.into())
        } else {
            let (server, llm) = tests::openai_mock(config).await;
            (server, llm.into())
        };
        let generated = Qa::runner(&llm)
            .retry(tests::quick_retries())
            .observe(record)
            .run(20)
            .await;
        let generated = generated.unwrap();
        for row in &generated.rows {
            assert!(row.question.contains(&row.topic), "{row:?}");
            assert!(row.answer.contains("mock reply"), "{row:?}");
        }
        let stats = server.stats();
        let report = &generated.report;
        assert!(stats.input_tokens > 0 && stats.output_tokens > 0);
        assert_eq!(
            report.usage,
            Usage::new(stats.input_tokens, stats.output_tokens),
            "anthropic: {anthropic}"
        );
        let per_row = per_row.into_inner().unwrap();
        assert_eq!(per_row.len(), 20);
        let summed = per_row
            .iter()
            .fold(Usage::default(), |total, (_, usage)| total + *usage);
        assert_eq!(summed, report.usage);
        assert_eq!(report.done, 20);
        assert_eq!(report.requests, stats.requests);
        assert_eq!(report.retries, 2);
        assert!(report.failed.is_empty());
    }
}

#[tokio::test]
async fn events_tell_the_story_of_a_run() {
    let (_server, llm) = tests::openai_mock(MockConfig::new().script([Fault::RateLimit])).await;
    let log = Mutex::new(Vec::new());
    Qa::runner(&llm)
        .retry(tests::quick_retries())
        .seed(3)
        .observe(|event: &Event<'_>| {
            let line = match event {
                Event::RunStarted { rows, seed, .. } => format!("start {rows} {seed}"),
                Event::Retrying { attempt, .. } => format!("retry {attempt}"),
                Event::CellGenerated { column, .. } => format!("cell {column}"),
                Event::RowDone { .. } => "row".to_string(),
                Event::RunFinished { done, failed, .. } => format!("finish {done} {failed}"),
                _ => return,
            };
            log.lock().unwrap().push(line);
        })
        .generate(2)
        .await
        .unwrap();
    let log = log.into_inner().unwrap();
    assert_eq!(log.first().map(String::as_str), Some("start 2 3"));
    assert_eq!(log.last().map(String::as_str), Some("finish 2 0"));
    assert_eq!(log.iter().filter(|l| *l == "retry 1").count(), 1);
    assert_eq!(log.iter().filter(|l| l.starts_with("cell")).count(), 4);
    assert_eq!(log.iter().filter(|l| *l == "row").count(), 2);
}
