//! `from_values`: one of a list of values known only at run time.

use super::SampleContext;
use std::sync::OnceLock;

use super::{Sampler, SamplerError};
use crate::rng::SampleRng;

/// One of `values`, uniformly: a column of data loaded at run time (a file, a previous
/// run's rows). An empty list fails the run before any request, unless a default sampler
/// is given with [`or_else`](FromValues::or_else).
///
/// ```
/// use chatan::sample;
/// use chatan::sample::{SampleContext, Sampler};
///
/// let loaded: Vec<String> = vec![]; // say, a file that turned out empty
/// let prompt = sample::from_values(loaded).or_else(sample::choice(["fallback prompt".to_string()]));
/// assert_eq!(prompt.sample(&mut SampleContext::from_seed(0)), "fallback prompt");
/// ```
pub fn from_values<T: Clone + Send + Sync>(values: impl IntoIterator<Item = T>) -> FromValues<T> {
    FromValues {
        values: values.into_iter().collect(),
    }
}

/// See [`from_values`].
#[derive(Debug, Clone)]
pub struct FromValues<T> {
    values: Vec<T>,
}

impl<T> FromValues<T> {
    /// Draws from `default` instead when there are no values.
    pub fn or_else<S: Sampler<Item = T>>(self, default: S) -> OrElse<T, S> {
        OrElse {
            values: self.values,
            default,
        }
    }

    /// Follows the values instead of sampling them: row `i` takes value `i` (wrapping
    /// around after the last), so generating `len()` rows visits each value once, in
    /// order — iterating over an existing dataset. Rows `a..b` of a run take values
    /// `a..b`.
    ///
    /// ```
    /// use chatan::sample;
    /// use chatan::sample::{SampleContext, Sampler};
    ///
    /// let prompts = sample::from_values(["first", "second", "third"]).in_order();
    /// assert_eq!(prompts.sample(&mut SampleContext::for_row(1, 99)), "second");
    /// assert_eq!(prompts.sample(&mut SampleContext::for_row(4, 99)), "second");
    /// ```
    pub fn in_order(self) -> InOrder<T> {
        InOrder {
            values: self.values,
            shuffle: false,
            permutation: OnceLock::new(),
        }
    }

    /// Like [`in_order`](FromValues::in_order), in an order shuffled by the run's seed:
    /// each run of `len()` output rows visits every value once, and the same seed always
    /// gives the same order (a different seed, another one).
    ///
    /// ```
    /// use chatan::sample;
    /// use chatan::sample::{SampleContext, SampleRng, Sampler};
    ///
    /// let items = sample::from_values(0..5).shuffled();
    /// let draw = |seed| {
    ///     (0..5)
    ///         .map(|row| items.sample(&mut SampleContext::new(row, SampleRng::from_seed(0)).seeded(seed)))
    ///         .collect::<Vec<_>>()
    /// };
    /// let mut once = draw(7);
    /// assert_eq!(draw(7), once);
    /// once.sort();
    /// assert_eq!(once, [0, 1, 2, 3, 4]);
    /// ```
    pub fn shuffled(self) -> InOrder<T> {
        InOrder {
            values: self.values,
            shuffle: true,
            permutation: OnceLock::new(),
        }
    }

    /// How many values there are to draw from.
    pub fn len(&self) -> usize {
        self.values.len()
    }

    /// Whether there are no values.
    pub fn is_empty(&self) -> bool {
        self.values.is_empty()
    }
}

impl<T: Clone + Send + Sync> Sampler for FromValues<T> {
    type Item = T;
    fn sample(&self, cx: &mut SampleContext) -> T {
        self.values[cx.rng.below(self.values.len() as u64) as usize].clone()
    }
    fn check(&self) -> Result<(), SamplerError> {
        if self.values.is_empty() {
            return Err(SamplerError::empty(
                "there are no values to draw from; give a default with `.or_else(...)`",
            ));
        }
        Ok(())
    }
}

/// See [`FromValues::or_else`].
#[derive(Debug, Clone)]
pub struct OrElse<T, S> {
    values: Vec<T>,
    default: S,
}

impl<T: Clone + Send + Sync, S: Sampler<Item = T>> Sampler for OrElse<T, S> {
    type Item = T;
    fn sample(&self, cx: &mut SampleContext) -> T {
        if self.values.is_empty() {
            self.default.sample(cx)
        } else {
            self.values[cx.rng.below(self.values.len() as u64) as usize].clone()
        }
    }
    fn check(&self) -> Result<(), SamplerError> {
        if self.values.is_empty() {
            self.default.check()
        } else {
            Ok(())
        }
    }
}

/// See [`FromValues::in_order`] and [`FromValues::shuffled`].
#[derive(Debug, Clone)]
pub struct InOrder<T> {
    values: Vec<T>,
    shuffle: bool,
    /// The shuffled order for one seed, computed on first use.
    permutation: OnceLock<(u64, Vec<usize>)>,
}

impl<T> InOrder<T> {
    /// The value index for output row `row` under `seed`.
    fn index(&self, row: usize, seed: u64) -> usize {
        let n = self.values.len();
        if !self.shuffle {
            return row % n;
        }
        let (cached_seed, order) = self
            .permutation
            .get_or_init(|| (seed, permutation(n, seed)));
        if *cached_seed == seed {
            order[row % n]
        } else {
            // The same sampler in a run with another seed: compute that run's order.
            permutation(n, seed)[row % n]
        }
    }
}

/// A seeded Fisher–Yates shuffle of `0..n`.
fn permutation(n: usize, seed: u64) -> Vec<usize> {
    let mut rng = SampleRng::from_seed(seed ^ 0x5348_5546_464c_4544);
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        let j = rng.below(i as u64 + 1) as usize;
        order.swap(i, j);
    }
    order
}

impl<T: Clone + Send + Sync> Sampler for InOrder<T> {
    type Item = T;
    fn sample(&self, cx: &mut SampleContext) -> T {
        self.values[self.index(cx.row, cx.seed)].clone()
    }
    fn check(&self) -> Result<(), SamplerError> {
        if self.values.is_empty() {
            return Err(SamplerError::empty("there are no values to follow"));
        }
        Ok(())
    }
}
