//! Rows as polars `DataFrame`s, and files: parquet, csv, json, jsonl (cargo feature
//! `polars`).
//!
//! Every recipe's row type implements [`ToFrame`]: its schema comes from the column types
//! alone ([`ColumnType`]), so an empty run still has the right columns and dtypes.
//!
//! ```
//! chatan::dataset! {
//!     #[derive(Debug)]
//!     struct Qa {
//!         id: chatan::Uuid = sample::uuid(),
//!         topic: String = sample::choice(["tides", "stars"]),
//!         question: String = gen("a question about {topic}"),
//!         length: usize = |row| row.question.len(),
//!     }
//! }
//!
//! # fn main() -> Result<(), chatan::data::DataError> {
//! let rows: Vec<Qa> = Vec::new(); // say, from `Qa::generate(&llm, 100).await?`
//! let frame = chatan::data::to_dataframe(&rows)?;
//! let names: Vec<&str> = frame.get_column_names().iter().map(|n| n.as_str()).collect();
//! assert_eq!(names, ["id", "topic", "question", "length"]);
//! # let dir = std::env::temp_dir();
//! chatan::save(&rows, dir.join("qa.parquet"))?;              // by extension
//! chatan::data::save_as(&rows, dir.join("qa.txt"), chatan::data::Format::JsonLines)?;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

pub(crate) mod column;
#[cfg(feature = "hub")]
mod hub;
mod huggingface;
mod parts;
#[cfg(feature = "hub")]
mod push;
#[cfg(feature = "object-store")]
mod remote;
mod save;
mod sink;
mod table;
mod write;

pub use self::column::ColumnType;
#[cfg(feature = "hub")]
pub use self::hub::HubTables;
pub(crate) use self::huggingface::write_shard_card;
pub use self::huggingface::{save_huggingface, save_huggingface_split};
pub(crate) use self::parts::{Manifest, PartPaths, Ranges};
pub use self::parts::{ShardCheck, ShardWritten, verify_shards};
#[cfg(feature = "object-store")]
pub use self::parts::{verify_shards_remote, write_remote_card};
#[cfg(feature = "hub")]
pub use self::push::{HubPush, Pushed};
#[cfg(feature = "object-store")]
pub use self::remote::Remote;
#[cfg(feature = "object-store")]
pub(crate) use self::remote::{RemoteCheckpoint, RemotePart};
pub use self::save::{DataError, Format, save, save_as, write_frame};
pub use self::sink::{DEFAULT_BATCH, Sink, StreamError, write_stream};
pub use self::table::{Record, Records, Table};
#[cfg(feature = "object-store")]
pub use self::write::write_shard_remote;
pub use self::write::{WriteRows, write_shard, write_to};
/// Derives [`ColumnType`] for a struct of columnable fields: a polars `Struct` column.
pub use chatan_macros::ColumnType;

/// polars itself, at the version chatan uses.
pub use polars;

/// What `#[derive(ColumnType)]` emits calls to (through `chatan::__private::data`). Not
/// public API: it may change in any release.
#[doc(hidden)]
pub mod __private {
    pub use crate::column::{struct_dtype, struct_field, struct_json_field, struct_series};
    pub use polars::prelude::{DataType, PlSmallStr, PolarsResult, Series};
}

use polars::prelude::{Column, DataFrame, DataType, PolarsResult, Schema, Series};

use chatan_core::__private::{Col, Json};
use chatan_core::Dataset;

/// Rows that make a `DataFrame`: every recipe's row type whose column types all have a
/// polars dtype ([`ColumnType`], or `#[chatan(json)]`). Using it with a recipe that has
/// another column type is a compile error that names the type.
pub trait ToFrame: Sized {
    /// The columns' names and dtypes, in declaration order, from the types alone.
    fn columns() -> Vec<(&'static str, DataType)>;

    /// One polars column per recipe column.
    fn series(rows: &[Self]) -> PolarsResult<Vec<Series>>;

    /// The schema of the rows' `DataFrame`.
    fn schema() -> Schema {
        Self::columns()
            .into_iter()
            .map(|(name, dtype)| (name.into(), dtype))
            .collect()
    }
}

impl<R> ToFrame for R
where
    R: Dataset,
    R::__Frame: Columns<R>,
{
    fn columns() -> Vec<(&'static str, DataType)> {
        let mut out = Vec::new();
        R::__Frame::dtypes(&mut R::column_names(), &mut out);
        out
    }

    fn series(rows: &[Self]) -> PolarsResult<Vec<Series>> {
        let mut out = Vec::new();
        R::__frame().series(&mut R::column_names(), rows, &mut out)?;
        Ok(out)
    }
}

/// The type-level list of a recipe's columns (see [`Col`]): each element knows its dtype
/// and builds its column.
#[doc(hidden)]
pub trait Columns<R> {
    fn dtypes(
        names: &mut dyn Iterator<Item = &'static str>,
        out: &mut Vec<(&'static str, DataType)>,
    );
    fn series(
        &self,
        names: &mut dyn Iterator<Item = &'static str>,
        rows: &[R],
        out: &mut Vec<Series>,
    ) -> PolarsResult<()>;
}

impl<R> Columns<R> for () {
    fn dtypes(_: &mut dyn Iterator<Item = &'static str>, _: &mut Vec<(&'static str, DataType)>) {}
    fn series(
        &self,
        _: &mut dyn Iterator<Item = &'static str>,
        _: &[R],
        _: &mut Vec<Series>,
    ) -> PolarsResult<()> {
        Ok(())
    }
}

impl<R, C: Stored<R>, Rest: Columns<R>> Columns<R> for (C, Rest) {
    fn dtypes(
        names: &mut dyn Iterator<Item = &'static str>,
        out: &mut Vec<(&'static str, DataType)>,
    ) {
        out.push((names.next().unwrap_or_default(), C::dtype()));
        Rest::dtypes(names, out);
    }
    fn series(
        &self,
        names: &mut dyn Iterator<Item = &'static str>,
        rows: &[R],
        out: &mut Vec<Series>,
    ) -> PolarsResult<()> {
        out.push(self.0.series(names.next().unwrap_or_default(), rows)?);
        self.1.series(names, rows, out)
    }
}

/// One element of the list: how a column of `R` is stored.
#[doc(hidden)]
pub trait Stored<R> {
    fn dtype() -> DataType;
    fn series(&self, name: &'static str, rows: &[R]) -> PolarsResult<Series>;
}

impl<R, T: ColumnType> Stored<R> for Col<R, T> {
    fn dtype() -> DataType {
        T::dtype()
    }
    fn series(&self, name: &'static str, rows: &[R]) -> PolarsResult<Series> {
        let values: Vec<&T> = rows.iter().map(self.0).collect();
        T::series(name.into(), &values)
    }
}

impl<R, T: serde::Serialize> Stored<R> for Json<R, T> {
    fn dtype() -> DataType {
        DataType::String
    }
    fn series(&self, name: &'static str, rows: &[R]) -> PolarsResult<Series> {
        let values: Vec<&T> = rows.iter().map(self.0).collect();
        column::json_series(name.into(), &values)
    }
}

/// The rows as a `DataFrame`, one column per recipe column.
pub fn to_dataframe<R: ToFrame>(rows: &[R]) -> Result<DataFrame, DataError> {
    let columns: Vec<Column> = R::series(rows)?.into_iter().map(Column::from).collect();
    Ok(DataFrame::new(rows.len(), columns)?)
}

/// Stacks frames whose columns differ, as the seed's `pd.concat` of two datasets does:
/// the result has every column of every frame, in order of first appearance, with nulls
/// where a frame lacks one. A column that two frames give different dtypes is an error.
///
/// ```
/// use chatan::data::polars::prelude::{Column, DataFrame};
///
/// let a = DataFrame::new_infer_height(vec![Column::new("operation".into(), ["matmul"]), Column::new("prompt".into(), ["p1"])]).unwrap();
/// let b = DataFrame::new_infer_height(vec![Column::new("original".into(), ["code"]), Column::new("prompt".into(), ["p2"])]).unwrap();
/// let both = chatan::data::concat_diagonal(&[a, b]).unwrap();
/// assert_eq!(both.shape(), (2, 3));
/// ```
pub fn concat_diagonal(frames: &[DataFrame]) -> Result<DataFrame, DataError> {
    let mut schema: Vec<(polars::prelude::PlSmallStr, DataType)> = Vec::new();
    for frame in frames {
        for (name, dtype) in frame.schema().iter() {
            match schema.iter().find(|(n, _)| n == name) {
                Some((_, known)) if known != dtype => {
                    return Err(DataError::Polars(
                        polars::prelude::PolarsError::SchemaMismatch(
                            format!(
                                "column {name:?} is {known} in one frame and {dtype} in another"
                            )
                            .into(),
                        ),
                    ));
                }
                Some(_) => {}
                None => schema.push((name.clone(), dtype.clone())),
            }
        }
    }
    let mut stacked: Option<DataFrame> = None;
    for frame in frames {
        let columns = schema
            .iter()
            .map(|(name, dtype)| match frame.column(name) {
                Ok(column) => column.clone(),
                Err(_) => Column::full_null(name.clone(), frame.height(), dtype),
            })
            .collect();
        let aligned = DataFrame::new(frame.height(), columns)?;
        match &mut stacked {
            Some(out) => {
                out.vstack_mut(&aligned)?;
            }
            None => stacked = Some(aligned),
        }
    }
    Ok(stacked.unwrap_or_else(DataFrame::empty))
}
