//! `from_values`: one of a list of values known only at run time.

use super::SampleContext;
use super::{Sampler, SamplerError};

/// One of `values`, uniformly: a column of data loaded at run time (a file, a previous
/// run's rows). An empty list fails the run before any request, unless a default sampler
/// is given with [`or_else`](FromValues::or_else).
///
/// ```
/// use chatan::{sample, SampleContext, Sampler};
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
    /// use chatan::{sample, SampleContext, Sampler};
    ///
    /// let prompts = sample::from_values(["first", "second", "third"]).in_order();
    /// assert_eq!(prompts.sample(&mut SampleContext::for_row(1, 99)), "second");
    /// assert_eq!(prompts.sample(&mut SampleContext::for_row(4, 99)), "second");
    /// ```
    pub fn in_order(self) -> InOrder<T> {
        InOrder {
            values: self.values,
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

/// See [`FromValues::in_order`].
#[derive(Debug, Clone)]
pub struct InOrder<T> {
    values: Vec<T>,
}

impl<T: Clone + Send + Sync> Sampler for InOrder<T> {
    type Item = T;
    fn sample(&self, cx: &mut SampleContext) -> T {
        self.values[cx.row % self.values.len()].clone()
    }
    fn check(&self) -> Result<(), SamplerError> {
        if self.values.is_empty() {
            return Err(SamplerError::empty("there are no values to follow"));
        }
        Ok(())
    }
}
