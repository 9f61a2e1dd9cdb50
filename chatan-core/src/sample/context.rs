//! What a sampler is handed for each draw: the row it fills and that cell's random source.

use crate::rng::SampleRng;

/// One draw: the index of the row being filled and the cell's random source.
///
/// The random source is seeded from `(seed, row, column)`, so a seeded run draws the same
/// values for row `i` however it is run. `row` lets a sampler follow an existing dataset
/// instead of sampling from it: row `i` of the output takes row `i` of the input (see
/// [`FromValues::in_order`](crate::sample::FromValues::in_order)).
///
/// ```
/// use chatan::sample::{SampleContext, Sampler};
///
/// /// The row's own index, as text.
/// struct RowNumber;
///
/// impl Sampler for RowNumber {
///     type Item = String;
///     fn sample(&self, cx: &mut SampleContext) -> String {
///         format!("row {}", cx.row)
///     }
/// }
///
/// assert_eq!(RowNumber.sample(&mut SampleContext::for_row(7, 0)), "row 7");
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct SampleContext {
    /// The index of the row being filled, in the whole run (rows `a..b` of a run keep
    /// their indices).
    pub row: usize,
    /// The cell's random source.
    pub rng: SampleRng,
    /// The run's seed (for samplers that need one order for the whole run, such as a
    /// shuffle; draws should use `rng`).
    pub seed: u64,
}

impl SampleContext {
    /// A draw for `row` with the random source `rng`.
    pub fn new(row: usize, rng: SampleRng) -> Self {
        SampleContext { row, rng, seed: 0 }
    }

    /// With the run's seed.
    pub fn seeded(mut self, seed: u64) -> Self {
        self.seed = seed;
        self
    }

    /// A draw for row 0 from `seed`: for trying a sampler by hand.
    pub fn from_seed(seed: u64) -> Self {
        SampleContext::new(0, SampleRng::from_seed(seed))
    }

    /// A draw for `row` from `seed`.
    pub fn for_row(row: usize, seed: u64) -> Self {
        SampleContext::new(row, SampleRng::from_seed(seed))
    }
}
