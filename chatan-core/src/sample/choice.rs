//! `choice` and `weighted`: one value of a list.

use std::collections::{BTreeMap, HashMap};

use super::Sampler;
use super::{SampleContext, SamplerError};

/// One of `items`, uniformly; or, given a map of item to weight, by weight.
///
/// ```
/// use chatan::sample;
/// use chatan::sample::{SampleContext, Sampler};
/// use std::collections::HashMap;
///
/// let topic = sample::choice(["san antonio, tx", "marfa, tx", "paris, fr"]);
/// let mut rng = SampleContext::from_seed(1);
/// assert!(["san antonio, tx", "marfa, tx", "paris, fr"].contains(&topic.sample(&mut rng)));
///
/// let level = sample::choice(HashMap::from([("easy", 3.0), ("hard", 1.0)]));
/// assert!(["easy", "hard"].contains(&level.sample(&mut rng)));
/// ```
pub fn choice<T, C: IntoChoices<T>>(items: C) -> Choice<T> {
    Choice(items.into_choices())
}

/// What [`choice`] accepts: an array or `Vec` (uniform), or a map of item to weight.
pub trait IntoChoices<T> {
    /// The items with their weights, in a deterministic order.
    fn into_choices(self) -> Weighted<T>;
}

impl<T, const N: usize> IntoChoices<T> for [T; N] {
    fn into_choices(self) -> Weighted<T> {
        Weighted::uniform(self.into())
    }
}

impl<T> IntoChoices<T> for Vec<T> {
    fn into_choices(self) -> Weighted<T> {
        Weighted::uniform(self)
    }
}

impl<T: Ord, W: Into<f64>> IntoChoices<T> for HashMap<T, W> {
    fn into_choices(self) -> Weighted<T> {
        weighted(self)
    }
}

impl<T: Ord, W: Into<f64>> IntoChoices<T> for BTreeMap<T, W> {
    fn into_choices(self) -> Weighted<T> {
        weighted(self)
    }
}

/// What [`weighted`] accepts: item–weight pairs in an array or `Vec` (in their order), or
/// a map of item to weight. A `HashMap`'s pairs are sorted by item first, so the draws of
/// a seeded run do not depend on the map's random iteration order.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot give weighted items",
    label = "expected item-weight pairs",
    note = "pass an array or `Vec` of `(item, weight)` pairs, a `BTreeMap`, or a `HashMap` whose items are `Ord` (they are sorted, so that a seeded run is reproducible)"
)]
pub trait IntoWeights<T> {
    /// The pairs, in a deterministic order.
    fn into_pairs(self) -> Vec<(T, f64)>;
}

impl<T, W: Into<f64>, const N: usize> IntoWeights<T> for [(T, W); N] {
    fn into_pairs(self) -> Vec<(T, f64)> {
        self.into_iter().map(|(t, w)| (t, w.into())).collect()
    }
}

impl<T, W: Into<f64>> IntoWeights<T> for Vec<(T, W)> {
    fn into_pairs(self) -> Vec<(T, f64)> {
        self.into_iter().map(|(t, w)| (t, w.into())).collect()
    }
}

impl<T: Ord, W: Into<f64>> IntoWeights<T> for HashMap<T, W> {
    fn into_pairs(self) -> Vec<(T, f64)> {
        let mut pairs: Vec<(T, f64)> = self.into_iter().map(|(t, w)| (t, w.into())).collect();
        pairs.sort_by(|a, b| a.0.cmp(&b.0));
        pairs
    }
}

impl<T: Ord, W: Into<f64>> IntoWeights<T> for BTreeMap<T, W> {
    fn into_pairs(self) -> Vec<(T, f64)> {
        self.into_iter().map(|(t, w)| (t, w.into())).collect()
    }
}

/// See [`choice`].
#[derive(Debug, Clone)]
pub struct Choice<T>(Weighted<T>);

impl<T: Clone + Send + Sync> Sampler for Choice<T> {
    type Item = T;
    fn sample(&self, cx: &mut SampleContext) -> T {
        self.0.sample(cx)
    }
    fn check(&self) -> Result<(), SamplerError> {
        self.0.check()
    }
}

/// One of the items, each with probability proportional to its weight.
///
/// ```
/// use chatan::sample;
/// use chatan::sample::{SampleContext, Sampler};
///
/// let difficulty = sample::weighted([("easy", 0.7), ("hard", 0.3)]);
/// let d = difficulty.sample(&mut SampleContext::from_seed(3));
/// assert!(d == "easy" || d == "hard");
/// ```
pub fn weighted<T>(pairs: impl IntoWeights<T>) -> Weighted<T> {
    let mut items = Vec::new();
    let mut cumulative = Vec::new();
    let mut total = 0.0;
    let mut problem = None;
    for (item, w) in pairs.into_pairs() {
        if !(w.is_finite() && w >= 0.0) && problem.is_none() {
            problem = Some(format!(
                "weight {w} of item {} is not a finite number >= 0",
                items.len()
            ));
        }
        total += w.max(0.0);
        items.push(item);
        cumulative.push(total);
    }
    Weighted {
        items,
        cumulative,
        uniform: false,
        problem,
    }
}

/// See [`weighted`].
#[derive(Debug, Clone)]
pub struct Weighted<T> {
    items: Vec<T>,
    cumulative: Vec<f64>,
    uniform: bool,
    problem: Option<String>,
}

impl<T> Weighted<T> {
    fn uniform(items: Vec<T>) -> Self {
        Weighted {
            items,
            cumulative: Vec::new(),
            uniform: true,
            problem: None,
        }
    }
}

impl<T: Clone + Send + Sync> Sampler for Weighted<T> {
    type Item = T;
    fn sample(&self, cx: &mut SampleContext) -> T {
        if self.uniform {
            return self.items[cx.rng.below(self.items.len() as u64) as usize].clone();
        }
        let total = *self.cumulative.last().expect("checked non-empty");
        let x = cx.rng.unit_f64() * total;
        // First item whose cumulative weight exceeds x; zero-weight items never win.
        let i = self.cumulative.partition_point(|&c| c <= x);
        self.items[i.min(self.items.len() - 1)].clone()
    }

    fn check(&self) -> Result<(), SamplerError> {
        if let Some(p) = &self.problem {
            return Err(SamplerError::invalid(p.clone()));
        }
        if self.items.is_empty() {
            return Err(SamplerError::empty(
                "there is nothing to choose from: the list is empty",
            ));
        }
        if !self.uniform && self.cumulative.last().is_none_or(|&t| t <= 0.0) {
            return Err(SamplerError::invalid("the weights add up to zero"));
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts<S: Sampler<Item = &'static str>>(s: &S, n: usize) -> HashMap<&'static str, usize> {
        let mut rng = SampleContext::from_seed(11);
        let mut out = HashMap::new();
        for _ in 0..n {
            *out.entry(s.sample(&mut rng)).or_insert(0) += 1;
        }
        out
    }

    #[test]
    fn choice_covers_every_item() {
        let c = choice(["a", "b", "c"]);
        c.check().unwrap();
        let n = counts(&c, 3000);
        for k in ["a", "b", "c"] {
            assert!((800..1200).contains(&n[k]), "{n:?}");
        }
    }

    #[test]
    fn weights_are_respected_and_zero_weight_never_drawn() {
        let w = weighted([("a", 3.0), ("never", 0.0), ("b", 1.0)]);
        w.check().unwrap();
        let n = counts(&w, 4000);
        assert!(!n.contains_key("never"));
        assert!((2800..3200).contains(&n["a"]), "{n:?}");
    }

    #[test]
    fn map_of_weights_is_order_independent() {
        let a = choice(HashMap::from([("x", 1.0), ("y", 2.0), ("z", 3.0)]));
        let b = choice(HashMap::from([("z", 3.0), ("x", 1.0), ("y", 2.0)]));
        let draw = |s: &Choice<&'static str>| {
            let mut rng = SampleContext::from_seed(4);
            (0..50).map(|_| s.sample(&mut rng)).collect::<Vec<_>>()
        };
        assert_eq!(draw(&a), draw(&b));
    }

    #[test]
    fn weights_in_a_hash_map_draw_the_same_whatever_its_iteration_order() {
        // Each map has its own random hasher, so the rebuilds iterate in different orders.
        let draw = || {
            let map: HashMap<String, f64> = (0..12)
                .map(|i| (format!("item {i}"), 1.0 + i as f64))
                .collect();
            let sampler = weighted(map);
            let mut cx = SampleContext::from_seed(9);
            (0..40).map(|_| sampler.sample(&mut cx)).collect::<Vec<_>>()
        };
        let first = draw();
        for _ in 0..20 {
            assert_eq!(draw(), first);
        }
    }

    #[test]
    fn bad_inputs_fail_check() {
        assert!(
            choice(Vec::<&str>::new())
                .check()
                .unwrap_err()
                .message
                .contains("empty")
        );
        assert!(
            weighted([("a", 0.0)])
                .check()
                .unwrap_err()
                .message
                .contains("zero")
        );
        assert!(
            weighted([("a", -1.0)])
                .check()
                .unwrap_err()
                .message
                .contains("-1")
        );
        assert!(
            weighted([("a", f64::NAN)])
                .check()
                .unwrap_err()
                .message
                .contains("NaN")
        );
    }
}
