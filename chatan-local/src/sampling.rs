//! Choosing the next token from a model's logits: repetition penalty, then greedy
//! (temperature 0) or sampling at a temperature from the `top_k` most likely tokens
//! and the smallest set whose probability reaches `top_p`. Each sequence has its own
//! random stream, seeded from its cell, so its tokens do not depend on what else runs.

use chatan_core::SampleRng;

/// How a sequence picks its tokens.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Sampling {
    pub(crate) temperature: f64,
    pub(crate) top_k: Option<usize>,
    pub(crate) top_p: Option<f64>,
    /// Logits of tokens seen in the last `repeat_window` positions are divided by this
    /// (multiplied, when negative); 1.0 turns it off.
    pub(crate) repeat_penalty: f32,
    pub(crate) repeat_window: usize,
}

/// One sequence's sampler.
pub(crate) struct Sampler {
    sampling: Sampling,
    rng: SampleRng,
}

impl Sampler {
    pub(crate) fn new(sampling: Sampling, seed: u64) -> Self {
        Sampler {
            sampling,
            rng: SampleRng::from_seed(seed),
        }
    }

    /// The next token after `history`, given the logits over the vocabulary.
    pub(crate) fn next(&mut self, logits: &[f32], history: &[u32]) -> u32 {
        let s = &self.sampling;
        let mut logits = logits.to_vec();
        if s.repeat_penalty != 1.0 {
            let start = history.len().saturating_sub(s.repeat_window);
            let mut seen = history[start..].to_vec();
            seen.sort_unstable();
            seen.dedup();
            for token in seen {
                if let Some(l) = logits.get_mut(token as usize) {
                    *l = if *l >= 0.0 {
                        *l / s.repeat_penalty
                    } else {
                        *l * s.repeat_penalty
                    };
                }
            }
        }
        if s.temperature <= 1e-7 || s.top_k == Some(1) {
            return argmax(&logits);
        }
        // Candidates, most likely first.
        let mut candidates: Vec<(u32, f32)> = logits
            .iter()
            .enumerate()
            .filter(|(_, l)| l.is_finite())
            .map(|(i, &l)| (i as u32, l))
            .collect();
        if candidates.is_empty() {
            return argmax(&logits);
        }
        let by_logit = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
        if let Some(k) = s.top_k.filter(|&k| k > 0 && k < candidates.len()) {
            candidates.select_nth_unstable_by(k - 1, by_logit);
            candidates.truncate(k);
            candidates.sort_unstable_by(by_logit);
        }
        let top = candidates
            .iter()
            .map(|c| c.1)
            .fold(f32::NEG_INFINITY, f32::max);
        let inverse = 1.0 / s.temperature;
        let weight = |l: f32| ((f64::from(l) - f64::from(top)) * inverse).exp();
        if let Some(p) = s.top_p.filter(|&p| p < 1.0) {
            // Tokens below 1e-12 of the top one cannot change which tokens make up `p`
            // (a vocabulary's worth of them weighs less than 1e-7): the sort skips them.
            candidates.retain(|c| weight(c.1) > 1e-12);
            candidates.sort_unstable_by(by_logit);
            let total: f64 = candidates.iter().map(|c| weight(c.1)).sum();
            let mut cumulative = 0.0;
            let mut keep = candidates.len();
            for (i, c) in candidates.iter().enumerate() {
                cumulative += weight(c.1) / total;
                if cumulative >= p {
                    keep = i + 1;
                    break;
                }
            }
            candidates.truncate(keep);
        }
        let weights: Vec<f64> = candidates.iter().map(|c| weight(c.1)).collect();
        let total: f64 = weights.iter().sum();
        let mut draw = uniform(&mut self.rng) * total;
        for (i, w) in weights.iter().enumerate() {
            if draw < *w {
                return candidates[i].0;
            }
            draw -= w;
        }
        candidates[weights.len() - 1].0
    }
}

/// The first index of the largest logit.
fn argmax(logits: &[f32]) -> u32 {
    let mut best = 0;
    for (i, l) in logits.iter().enumerate() {
        if *l > logits[best] {
            best = i;
        }
    }
    best as u32
}

/// A uniform draw in `[0, 1)`.
fn uniform(rng: &mut SampleRng) -> f64 {
    (rng.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampling(temperature: f64) -> Sampling {
        Sampling {
            temperature,
            top_k: None,
            top_p: None,
            repeat_penalty: 1.0,
            repeat_window: 64,
        }
    }

    #[test]
    fn greedy_takes_the_largest_logit() {
        let mut s = Sampler::new(sampling(0.0), 1);
        assert_eq!(s.next(&[0.1, 2.0, 1.9, -3.0], &[]), 1);
    }

    #[test]
    fn the_repetition_penalty_lowers_seen_tokens() {
        let mut s = Sampler::new(
            Sampling {
                repeat_penalty: 1.5,
                ..sampling(0.0)
            },
            1,
        );
        // 2.0 / 1.5 < 1.9: the seen token 1 loses to token 2.
        assert_eq!(s.next(&[0.1, 2.0, 1.9, -3.0], &[1]), 2);
    }

    #[test]
    fn top_k_and_top_p_bound_the_candidates() {
        let logits = [5.0, 4.9, 4.8, -10.0, 4.7];
        let mut k = Sampler::new(
            Sampling {
                top_k: Some(2),
                ..sampling(1.0)
            },
            7,
        );
        let mut p = Sampler::new(
            Sampling {
                // The top token alone has probability 0.29.
                top_p: Some(0.25),
                ..sampling(1.0)
            },
            7,
        );
        for _ in 0..200 {
            assert!(k.next(&logits, &[]) < 2);
            assert_eq!(
                p.next(&logits, &[]),
                0,
                "0.3 is reached by the top token alone"
            );
        }
    }

    #[test]
    fn sampling_is_a_function_of_the_seed() {
        let logits: Vec<f32> = (0..50).map(|i| (i % 7) as f32 * 0.3).collect();
        let draw = |seed| {
            let mut s = Sampler::new(sampling(1.0), seed);
            (0..20).map(|_| s.next(&logits, &[])).collect::<Vec<_>>()
        };
        assert_eq!(draw(3), draw(3));
        assert_ne!(draw(3), draw(4));
    }
}
