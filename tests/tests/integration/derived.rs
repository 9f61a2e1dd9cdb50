//! Derived columns that fail: a closure that returns an error, and a panic in user code,
//! become cell failures naming row and column; the run's finished rows survive.

use chatan::Error;
use chatan::error::CellError;
use chatan_mock::MockConfig;

/// A sampler with a bug on one row.
struct Flaky;

impl chatan::sample::Sampler for Flaky {
    type Item = u8;
    fn sample(&self, cx: &mut chatan::sample::SampleContext) -> u8 {
        assert_ne!(cx.row, 8, "the sampler cannot handle row 8");
        cx.row as u8
    }
}

chatan::dataset! {
    #[derive(Debug)]
    struct Risky {
        id: u32 = sample::from_values(0..12u32).in_order(),
        flaky: u8 = Flaky,
        answer: String = gen("answer number {id}"),
        parsed: u32 = |row| -> Result<u32, std::num::ParseIntError> {
            if row.id == 3 { "three".parse() } else { Ok(row.id) }
        },
        length: usize = |row| {
            if row.id == 6 {
                panic!("row six is cursed");
            }
            row.answer.len()
        },
    }
}

#[tokio::test]
async fn failing_and_panicking_user_code_fails_only_its_rows() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let generated = Risky::runner(&llm).skip_failed().run(12).await.unwrap();
    assert_eq!(generated.indices, [0, 1, 2, 4, 5, 7, 9, 10, 11]);
    for row in &generated.rows {
        assert_eq!(row.parsed, row.id);
        assert_eq!(row.length, row.answer.len());
        assert_eq!(u32::from(row.flaky), row.id);
    }
    let failed = &generated.report.failed;
    let summary: Vec<(usize, &str)> = failed.iter().map(|f| (f.row, f.column)).collect();
    assert_eq!(summary, [(3, "parsed"), (6, "length"), (8, "flaky")]);
    assert!(
        matches!(&failed[0].cause, CellError::Derived { cause } if cause.to_string().contains("invalid digit")),
        "{}",
        failed[0]
    );
    assert!(
        matches!(&failed[1].cause, CellError::Panicked { message } if message == "row six is cursed"),
        "{}",
        failed[1]
    );
    assert!(
        matches!(&failed[2].cause, CellError::Panicked { message } if message.contains("cannot handle row 8")),
        "{}",
        failed[2]
    );
    assert_eq!(failed[1].attempts(), 0);
}

#[tokio::test]
async fn a_panic_stops_the_run_with_an_error_and_keeps_the_finished_rows() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let failed = Risky::runner(&llm)
        .concurrency(1)
        .generate(4..7)
        .await
        .unwrap_err();
    match failed.error() {
        Error::Cell {
            row: 6,
            column: "length",
            cause: CellError::Panicked { message },
        } => {
            assert_eq!(message, "row six is cursed");
        }
        other => panic!("{other}"),
    }
    let kept: Vec<usize> = failed.completed().iter().map(|(i, _)| *i).collect();
    assert_eq!(kept, [4, 5]);
    assert_eq!(
        failed.to_string(),
        "row 6, column `length`: panicked: row six is cursed (2 rows completed before the run stopped)"
    );
}
