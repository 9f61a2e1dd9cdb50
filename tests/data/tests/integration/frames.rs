//! Rows as DataFrames: the schema comes from the row type, so it is right even with no
//! rows; values keep their types.

use chatan::chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use chatan::data::polars::prelude::{DataType, TimeUnit, TimeZone};
use chatan::data::{ToFrame, to_dataframe};
use chatan_mock::MockConfig;

#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Meta {
    pub source: String,
    pub weight: f32,
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Everything {
        pub id: chatan::Uuid = sample::uuid(),
        pub topic: String = sample::choice(["tides", "stars"]),
        pub letter: char = sample::choice(['a', 'b']),
        pub flag: bool = true,
        pub small: i8 = sample::range(-3, 3),
        pub count: u16 = sample::range(1, 9),
        pub big: i64 = sample::range(-1_000_000, 1_000_000),
        pub ratio: f64 = sample::range(0.0, 1.0),
        pub day: NaiveDate = sample::datetime("2024-01-01", "2024-01-31").date(),
        pub moment: NaiveDateTime = sample::datetime("2024-01-01 00:00:00", "2024-01-02 00:00:00"),
        pub stamp: DateTime<Utc> = value(DateTime::<Utc>::UNIX_EPOCH),
        pub question: String = gen("a question about {topic}"),
        pub maybe: Option<u32> = |row| (row.count % 2 == 0).then_some(u32::from(row.count)),
        pub words: Vec<String> = |row| row.question.split(' ').map(str::to_owned).collect(),
        #[chatan(json)]
        pub meta: Meta = value(Meta { source: "test".into(), weight: 0.5 }),
    }
}

fn expected_dtypes() -> Vec<(&'static str, DataType)> {
    vec![
        ("id", DataType::String),
        ("topic", DataType::String),
        ("letter", DataType::String),
        ("flag", DataType::Boolean),
        ("small", DataType::Int8),
        ("count", DataType::UInt16),
        ("big", DataType::Int64),
        ("ratio", DataType::Float64),
        ("day", DataType::Date),
        ("moment", DataType::Datetime(TimeUnit::Microseconds, None)),
        (
            "stamp",
            DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)),
        ),
        ("question", DataType::String),
        ("maybe", DataType::UInt32),
        ("words", DataType::List(Box::new(DataType::String))),
        ("meta", DataType::String),
    ]
}

#[test]
fn the_schema_comes_from_the_types_even_with_no_rows() {
    assert_eq!(Everything::columns(), expected_dtypes());
    let frame = to_dataframe::<Everything>(&[]).unwrap();
    assert_eq!(frame.height(), 0);
    let got: Vec<(String, DataType)> = frame
        .schema()
        .iter()
        .map(|(name, dtype)| (name.to_string(), dtype.clone()))
        .collect();
    let want: Vec<(String, DataType)> = expected_dtypes()
        .into_iter()
        .map(|(n, d)| (n.to_string(), d))
        .collect();
    assert_eq!(got, want);
}

#[tokio::test]
async fn values_keep_their_types_and_nulls() {
    let (server, llm) = {
        let server = chatan_mock::MockServer::start(MockConfig::new())
            .await
            .unwrap();
        let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
        (server, llm)
    };
    let rows = Everything::runner(&llm).seed(3).generate(20).await.unwrap();
    drop(server);
    let frame = to_dataframe(&rows).unwrap();
    assert_eq!(frame.height(), 20);
    assert_eq!(frame.schema().len(), expected_dtypes().len());
    for (i, row) in rows.iter().enumerate() {
        let cell = |name: &str| frame.column(name).unwrap().get(i).unwrap().to_string();
        let text = |name: &str| {
            frame
                .column(name)
                .unwrap()
                .str()
                .unwrap()
                .get(i)
                .unwrap()
                .to_owned()
        };
        assert_eq!(text("id"), row.id.to_string());
        assert_eq!(text("question"), row.question);
        assert_eq!(cell("count"), row.count.to_string());
        assert_eq!(cell("day"), row.day.to_string());
        assert_eq!(
            frame.column("maybe").unwrap().get(i).unwrap().is_null(),
            row.maybe.is_none()
        );
        assert_eq!(text("meta"), serde_json::to_string(&row.meta).unwrap());
    }
    let words = frame.column("words").unwrap().list().unwrap();
    assert_eq!(words.get_as_series(0).unwrap().len(), rows[0].words.len());
}
