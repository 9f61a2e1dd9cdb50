//! Row sets: which rows of a seeded dataset a run generates. Row `i`'s samples depend
//! only on the seed and `i`, so rows `a..b` of a run are exactly the rows `a..b` that a
//! run of `0..b` would make: resumes and shards are made of row sets.

use std::collections::BTreeSet;
use std::ops::Range;

/// The rows a run generates: a range of row indices, less any skipped ones.
///
/// Anything that converts with [`IntoRowSet`] can be given where a row count is asked
/// for: `100` (rows `0..100`), `100..200`, or a `RowSet` with skips.
///
/// ```
/// use chatan::runner::RowSet;
///
/// let rest = RowSet::range(0..10).skip([2, 3, 7]);
/// assert_eq!(rest.len(), 7);
/// assert_eq!(rest.iter().collect::<Vec<_>>(), [0, 1, 4, 5, 6, 8, 9]);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RowSet {
    range: Range<usize>,
    skip: BTreeSet<usize>,
}

impl RowSet {
    /// Rows `range.start..range.end` (empty if the range is reversed).
    pub fn range(range: Range<usize>) -> Self {
        RowSet {
            range,
            skip: BTreeSet::new(),
        }
    }

    /// Rows `0..n`.
    pub fn first(n: usize) -> Self {
        RowSet::range(0..n)
    }

    /// Leaves out the rows `rows` (indices outside the range are ignored).
    pub fn skip(mut self, rows: impl IntoIterator<Item = usize>) -> Self {
        let range = self.range.clone();
        self.skip
            .extend(rows.into_iter().filter(|r| range.contains(r)));
        self
    }

    /// How many rows the set holds.
    pub fn len(&self) -> usize {
        self.range.len() - self.skip.len()
    }

    /// Whether the set holds no rows.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Whether row `row` is in the set.
    pub fn contains(&self, row: usize) -> bool {
        self.range.contains(&row) && !self.skip.contains(&row)
    }

    /// The row indices, in order.
    pub fn iter(&self) -> impl Iterator<Item = usize> + '_ {
        self.range.clone().filter(|r| !self.skip.contains(r))
    }

    /// The range the set spans (skipped rows included).
    pub fn bounds(&self) -> Range<usize> {
        self.range.clone()
    }

    /// Part `index` of `count` nearly equal slices of the range (skips kept): what a
    /// [`Shard`](crate::Shard) makes.
    pub(crate) fn part(&self, index: usize, count: usize) -> RowSet {
        let (start, len) = (self.range.start, self.range.len());
        let count = count.max(1);
        let at = |k: usize| start + (len as u128 * k as u128 / count as u128) as usize;
        let range = at(index)..at(index + 1);
        RowSet {
            skip: self.skip.range(range.clone()).copied().collect(),
            range,
        }
    }

    /// The row indices, in order, owning the set.
    pub(crate) fn into_indices(self) -> Indices {
        Indices {
            next: self.range.start,
            end: self.range.end,
            skip: self.skip,
        }
    }
}

/// What can say which rows to generate: a count (`n` means rows `0..n`), a range of row
/// indices, or a [`RowSet`].
pub trait IntoRowSet {
    /// The rows.
    fn into_row_set(self) -> RowSet;
}

impl IntoRowSet for usize {
    fn into_row_set(self) -> RowSet {
        RowSet::first(self)
    }
}

impl IntoRowSet for Range<usize> {
    fn into_row_set(self) -> RowSet {
        RowSet::range(self)
    }
}

impl IntoRowSet for RowSet {
    fn into_row_set(self) -> RowSet {
        self
    }
}

/// The row indices of a set, in order.
pub(crate) struct Indices {
    next: usize,
    end: usize,
    skip: BTreeSet<usize>,
}

impl Iterator for Indices {
    type Item = usize;
    fn next(&mut self) -> Option<usize> {
        while self.next < self.end {
            let row = self.next;
            self.next += 1;
            if !self.skip.contains(&row) {
                return Some(row);
            }
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_ranges_and_skips() {
        assert_eq!(5.into_row_set().iter().collect::<Vec<_>>(), [0, 1, 2, 3, 4]);
        let set = (3..8).into_row_set().skip([4, 100]);
        assert_eq!(set.len(), 4);
        assert!(!set.contains(4) && set.contains(7) && !set.contains(8));
        assert_eq!(set.clone().into_indices().collect::<Vec<_>>(), [3, 5, 6, 7]);
        #[allow(clippy::reversed_empty_ranges)]
        let reversed = RowSet::range(5..2);
        assert!(reversed.is_empty());
    }
}
