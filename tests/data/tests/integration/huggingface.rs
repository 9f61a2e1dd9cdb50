//! A Hugging Face dataset folder: parquet under `data/`, a card whose YAML declares the
//! features and splits. CI then opens the folder with Python's `datasets` package
//! (`tests/data/python/check_hf_folder.py`) and compares it with `expected.json`, which
//! this test writes beside it.

use std::fs::File;

use chatan::chrono::{NaiveDate, NaiveDateTime};
use chatan::data::polars::prelude::{ParquetReader, SerReader};
use chatan_mock::MockConfig;

/// A struct column: a polars `Struct`, a `datasets` dict feature.
#[derive(Debug, Clone, PartialEq, serde::Serialize, chatan::data::ColumnType)]
pub struct Review {
    pub score: u8,
    pub tags: Vec<String>,
    pub note: Option<String>,
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Typed {
        pub id: chatan::Uuid = sample::uuid(),
        pub topic: String = sample::choice(["tides", "stars"]),
        pub count: u16 = sample::range(1, 9),
        pub big: i64 = sample::range(-1_000_000, 1_000_000),
        pub ratio: f64 = sample::range(0.0, 1.0),
        pub flag: bool = sample::choice([true, false]),
        pub day: NaiveDate = sample::datetime("2024-01-01", "2024-12-31").date(),
        pub moment: NaiveDateTime = sample::datetime("2024-01-01 00:00:00", "2024-01-31 23:59:59"),
        pub question: String = gen("a question about {topic}"),
        pub maybe: Option<u32> = |row| (row.count % 2 == 0).then_some(u32::from(row.count)),
        pub words: Vec<String> = |row| row.question.split(' ').take(3).map(str::to_owned).collect(),
        pub review: Review = |row| Review {
            score: row.count as u8,
            tags: row.words.clone(),
            note: row.flag.then(|| row.topic.clone()),
        },
        pub reviews: Vec<Review> = |row| vec![row.review.clone(); usize::from(row.count % 3)],
    }
}

#[tokio::test]
async fn a_folder_python_datasets_can_open() {
    let dir = tests_data::scratch("hf-folder");
    let server = chatan_mock::MockServer::start(MockConfig::new())
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    let train = Typed::runner(&llm).seed(1).generate(40).await.unwrap();
    let test = Typed::runner(&llm).seed(2).generate(10).await.unwrap();
    chatan::data::save_huggingface(&train, &dir).unwrap();
    chatan::data::save_huggingface_split(&test, &dir, "test").unwrap();

    let parquet = dir.join("data/train-00000-of-00001.parquet");
    let frame = ParquetReader::new(File::open(&parquet).unwrap())
        .finish()
        .unwrap();
    assert_eq!(frame.height(), 40);
    let card = std::fs::read_to_string(dir.join("README.md")).unwrap();
    for line in [
        "  - name: count\n    dtype: uint16",
        "  - name: day\n    dtype: date32",
        "  - name: moment\n    dtype: timestamp[us]",
        "  - name: words\n    list:\n      dtype: string",
        "  - name: review\n    struct:\n    - name: score\n      dtype: uint8\n    - name: tags\n      list:\n        dtype: string\n    - name: note\n      dtype: string\n",
        "    num_examples: 10",
        "    num_examples: 40",
        "  - name: test\n    num_bytes: ",
        "  - split: train\n    path: data/train-*",
    ] {
        assert!(card.contains(line), "{line:?} not in\n{card}");
    }

    // What Python should find.
    let rows: Vec<serde_json::Value> = train
        .iter()
        .take(3)
        .map(|r| {
            serde_json::json!({
                "id": r.id.to_string(),
                "topic": r.topic,
                "count": r.count,
                "big": r.big,
                "flag": r.flag,
                "day": r.day.to_string(),
                "moment": r.moment.to_string(),
                "question": r.question,
                "maybe": r.maybe,
                "words": r.words,
                "review": r.review,
                "reviews": r.reviews,
            })
        })
        .collect();
    let expected = serde_json::json!({
        "splits": {"train": 40, "test": 10},
        "columns": ["id", "topic", "count", "big", "ratio", "flag", "day", "moment", "question", "maybe", "words", "review", "reviews"],
        "features": {
            "id": "string", "topic": "string", "count": "uint16", "big": "int64",
            "ratio": "float64", "flag": "bool", "day": "date32", "moment": "timestamp[us]",
            "question": "string", "maybe": "uint32", "words": "list<string>",
            "review": "struct<score:uint8,tags:list<string>,note:string>",
            "reviews": "list<struct<score:uint8,tags:list<string>,note:string>>",
        },
        "first_rows": rows,
    });
    std::fs::write(
        dir.join("expected.json"),
        serde_json::to_string_pretty(&expected).unwrap(),
    )
    .unwrap();
}
