//! Distinct columns (`gen("...", distinct = true)`): a value that repeats one an earlier
//! row of the run already has, after [`normalize`], is asked for again.
//!
//! What "earlier" means is the order in which rows finish their cells, so which of two
//! rows that make the same value at once is asked again depends on timing; the kept
//! values are distinct either way. A row that fails, or that `keep_if` drops, gives its
//! values up. Values are compared by a 64-bit hash of their
//! normalized text (a collision, about one in 10^19 per pair, asks once too often).

use std::collections::HashMap;
use std::hash::{BuildHasher, BuildHasherDefault, DefaultHasher};
use std::sync::Mutex;

use unicode_normalization::UnicodeNormalization;

use crate::recipe::{ColumnKind, Recipe};

/// `text` as duplicates are compared: Unicode NFKC, lowercase, everything but letters
/// and digits taken as a space, spaces collapsed.
///
/// ```
/// use chatan::eval::normalize;
///
/// assert_eq!(normalize("  Hello,   WORLD!\n"), "hello world");
/// assert_eq!(normalize("ﬁne café"), "fine café");
/// ```
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.nfkc().flat_map(char::to_lowercase) {
        if c.is_alphanumeric() {
            out.push(c);
        } else if !out.is_empty() && !out.ends_with(' ') {
            out.push(' ');
        }
    }
    if out.ends_with(' ') {
        out.pop();
    }
    out
}

/// The values each distinct column of a run has taken.
pub(crate) struct Seen {
    columns: Vec<Option<Mutex<Taken>>>,
}

/// One distinct column's values: normalized hash to the row that has it, and back.
#[derive(Default)]
struct Taken {
    owners: HashMap<u64, usize>,
    values: HashMap<usize, u64>,
}

impl Seen {
    /// No values yet, for the distinct columns of `R`.
    pub(crate) fn new<R: Recipe>() -> Self {
        let columns = R::SPEC
            .columns
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Generated(spec) if spec.distinct => Some(Mutex::default()),
                _ => None,
            })
            .collect();
        Seen { columns }
    }

    /// Claims `text` as row `row`'s value of `column`: `Err` with the row that has it
    /// already, if another does. Always `Ok` for a column that is not distinct.
    pub(crate) fn claim(&self, column: usize, row: usize, text: &str) -> Result<(), usize> {
        let Some(Some(taken)) = self.columns.get(column) else {
            return Ok(());
        };
        let key = BuildHasherDefault::<DefaultHasher>::default().hash_one(normalize(text));
        let mut taken = taken.lock().unwrap_or_else(|e| e.into_inner());
        match *taken.owners.entry(key).or_insert(row) {
            owner if owner == row => {
                taken.values.insert(row, key);
                Ok(())
            }
            owner => Err(owner),
        }
    }

    /// Gives up the values of row `row`, which is not in the run's output (it failed,
    /// or `keep_if` dropped it): a later row may have them.
    pub(crate) fn release(&self, row: usize) {
        for taken in self.columns.iter().flatten() {
            let mut taken = taken.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(key) = taken.values.remove(&row) {
                taken.owners.remove(&key);
            }
        }
    }
}
