//! Samplers: columns whose values are drawn, not generated.
//!
//! A sampler is an ordinary value built at run time, so it can hold data loaded at run
//! time. A recipe names one per sampled column (`sample::choice([...])`); a run can
//! replace any of them with [`Runner::sampler`](crate::Runner::sampler). Every draw gets
//! a [`SampleContext`]: the row's index and a [`SampleRng`](crate::SampleRng) seeded from
//! `(seed, row, column)`, so a seeded run's samples are reproducible.
//!
//! | sampler | values |
//! |---|---|
//! | [`choice`] | one of a list, uniformly |
//! | [`weighted`] | one of a list, by weight (also [`choice`] over a map of weights) |
//! | [`uuid`] | a random (version 4) UUID |
//! | [`datetime`] | a day (date bounds) or a moment (bounds with times) between two bounds, both included; [`date`](DateTime::date), [formatted](DateTime::format), a [parse format](DateTime::parse_format), a [resolution](DateTime::resolution) |
//! | [`range`] | a number in an inclusive integer or half-open float range, optional [step](Range::step) |
//! | [`from_values`] | one of a list of values loaded at run time, with an optional [default](FromValues::or_else); or value `i` for row `i` ([in order](FromValues::in_order)) |
//! | [`from_dataset`] | one value of a named column of a dataset: rows (any `serde::Serialize` records), columns (a map of name to values), or a `chatan::data::Table` |
//! | [`from_records`] | a whole row of a dataset, read into a struct column |
//! | [`constant`] | the same value every row |
//! | [`input`] | a placeholder for a sampler supplied at run time |

mod choice;
mod context;
mod dataset;
mod datetime;
mod error;
mod range;
mod uuid;
mod values;

pub use self::choice::{Choice, IntoChoices, IntoWeights, Weighted, choice, weighted};
pub use self::context::SampleContext;
pub use self::dataset::{FromDataset, NoDefault, from_dataset, from_records};
pub use self::datetime::{DateBound, DateOnly, DateTime, FormattedDateTime, Resolution, datetime};
pub use self::error::{SamplerError, SamplerErrorKind};
pub use self::range::{Range, RangeValue, range};
pub use self::uuid::{Uuid, UuidV4, uuid};
pub use self::values::{FromValues, InOrder, OrElse, from_values};

/// Draws one value per row.
///
/// Implement it for your own samplers; `check` runs once before any row, so a sampler
/// built from bad input (an empty list, a reversed range) fails the run before any
/// request is sent, with an error that names the column.
///
/// ```
/// use chatan::sample::{SampleContext, Sampler};
///
/// /// A dice roll.
/// struct Die;
///
/// impl Sampler for Die {
///     type Item = u8;
///     fn sample(&self, cx: &mut SampleContext) -> u8 {
///         1 + cx.rng.below(6) as u8
///     }
/// }
///
/// let roll = Die.sample(&mut SampleContext::from_seed(1));
/// assert!((1..=6).contains(&roll));
/// ```
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sampler",
    label = "expected a sampler here",
    note = "in `dataset!`, a column's value that is not `gen(..)`, a closure or a literal is read as a sampler, such as `sample::choice([..])`; wrap a plain value as `value(..)`"
)]
pub trait Sampler: Send + Sync {
    /// The type of the values drawn.
    type Item;

    /// Draws one value.
    fn sample(&self, cx: &mut SampleContext) -> Self::Item;

    /// Checks the sampler can draw at all; called once per run, before any row.
    fn check(&self) -> Result<(), SamplerError> {
        Ok(())
    }
}

impl<S: Sampler + ?Sized> Sampler for Box<S> {
    type Item = S::Item;
    fn sample(&self, cx: &mut SampleContext) -> S::Item {
        (**self).sample(cx)
    }
    fn check(&self) -> Result<(), SamplerError> {
        (**self).check()
    }
}

/// How a sampled value becomes a column's value: unchanged, or text (`&str`, `char`)
/// into a `String` column.
///
/// The conversions are few on purpose: with only these, a column's type decides the
/// type of an untyped literal, so `count: u8 = sample::range(1, 6)` draws `u8`s. (With
/// every `Into` conversion allowed, the literals would default to `i32` and not fit.)
/// Implement it to let a sampler of your type fill a column of another of your types.
#[diagnostic::on_unimplemented(
    message = "values of type `{U}` cannot fill a column of type `{Self}`",
    label = "this sampler draws `{U}`",
    note = "a sampler must draw the column's own type (or `&str`/`char` for a `String` column); change the field's type or the sampler"
)]
pub trait FromSampled<U>: Sized {
    /// Converts a drawn value.
    fn from_sampled(value: U) -> Self;
}

impl<T> FromSampled<T> for T {
    #[inline]
    fn from_sampled(value: T) -> T {
        value
    }
}

impl FromSampled<&str> for String {
    #[inline]
    fn from_sampled(value: &str) -> String {
        value.to_owned()
    }
}

impl FromSampled<char> for String {
    #[inline]
    fn from_sampled(value: char) -> String {
        value.to_string()
    }
}

/// A type-erased sampler of `T`, as stored per column.
pub struct BoxedSampler<T>(Box<dyn Sampler<Item = T>>);

impl<T> BoxedSampler<T> {
    /// Erases a sampler whose values fill `T`.
    pub fn new<S>(sampler: S) -> Self
    where
        S: Sampler + 'static,
        T: FromSampled<S::Item> + 'static,
    {
        BoxedSampler(Box::new(MapInto {
            inner: sampler,
            _to: std::marker::PhantomData,
        }))
    }
}

impl<T> Sampler for BoxedSampler<T> {
    type Item = T;
    fn sample(&self, cx: &mut SampleContext) -> T {
        self.0.sample(cx)
    }
    fn check(&self) -> Result<(), SamplerError> {
        self.0.check()
    }
}

impl<T> std::fmt::Debug for BoxedSampler<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BoxedSampler")
    }
}

struct MapInto<S, T> {
    inner: S,
    _to: std::marker::PhantomData<fn() -> T>,
}

impl<S, T> Sampler for MapInto<S, T>
where
    S: Sampler,
    T: FromSampled<S::Item>,
{
    type Item = T;
    fn sample(&self, cx: &mut SampleContext) -> T {
        T::from_sampled(self.inner.sample(cx))
    }
    fn check(&self) -> Result<(), SamplerError> {
        self.inner.check()
    }
}

/// Anything that can fill a column of type `T`: a [`Sampler`] whose values fit `T` (see
/// [`FromSampled`]), or one of the untyped sources ([`input`], [`from_dataset`]) that adapt to the
/// column they are given to.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a sampler of `{T}` values",
    label = "expected a sampler of `{T}` values",
    note = "a column's value that is not `gen(..)`, a closure or a literal must be a sampler (such as `sample::choice([..])`) of the column's own type (or of `&str`/`char` for a `String` column); write a plain value as `value(..)`"
)]
pub trait IntoSampler<T> {
    /// Erases the sampler for storage in a recipe.
    fn into_sampler(self) -> BoxedSampler<T>;
}

impl<T, S> IntoSampler<T> for S
where
    S: Sampler + 'static,
    T: FromSampled<S::Item> + 'static,
{
    fn into_sampler(self) -> BoxedSampler<T> {
        BoxedSampler::new(self)
    }
}

/// The same value in every row: what a static column holds.
///
/// ```
/// use chatan::sample;
/// use chatan::sample::{SampleContext, Sampler};
///
/// let s = sample::constant("b");
/// assert_eq!(s.sample(&mut SampleContext::from_seed(0)), "b");
/// ```
pub fn constant<T: Clone + Send + Sync>(value: T) -> Constant<T> {
    Constant(value)
}

/// See [`constant`].
#[derive(Debug, Clone)]
pub struct Constant<T>(T);

impl<T: Clone + Send + Sync> Sampler for Constant<T> {
    type Item = T;
    fn sample(&self, _: &mut SampleContext) -> T {
        self.0.clone()
    }
}

/// A placeholder for a sampler that is only known at run time, such as one built from a
/// file: give the real one with [`Runner::sampler`](crate::Runner::sampler). A run that
/// does not fails before any request, naming the column.
///
/// ```
/// chatan::dataset! {
///     struct Rewrite {
///         original: String = sample::input(),
///         rewrite: String = gen("rewrite this prompt: {original}"),
///     }
/// }
/// # async fn run(llm: &impl chatan::Generator) -> Result<(), Box<dyn std::error::Error>> {
/// let prompts = vec!["What is 2 + 2?".to_string(), "Name a prime.".to_string()];
/// let rows = Rewrite::runner(llm)
///     .sampler(|c| c.original, chatan::sample::from_values(prompts))
///     .generate(10)
///     .await?;
/// # Ok(()) }
/// ```
pub fn input() -> Input {
    Input
}

/// See [`input`].
#[derive(Debug, Clone, Copy)]
pub struct Input;

impl<T: 'static> IntoSampler<T> for Input {
    fn into_sampler(self) -> BoxedSampler<T> {
        struct Missing<T>(std::marker::PhantomData<fn() -> T>);
        impl<T> Sampler for Missing<T> {
            type Item = T;
            fn sample(&self, _: &mut SampleContext) -> T {
                unreachable!("runs check() before sampling")
            }
            fn check(&self) -> Result<(), SamplerError> {
                Err(SamplerError::new(
                    SamplerErrorKind::MissingInput,
                    "the recipe declares it `sample::input()`, but no sampler was given; \
                     pass one with `.sampler(|c| c.<column>, ...)`",
                ))
            }
        }
        BoxedSampler(Box::new(Missing(std::marker::PhantomData)))
    }
}
