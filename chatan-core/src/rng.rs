//! The random source of samplers, and how each cell's stream is derived from the seed.
//!
//! Every sampled cell gets its own generator, seeded from `(seed, row, column name)`. So
//! the value of row `i` in column `c` is a pure function of the run's seed, `i` and `c`:
//! it does not depend on concurrency, on timing, on which other rows ran (shards and
//! resumes give the same samples), or on what other columns the recipe has.
//!
//! The algorithm is fixed here (SplitMix64 to seed, xoshiro256++ to draw) rather than
//! borrowed from `rand`, whose generators and range algorithms may change between
//! versions: a dataset's samples should not change because a dependency was updated.

use std::convert::Infallible;

/// A small, fast, seedable random number generator handed to [`Sampler`]s.
///
/// It also implements `rand`'s [`TryRng`](rand::TryRng) (and so [`rand::Rng`] and
/// [`rand::RngExt`]), so samplers can use any `rand` distribution.
///
/// ```
/// use chatan::sample::SampleRng;
///
/// let mut a = SampleRng::from_seed(7);
/// let mut b = SampleRng::from_seed(7);
/// assert_eq!(a.next_u64(), b.next_u64());
/// assert!(a.below(10) < 10);
/// ```
///
/// [`Sampler`]: crate::Sampler
#[derive(Debug, Clone)]
pub struct SampleRng {
    s: [u64; 4],
}

const GOLDEN: u64 = 0x9E37_79B9_7F4A_7C15;

/// The SplitMix64 output function: a strong 64-bit mixer.
const fn mix(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// FNV-1a of a column name: the column's part of its cells' seeds, so renaming a column
/// changes its samples but reordering or adding columns does not.
pub const fn column_key(name: &str) -> u64 {
    let bytes = name.as_bytes();
    let mut hash: u64 = 0xcbf2_9ce4_8422_2325;
    let mut i = 0;
    while i < bytes.len() {
        hash ^= bytes[i] as u64;
        hash = hash.wrapping_mul(0x0000_0100_0000_01b3);
        i += 1;
    }
    hash
}

impl SampleRng {
    /// A generator seeded from one `u64`.
    pub fn from_seed(seed: u64) -> Self {
        let mut x = seed;
        // Standard SplitMix64 seeding, as the xoshiro authors recommend.
        let mut next = || {
            x = x.wrapping_add(GOLDEN);
            mix(x)
        };
        SampleRng {
            s: [next(), next(), next(), next()],
        }
    }

    /// The generator of one cell.
    pub(crate) fn for_cell(seed: u64, row: u64, column_key: u64) -> Self {
        Self::from_seed(mix(seed ^ mix(column_key ^ mix(row.wrapping_add(GOLDEN)))))
    }

    /// The next 64 random bits (xoshiro256++).
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// The next 32 random bits.
    pub fn next_u32(&mut self) -> u32 {
        (self.next_u64() >> 32) as u32
    }

    /// A uniform integer in `0..n`, without modulo bias (Lemire's method).
    ///
    /// # Panics
    ///
    /// If `n` is zero.
    pub fn below(&mut self, n: u64) -> u64 {
        assert!(n > 0, "SampleRng::below(0)");
        let threshold = n.wrapping_neg() % n;
        loop {
            let m = u128::from(self.next_u64()) * u128::from(n);
            if (m as u64) >= threshold {
                return (m >> 64) as u64;
            }
        }
    }

    /// A uniform float in `[0, 1)` with 53 random bits.
    pub fn unit_f64(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Fills `dest` with random bytes.
    pub fn fill_bytes(&mut self, dest: &mut [u8]) {
        for chunk in dest.chunks_mut(8) {
            let bytes = self.next_u64().to_le_bytes();
            chunk.copy_from_slice(&bytes[..chunk.len()]);
        }
    }
}

impl rand::TryRng for SampleRng {
    type Error = Infallible;

    fn try_next_u32(&mut self) -> Result<u32, Infallible> {
        Ok(self.next_u32())
    }

    fn try_next_u64(&mut self) -> Result<u64, Infallible> {
        Ok(self.next_u64())
    }

    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Infallible> {
        self.fill_bytes(dst);
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_same_stream_and_different_seed_different_stream() {
        let a: Vec<u64> = (0..8)
            .map({
                let mut r = SampleRng::from_seed(1);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..8)
            .map({
                let mut r = SampleRng::from_seed(1);
                move |_| r.next_u64()
            })
            .collect();
        let c: Vec<u64> = (0..8)
            .map({
                let mut r = SampleRng::from_seed(2);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(a, c);
    }

    #[test]
    fn the_stream_is_pinned() {
        // The algorithm is part of the reproducibility promise: this must never change.
        // Values from an independent implementation of SplitMix64-seeded xoshiro256++.
        let mut r = SampleRng::from_seed(0);
        assert_eq!(r.next_u64(), 0x53175d61490b23df);
        assert_eq!(r.next_u64(), 0x61da6f3dc380d507);
    }

    #[test]
    fn cells_differ_by_row_and_column() {
        let k = column_key("topic");
        let first = |row, key| SampleRng::for_cell(9, row, key).next_u64();
        assert_eq!(first(3, k), first(3, k));
        assert_ne!(first(3, k), first(4, k));
        assert_ne!(first(3, k), first(3, column_key("id")));
    }

    #[test]
    fn below_is_in_range_and_roughly_uniform() {
        let mut r = SampleRng::from_seed(5);
        let mut counts = [0u32; 6];
        for _ in 0..60_000 {
            counts[r.below(6) as usize] += 1;
        }
        for c in counts {
            assert!((9_000..11_000).contains(&c), "{counts:?}");
        }
    }

    #[test]
    fn unit_is_in_range() {
        let mut r = SampleRng::from_seed(5);
        for _ in 0..10_000 {
            let x = r.unit_f64();
            assert!((0.0..1.0).contains(&x));
        }
    }

    #[test]
    fn works_with_rand_distributions() {
        use rand::RngExt;
        let mut r = SampleRng::from_seed(5);
        let x: u8 = r.random_range(10..20);
        assert!((10..20).contains(&x));
    }
}
