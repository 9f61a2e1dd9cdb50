//! The [`Dataset`] trait that both macros implement, and handles to sampled columns.

use std::marker::PhantomData;

use crate::recipe::Recipe;
use crate::sample::BoxedSampler;

/// A row type with a recipe: implemented by `#[derive(Dataset)]` and `dataset! { ... }`.
///
/// The macros also give the row type inherent `runner` and `generate` functions
/// (`Qa::generate(&llm, 100)`). Without them (`#[chatan(methods = false)]`), or in code
/// generic over the row type, start from [`Runner::new`](crate::Runner::new):
/// `Runner::<Qa, _>::new(&llm).generate(100)`.
pub trait Dataset: Sized + Send + 'static {
    /// Handles to the columns, for [`Runner::sampler`](crate::Runner::sampler): a struct with one field per
    /// column, named like the column: a [`SampledColumn`] for a sampled or static column,
    /// [`NotSampled`] for the others.
    type Columns;

    #[doc(hidden)]
    type __Recipe: Recipe<Row = Self>;

    #[doc(hidden)]
    fn __columns() -> Self::Columns;

    /// The columns' getters, as a type-level list for the data layer.
    #[doc(hidden)]
    type __Frame;

    #[doc(hidden)]
    fn __frame() -> Self::__Frame;

    /// The column names, in declaration order.
    fn column_names() -> impl Iterator<Item = &'static str> {
        <Self::__Recipe as Recipe>::SPEC
            .columns
            .iter()
            .map(|c| c.name)
    }
}

pub(crate) type SamplersOf<R> = <<R as Dataset>::__Recipe as Recipe>::Samplers;

/// A handle to a sampled (or static) column of `R` whose values are `T`; see
/// [`Runner::sampler`](crate::Runner::sampler).
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

/// What [`Runner::sampler`](crate::Runner::sampler) takes: the handle of a sampled (or static) column. A
/// generated or derived column's handle is [`NotSampled`], which is not one, so naming it
/// is a compile error that says why.
#[diagnostic::on_unimplemented(
    message = "this column is not sampled, so `.sampler(..)` cannot replace its sampler",
    label = "a generated or derived column",
    note = "`.sampler(|c| c.<column>, ..)` takes a sampled or static column (`= sample::...`, a literal, or `#[sample(..)]` / `#[value(..)]`)"
)]
pub trait SamplerSlot<R: Dataset, T> {
    /// The sampled column.
    fn into_column(self) -> SampledColumn<R, T>;
}

impl<R: Dataset, T> SamplerSlot<R, T> for SampledColumn<R, T> {
    fn into_column(self) -> SampledColumn<R, T> {
        self
    }
}

/// The handle of a generated or derived column in [`Dataset::Columns`]: such a column
/// has no sampler to replace.
#[derive(Debug, Clone, Copy)]
pub struct NotSampled {
    name: &'static str,
}

impl NotSampled {
    pub(crate) fn new(name: &'static str) -> Self {
        NotSampled { name }
    }

    /// The column's name.
    pub fn name(&self) -> &'static str {
        self.name
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
