//! `from_values`: one of a list of values known only at run time.

use super::Sampler;
use crate::rng::SampleRng;

/// One of `values`, uniformly: a column of data loaded at run time (a file, a previous
/// run's rows). An empty list fails the run before any request, unless a default sampler
/// is given with [`or_else`](FromValues::or_else).
///
/// ```
/// use chatan::{sample, Sampler, SampleRng};
///
/// let loaded: Vec<String> = vec![]; // say, a file that turned out empty
/// let prompt = sample::from_values(loaded).or_else(sample::choice(["fallback prompt".to_string()]));
/// assert_eq!(prompt.sample(&mut SampleRng::from_seed(0)), "fallback prompt");
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
    fn sample(&self, rng: &mut SampleRng) -> T {
        self.values[rng.below(self.values.len() as u64) as usize].clone()
    }
    fn check(&self) -> Result<(), String> {
        if self.values.is_empty() {
            return Err(
                "there are no values to draw from; give a default with `.or_else(...)`".into(),
            );
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
    fn sample(&self, rng: &mut SampleRng) -> T {
        if self.values.is_empty() {
            self.default.sample(rng)
        } else {
            self.values[rng.below(self.values.len() as u64) as usize].clone()
        }
    }
    fn check(&self) -> Result<(), String> {
        if self.values.is_empty() {
            self.default.check()
        } else {
            Ok(())
        }
    }
}
