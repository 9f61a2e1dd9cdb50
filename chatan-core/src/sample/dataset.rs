//! `from_dataset` and `from_records`: a named column, or whole rows, of existing data,
//! like the seed's `sample.from_dataset(data, "prompt")`: in-memory rows or columns, or a
//! `chatan::data::Table` read from a file (feature `polars`).

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{BoxedSampler, FromSampled, IntoSampler, Sampler};
use super::{SampleContext, SamplerError};

/// One value of column `column` of a dataset, uniformly (or row `i` for row `i`, with
/// [`in_order`](FromDataset::in_order)).
///
/// The dataset is either **rows** — any `Serialize` values with named fields: chatan's own
/// rows from an earlier run, your structs, JSON objects — or **columns**: a map of column
/// name to a list of values, the shape of a Python dict of lists or a JSON object of
/// arrays (pass the map itself, such as `&HashMap<String, Vec<String>>` or
/// `value.as_object()`). The column's values convert into the type of the column they
/// fill; a missing column, a value of the wrong type or a dataset of another shape fails
/// the run before any request, saying what was expected.
///
/// ```
/// use chatan::sample;
/// use serde_json::json;
///
/// chatan::dataset! {
///     struct Variation {
///         original: String = sample::input(),
///         variation: String = gen("rewrite this prompt: {original}"),
///     }
/// }
///
/// # async fn run(llm: &impl chatan::Generator) -> Result<(), Box<dyn std::error::Error>> {
/// let rows = vec![
///     json!({"prompt": "What is 2 + 2?", "id": 1}),
///     json!({"prompt": "Name a prime.", "id": 2}),
/// ];
/// let columns = json!({"prompt": ["What is 2 + 2?", "Name a prime."], "id": [1, 2]});
/// let by_rows = sample::from_dataset(&rows, "prompt");
/// let by_columns = sample::from_dataset(columns.as_object().unwrap(), "prompt");
/// let generated = Variation::runner(llm)
///     .sampler(|c| c.original, by_columns)
///     .generate(100)
///     .await?;
/// # Ok(()) }
/// ```
pub fn from_dataset<R: Serialize>(rows: impl IntoIterator<Item = R>, column: &str) -> FromDataset {
    collect(rows, Some(column))
}

/// Whole rows of a dataset, each read into the type of the column it fills — a struct
/// whose fields are matched to the dataset's columns by name — so that several values
/// come from the same source row (`{src.prompt}` and `{src.id}` in a template). Takes
/// the same datasets as [`from_dataset`] (rows or columns); use
/// [`in_order`](FromDataset::in_order) to iterate over the dataset, one output row per
/// source row.
///
/// ```
/// use chatan::sample;
/// use serde_json::json;
///
/// #[derive(Debug, Clone, serde::Deserialize)]
/// struct Source {
///     prompt: String,
///     id: u32,
/// }
///
/// chatan::dataset! {
///     struct Variation {
///         src: Source = sample::input(),
///         variation: String = gen("rewrite prompt {src.id}: {src.prompt}"),
///     }
/// }
///
/// # async fn run(llm: &impl chatan::Generator) -> Result<(), Box<dyn std::error::Error>> {
/// let data = vec![json!({"prompt": "What is 2 + 2?", "id": 1}), json!({"prompt": "Name a prime.", "id": 2})];
/// let rows = Variation::runner(llm)
///     .sampler(|c| c.src, sample::from_records(&data).in_order())
///     .generate(data.len())
///     .await?;
/// # Ok(()) }
/// ```
pub fn from_records<R: Serialize>(rows: impl IntoIterator<Item = R>) -> FromDataset {
    collect(rows, None)
}

/// Reads a dataset of rows or columns into one JSON value per source row: the value of
/// `column`, or the whole record.
fn collect<R: Serialize>(rows: impl IntoIterator<Item = R>, column: Option<&str>) -> FromDataset {
    use serde_json::{Map, Value};

    let mut values = Vec::new();
    let mut problem = None;
    // A map of column name to values iterates as `(name, values)` pairs.
    let mut columns: Vec<(String, Vec<Value>)> = Vec::new();
    let mut shapes = (false, false);
    for (i, row) in rows.into_iter().enumerate() {
        match serde_json::to_value(&row) {
            Ok(Value::Object(mut fields)) => {
                shapes.0 = true;
                let Some(column) = column else {
                    values.push(Value::Object(fields));
                    continue;
                };
                match fields.remove(column) {
                    Some(v) => values.push(v),
                    None if problem.is_none() => {
                        let names: Vec<&String> = fields.keys().collect();
                        problem = Some(format!(
                            "row {i} of the dataset has no column {column:?} (it has {names:?})"
                        ));
                    }
                    None => {}
                }
            }
            Ok(Value::Array(pair))
                if pair.len() == 2 && pair[0].is_string() && pair[1].is_array() =>
            {
                shapes.1 = true;
                let mut pair = pair.into_iter();
                if let (Some(Value::String(name)), Some(Value::Array(list))) =
                    (pair.next(), pair.next())
                {
                    columns.push((name, list));
                }
            }
            Ok(other) if problem.is_none() => {
                let kind = match other {
                    Value::Null => "null",
                    Value::Bool(_) => "a boolean",
                    Value::Number(_) => "a number",
                    Value::String(_) => "a string",
                    Value::Array(_) => "a list",
                    Value::Object(_) => "a record",
                };
                problem = Some(format!(
                    "row {i} of the dataset is {kind}, not a record with named columns; give \
                     rows (structs, maps or JSON objects, one per row) or columns (a map of \
                     column name to a list of values)"
                ));
            }
            Err(e) if problem.is_none() => {
                problem = Some(format!("row {i} of the dataset could not be read: {e}"));
            }
            _ => {}
        }
    }
    if shapes.1 {
        let names: Vec<&String> = columns.iter().map(|(n, _)| n).collect();
        if shapes.0 {
            problem.get_or_insert_with(|| {
                "the dataset mixes rows and columns; give one or the other".to_owned()
            });
        } else if let Some(column) = column {
            match columns.iter().position(|(n, _)| n == column) {
                Some(k) => values = std::mem::take(&mut columns[k].1),
                None => {
                    problem.get_or_insert_with(|| {
                        format!("the dataset has no column {column:?} (it has {names:?})")
                    });
                }
            }
        } else {
            // Records from columns: row `i` takes value `i` of every column.
            let height = columns.iter().map(|(_, v)| v.len()).max().unwrap_or(0);
            if columns.iter().any(|(_, v)| v.len() != height) {
                problem.get_or_insert_with(|| {
                    "the dataset's columns have different lengths".to_owned()
                });
            }
            let mut iters: Vec<(String, std::vec::IntoIter<Value>)> = columns
                .into_iter()
                .map(|(n, v)| (n, v.into_iter()))
                .collect();
            for _ in 0..height {
                let mut record = Map::new();
                for (name, values) in &mut iters {
                    record.insert(name.clone(), values.next().unwrap_or(Value::Null));
                }
                values.push(Value::Object(record));
            }
        }
    }
    FromDataset {
        column: column.map(str::to_owned),
        values,
        problem,
        default: NoDefault,
        order: Order::Random,
    }
}

/// See [`from_dataset`]. It adapts to the type of the column it fills.
#[derive(Debug, Clone)]
pub struct FromDataset<D = NoDefault> {
    /// The column, or `None` for whole records.
    column: Option<String>,
    values: Vec<serde_json::Value>,
    problem: Option<String>,
    default: D,
    order: Order,
}

/// How a dataset's values are drawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    Random,
    Sequential,
    Shuffled,
}

/// No default sampler (see [`FromDataset::or_else`]).
#[derive(Debug, Clone, Copy)]
pub struct NoDefault;

impl FromDataset {
    /// Draws from `default` instead when the dataset has no rows.
    pub fn or_else<S: Sampler>(self, default: S) -> FromDataset<S> {
        FromDataset {
            column: self.column,
            values: self.values,
            problem: self.problem,
            default,
            order: Order::Random,
        }
    }

    /// Follows the dataset instead of sampling it: output row `i` takes dataset row `i`
    /// (wrapping around after the last); see
    /// [`FromValues::in_order`](super::FromValues::in_order).
    pub fn in_order(mut self) -> Self {
        self.order = Order::Sequential;
        self
    }

    /// Follows the dataset in an order shuffled by the run's seed: every source row once
    /// per `len` output rows, in an order that the same seed always gives; see
    /// [`FromValues::shuffled`](super::FromValues::shuffled).
    pub fn shuffled(mut self) -> Self {
        self.order = Order::Shuffled;
        self
    }
}

impl<D> FromDataset<D> {
    fn typed<T: DeserializeOwned>(self) -> (Result<Vec<T>, String>, D) {
        if let Some(p) = self.problem {
            return (Err(p), self.default);
        }
        let column = self.column;
        // The dataset's columns, for a message about a record that does not fit.
        let columns: Vec<String> = match (&column, self.values.first()) {
            (None, Some(serde_json::Value::Object(record))) => record.keys().cloned().collect(),
            _ => Vec::new(),
        };
        let typed = self
            .values
            .into_iter()
            .enumerate()
            .map(|(i, v)| {
                serde_path_to_error::deserialize(v).map_err(|e| {
                    let field = e.path().to_string();
                    let e = e.into_inner();
                    match &column {
                        Some(column) => format!(
                            "value of column {column:?} in row {i} does not fit this column's \
                             type ({}): {e}",
                            std::any::type_name::<T>()
                        ),
                        None => format!(
                            "row {i} of the dataset does not fit this column's type ({}): \
                             column {field:?}: {e}; the dataset's columns are {columns:?}",
                            std::any::type_name::<T>()
                        ),
                    }
                })
            })
            .collect();
        (typed, self.default)
    }
}

impl<T> IntoSampler<T> for FromDataset
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
{
    fn into_sampler(self) -> BoxedSampler<T> {
        let order = self.order;
        match self.typed::<T>() {
            (Ok(values), _) => match order {
                Order::Random => BoxedSampler::new(super::from_values(values)),
                Order::Sequential => BoxedSampler::new(super::from_values(values).in_order()),
                Order::Shuffled => BoxedSampler::new(super::from_values(values).shuffled()),
            },
            (Err(problem), _) => BoxedSampler::new(Broken::<T>(problem, Default::default())),
        }
    }
}

impl<T, S> IntoSampler<T> for FromDataset<S>
where
    T: DeserializeOwned + Clone + Send + Sync + 'static,
    S: Sampler + 'static,
    T: FromSampled<S::Item>,
{
    fn into_sampler(self) -> BoxedSampler<T> {
        match self.typed::<T>() {
            (Ok(values), default) => {
                let default = BoxedSampler::<T>::new(default);
                BoxedSampler::new(super::from_values(values).or_else(default))
            }
            (Err(problem), _) => BoxedSampler::new(Broken::<T>(problem, Default::default())),
        }
    }
}

/// A sampler whose source was unusable; its check reports why.
struct Broken<T>(String, std::marker::PhantomData<fn() -> T>);

impl<T> Sampler for Broken<T> {
    type Item = T;
    fn sample(&self, _: &mut SampleContext) -> T {
        unreachable!("runs check() before sampling")
    }
    fn check(&self) -> Result<(), SamplerError> {
        Err(SamplerError::source(self.0.clone()))
    }
}
