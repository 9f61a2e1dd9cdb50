//! Append-only JSON-lines files, as the checkpoint journal and the reply cache keep them:
//! opened for appending after every complete line is read back. A last line cut short
//! (the process died writing it), or one that does not parse, is a torn write: it and
//! anything after it are dropped and cut from the file, so appends start clean.

use std::fs::{File, OpenOptions};
use std::io::{BufRead, BufReader, Seek, SeekFrom};
use std::path::Path;

use serde::de::DeserializeOwned;

/// Opens (or creates) the file at `path` for appending, and reads its complete lines as
/// `T`.
pub(crate) fn open<T: DeserializeOwned>(path: &Path) -> std::io::Result<(File, Vec<T>)> {
    let mut file = OpenOptions::new()
        .read(true)
        .append(true)
        .create(true)
        .open(path)?;
    let len = file.metadata()?.len();
    let mut lines = Vec::new();
    let mut good_end = 0u64;
    for line in BufReader::new(&file).split(b'\n') {
        let line = line?;
        let Ok(value) = serde_json::from_slice::<T>(&line) else {
            break;
        };
        // `split` also yields a last piece with no newline after it: torn.
        let end = good_end + line.len() as u64 + 1;
        if end > len {
            break;
        }
        good_end = end;
        lines.push(value);
    }
    file.set_len(good_end)?;
    file.seek(SeekFrom::End(0))?;
    Ok((file, lines))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_torn_last_line_is_dropped_and_cut() {
        let path = std::env::temp_dir().join(format!("chatan-jsonl-{}.jsonl", std::process::id()));
        std::fs::write(&path, "{\"a\":1}\n{\"a\":2}\n{\"a\":3}").unwrap();
        let (_, lines) = open::<serde_json::Value>(&path).unwrap();
        assert_eq!(lines.len(), 2);
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            "{\"a\":1}\n{\"a\":2}\n"
        );
        // A complete line that is not JSON ends the good part too.
        std::fs::write(&path, "{\"a\":1}\nnot json\n{\"a\":3}\n").unwrap();
        let (_, lines) = open::<serde_json::Value>(&path).unwrap();
        assert_eq!(lines.len(), 1);
        let _ = std::fs::remove_file(&path);
    }
}
