//! Existing data to sample from or iterate over: a [`Table`] read from a parquet, csv,
//! json or jsonl file (only the columns asked for, where the format allows), or wrapped
//! around a polars `DataFrame`. Its rows serialize as records, so every sampler over
//! records takes it: `sample::from_dataset(&table, "prompt")`,
//! `sample::from_records(&table)`.

use std::fs::File;
use std::path::Path;

use polars::prelude::{
    AnyValue, CsvReadOptions, DataFrame, JsonFormat, JsonReader, ParquetReader, SerReader,
};
use serde::ser::{SerializeMap, Serializer};
use serde_json::Value;

use super::{DataError, Format};

/// A table of existing data: a polars `DataFrame` whose rows serialize as records.
///
/// ```
/// use chatan::data::Table;
/// use chatan::data::polars::prelude::{Column, DataFrame};
///
/// let frame = DataFrame::new_infer_height(vec![
///     Column::new("prompt".into(), ["What is 2 + 2?", "Name a prime."]),
///     Column::new("id".into(), [1i64, 2]),
/// ])
/// .unwrap();
/// let table = Table::from(frame);
/// assert_eq!(table.len(), 2);
/// let prompts = chatan::sample::from_dataset(&table, "prompt");
/// # let _ = prompts;
/// ```
#[derive(Debug, Clone)]
pub struct Table {
    frame: DataFrame,
}

impl Table {
    /// Reads a file, in the format its extension names (`.parquet`, `.csv`, `.json`,
    /// `.jsonl` / `.ndjson`).
    pub fn read(path: impl AsRef<Path>) -> Result<Table, DataError> {
        read(path.as_ref(), None)
    }

    /// Reads only `columns` of a file: parquet reads nothing else from disk; the other
    /// formats are read whole and then narrowed. A missing column is an error that lists
    /// the file's columns.
    pub fn read_columns(path: impl AsRef<Path>, columns: &[&str]) -> Result<Table, DataError> {
        read(path.as_ref(), Some(columns))
    }

    /// The rows.
    pub fn len(&self) -> usize {
        self.frame.height()
    }

    /// Whether there are no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The column names.
    pub fn columns(&self) -> Vec<String> {
        self.frame
            .get_column_names()
            .iter()
            .map(|n| n.to_string())
            .collect()
    }

    /// The `DataFrame`.
    pub fn frame(&self) -> &DataFrame {
        &self.frame
    }

    /// The `DataFrame`, owned.
    pub fn into_frame(self) -> DataFrame {
        self.frame
    }

    /// Every row as a `T` (any serde `Deserialize` type: a struct whose fields are the
    /// columns it needs, the others ignored), for typed work over existing data, such
    /// as scoring it with `chatan::eval::Evaluation`, whose closures then
    /// name the fields so that a typo is a compile error. A row that does not fit is an
    /// error naming the row and the field.
    ///
    /// ```
    /// use chatan::data::Table;
    /// use chatan::data::polars::prelude::{Column, DataFrame};
    ///
    /// #[derive(serde::Deserialize)]
    /// struct Scored { answer: String, gold: String }
    ///
    /// let table = Table::from(DataFrame::new_infer_height(vec![
    ///     Column::new("answer".into(), ["Paris", "Lyon"]),
    ///     Column::new("gold".into(), ["Paris", "Paris"]),
    ///     Column::new("id".into(), [1i64, 2]),
    /// ])?);
    /// let rows: Vec<Scored> = table.rows()?;
    /// let report = chatan::eval::Evaluation::new(&rows)
    ///     .exact_match("exact", |r| (&r.answer, &r.gold))
    ///     .run()?;
    /// assert_eq!(report["exact"].mean, 0.5);
    /// # Ok::<(), Box<dyn std::error::Error>>(())
    /// ```
    pub fn rows<T: serde::de::DeserializeOwned>(&self) -> Result<Vec<T>, DataError> {
        self.records()
            .enumerate()
            .map(|(row, record)| {
                serde_json::to_value(record)
                    .and_then(serde_json::from_value)
                    .map_err(|e| DataError::Row {
                        row,
                        message: e.to_string(),
                    })
            })
            .collect()
    }

    /// The rows, each as a record that serializes as a map of column name to value.
    pub fn records(&self) -> Records<'_> {
        Records {
            table: self,
            next: 0,
        }
    }
}

impl From<DataFrame> for Table {
    fn from(frame: DataFrame) -> Self {
        Table { frame }
    }
}

impl<'a> IntoIterator for &'a Table {
    type Item = Record<'a>;
    type IntoIter = Records<'a>;
    fn into_iter(self) -> Records<'a> {
        self.records()
    }
}

/// The rows of a [`Table`].
#[derive(Debug, Clone)]
pub struct Records<'a> {
    table: &'a Table,
    next: usize,
}

impl<'a> Iterator for Records<'a> {
    type Item = Record<'a>;
    fn next(&mut self) -> Option<Record<'a>> {
        if self.next >= self.table.len() {
            return None;
        }
        let row = self.next;
        self.next += 1;
        Some(Record {
            table: self.table,
            row,
        })
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        let left = self.table.len() - self.next;
        (left, Some(left))
    }
}

/// One row of a [`Table`]; serializes as a map of column name to value (dates as ISO
/// text, lists as arrays, nulls as `null`).
#[derive(Debug, Clone, Copy)]
pub struct Record<'a> {
    table: &'a Table,
    row: usize,
}

impl serde::Serialize for Record<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let columns = self.table.frame.columns();
        let mut map = serializer.serialize_map(Some(columns.len()))?;
        for column in columns {
            let value = column
                .get(self.row)
                .map(|v| json(&v))
                .map_err(serde::ser::Error::custom)?;
            map.serialize_entry(column.name().as_str(), &value)?;
        }
        map.end()
    }
}

/// A cell as JSON.
fn json(value: &AnyValue<'_>) -> Value {
    match value {
        AnyValue::Null => Value::Null,
        AnyValue::Boolean(b) => Value::from(*b),
        AnyValue::String(s) => Value::from(*s),
        AnyValue::StringOwned(s) => Value::from(s.as_str()),
        AnyValue::UInt8(n) => Value::from(*n),
        AnyValue::UInt16(n) => Value::from(*n),
        AnyValue::UInt32(n) => Value::from(*n),
        AnyValue::UInt64(n) => Value::from(*n),
        AnyValue::Int8(n) => Value::from(*n),
        AnyValue::Int16(n) => Value::from(*n),
        AnyValue::Int32(n) => Value::from(*n),
        AnyValue::Int64(n) => Value::from(*n),
        AnyValue::Float32(n) => Value::from(*n),
        AnyValue::Float64(n) => Value::from(*n),
        AnyValue::List(series) => Value::Array(series.iter().map(|v| json(&v)).collect()),
        AnyValue::Struct(_, _, fields) => Value::Object(
            fields
                .iter()
                .zip(value._iter_struct_av())
                .map(|(field, v)| (field.name().to_string(), json(&v)))
                .collect(),
        ),
        AnyValue::StructOwned(payload) => Value::Object(
            payload
                .1
                .iter()
                .zip(&payload.0)
                .map(|(field, v)| (field.name().to_string(), json(v)))
                .collect(),
        ),
        // Dates and times as polars prints them (ISO 8601), which chrono parses.
        other => Value::from(other.to_string().trim_matches('"').replace(' ', "T")),
    }
}

fn read(path: &Path, columns: Option<&[&str]>) -> Result<Table, DataError> {
    let io = |source| DataError::Io {
        path: path.to_owned(),
        source,
    };
    let format = Format::from_path(path)?;
    let file = File::open(path).map_err(io)?;
    let frame = match format {
        Format::Parquet => {
            let mut reader = ParquetReader::new(file);
            if let Some(columns) = columns {
                let schema = reader.schema()?;
                let available: Vec<String> = schema.iter_names().map(|n| n.to_string()).collect();
                check_columns(path, columns, &available)?;
                reader = reader.with_columns(Some(columns.iter().map(|c| c.to_string()).collect()));
            }
            reader.finish()?
        }
        Format::Csv => CsvReadOptions::default()
            .with_has_header(true)
            .into_reader_with_file_handle(file)
            .finish()?,
        Format::Json => JsonReader::new(file)
            .with_json_format(JsonFormat::Json)
            .finish()?,
        Format::JsonLines => JsonReader::new(file)
            .with_json_format(JsonFormat::JsonLines)
            .finish()?,
    };
    let frame = match (format, columns) {
        (Format::Parquet, _) | (_, None) => frame,
        (_, Some(columns)) => {
            let available: Vec<String> = frame
                .get_column_names()
                .iter()
                .map(|n| n.to_string())
                .collect();
            check_columns(path, columns, &available)?;
            frame.select(columns.iter().copied())?
        }
    };
    Ok(Table { frame })
}

fn check_columns(path: &Path, wanted: &[&str], available: &[String]) -> Result<(), DataError> {
    match wanted.iter().find(|w| !available.iter().any(|a| a == *w)) {
        Some(missing) => Err(DataError::MissingColumn {
            path: path.to_owned(),
            column: missing.to_string(),
            available: available.to_vec(),
        }),
        None => Ok(()),
    }
}
