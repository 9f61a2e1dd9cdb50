//! Struct columns: a serde struct with `#[derive(ColumnType)]` is a polars `Struct`
//! column whose fields are typed from the struct alone, written to parquet and read back
//! as records a recipe can take its rows from.

use chatan::data::polars::prelude::{DataType, Field, ParquetReader, SerReader};
use chatan::data::{ColumnType, Table, ToFrame, to_dataframe};
use chatan::sample;

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, ColumnType)]
pub struct Meta {
    pub level: u8,
    pub labels: Vec<String>,
    /// Stored as JSON text inside the struct.
    #[chatan(json)]
    pub extra: std::collections::BTreeMap<String, i32>,
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, ColumnType)]
pub struct Outer {
    pub name: String,
    pub meta: Meta,
    pub r#type: Option<f64>,
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Graded {
        pub n: u32 = sample::range(0, 100),
        pub outer: Outer = |row| Outer {
            name: format!("item {}", row.n),
            meta: Meta {
                level: (row.n % 7) as u8,
                labels: (0..row.n % 3).map(|i| format!("l{i}")).collect(),
                extra: [("n".to_owned(), row.n as i32)].into(),
            },
            r#type: (row.n % 2 == 0).then_some(f64::from(row.n) / 2.0),
        },
        pub maybe: Option<Meta> = |row| (row.n % 4 == 0).then(|| row.outer.meta.clone()),
    }
}

fn meta_dtype() -> DataType {
    DataType::Struct(vec![
        Field::new("level".into(), DataType::UInt8),
        Field::new("labels".into(), DataType::List(Box::new(DataType::String))),
        Field::new("extra".into(), DataType::String),
    ])
}

/// Generic structs get bounds on their field types, as serde's derive does.
#[derive(Debug, ColumnType)]
pub struct Tagged<T> {
    pub value: T,
    pub tag: String,
}

#[test]
fn a_struct_column_has_its_dtype_from_the_type_alone() {
    assert_eq!(
        Tagged::<Vec<u8>>::dtype(),
        DataType::Struct(vec![
            Field::new("value".into(), DataType::List(Box::new(DataType::UInt8))),
            Field::new("tag".into(), DataType::String),
        ])
    );
    assert_eq!(Meta::dtype(), meta_dtype());
    let outer = DataType::Struct(vec![
        Field::new("name".into(), DataType::String),
        Field::new("meta".into(), meta_dtype()),
        Field::new("type".into(), DataType::Float64),
    ]);
    assert_eq!(
        Graded::columns(),
        vec![
            ("n", DataType::UInt32),
            ("outer", outer.clone()),
            ("maybe", meta_dtype())
        ]
    );
    // No rows: the frame still has every column with its dtype.
    let empty = to_dataframe::<Graded>(&[]).unwrap();
    assert_eq!(empty.column("outer").unwrap().dtype(), &outer);
    assert_eq!(empty.height(), 0);
}

#[tokio::test]
async fn struct_values_survive_parquet_and_come_back_as_records() {
    let rows = Graded::runner(&chatan::GeneratorSet::new())
        .seed(3)
        .generate(24)
        .await
        .unwrap();
    assert!(rows.iter().any(|r| r.maybe.is_none()));
    assert!(rows.iter().any(|r| r.maybe.is_some()));
    let path = tests_data::scratch("structs").join("graded.parquet");
    chatan::save(&rows, &path).unwrap();

    let frame = ParquetReader::new(std::fs::File::open(&path).unwrap())
        .finish()
        .unwrap();
    assert_eq!(frame.height(), 24);
    assert_eq!(frame.schema().get("maybe"), Some(&meta_dtype()));
    // A null struct is null as a whole, not a struct of nulls.
    let nulls = rows.iter().filter(|r| r.maybe.is_none()).count();
    assert_eq!(frame.column("maybe").unwrap().null_count(), nulls);

    // Back through a Table: struct cells become nested records (the JSON field as
    // its text).
    let table = Table::read(&path).unwrap();
    let back: Vec<serde_json::Value> = table
        .records()
        .map(|r| serde_json::to_value(r).unwrap())
        .collect();
    for (row, back) in rows.iter().zip(&back) {
        let outer = &back["outer"];
        assert_eq!(outer["name"], row.outer.name.as_str());
        assert_eq!(outer["meta"]["level"], row.outer.meta.level);
        assert_eq!(
            outer["meta"]["labels"],
            serde_json::json!(row.outer.meta.labels)
        );
        assert_eq!(
            outer["meta"]["extra"],
            serde_json::to_string(&row.outer.meta.extra)
                .unwrap()
                .as_str()
        );
        assert_eq!(outer["type"], serde_json::json!(row.outer.r#type));
        assert_eq!(back["maybe"].is_null(), row.maybe.is_none());
    }
}

#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize, ColumnType)]
pub struct Point {
    pub x: i32,
    pub tags: Vec<String>,
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct Placed {
        pub point: Point = sample::input(),
        pub doubled: i32 = |row| row.point.x * 2,
    }
}

#[tokio::test]
async fn a_recipe_iterates_over_a_struct_column() {
    let points: Vec<Point> = (0..5)
        .map(|x| Point {
            x,
            tags: vec![format!("t{x}")],
        })
        .collect();
    chatan::dataset! {
        #[derive(Debug)]
        struct Holder { point: Point = |_row| Point { x: 0, tags: vec![] } }
    }
    let source: Vec<Holder> = points
        .iter()
        .cloned()
        .map(|point| Holder { point })
        .collect();
    let table = Table::from(to_dataframe(&source).unwrap());
    let placed = Placed::runner(&chatan::GeneratorSet::new())
        .sampler(
            |c| c.point,
            sample::from_dataset(&table, "point").in_order(),
        )
        .generate(5)
        .await
        .unwrap();
    let got: Vec<Point> = placed.iter().map(|r| r.point.clone()).collect();
    assert_eq!(got, points);
    assert_eq!(placed[3].doubled, 6);
}
