//! A Hugging Face dataset folder: parquet under `data/` and a `README.md` dataset card
//! whose YAML front matter declares the features and splits, so that Python's
//! `datasets.load_dataset(folder)` opens it as it is, with the right feature types (the
//! seed's `ds.to_huggingface()`).

use std::fmt::Write as _;
use std::path::Path;

use polars::prelude::{DataType, TimeUnit};

use super::{DataError, Format, ToFrame, save_as};

/// Writes `rows` as the `train` split of a Hugging Face dataset folder at `dir`; see
/// [`save_huggingface_split`].
pub fn save_huggingface<R: ToFrame>(rows: &[R], dir: impl AsRef<Path>) -> Result<(), DataError> {
    save_huggingface_split(rows, dir, "train")
}

/// Writes `rows` as split `split` of a Hugging Face dataset folder at `dir`:
/// `data/{split}-00000-of-00001.parquet`, and a `README.md` card declaring the features
/// (from the row type) and every split whose parquet file is in the folder.
///
/// ```
/// chatan::dataset! {
///     #[derive(Debug)]
///     struct Qa { question: String = gen("a question"), answer: String = gen("answer: {question}") }
/// }
/// # fn main() -> Result<(), chatan::data::DataError> {
/// let rows: Vec<Qa> = Vec::new();
/// let dir = std::env::temp_dir().join("chatan-hf-doc");
/// chatan::data::save_huggingface(&rows, &dir)?;
/// let card = std::fs::read_to_string(dir.join("README.md")).unwrap();
/// assert!(card.contains("- name: question\n    dtype: string"));
/// # Ok(()) }
/// ```
pub fn save_huggingface_split<R: ToFrame>(
    rows: &[R],
    dir: impl AsRef<Path>,
    split: &str,
) -> Result<(), DataError> {
    let dir = dir.as_ref();
    let data = dir.join("data");
    std::fs::create_dir_all(&data).map_err(io_error(&data))?;
    let file = data.join(format!("{split}-00000-of-00001.parquet"));
    save_as(rows, &file, Format::Parquet)?;
    write_card::<R>(dir)
}

fn io_error(path: &Path) -> impl FnOnce(std::io::Error) -> DataError {
    let path = path.to_owned();
    move |source| DataError::Io { path, source }
}

/// The split and part of a Hugging Face data file name: `train-00003-of-00008.parquet`
/// is (`train`, 3, 8).
pub(crate) fn part_of_name(name: &str) -> Option<(&str, usize, usize)> {
    let stem = name.strip_suffix(".parquet")?;
    let (rest, count) = stem.rsplit_once("-of-")?;
    let (split, index) = rest.rsplit_once('-')?;
    let digits = |s: &str| s.len() == 5 && s.bytes().all(|b| b.is_ascii_digit());
    if split.is_empty() || !digits(index) || !digits(count) {
        return None;
    }
    Some((split, index.parse().ok()?, count.parse().ok()?))
}

/// (Re)writes the dataset card of the folder `dir` from the parquet parts under `data/`
/// (every split, rows and bytes summed over its parts), replacing `README.md` in one
/// step, so that shards finishing at once leave a whole card.
pub(crate) fn write_card<R: ToFrame>(dir: &Path) -> Result<(), DataError> {
    let data = dir.join("data");
    let mut splits: Vec<(String, usize, u64)> = Vec::new();
    for entry in std::fs::read_dir(&data).map_err(io_error(&data))? {
        let name = entry.map_err(io_error(&data))?.file_name();
        let name = name.to_string_lossy();
        let Some((split, _, _)) = part_of_name(&name) else {
            continue;
        };
        let path = data.join(&*name);
        let count = count_rows(&path)?;
        let bytes = std::fs::metadata(&path).map_err(io_error(&path))?.len();
        match splits.iter_mut().find(|s| s.0 == split) {
            Some(known) => {
                known.1 += count;
                known.2 += bytes;
            }
            None => splits.push((split.to_owned(), count, bytes)),
        }
    }
    splits.sort();
    let card = card(&R::columns(), &splits);
    let readme = dir.join("README.md");
    let temporary = super::save::temporary(&readme).map_err(io_error(&readme))?;
    std::fs::write(&temporary, card)
        .and_then(|()| std::fs::rename(&temporary, &readme))
        .map_err(io_error(&readme))
}

/// [`write_card`] for a shard of a folder that several processes write at once: under an
/// exclusive lock on `.chatan/card.lock`, so that each scan of the parts and its card go
/// together, and the last shard to write the card has seen every part written before
/// it (unlocked, a shard that scanned before another's part appeared could replace
/// that shard's whole card with its own, short of a part).
pub(crate) fn write_shard_card<R: ToFrame>(dir: &Path) -> Result<(), DataError> {
    let path = dir.join(".chatan").join("card.lock");
    let lock = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .and_then(|file| file.lock().map(|()| file))
        .map_err(io_error(&path))?;
    let written = write_card::<R>(dir);
    drop(lock);
    written
}

pub(crate) fn count_rows(path: &Path) -> Result<usize, DataError> {
    use polars::prelude::{ParquetReader, SerReader};
    let file = std::fs::File::open(path).map_err(io_error(path))?;
    Ok(ParquetReader::new(file).num_rows()?)
}

/// The dataset card: YAML front matter with features, splits and the data files.
pub(crate) fn card(columns: &[(&str, DataType)], splits: &[(String, usize, u64)]) -> String {
    let mut out = String::from("---\ndataset_info:\n  features:\n");
    for (name, dtype) in columns {
        let _ = writeln!(out, "  - name: {name}");
        feature(&mut out, dtype, "    ");
    }
    out.push_str("  splits:\n");
    for (split, count, bytes) in splits {
        let _ = writeln!(
            out,
            "  - name: {split}\n    num_bytes: {bytes}\n    num_examples: {count}"
        );
    }
    out.push_str("configs:\n- config_name: default\n  data_files:\n");
    for (split, ..) in splits {
        let _ = writeln!(out, "  - split: {split}\n    path: data/{split}-*");
    }
    out.push_str(
        "---\n\n# Dataset\n\nGenerated with [chatan](https://github.com/chatan-rs/chatan).\n",
    );
    out
}

/// One feature's type, as the `datasets` library reads it from a card.
fn feature(out: &mut String, dtype: &DataType, indent: &str) {
    match dtype {
        DataType::List(inner) => {
            let _ = writeln!(out, "{indent}list:");
            let nested = format!("{indent}  ");
            match &**inner {
                DataType::List(_) | DataType::Struct(_) => feature(out, inner, &nested),
                other => {
                    let _ = writeln!(out, "{nested}dtype: {}", value_type(other));
                }
            }
        }
        DataType::Struct(fields) => {
            let _ = writeln!(out, "{indent}struct:");
            for field in fields {
                let _ = writeln!(out, "{indent}- name: {}", field.name());
                feature(out, field.dtype(), &format!("{indent}  "));
            }
        }
        other => {
            let _ = writeln!(out, "{indent}dtype: {}", value_type(other));
        }
    }
}

/// The `datasets` value type of a polars dtype.
fn value_type(dtype: &DataType) -> String {
    match dtype {
        DataType::Boolean => "bool".into(),
        DataType::Int8 => "int8".into(),
        DataType::Int16 => "int16".into(),
        DataType::Int32 => "int32".into(),
        DataType::Int64 => "int64".into(),
        DataType::UInt8 => "uint8".into(),
        DataType::UInt16 => "uint16".into(),
        DataType::UInt32 => "uint32".into(),
        DataType::UInt64 => "uint64".into(),
        DataType::Float32 => "float32".into(),
        DataType::Float64 => "float64".into(),
        DataType::Date => "date32".into(),
        DataType::Datetime(unit, zone) => {
            let unit = match unit {
                TimeUnit::Milliseconds => "ms",
                TimeUnit::Microseconds => "us",
                TimeUnit::Nanoseconds => "ns",
            };
            match zone {
                Some(zone) => format!("timestamp[{unit}, tz={zone}]"),
                None => format!("timestamp[{unit}]"),
            }
        }
        _ => "string".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::part_of_name;

    #[test]
    fn part_names() {
        assert_eq!(
            part_of_name("train-00003-of-00008.parquet"),
            Some(("train", 3, 8))
        );
        assert_eq!(
            part_of_name("my-split-00000-of-00001.parquet"),
            Some(("my-split", 0, 1))
        );
        assert_eq!(part_of_name("train-3-of-8.parquet"), None);
        assert_eq!(part_of_name("train.parquet"), None);
        assert_eq!(part_of_name("-00000-of-00001.parquet"), None);
    }
}
