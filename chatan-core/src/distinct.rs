//! Distinct columns (`gen("...", distinct = true)`): a value that repeats one an earlier
//! row of the run already has, after [`normalize`], is asked for again; with
//! `distinct = 0.8`, so is one whose word shingles are that similar to an earlier
//! row's (MinHash signatures and LSH bands, as `chatan::eval::MinHash`).
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

use crate::minhash::Signer;
use crate::recipe::{ColumnKind, Distinct, Recipe};

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
    columns: Vec<Option<Column>>,
}

/// A distinct column: what compares near values (for `Distinct::Near`), and the values.
struct Column {
    signer: Option<Signer>,
    taken: Mutex<Taken>,
}

/// One distinct column's values.
#[derive(Default)]
struct Taken {
    /// Normalized hash to the row that has the value, and back.
    owners: HashMap<u64, usize>,
    values: HashMap<usize, u64>,
    /// For `Distinct::Near`: the signatures, and the rows in each LSH band bucket.
    near: Near,
}

#[derive(Default)]
struct Near {
    signatures: HashMap<usize, Vec<u64>>,
    buckets: HashMap<(usize, u64), Vec<usize>>,
}

/// A value another row has: which, and whether it is the same value or a near one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Repeat {
    pub(crate) row: usize,
    pub(crate) near: bool,
}

impl Seen {
    /// No values yet, for the distinct columns of `R`.
    pub(crate) fn new<R: Recipe>() -> Self {
        let columns = R::SPEC
            .columns
            .iter()
            .map(|c| match &c.kind {
                ColumnKind::Generated(spec) => match spec.distinct {
                    Distinct::No => None,
                    Distinct::Exact => Some(None),
                    Distinct::Near(threshold) => Some(Some(Signer::new(threshold, 128, 3))),
                },
                _ => None,
            })
            .map(|signer| {
                signer.map(|signer| Column {
                    signer,
                    taken: Mutex::default(),
                })
            })
            .collect();
        Seen { columns }
    }

    /// Claims `text` as row `row`'s value of `column`: `Err` naming a row that has it
    /// (or, for a near-distinct column, one like it) already. Always `Ok` for a column
    /// that is not distinct.
    pub(crate) fn claim(&self, column: usize, row: usize, text: &str) -> Result<(), Repeat> {
        let Some(Some(Column { signer, taken })) = self.columns.get(column) else {
            return Ok(());
        };
        let key = BuildHasherDefault::<DefaultHasher>::default().hash_one(normalize(text));
        // The signature before the lock: it is the costly part.
        let signature = signer.as_ref().map(|signer| signer.signature(text));
        let mut taken = taken.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(&owner) = taken.owners.get(&key)
            && owner != row
        {
            return Err(Repeat {
                row: owner,
                near: false,
            });
        }
        if let (Some(signer), Some(signature)) = (signer, signature) {
            if let Some(owner) = taken.near.similar_to(signer, &signature, row) {
                return Err(Repeat {
                    row: owner,
                    near: true,
                });
            }
            taken.near.insert(signer, row, signature);
        }
        taken.owners.insert(key, row);
        taken.values.insert(row, key);
        Ok(())
    }

    /// Gives up the values of row `row`, which is not in the run's output (it failed,
    /// or `keep_if` dropped it): a later row may have them.
    pub(crate) fn release(&self, row: usize) {
        for Column { signer, taken } in self.columns.iter().flatten() {
            let mut taken = taken.lock().unwrap_or_else(|e| e.into_inner());
            if let Some(key) = taken.values.remove(&row) {
                taken.owners.remove(&key);
            }
            if let Some(signer) = signer {
                taken.near.remove(signer, row);
            }
        }
    }
}

impl Near {
    /// A row other than `row` whose signature is similar to `signature`, if any.
    fn similar_to(&self, signer: &Signer, signature: &[u64], row: usize) -> Option<usize> {
        let mut candidates: Vec<usize> = signer
            .band_keys(signature)
            .filter_map(|key| self.buckets.get(&key))
            .flatten()
            .copied()
            .filter(|&other| other != row)
            .collect();
        // The earliest row first, so the answer does not depend on the buckets' order.
        candidates.sort_unstable();
        candidates.dedup();
        candidates
            .into_iter()
            .find(|other| signer.similar(signature, &self.signatures[other]))
    }

    fn insert(&mut self, signer: &Signer, row: usize, signature: Vec<u64>) {
        for key in signer.band_keys(&signature) {
            self.buckets.entry(key).or_default().push(row);
        }
        self.signatures.insert(row, signature);
    }

    fn remove(&mut self, signer: &Signer, row: usize) {
        let Some(signature) = self.signatures.remove(&row) else {
            return;
        };
        for key in signer.band_keys(&signature) {
            if let Some(rows) = self.buckets.get_mut(&key) {
                rows.retain(|&r| r != row);
                if rows.is_empty() {
                    self.buckets.remove(&key);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    chatan_macros::dataset! {
        struct Three {
            exact: String = gen("a", distinct = true),
            near: String = gen("b", distinct = 0.7),
            any: String = gen("c"),
        }
    }

    type Cells = <Three as crate::Dataset>::__Recipe;
    const FOX: &str = "the quick brown fox jumps over the lazy dog by the river bank today";
    const FOX2: &str = "The quick brown fox jumps over the lazy dog by the river bank tonight";

    #[test]
    fn repeats_are_found_by_normalized_value_or_by_similarity() {
        let seen = Seen::new::<Cells>();
        let (exact, near, any) = (0, 1, 2);
        assert_eq!(seen.claim(exact, 0, "What is Rust?"), Ok(()));
        assert_eq!(
            seen.claim(exact, 1, " what is RUST"),
            Err(Repeat {
                row: 0,
                near: false
            })
        );
        // Similar is not the same for an exact column.
        assert_eq!(seen.claim(exact, 2, "What is Rust, really?"), Ok(()));
        assert_eq!(seen.claim(near, 0, FOX), Ok(()));
        assert_eq!(
            seen.claim(near, 1, FOX2),
            Err(Repeat { row: 0, near: true })
        );
        assert_eq!(seen.claim(near, 1, "bread prices in winter"), Ok(()));
        assert_eq!(seen.claim(any, 0, FOX), Ok(()));
        assert_eq!(seen.claim(any, 1, FOX), Ok(()));
    }

    #[test]
    fn a_released_row_frees_its_values() {
        let seen = Seen::new::<Cells>();
        assert_eq!(seen.claim(0, 0, "same"), Ok(()));
        assert_eq!(seen.claim(1, 0, FOX), Ok(()));
        seen.release(0);
        assert_eq!(seen.claim(0, 5, "same"), Ok(()));
        assert_eq!(seen.claim(1, 5, FOX2), Ok(()));
        assert_eq!(seen.claim(1, 6, FOX), Err(Repeat { row: 5, near: true }));
    }
}
