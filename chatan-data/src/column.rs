//! How a column's Rust type becomes a polars column: its dtype, known from the type
//! alone (so an empty run still has the right schema), and its values.

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use polars::prelude::{
    BooleanChunked, DataType, Field, IntoSeries, NamedFrom, PlSmallStr, PolarsResult, Series,
    StructChunked, TimeUnit, TimeZone,
};

/// A type a column can have in a [`DataFrame`](polars::prelude::DataFrame).
///
/// | Rust | polars |
/// |---|---|
/// | `String`, `char`, [`Uuid`](chatan_core::Uuid) (as its hyphenated text) | `String` |
/// | `bool` | `Boolean` |
/// | `i8` … `i64`, `u8` … `u64`, `f32`, `f64` | the same width |
/// | `usize`, `isize` | `UInt64`, `Int64` |
/// | `chrono::NaiveDate` | `Date` |
/// | `chrono::NaiveDateTime` | `Datetime(μs)` |
/// | `chrono::DateTime<Utc>` | `Datetime(μs, UTC)` |
/// | `Option<T>` | `T`'s, with nulls |
/// | `Vec<T>` | `List(T's)` |
/// | a struct with `#[derive(ColumnType)]` | `Struct` of its fields' dtypes |
///
/// Derive it for your own structs (`#[derive(chatan::data::ColumnType)]`, every field of
/// a type listed here, or `#[chatan(json)]` on a field to store it as JSON text),
/// implement it by hand, or mark the column `#[chatan(json)]` to store any
/// `serde::Serialize` value as JSON text.
///
/// ```
/// #[derive(Debug, chatan::data::ColumnType)]
/// struct Review {
///     score: u8,
///     tags: Vec<String>,
/// }
///
/// chatan::dataset! {
///     #[derive(Debug)]
///     struct Rated {
///         answer: String = gen("an answer"),
///         review: Review = |row| Review { score: row.answer.len() as u8, tags: vec![] },
///     }
/// }
///
/// use chatan::data::polars::prelude::{DataType, Field};
/// assert_eq!(
///     <Rated as chatan::data::ToFrame>::columns()[1].1,
///     DataType::Struct(vec![
///         Field::new("score".into(), DataType::UInt8),
///         Field::new("tags".into(), DataType::List(Box::new(DataType::String))),
///     ]),
/// );
/// ```
#[diagnostic::on_unimplemented(
    message = "a column of type `{Self}` has no polars dtype",
    label = "this column cannot be stored in a DataFrame",
    note = "columns can be strings, numbers, bools, chrono dates, `Uuid`, `Option` and `Vec` of those; implement `chatan::data::ColumnType` for `{Self}`, or mark the column `#[chatan(json)]` to store it as JSON text"
)]
pub trait ColumnType {
    /// The column's dtype.
    fn dtype() -> DataType;

    /// A column of `values`.
    fn series(name: PlSmallStr, values: &[&Self]) -> PolarsResult<Series> {
        let options: Vec<Option<&Self>> = values.iter().map(|v| Some(*v)).collect();
        Self::series_of_options(name, &options)
    }

    /// A column of `values` with nulls (for `Option<Self>`).
    fn series_of_options(name: PlSmallStr, values: &[Option<&Self>]) -> PolarsResult<Series>;
}

/// Types that polars builds from a `Vec` of copies, cast to the type it stores
/// (pointer-sized integers are stored at 64 bits; the others as they are).
macro_rules! copied {
    ($($t:ty as $stored:ty => $dtype:expr),* $(,)?) => {$(
        // The cast is the identity for all but `usize` and `isize`.
        #[allow(clippy::unnecessary_cast)]
        impl ColumnType for $t {
            fn dtype() -> DataType {
                $dtype
            }
            fn series(name: PlSmallStr, values: &[&Self]) -> PolarsResult<Series> {
                let copies: Vec<$stored> = values.iter().map(|v| **v as $stored).collect();
                Ok(Series::new(name, copies))
            }
            fn series_of_options(
                name: PlSmallStr,
                values: &[Option<&Self>],
            ) -> PolarsResult<Series> {
                let copies: Vec<Option<$stored>> =
                    values.iter().map(|v| v.map(|v| *v as $stored)).collect();
                Ok(Series::new(name, copies))
            }
        }
    )*};
}

copied!(
    bool as bool => DataType::Boolean,
    i8 as i8 => DataType::Int8,
    i16 as i16 => DataType::Int16,
    i32 as i32 => DataType::Int32,
    i64 as i64 => DataType::Int64,
    isize as i64 => DataType::Int64,
    u8 as u8 => DataType::UInt8,
    u16 as u16 => DataType::UInt16,
    u32 as u32 => DataType::UInt32,
    u64 as u64 => DataType::UInt64,
    usize as u64 => DataType::UInt64,
    f32 as f32 => DataType::Float32,
    f64 as f64 => DataType::Float64,
);

/// Types stored as text, through `to_string`.
macro_rules! textual {
    ($($t:ty),*) => {$(
        impl ColumnType for $t {
            fn dtype() -> DataType {
                DataType::String
            }
            fn series(name: PlSmallStr, values: &[&Self]) -> PolarsResult<Series> {
                Ok(Series::new(
                    name,
                    values.iter().map(|v| v.to_string()).collect::<Vec<String>>(),
                ))
            }
            fn series_of_options(
                name: PlSmallStr,
                values: &[Option<&Self>],
            ) -> PolarsResult<Series> {
                Ok(Series::new(
                    name,
                    values
                        .iter()
                        .map(|v| v.map(|v| v.to_string()))
                        .collect::<Vec<Option<String>>>(),
                ))
            }
        }
    )*};
}

textual!(char, uuid::Uuid);

impl ColumnType for String {
    fn dtype() -> DataType {
        DataType::String
    }
    fn series(name: PlSmallStr, values: &[&Self]) -> PolarsResult<Series> {
        Ok(Series::new(
            name,
            values.iter().map(|v| v.as_str()).collect::<Vec<&str>>(),
        ))
    }
    fn series_of_options(name: PlSmallStr, values: &[Option<&Self>]) -> PolarsResult<Series> {
        Ok(Series::new(
            name,
            values
                .iter()
                .map(|v| v.map(String::as_str))
                .collect::<Vec<Option<&str>>>(),
        ))
    }
}

/// Dates and times: stored as their integer count, then cast to the temporal dtype.
macro_rules! temporal {
    ($($t:ty => $dtype:expr, $physical:ty, $count:expr;)*) => {$(
        impl ColumnType for $t {
            fn dtype() -> DataType {
                $dtype
            }
            fn series(name: PlSmallStr, values: &[&Self]) -> PolarsResult<Series> {
                let count: fn(&$t) -> $physical = $count;
                Series::new(name, values.iter().map(|v| count(v)).collect::<Vec<$physical>>())
                    .cast(&Self::dtype())
            }
            fn series_of_options(
                name: PlSmallStr,
                values: &[Option<&Self>],
            ) -> PolarsResult<Series> {
                let count: fn(&$t) -> $physical = $count;
                Series::new(
                    name,
                    values.iter().map(|v| v.map(count)).collect::<Vec<Option<$physical>>>(),
                )
                .cast(&Self::dtype())
            }
        }
    )*};
}

/// Days from 1970-01-01 to `date`.
fn days(date: &NaiveDate) -> i32 {
    (*date - NaiveDate::default()).num_days() as i32
}

temporal! {
    NaiveDate => DataType::Date, i32, days;
    NaiveDateTime => DataType::Datetime(TimeUnit::Microseconds, None), i64,
        |t| t.and_utc().timestamp_micros();
    DateTime<Utc> => DataType::Datetime(TimeUnit::Microseconds, Some(TimeZone::UTC)), i64,
        |t| t.timestamp_micros();
}

impl<T: ColumnType> ColumnType for Option<T> {
    fn dtype() -> DataType {
        T::dtype()
    }
    fn series(name: PlSmallStr, values: &[&Self]) -> PolarsResult<Series> {
        let inner: Vec<Option<&T>> = values.iter().map(|v| v.as_ref()).collect();
        T::series_of_options(name, &inner)
    }
    fn series_of_options(name: PlSmallStr, values: &[Option<&Self>]) -> PolarsResult<Series> {
        let inner: Vec<Option<&T>> = values.iter().map(|v| v.and_then(Option::as_ref)).collect();
        T::series_of_options(name, &inner)
    }
}

impl<T: ColumnType> ColumnType for Vec<T> {
    fn dtype() -> DataType {
        DataType::List(Box::new(T::dtype()))
    }
    fn series(name: PlSmallStr, values: &[&Self]) -> PolarsResult<Series> {
        let options: Vec<Option<&Self>> = values.iter().map(|v| Some(*v)).collect();
        Self::series_of_options(name, &options)
    }
    fn series_of_options(name: PlSmallStr, values: &[Option<&Self>]) -> PolarsResult<Series> {
        let lists = values
            .iter()
            .map(|list| {
                list.map(|list| {
                    let items: Vec<&T> = list.iter().collect();
                    T::series(PlSmallStr::EMPTY, &items)
                })
                .transpose()
            })
            .collect::<PolarsResult<Vec<Option<Series>>>>()?;
        if lists.is_empty() {
            return Ok(Series::new_empty(name, &Self::dtype()));
        }
        Series::new(name, lists).cast(&Self::dtype())
    }
}

/// A column of any serializable value, stored as JSON text (`#[chatan(json)]`).
pub(crate) fn json_series<T: serde::Serialize>(
    name: PlSmallStr,
    values: &[&T],
) -> PolarsResult<Series> {
    let texts = values
        .iter()
        .map(serde_json::to_string)
        .collect::<Result<Vec<String>, _>>()
        .map_err(|e| polars::prelude::PolarsError::ComputeError(e.to_string().into()))?;
    Ok(Series::new(name, texts))
}

/// A nullable column of any serializable value, stored as JSON text.
fn json_series_of_options<T: serde::Serialize + ?Sized>(
    name: PlSmallStr,
    values: &[Option<&T>],
) -> PolarsResult<Series> {
    let texts = values
        .iter()
        .map(|v| v.map(serde_json::to_string).transpose())
        .collect::<Result<Vec<Option<String>>, _>>()
        .map_err(|e| polars::prelude::PolarsError::ComputeError(e.to_string().into()))?;
    Ok(Series::new(name, texts))
}

/// The dtype of a struct column (for `#[derive(ColumnType)]`).
pub fn struct_dtype(fields: Vec<(&str, DataType)>) -> DataType {
    DataType::Struct(
        fields
            .into_iter()
            .map(|(name, dtype)| Field::new(name.into(), dtype))
            .collect(),
    )
}

/// A struct column of `fields` (one series per field, each as long as `values`), null
/// where a value is `None` (for `#[derive(ColumnType)]`).
pub fn struct_series<S>(
    name: PlSmallStr,
    values: &[Option<&S>],
    fields: Vec<Series>,
) -> PolarsResult<Series> {
    let mut column = StructChunked::from_series(name.clone(), values.len(), fields.iter())?;
    if values.iter().any(Option::is_none) {
        let present: Vec<bool> = values.iter().map(Option::is_some).collect();
        let mask = BooleanChunked::new(name, &present);
        let mask = mask.rechunk();
        let validity = mask.downcast_iter().next().map(|a| a.values().clone());
        column = column.with_outer_validity(validity);
    }
    Ok(column.into_series())
}

/// One field of each value of a struct column (for `#[derive(ColumnType)]`).
pub fn struct_field<'a, S, T: ?Sized>(
    values: &[Option<&'a S>],
    get: impl Fn(&'a S) -> &'a T,
) -> Vec<Option<&'a T>> {
    values.iter().map(|v| v.map(&get)).collect()
}

/// The column of one `#[chatan(json)]` field of a struct column, as JSON text.
pub fn struct_json_field<S, T: serde::Serialize + ?Sized>(
    name: &str,
    values: &[Option<&S>],
    get: impl Fn(&S) -> &T,
) -> PolarsResult<Series> {
    let fields: Vec<Option<&T>> = values.iter().map(|v| v.map(&get)).collect();
    json_series_of_options(name.into(), &fields)
}
