//! MinHash signatures of texts over their word shingles, and the LSH bands that find
//! candidate near-duplicates: what `distinct = 0.8` columns compare during a run, and
//! what `chatan::eval::MinHash` finds duplicates with after it.

use xxhash_rust::xxh3::xxh3_64;

use crate::distinct::normalize;
use crate::rng::SampleRng;

/// The Mersenne prime `2^61 - 1`, the modulus of the permutations.
const PRIME: u64 = (1 << 61) - 1;

/// Signs texts: `permutations` hash functions over the texts' word shingles, banded so
/// that a pair of texts whose Jaccard similarity is near `threshold` shares a band.
#[derive(Debug, Clone)]
pub struct Signer {
    threshold: f64,
    shingle: usize,
    bands: usize,
    band_rows: usize,
    /// `(a, b)` of each permutation `(a * h + b) mod PRIME`.
    permutations: Vec<(u64, u64)>,
}

impl Signer {
    /// For pairs of similarity `threshold` (in 0..=1), with `permutations` hash
    /// functions over shingles of `shingle` words.
    pub fn new(threshold: f64, permutations: usize, shingle: usize) -> Self {
        let threshold = threshold.clamp(0.0, 1.0);
        let permutations = permutations.max(1);
        let (bands, band_rows) = banding(threshold, permutations);
        // A fixed seed and chatan's own generator, whose algorithm is fixed: signatures
        // are the same in every run, on every machine and after dependency updates.
        let mut rng = SampleRng::from_seed(0x5EED_C4A7_A11D);
        let permutations = (0..permutations)
            .map(|_| (rng.below(PRIME - 1) + 1, rng.below(PRIME)))
            .collect();
        Signer {
            threshold,
            shingle: shingle.max(1),
            bands,
            band_rows,
            permutations,
        }
    }

    /// The similarity pairs are compared with.
    pub fn threshold(&self) -> f64 {
        self.threshold
    }

    /// The number of permutations.
    pub fn permutations(&self) -> usize {
        self.permutations.len()
    }

    /// The words a shingle has.
    pub fn shingle(&self) -> usize {
        self.shingle
    }

    /// `text`'s signature: for each permutation, the least permuted hash of its
    /// normalized word shingles (a text shorter than a shingle is one shingle; an empty
    /// text has none, and a signature of `u64::MAX`).
    pub fn signature(&self, text: &str) -> Vec<u64> {
        let mut signature = vec![u64::MAX; self.permutations.len()];
        for h in shingle_hashes(&normalize(text), self.shingle) {
            for (s, &(a, b)) in signature.iter_mut().zip(&self.permutations) {
                *s = (*s).min(permute(a, b, h));
            }
        }
        signature
    }

    /// The estimated Jaccard similarity of two signatures: the share of permutations
    /// where they agree.
    pub fn estimate(a: &[u64], b: &[u64]) -> f64 {
        let same = a.iter().zip(b).filter(|(x, y)| x == y).count();
        same as f64 / a.len().max(1) as f64
    }

    /// Whether two signatures' estimated similarity reaches the threshold.
    pub fn similar(&self, a: &[u64], b: &[u64]) -> bool {
        Self::estimate(a, b) >= self.threshold
    }

    /// A signature's bands, as `(band, hash of its rows)`: two texts whose signatures
    /// share one are candidates.
    pub fn band_keys<'a>(
        &'a self,
        signature: &'a [u64],
    ) -> impl Iterator<Item = (usize, u64)> + 'a {
        (0..self.bands).map(move |band| {
            let part = &signature[band * self.band_rows..][..self.band_rows];
            let bytes: Vec<u8> = part.iter().flat_map(|v| v.to_le_bytes()).collect();
            (band, xxh3_64(&bytes))
        })
    }
}

/// `(a * h + b) mod (2^61 - 1)`.
fn permute(a: u64, b: u64, h: u64) -> u64 {
    let x = u128::from(a) * u128::from(h % PRIME) + u128::from(b);
    let folded = (x & u128::from(PRIME)) + (x >> 61);
    let folded = (folded & u128::from(PRIME)) + (folded >> 61);
    (folded as u64) % PRIME
}

/// The hashes of normalized `text`'s shingles of `n` words (the whole text if it has
/// fewer words; none if it is empty).
pub fn shingle_hashes(text: &str, n: usize) -> Vec<u64> {
    let words: Vec<&str> = text.split(' ').filter(|w| !w.is_empty()).collect();
    if words.is_empty() {
        return Vec::new();
    }
    if words.len() < n {
        return vec![xxh3_64(text.as_bytes())];
    }
    words
        .windows(n)
        .map(|w| xxh3_64(w.join(" ").as_bytes()))
        .collect()
}

/// Bands and rows per band (their product at most `permutations`) whose S-curve turns
/// at `threshold`: the `(b, r)` minimising `|(1/b)^(1/r) - threshold|`, the similarity
/// at which a pair becomes a candidate with probability about one half.
fn banding(threshold: f64, permutations: usize) -> (usize, usize) {
    let mut best = (permutations, 1);
    let mut best_gap = f64::INFINITY;
    for r in 1..=permutations {
        let b = permutations / r;
        let turn = (1.0 / b as f64).powf(1.0 / r as f64);
        // Just below the threshold rather than above it: a miss costs more than a check.
        let gap = (turn - threshold).abs() + if turn > threshold { 0.05 } else { 0.0 };
        if gap < best_gap {
            best_gap = gap;
            best = (b, r);
        }
    }
    best
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_permutation_is_the_modular_formula() {
        for (a, b, h) in [
            (3, 5, 7),
            (PRIME - 1, PRIME - 1, u64::MAX),
            (1 << 40, 17, 1 << 63),
        ] {
            let expected = ((u128::from(a) * u128::from(h % PRIME) + u128::from(b))
                % u128::from(PRIME)) as u64;
            assert_eq!(permute(a, b, h), expected);
        }
    }

    #[test]
    fn banding_turns_near_the_threshold() {
        for threshold in [0.5, 0.7, 0.8, 0.9] {
            let (b, r) = banding(threshold, 128);
            assert!(b * r <= 128);
            let turn = (1.0 / b as f64).powf(1.0 / r as f64);
            assert!(
                (turn - threshold).abs() < 0.1,
                "{threshold}: {b}x{r} turns at {turn}"
            );
        }
    }
}
