//! Runtime faults: what is retried, what is reported at once, what the error names, and
//! that completed rows are never thrown away.

use std::time::Duration;

use chatan::error::CellError;
use chatan::layer::RetryPolicy;
use chatan::{Error, GeneratorError, OpenAi};
use chatan_mock::{Fault, MockConfig};

chatan::dataset! {
    #[derive(Debug)]
    struct Qa {
        question: String = gen("write a question"),
        answer: String = gen("answer: {question}"),
    }
}

fn cell_error(error: &Error) -> (usize, &'static str, &CellError) {
    match error {
        Error::Cell { row, column, cause } => (*row, *column, cause),
        other => panic!("expected a cell error, got {other:?}"),
    }
}

#[tokio::test]
async fn transient_faults_are_retried_until_they_pass() {
    for fault in [
        Fault::RateLimit,
        Fault::ServerError,
        Fault::Drop,
        Fault::Malformed,
    ] {
        let (server, llm) =
            tests::openai_mock(MockConfig::new().script([fault, fault, fault])).await;
        let rows = Qa::runner(&llm)
            .concurrency(1)
            .retry(tests::quick_retries())
            .generate(2)
            .await
            .unwrap_or_else(|e| panic!("{fault:?}: {e}"));
        assert_eq!(rows.len(), 2);
        let stats = server.stats();
        assert_eq!(stats.faults.get(&fault), Some(&3), "{fault:?}: {stats:?}");
        assert_eq!(stats.replies, 4, "{fault:?}: {stats:?}");
        for row in &rows {
            assert!(row.answer.contains("answer: "), "{row:?}");
        }
    }
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let (server, llm) = tests::openai_mock(
        MockConfig::new()
            .script([Fault::RateLimit])
            .retry_after(Duration::from_millis(300)),
    )
    .await;
    let rows = Qa::runner(&llm)
        .concurrency(1)
        .retry(tests::quick_retries().max_delay(Duration::from_secs(5)))
        .generate(1)
        .await
        .unwrap();
    assert_eq!(rows.len(), 1);
    let log = server.exchanges();
    let (limited, retried) = (&log[0], &log[1]);
    assert_eq!(limited.fault, Some(Fault::RateLimit));
    let waited = retried.received - limited.finished;
    assert!(
        waited >= Duration::from_millis(290),
        "waited only {waited:?}"
    );
}

#[tokio::test]
async fn persistent_failures_name_row_column_and_cause_and_keep_completed_rows() {
    // The first 20 requests are answered; every later one fails with a 500.
    let (server, llm) =
        tests::openai_mock(MockConfig::new().fail_from(20, Fault::ServerError)).await;
    let failed = Qa::runner(&llm)
        .concurrency(4)
        .retry(tests::quick_retries().max_attempts(4))
        .generate(50)
        .await
        .unwrap_err();

    let (row, column, cause) = cell_error(failed.error());
    assert!(row < 50);
    assert!(column == "question" || column == "answer");
    match cause {
        CellError::Generator {
            attempts,
            cause: GeneratorError::Server { status, message },
        } => {
            assert_eq!(*attempts, 4);
            assert_eq!(*status, 500);
            assert!(message.contains("injected by chatan-mock"), "{message}");
        }
        other => panic!("expected a server error, got {other:?}"),
    }
    let text = failed.to_string();
    assert!(
        text.starts_with(&format!(
            "row {row}, column `{column}`: server error (HTTP 500)"
        )),
        "{text}"
    );
    assert!(text.contains("gave up after 4 attempts"), "{text}");

    // Every row whose answer the server gave is handed back, in order, intact.
    let log = server.exchanges();
    let answered: Vec<&str> = log
        .iter()
        .filter(|e| e.prompt.starts_with("answer: ") && e.reply.is_some())
        .map(|e| e.prompt.as_str())
        .collect();
    let completed = failed.completed();
    assert!(!completed.is_empty());
    assert_eq!(completed.len(), answered.len());
    assert!(completed.windows(2).all(|w| w[0].0 < w[1].0));
    for (_, row) in completed {
        let prompt = format!("answer: {}", row.question);
        let exchange = log
            .iter()
            .find(|e| e.prompt == prompt)
            .expect("answer was asked");
        assert_eq!(exchange.reply.as_deref(), Some(row.answer.as_str()));
    }
    // No new rows were started after the failure: the rows admitted are the first
    // window (16 at concurrency 4) plus one for each row that finished before it, each
    // asking its question at most 4 times — not all 50 rows.
    let questions = log
        .iter()
        .filter(|e| e.prompt == "write a question")
        .count();
    let admitted = 16 + completed.len();
    assert!(admitted < 50);
    assert!(questions <= 4 * admitted, "{questions} questions asked");
}

#[tokio::test]
async fn a_rejected_request_is_reported_at_once_with_the_provider_message() {
    let (server, _) = tests::openai_mock(MockConfig::new().api_key("right-key")).await;
    let llm = OpenAi::new("wrong-key")
        .unwrap()
        .base_url(&server.openai_url())
        .unwrap();
    let failed = Qa::runner(&llm)
        .concurrency(1)
        .retry(tests::quick_retries())
        .generate(3)
        .await
        .unwrap_err();
    let (_, column, cause) = cell_error(failed.error());
    assert_eq!(column, "question");
    match cause {
        CellError::Generator {
            attempts: 1,
            cause:
                GeneratorError::Rejected {
                    status: 401,
                    message,
                },
        } => assert_eq!(message, "Incorrect API key provided"),
        other => panic!("expected a 401 without retries, got {other:?}"),
    }
    assert!(failed.completed().is_empty());
    // One request per row that was open; none retried.
    assert!(server.stats().requests <= 3, "{:?}", server.stats());
}

#[tokio::test]
async fn a_slow_server_times_out_and_the_timeout_is_retried() {
    let (server, _) = tests::openai_mock(
        MockConfig::new().latency_for("write a question", Duration::from_secs(30)),
    )
    .await;
    let llm = OpenAi::compatible(&server.openai_url())
        .unwrap()
        .timeout(Duration::from_millis(100));
    let started = std::time::Instant::now();
    let failed = Qa::runner(&llm)
        .retry(tests::quick_retries().max_attempts(2))
        .generate(1)
        .await
        .unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(5));
    let (_, column, cause) = cell_error(failed.error());
    assert_eq!(column, "question");
    assert!(
        matches!(cause, CellError::Generator { attempts: 2, cause: GeneratorError::Timeout(t) } if *t == Duration::from_millis(100)),
        "{cause:?}"
    );
    assert!(
        failed.to_string().contains("no reply within 100ms"),
        "{failed}"
    );
}

#[tokio::test]
async fn no_retries_when_the_policy_says_none() {
    let (server, llm) = tests::openai_mock(MockConfig::new().script([Fault::RateLimit])).await;
    let failed = Qa::runner(&llm)
        .retry(RetryPolicy::none())
        .generate(1)
        .await
        .unwrap_err();
    let (row, column, cause) = cell_error(failed.error());
    assert_eq!((row, column), (0, "question"));
    assert!(matches!(
        cause,
        CellError::Generator {
            attempts: 1,
            cause: GeneratorError::RateLimited { .. }
        }
    ));
    assert_eq!(server.stats().requests, 1);
}

#[tokio::test]
async fn an_unreachable_server_is_given_up_on_at_once_with_one_request() {
    // Bind a port, then free it: nothing listens there.
    let addr = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let llm = OpenAi::compatible(&format!("http://{addr}/v1")).unwrap();
    let started = std::time::Instant::now();
    // The default retry policy (8 attempts): a server that has never answered is not
    // worth them, and the first refusal halts the run.
    let failed = Qa::runner(&llm).generate(100).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let (_, _, cause) = cell_error(failed.error());
    assert!(
        matches!(cause, CellError::Generator { attempts: 1, cause: GeneratorError::Unreachable(c) } if c.to_string().contains("onnect")),
        "{cause:?}"
    );
    assert!(failed.to_string().contains("never answered"), "{failed}");
    assert_eq!(failed.report().failed.len(), 1, "{}", failed.report());
}

#[tokio::test]
async fn an_unknown_host_is_given_up_on_at_once() {
    // `.invalid` never resolves (RFC 2606).
    let llm = OpenAi::compatible("http://chatan-nowhere.invalid/v1").unwrap();
    let started = std::time::Instant::now();
    let failed = Qa::runner(&llm).generate(100).await.unwrap_err();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    let (_, _, cause) = cell_error(failed.error());
    assert!(
        matches!(
            cause,
            CellError::Generator {
                attempts: 1,
                cause: GeneratorError::Unreachable(_)
            }
        ),
        "{cause:?}"
    );
}

#[tokio::test]
async fn a_server_that_answered_once_and_goes_away_is_retried() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    Qa::runner(&llm).generate(1).await.unwrap();
    server.kill();
    tokio::time::sleep(Duration::from_millis(20)).await;
    let failed = Qa::runner(&llm)
        .retry(tests::quick_retries().max_attempts(3))
        .generate(1)
        .await
        .unwrap_err();
    let (_, _, cause) = cell_error(failed.error());
    assert!(
        matches!(
            cause,
            CellError::Generator {
                attempts: 3,
                cause: GeneratorError::Connection(_)
            }
        ),
        "{cause:?}"
    );
}
