//! The `Skip` failure policy: a run goes on past rows that fail for good, returns every
//! other row, and its report names each failed row with column, attempts and cause.

use chatan::GeneratorError;
use chatan::error::CellError;
use chatan::runner::FailurePolicy;
use chatan_mock::{Fault, MockConfig};

chatan::dataset! {
    #[derive(Debug, Clone, PartialEq)]
    struct Qa {
        id: u32 = sample::from_values(0..40u32).in_order(),
        question: String = gen("write question number {id}!"),
        answer: String = gen("answer: {question}"),
    }
}

#[tokio::test]
async fn skip_returns_every_other_row_and_reports_each_failure() {
    // Rows 7, 17, 27 and 37 ask for "number 7!" and fail for good on the question;
    // row 21's answer is refused outright.
    let (server, llm) = tests::openai_mock(
        MockConfig::new()
            .fail_for("7!", Fault::ServerError)
            .fail_for("number 21!", Fault::BadRequest),
    )
    .await;
    let generated = Qa::runner(&llm)
        .retry(tests::quick_retries().max_attempts(3))
        .skip_failed()
        .run(40)
        .await
        .unwrap();
    let failed_rows = [7, 17, 21, 27, 37];
    let expected: Vec<usize> = (0..40).filter(|i| !failed_rows.contains(i)).collect();
    assert_eq!(generated.indices, expected);
    for (row, index) in generated.rows.iter().zip(&generated.indices) {
        assert_eq!(row.id as usize, *index);
        assert!(!row.answer.is_empty());
    }
    let report = &generated.report;
    assert_eq!(report.done, 35);
    let failed: Vec<usize> = report.failed.iter().map(|f| f.row).collect();
    assert_eq!(failed, failed_rows);
    for failure in &report.failed {
        assert_eq!(failure.column, "question");
        if failure.row == 21 {
            assert_eq!(failure.attempts(), 1);
            assert!(matches!(
                failure.cause,
                CellError::Generator {
                    cause: GeneratorError::Rejected { status: 400, .. },
                    ..
                }
            ));
        } else {
            assert_eq!(failure.attempts(), 3);
            assert!(matches!(
                failure.cause,
                CellError::Generator {
                    cause: GeneratorError::Server { status: 500, .. },
                    ..
                }
            ));
        }
        assert!(
            failure
                .to_string()
                .starts_with(&format!("row {}, column `question`", failure.row))
        );
    }
    // Every request is accounted for: the rows done, and the failed cells' attempts.
    assert_eq!(report.requests, server.stats().requests);
}

#[tokio::test]
async fn skip_with_generate_returns_the_rows_that_did_not_fail() {
    // A 400 is about this row's request; the run goes on. (A 401 would stop it: see
    // `fail_fast.rs`.)
    let (_server, llm) =
        tests::openai_mock(MockConfig::new().fail_for("number 3!", Fault::BadRequest)).await;
    let rows = Qa::runner(&llm)
        .on_failure(FailurePolicy::Skip)
        .generate(6)
        .await
        .unwrap();
    let ids: Vec<u32> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids, [0, 1, 2, 4, 5]);
}

#[tokio::test]
async fn stop_is_still_the_default_and_keeps_the_report() {
    let (_server, llm) =
        tests::openai_mock(MockConfig::new().fail_for("number 2!", Fault::BadRequest)).await;
    let failed = Qa::runner(&llm).concurrency(1).run(30).await.unwrap_err();
    assert!(matches!(failed.error(), chatan::Error::Cell { row: 2, .. }));
    // Rows stop being admitted after the failure, so far fewer than 30 were done, and
    // every completed row is kept.
    assert!(failed.completed().len() < 29);
    assert_eq!(failed.report().failed.len(), 1);
    assert_eq!(failed.report().done, failed.completed().len());
    // A 400 under the default policy also cancels what was not sent yet: the rows
    // admitted but unsent are counted apart from the failure.
    let report = failed.report();
    assert!(report.cancelled > 0, "{report}");
    // Rows admitted: the first window of 16, plus one per row done before the stop.
    assert!(report.failed.len() + report.cancelled <= 16, "{report}");
}
