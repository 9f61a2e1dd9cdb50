//! Existing data in: tables read from files (only the columns asked for), sampled from or
//! iterated over, several columns of one source row kept together, seeded shuffles.

use chatan::data::polars::prelude::{Column, DataFrame};
use chatan::data::{DataError, Table};
use chatan::{Error, sample};
use chatan_mock::MockConfig;

/// A source table: prompts with their ids.
fn source(n: usize) -> DataFrame {
    DataFrame::new_infer_height(vec![
        Column::new(
            "prompt".into(),
            (0..n)
                .map(|i| format!("source prompt {i}"))
                .collect::<Vec<_>>(),
        ),
        Column::new(
            "id".into(),
            (0..n as i64).map(|i| i * 10).collect::<Vec<_>>(),
        ),
        Column::new("note".into(), vec!["unused"; n]),
    ])
    .unwrap()
}

#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
pub struct Source {
    pub prompt: String,
    pub id: u32,
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct Rewrite {
        pub original: String = sample::input(),
        pub rewrite: String = gen("rewrite: {original}"),
    }
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct Paired {
        pub src: Source = sample::input(),
        pub rewrite: String = gen("rewrite prompt {src.id}: {src.prompt}"),
    }
}

async fn mock() -> (chatan_mock::MockServer, chatan::OpenAi) {
    let server = chatan_mock::MockServer::start(MockConfig::new())
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    (server, llm)
}

#[tokio::test]
async fn a_column_of_a_file_feeds_a_recipe_in_order() {
    let dir = tests_data::scratch("sources-files");
    let (_server, llm) = mock().await;
    let mut frame = source(6);
    for name in ["src.parquet", "src.csv", "src.jsonl"] {
        chatan::data::write_frame(
            &mut frame,
            dir.join(name),
            chatan::data::Format::from_path(std::path::Path::new(name)).unwrap(),
        )
        .unwrap();
        let table = Table::read_columns(dir.join(name), &["prompt"]).unwrap();
        assert_eq!(
            table.columns(),
            ["prompt"],
            "{name}: only the column asked for"
        );
        let rows = Rewrite::runner(&llm)
            .sampler(
                |c| c.original,
                sample::from_dataset(&table, "prompt").in_order(),
            )
            .generate(6)
            .await
            .unwrap();
        for (i, row) in rows.iter().enumerate() {
            assert_eq!(row.original, format!("source prompt {i}"), "{name}");
            assert!(row.rewrite.contains(&row.original));
        }
    }
    // A column the file does not have is named, with the ones it has.
    let error = Table::read_columns(dir.join("src.parquet"), &["question"]).unwrap_err();
    assert!(
        matches!(&error, DataError::MissingColumn { column, available, .. }
        if column == "question" && available == &["prompt", "id", "note"]),
        "{error}"
    );
}

#[tokio::test]
async fn whole_source_rows_keep_their_columns_together() {
    let (server, llm) = mock().await;
    let table = Table::from(source(5));
    let rows = Paired::runner(&llm)
        .sampler(|c| c.src, sample::from_records(&table).in_order())
        .generate(5)
        .await
        .unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(
            row.src,
            Source {
                prompt: format!("source prompt {i}"),
                id: i as u32 * 10
            }
        );
    }
    let mut prompts: Vec<String> = server.exchanges().into_iter().map(|e| e.prompt).collect();
    prompts.sort();
    assert_eq!(prompts[2], "rewrite prompt 20: source prompt 2");
}

#[tokio::test]
async fn a_source_that_does_not_fit_says_so_before_any_request() {
    let (server, llm) = mock().await;
    #[derive(Debug, Clone, serde::Deserialize)]
    pub struct Wrong {
        pub prompt: u32,
    }
    chatan::dataset! {
        #[derive(Debug)]
        pub struct Mistyped {
            pub src: Wrong = sample::input(),
            pub text: String = gen("about {src.prompt}"),
        }
    }
    let table = Table::from(source(2));
    let failed = Mistyped::runner(&llm)
        .sampler(|c| c.src, sample::from_records(&table))
        .generate(2)
        .await
        .unwrap_err();
    match failed.error() {
        Error::Sampler {
            column: "src",
            cause,
        } => {
            let message = cause.to_string();
            assert!(
                message.contains("does not fit")
                    && message.contains("Wrong")
                    && message.contains("column \"prompt\": invalid type: string")
                    && message.contains("[\"prompt\", \"id\", \"note\"]"),
                "{message}"
            );
        }
        other => panic!("{other}"),
    }
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test]
async fn a_shuffle_visits_every_source_row_in_an_order_the_seed_decides() {
    let (_server, llm) = mock().await;
    let table = Table::from(source(8));
    let order = |seed: u64| {
        let llm = &llm;
        let table = &table;
        async move {
            Rewrite::runner(llm)
                .seed(seed)
                .sampler(
                    |c| c.original,
                    sample::from_dataset(table, "prompt").shuffled(),
                )
                .generate(16)
                .await
                .unwrap()
                .into_iter()
                .map(|r| r.original)
                .collect::<Vec<_>>()
        }
    };
    let first = order(1).await;
    assert_eq!(order(1).await, first);
    assert_ne!(order(2).await, first);
    // Each block of 8 rows visits all 8 source rows, in the same order.
    let mut block = first[..8].to_vec();
    assert_eq!(first[8..], block[..]);
    block.sort();
    let all: Vec<String> = {
        let mut v: Vec<String> = (0..8).map(|i| format!("source prompt {i}")).collect();
        v.sort();
        v
    };
    assert_eq!(block, all);
    // Not simply in order.
    assert_ne!(
        first[..8],
        (0..8)
            .map(|i| format!("source prompt {i}"))
            .collect::<Vec<_>>()[..]
    );
}

#[test]
fn concatenating_frames_unions_columns_and_refuses_clashing_dtypes() {
    let a = DataFrame::new_infer_height(vec![
        Column::new("operation".into(), ["matmul", "gelu"]),
        Column::new("prompt".into(), ["p1", "p2"]),
    ])
    .unwrap();
    let b = DataFrame::new_infer_height(vec![
        Column::new("prompt".into(), ["p3"]),
        Column::new("original".into(), ["code"]),
    ])
    .unwrap();
    let both = chatan::data::concat_diagonal(&[a.clone(), b]).unwrap();
    let names: Vec<&str> = both.get_column_names().iter().map(|n| n.as_str()).collect();
    assert_eq!(names, ["operation", "prompt", "original"]);
    assert_eq!(both.height(), 3);
    assert_eq!(both.column("operation").unwrap().null_count(), 1);
    assert_eq!(both.column("original").unwrap().null_count(), 2);

    let clash = DataFrame::new_infer_height(vec![Column::new("prompt".into(), [1i64])]).unwrap();
    let error = chatan::data::concat_diagonal(&[a, clash]).unwrap_err();
    assert!(error.to_string().contains("\"prompt\""), "{error}");
}
