//! The [`Dataset`] trait that both macros implement, and handles to sampled columns.

use std::future::Future;
use std::marker::PhantomData;

use crate::error::RunError;
use crate::generator::Generators;
use crate::recipe::Recipe;
use crate::runner::Runner;
use crate::sample::BoxedSampler;

/// A row type with a recipe: implemented by `#[derive(Dataset)]` and `dataset! { ... }`.
///
/// The macros also give the row type inherent `runner` and `generate` functions, so the
/// trait need not be imported to use them.
pub trait Dataset: Sized + Send + 'static {
    /// Handles to the sampled columns, for [`Runner::sampler`]: a struct with one field
    /// per sampled or static column, named like the column.
    type Columns;

    #[doc(hidden)]
    type __Recipe: Recipe<Row = Self>;

    #[doc(hidden)]
    fn __columns() -> Self::Columns;

    /// The column names, in declaration order.
    fn column_names() -> impl Iterator<Item = &'static str> {
        <Self::__Recipe as Recipe>::SPEC
            .columns
            .iter()
            .map(|c| c.name)
    }

    /// A [`Runner`] for these rows, to set concurrency, seed, progress and samplers.
    fn runner<G: Generators + ?Sized>(generators: &G) -> Runner<'_, Self, G> {
        Runner::new(generators)
    }

    /// Generates `n` rows with default settings, in row order.
    fn generate<G: Generators + ?Sized>(
        generators: &G,
        n: usize,
    ) -> impl Future<Output = Result<Vec<Self>, RunError<Self>>> + Send + '_ {
        Runner::new(generators).generate(n)
    }
}

pub(crate) type SamplersOf<R> = <<R as Dataset>::__Recipe as Recipe>::Samplers;

/// A handle to a sampled (or static) column of `R` whose values are `T`; see
/// [`Runner::sampler`].
pub struct SampledColumn<R: Dataset, T> {
    name: &'static str,
    set: fn(&mut SamplersOf<R>, BoxedSampler<T>),
    _row: PhantomData<fn() -> R>,
}

impl<R: Dataset, T> SampledColumn<R, T> {
    pub(crate) fn new(name: &'static str, set: fn(&mut SamplersOf<R>, BoxedSampler<T>)) -> Self {
        SampledColumn {
            name,
            set,
            _row: PhantomData,
        }
    }

    /// The column's name.
    pub fn name(&self) -> &'static str {
        self.name
    }

    pub(crate) fn set(&self, samplers: &mut SamplersOf<R>, sampler: BoxedSampler<T>) {
        (self.set)(samplers, sampler)
    }
}

impl<R: Dataset, T> Clone for SampledColumn<R, T> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<R: Dataset, T> Copy for SampledColumn<R, T> {}

impl<R: Dataset, T> std::fmt::Debug for SampledColumn<R, T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "SampledColumn({})", self.name)
    }
}
