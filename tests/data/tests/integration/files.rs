//! Saving rows: parquet, csv, json and jsonl files read back by polars with the values
//! and dtypes written; formats by extension or by name; no half-written file left behind.

use std::fs::File;

use chatan::data::polars::prelude::{
    CsvReadOptions, DataFrame, DataType, JsonFormat, JsonReader, ParquetReader, SerReader,
};
use chatan::data::{DataError, Format, save_as};
use chatan_mock::MockConfig;

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Qa {
        pub id: chatan::Uuid = sample::uuid(),
        pub topic: String = sample::choice(["tides", "stars", "rivers"]),
        pub level: u8 = sample::range(1, 5),
        pub question: String = gen("a level {level} question about {topic}"),
        pub answer: String = gen("answer: {question}"),
        pub length: usize = |row| row.answer.len(),
        pub checked: bool = true,
    }
}

async fn rows(n: usize) -> Vec<Qa> {
    let server = chatan_mock::MockServer::start(MockConfig::new())
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    Qa::runner(&llm).seed(5).generate(n).await.unwrap()
}

/// The frame's text and number columns as the rows hold them.
fn assert_same(frame: &DataFrame, rows: &[Qa]) {
    assert_eq!(frame.height(), rows.len());
    let names: Vec<&str> = frame
        .get_column_names()
        .iter()
        .map(|n| n.as_str())
        .collect();
    assert_eq!(
        names,
        [
            "id", "topic", "level", "question", "answer", "length", "checked"
        ]
    );
    let text = |name: &str, i: usize| {
        frame
            .column(name)
            .unwrap()
            .str()
            .unwrap()
            .get(i)
            .unwrap()
            .to_owned()
    };
    let number = |name: &str, i: usize| {
        frame
            .column(name)
            .unwrap()
            .cast(&DataType::Int64)
            .unwrap()
            .i64()
            .unwrap()
            .get(i)
            .unwrap()
    };
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(text("id", i), row.id.to_string());
        assert_eq!(text("topic", i), row.topic);
        assert_eq!(text("question", i), row.question);
        assert_eq!(text("answer", i), row.answer);
        assert_eq!(number("level", i), i64::from(row.level));
        assert_eq!(number("length", i), row.length as i64);
    }
}

#[tokio::test]
async fn parquet_keeps_values_and_dtypes() {
    let dir = tests_data::scratch("parquet");
    let rows = rows(25).await;
    let path = dir.join("qa.parquet");
    chatan::save(&rows, &path).unwrap();
    let frame = ParquetReader::new(File::open(&path).unwrap())
        .finish()
        .unwrap();
    assert_same(&frame, &rows);
    let dtypes: Vec<DataType> = frame.dtypes();
    assert_eq!(
        dtypes,
        [
            DataType::String,
            DataType::String,
            DataType::UInt8,
            DataType::String,
            DataType::String,
            DataType::UInt64,
            DataType::Boolean
        ]
    );
    // Nothing but the file itself is left in the folder.
    let names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    assert_eq!(names, ["qa.parquet"]);
}

#[tokio::test]
async fn csv_json_and_jsonl_read_back() {
    let dir = tests_data::scratch("text-formats");
    let rows = rows(12).await;

    chatan::save(&rows, dir.join("qa.csv")).unwrap();
    let csv = CsvReadOptions::default()
        .with_has_header(true)
        .try_into_reader_with_file_path(Some(dir.join("qa.csv")))
        .unwrap()
        .finish()
        .unwrap();
    assert_same(&csv, &rows);

    chatan::save(&rows, dir.join("qa.jsonl")).unwrap();
    let lines = std::fs::read_to_string(dir.join("qa.jsonl")).unwrap();
    assert_eq!(lines.lines().count(), rows.len());
    let jsonl = JsonReader::new(File::open(dir.join("qa.jsonl")).unwrap())
        .with_json_format(JsonFormat::JsonLines)
        .finish()
        .unwrap();
    assert_same(&jsonl, &rows);

    chatan::save(&rows, dir.join("qa.json")).unwrap();
    let records: Vec<serde_json::Value> =
        serde_json::from_str(&std::fs::read_to_string(dir.join("qa.json")).unwrap()).unwrap();
    assert_eq!(records.len(), rows.len());
    assert_eq!(records[3]["answer"], rows[3].answer.as_str());
    assert_eq!(records[3]["level"], rows[3].level);

    // A format named explicitly wins over the extension.
    save_as(&rows, dir.join("qa.txt"), Format::JsonLines).unwrap();
    assert_eq!(std::fs::read_to_string(dir.join("qa.txt")).unwrap(), lines);
}

#[tokio::test]
async fn an_unknown_extension_lists_the_formats_and_writes_nothing() {
    let dir = tests_data::scratch("unknown-extension");
    let rows = rows(2).await;
    let error = chatan::save(&rows, dir.join("qa.xlsx")).unwrap_err();
    assert!(matches!(error, DataError::UnknownFormat { .. }));
    let message = error.to_string();
    for format in [".parquet", ".csv", ".json", ".jsonl"] {
        assert!(message.contains(format), "{message}");
    }
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct Listed {
        pub words: Vec<String> = value(vec!["a".to_string(), "b".to_string()]),
    }
}

#[tokio::test]
async fn a_failed_write_leaves_neither_a_file_nor_a_temporary() {
    let dir = tests_data::scratch("failed-write");
    let server = chatan_mock::MockServer::start(MockConfig::new())
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    let rows = Listed::generate(&llm, 3).await.unwrap();
    // CSV has no lists: polars refuses, and nothing is left behind.
    let error = chatan::save(&rows, dir.join("listed.csv")).unwrap_err();
    assert!(matches!(error, DataError::Polars(_)), "{error}");
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
    // The same rows go to parquet, lists and all.
    chatan::save(&rows, dir.join("listed.parquet")).unwrap();
    let frame = ParquetReader::new(File::open(dir.join("listed.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(frame.dtypes(), [DataType::List(Box::new(DataType::String))]);
}
