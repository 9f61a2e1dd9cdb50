//! `range`: numbers between two bounds, optionally on a step.

use super::Sampler;
use super::{SampleContext, SamplerError};
use crate::rng::SampleRng;

/// A number between `low` and `high`: inclusive for integers, `[low, high)` for floats.
/// With [`step`](Range::step), only `low`, `low + step`, ... up to `high` are drawn.
///
/// ```
/// use chatan::sample;
/// use chatan::sample::{SampleContext, Sampler};
///
/// let mut rng = SampleContext::from_seed(2);
/// let age = sample::range(18, 65).sample(&mut rng);
/// assert!((18..=65).contains(&age));
/// let score = sample::range(0.0, 1.0).sample(&mut rng);
/// assert!((0.0..1.0).contains(&score));
/// let tens = sample::range(0, 100).step(10).sample(&mut rng);
/// assert_eq!(tens % 10, 0);
/// ```
pub fn range<T: RangeValue>(low: T, high: T) -> Range<T> {
    Range {
        low,
        high,
        step: None,
    }
}

/// See [`range`].
#[derive(Debug, Clone, Copy)]
pub struct Range<T> {
    low: T,
    high: T,
    step: Option<T>,
}

impl<T: RangeValue> Range<T> {
    /// Draw only `low + k * step` for whole `k`, up to `high`.
    pub fn step(mut self, step: T) -> Self {
        self.step = Some(step);
        self
    }
}

/// Number types [`range`] draws: the primitive integers and floats.
pub trait RangeValue: Copy + PartialOrd + std::fmt::Debug + Send + Sync + 'static {
    /// A uniform value in the range (`step`, if any, already checked).
    #[doc(hidden)]
    fn draw(low: Self, high: Self, step: Option<Self>, rng: &mut SampleRng) -> Self;
    /// Why the bounds cannot be drawn from, if they cannot.
    #[doc(hidden)]
    fn problem(low: Self, high: Self, step: Option<Self>) -> Option<String>;
}

macro_rules! integer_range {
    ($($t:ty),*) => {$(
        impl RangeValue for $t {
            fn draw(low: Self, high: Self, step: Option<Self>, rng: &mut SampleRng) -> Self {
                // Work in i128 so every span of every integer type fits.
                let (lo, hi) = (low as i128, high as i128);
                let step = step.map_or(1, |s| s as i128);
                let count = (hi - lo) / step + 1;
                let k = if count > u64::MAX as i128 {
                    rng.next_u64() as i128
                } else {
                    rng.below(count as u64) as i128
                };
                (lo + k * step) as $t
            }
            fn problem(low: Self, high: Self, step: Option<Self>) -> Option<String> {
                if low > high {
                    return Some(format!("the range is empty: low {low} is above high {high}"));
                }
                match step {
                    Some(s) if s <= 0 as $t => Some(format!("step {s} is not positive")),
                    _ => None,
                }
            }
        }
    )*};
}

integer_range!(i8, i16, i32, i64, isize, u8, u16, u32, u64, usize);

macro_rules! float_range {
    ($($t:ty),*) => {$(
        impl RangeValue for $t {
            fn draw(low: Self, high: Self, step: Option<Self>, rng: &mut SampleRng) -> Self {
                match step {
                    Some(s) => {
                        let count = ((high - low) / s).floor() as u64 + 1;
                        low + rng.below(count) as $t * s
                    }
                    None => {
                        let x = low + (rng.unit_f64() as $t) * (high - low);
                        // Rounding can land exactly on `high`; keep the range half-open.
                        if x < high || low == high { x } else { low }
                    }
                }
            }
            fn problem(low: Self, high: Self, step: Option<Self>) -> Option<String> {
                if !(low.is_finite() && high.is_finite()) {
                    return Some(format!("the bounds {low} and {high} must be finite"));
                }
                if low > high {
                    return Some(format!("the range is empty: low {low} is above high {high}"));
                }
                match step {
                    Some(s) if !(s.is_finite() && s > 0.0) => {
                        Some(format!("step {s} is not a positive finite number"))
                    }
                    _ => None,
                }
            }
        }
    )*};
}

float_range!(f32, f64);

impl<T: RangeValue> Sampler for Range<T> {
    type Item = T;
    fn sample(&self, cx: &mut SampleContext) -> T {
        T::draw(self.low, self.high, self.step, &mut cx.rng)
    }
    fn check(&self) -> Result<(), SamplerError> {
        match T::problem(self.low, self.high, self.step) {
            Some(p) => Err(SamplerError::invalid(p)),
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_are_inclusive_and_cover_both_ends() {
        let r = range(1u8, 3);
        let mut rng = SampleContext::from_seed(1);
        let drawn: std::collections::BTreeSet<u8> = (0..200).map(|_| r.sample(&mut rng)).collect();
        assert_eq!(drawn.into_iter().collect::<Vec<_>>(), vec![1, 2, 3]);
    }

    #[test]
    fn full_width_ranges_work() {
        let mut rng = SampleContext::from_seed(1);
        let _ = range(i64::MIN, i64::MAX).sample(&mut rng);
        let _ = range(u64::MIN, u64::MAX).sample(&mut rng);
        assert_eq!(range(-5i32, -5).sample(&mut rng), -5);
    }

    #[test]
    fn steps_stay_on_the_grid() {
        let mut rng = SampleContext::from_seed(1);
        let r = range(5, 50).step(10);
        for _ in 0..100 {
            let x = r.sample(&mut rng);
            assert!([5, 15, 25, 35, 45].contains(&x), "{x}");
        }
        let f = range(0.0, 1.0).step(0.25);
        for _ in 0..100 {
            let x = f.sample(&mut rng);
            assert!([0.0, 0.25, 0.5, 0.75, 1.0].contains(&x), "{x}");
        }
    }

    #[test]
    fn floats_are_half_open() {
        let mut rng = SampleContext::from_seed(1);
        let r = range(-1.0f32, 1.0);
        for _ in 0..1000 {
            let x = r.sample(&mut rng);
            assert!((-1.0..1.0).contains(&x));
        }
    }

    #[test]
    fn bad_ranges_fail_check() {
        assert!(range(3, 1).check().unwrap_err().message.contains("empty"));
        assert!(
            range(1, 3)
                .step(0)
                .check()
                .unwrap_err()
                .message
                .contains("not positive")
        );
        assert!(
            range(0.0, f64::INFINITY)
                .check()
                .unwrap_err()
                .message
                .contains("finite")
        );
        assert!(range(0.0, 1.0).step(-0.5).check().is_err());
    }
}
