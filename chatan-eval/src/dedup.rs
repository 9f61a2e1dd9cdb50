//! Duplicates in a column of texts, the most common defect of synthetic data: the same
//! text after [`normalize`] ([`exact_duplicates`]), texts that share most of their word
//! shingles ([`MinHash::duplicates`]: MinHash signatures, LSH banding, and a check of
//! each candidate pair's estimated Jaccard similarity), and texts that mean the same
//! ([`semantic_duplicates`]: sentence embeddings, random-hyperplane LSH, and a check of
//! each candidate pair's cosine). All return [`Duplicates`]: the groups, and which rows
//! a deduplicated dataset keeps (the first of each group).
//!
//! Near-duplicates are found in time close to linear in the rows: a text's signature
//! costs its shingles times the permutations, and only texts that agree on a whole band
//! of the signature are compared. The estimate's error for `P` permutations is about
//! `sqrt(J (1 - J) / P)` (tested against the exact Jaccard similarity).
//!
//! Written here rather than taken from a crate: the MinHash crates on crates.io are
//! unmaintained since 2023 or younger than a year (gaoya, datasketch-minhash-lsh,
//! lshdedup-core), and what is needed is a hundred lines over `xxhash-rust`'s xxh3. The
//! signatures are chatan-core's, which `distinct = 0.8` columns use during a run.

use std::collections::{HashMap, HashSet};

use chatan_core::SampleRng;

use chatan_core::internal::{Signer, shingle_hashes};

pub use chatan_core::internal::normalize;

/// Groups of rows that duplicate each other, by index, and the deduplicated rows.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Duplicates {
    rows: usize,
    /// Each group's rows in ascending order, groups by their first row.
    groups: Vec<Vec<usize>>,
}

impl Duplicates {
    /// From sets of rows to join (any that share a row end up in one group).
    fn from_links(rows: usize, links: impl IntoIterator<Item = (usize, usize)>) -> Self {
        let mut parent: Vec<usize> = (0..rows).collect();
        fn root(parent: &mut [usize], mut i: usize) -> usize {
            while parent[i] != i {
                parent[i] = parent[parent[i]];
                i = parent[i];
            }
            i
        }
        for (a, b) in links {
            let (ra, rb) = (root(&mut parent, a), root(&mut parent, b));
            if ra != rb {
                parent[ra.max(rb)] = ra.min(rb);
            }
        }
        let mut by_root: HashMap<usize, Vec<usize>> = HashMap::new();
        for i in 0..rows {
            let r = root(&mut parent, i);
            by_root.entry(r).or_default().push(i);
        }
        let mut groups: Vec<Vec<usize>> = by_root.into_values().filter(|g| g.len() > 1).collect();
        groups.sort_unstable_by_key(|g| g[0]);
        Duplicates { rows, groups }
    }

    /// The groups of two or more rows, each in ascending order, by their first row.
    pub fn groups(&self) -> &[Vec<usize>] {
        &self.groups
    }

    /// The rows a deduplicated dataset leaves out: all but the first of each group,
    /// ascending.
    pub fn removed(&self) -> Vec<usize> {
        let mut removed: Vec<usize> = self.groups.iter().flat_map(|g| g[1..].to_vec()).collect();
        removed.sort_unstable();
        removed
    }

    /// The rows a deduplicated dataset keeps, ascending.
    pub fn kept(&self) -> Vec<usize> {
        let keep = self.keep();
        (0..self.rows).filter(|&i| keep[i]).collect()
    }

    /// `rows` (the rows these duplicates were found in) without the duplicates: the
    /// first row of each group stays, in the original order.
    ///
    /// # Panics
    /// If `rows` is not as long as the column the duplicates were found in.
    pub fn dedup<R>(&self, rows: Vec<R>) -> Vec<R> {
        assert_eq!(
            rows.len(),
            self.rows,
            "the rows the duplicates were found in"
        );
        rows.into_iter()
            .zip(self.keep())
            .filter_map(|(row, keep)| keep.then_some(row))
            .collect()
    }

    /// Whether each row stays.
    fn keep(&self) -> Vec<bool> {
        let mut keep = vec![true; self.rows];
        for group in &self.groups {
            for &i in &group[1..] {
                keep[i] = false;
            }
        }
        keep
    }
}

/// Rows whose texts are equal after [`normalize`].
///
/// ```
/// use chatan::eval::exact_duplicates;
///
/// let texts = ["Hello, world!", "something else", "hello world", "HELLO  WORLD"];
/// let duplicates = exact_duplicates(&texts);
/// assert_eq!(duplicates.groups(), [vec![0, 2, 3]]);
/// assert_eq!(duplicates.dedup(texts.to_vec()), ["Hello, world!", "something else"]);
/// ```
pub fn exact_duplicates<S: AsRef<str>>(texts: &[S]) -> Duplicates {
    let mut first: HashMap<String, usize> = HashMap::new();
    let mut links = Vec::new();
    for (i, text) in texts.iter().enumerate() {
        let key = normalize(text.as_ref());
        match first.get(&key) {
            Some(&j) => links.push((j, i)),
            None => {
                first.insert(key, i);
            }
        }
    }
    Duplicates::from_links(texts.len(), links)
}

/// Near-duplicate detection by MinHash over word shingles, with LSH banding.
///
/// ```
/// use chatan::eval::MinHash;
///
/// let texts = [
///     "the quick brown fox jumps over the lazy dog by the river bank today",
///     "the quick brown fox jumps over the lazy dog by the river bank tonight",
///     "an entirely different sentence about the price of bread in winter",
/// ];
/// let minhash = MinHash::new(0.7);
/// assert_eq!(minhash.duplicates(&texts).groups(), [vec![0, 1]]);
/// ```
#[derive(Debug, Clone)]
pub struct MinHash {
    signer: Signer,
}

impl MinHash {
    /// Pairs whose estimated Jaccard similarity of word 3-gram shingles is at least
    /// `threshold` (in 0..=1) are duplicates; 128 permutations, banded for the
    /// threshold.
    pub fn new(threshold: f64) -> Self {
        MinHash::with(threshold, 128, 3)
    }

    /// `permutations` hash functions (more: a finer estimate, slower), shingles of
    /// `shingle` words.
    pub fn with(threshold: f64, permutations: usize, shingle: usize) -> Self {
        MinHash {
            signer: Signer::new(threshold, permutations, shingle),
        }
    }

    /// The number of permutations.
    pub fn permutations(&self) -> usize {
        self.signer.permutations()
    }

    /// `text`'s signature: for each permutation, the least permuted hash of its
    /// [`normalize`]d word shingles (a text shorter than a shingle is one shingle; an
    /// empty text has none, and a signature of `u64::MAX`).
    pub fn signature(&self, text: &str) -> Vec<u64> {
        self.signer.signature(text)
    }

    /// The estimated Jaccard similarity of two signatures: the share of permutations
    /// where they agree.
    pub fn estimate(a: &[u64], b: &[u64]) -> f64 {
        Signer::estimate(a, b)
    }

    /// Rows whose texts' estimated similarity reaches the threshold, grouped (a group
    /// holds every row linked to another by such a pair).
    pub fn duplicates<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Duplicates {
        let signatures = self.signatures(texts);
        let mut buckets: HashMap<(usize, u64), Vec<usize>> = HashMap::new();
        for (i, signature) in signatures.iter().enumerate() {
            for key in self.signer.band_keys(signature) {
                buckets.entry(key).or_default().push(i);
            }
        }
        let links = links_within(&buckets, |i, j| {
            self.signer.similar(&signatures[i], &signatures[j])
        });
        Duplicates::from_links(texts.len(), links)
    }

    /// Every text's signature.
    fn signatures<S: AsRef<str> + Sync>(&self, texts: &[S]) -> Vec<Vec<u64>> {
        parallel_map(texts, |t| self.signature(t.as_ref()))
    }
}

/// `f` of each item, in order, on as many threads as the machine has cores.
fn parallel_map<T: Sync, U: Send>(items: &[T], f: impl Fn(&T) -> U + Sync) -> Vec<U> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    let chunk = items.len().div_ceil(threads).max(1);
    let f = &f;
    std::thread::scope(|scope| {
        let parts: Vec<_> = items
            .chunks(chunk)
            .map(|part| scope.spawn(move || part.iter().map(f).collect::<Vec<_>>()))
            .collect();
        parts
            .into_iter()
            .flat_map(|p| p.join().expect("a worker thread panicked"))
            .collect()
    })
}

/// The pairs of rows that share a bucket and pass `same`, each pair checked once.
fn links_within<K>(
    buckets: &HashMap<K, Vec<usize>>,
    same: impl Fn(usize, usize) -> bool,
) -> Vec<(usize, usize)> {
    let mut checked: HashSet<(usize, usize)> = HashSet::new();
    let mut links = Vec::new();
    for members in buckets.values().filter(|m| m.len() > 1) {
        for (k, &j) in members.iter().enumerate() {
            for &i in &members[..k] {
                if checked.insert((i, j)) && same(i, j) {
                    links.push((i, j));
                }
            }
        }
    }
    links
}

/// The exact Jaccard similarity of two texts' sets of word shingles (after
/// [`normalize`]), the figure [`MinHash`] estimates; 1.0 for two empty texts.
///
/// ```
/// use chatan::eval::jaccard;
///
/// // Shingles of 1 word: {a, b, c} and {b, c, d} share 2 of 4.
/// assert_eq!(jaccard("a b c", "b c d", 1), 0.5);
/// ```
pub fn jaccard(a: &str, b: &str, shingle: usize) -> f64 {
    let set = |t: &str| -> HashSet<u64> {
        shingle_hashes(&normalize(t), shingle.max(1))
            .into_iter()
            .collect()
    };
    let (a, b) = (set(a), set(b));
    if a.is_empty() && b.is_empty() {
        return 1.0;
    }
    a.intersection(&b).count() as f64 / a.union(&b).count() as f64
}

/// Rows whose sentence embeddings have a cosine similarity of at least `threshold`
/// (in -1..=1), grouped: duplicates by meaning, however worded. `embeddings` are the
/// rows' (from [`SemanticSimilarity::embed_texts`](crate::SemanticSimilarity), say, or
/// [`semantic_duplicates_of`]).
///
/// Close to linear in the rows: random-hyperplane LSH (each band is 16 signs of the
/// embedding against fixed random directions; as many bands as make a pair at the
/// threshold a candidate with probability 0.99, at most 128, which reach 0.99 down to a
/// threshold of about 0.83 and 0.96 at 0.8) picks candidate pairs, and each candidate's
/// exact cosine decides.
///
/// ```
/// use chatan::eval::semantic_duplicates;
///
/// let embeddings = [vec![1.0, 0.0, 0.2], vec![0.98, 0.05, 0.2], vec![0.0, 1.0, 0.0]];
/// assert_eq!(semantic_duplicates(&embeddings, 0.95).groups(), [vec![0, 1]]);
/// ```
pub fn semantic_duplicates(embeddings: &[Vec<f32>], threshold: f64) -> Duplicates {
    const BITS: usize = 16;
    let dims = embeddings.first().map_or(0, Vec::len);
    let unit: Vec<Vec<f32>> = embeddings
        .iter()
        .map(|e| {
            let norm = e.iter().map(|&x| x * x).sum::<f32>().sqrt();
            e.iter()
                .map(|&x| if norm > 0.0 { x / norm } else { 0.0 })
                .collect()
        })
        .collect();
    // A pair at angle t agrees on a random hyperplane's side with probability
    // 1 - t / pi; a band with all its BITS signs; one of `bands` bands for 0.99.
    let agree = 1.0 - threshold.clamp(-1.0, 1.0).acos() / std::f64::consts::PI;
    let band = agree.powi(BITS as i32);
    let bands = if band >= 1.0 {
        1
    } else {
        ((0.01f64).ln() / (1.0 - band).ln())
            .ceil()
            .clamp(1.0, 128.0) as usize
    };
    // Gaussian directions (Box-Muller over chatan's fixed generator).
    let mut rng = SampleRng::from_seed(0xD1CE_5EED);
    let mut uniform = || rng.unit_f64();
    let planes: Vec<Vec<f32>> = (0..bands * BITS)
        .map(|_| {
            (0..dims)
                .map(|_| {
                    let (u, v) = (uniform().max(f64::MIN_POSITIVE), uniform());
                    ((-2.0 * u.ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
                })
                .collect()
        })
        .collect();
    // Each row's band keys.
    let all_keys: Vec<Vec<u16>> = parallel_map(&unit, |e| {
        (0..bands)
            .map(|b| {
                let mut key = 0u16;
                for (bit, plane) in planes[b * BITS..][..BITS].iter().enumerate() {
                    key |= u16::from(dot(plane, e) >= 0.0) << bit;
                }
                key
            })
            .collect()
    });
    let mut buckets: HashMap<(usize, u16), Vec<usize>> = HashMap::new();
    for (i, row) in all_keys.iter().enumerate() {
        for (b, &key) in row.iter().enumerate() {
            buckets.entry((b, key)).or_default().push(i);
        }
    }
    let cosine = |i: usize, j: usize| f64::from(dot(&unit[i], &unit[j]));
    let links = links_within(&buckets, |i, j| cosine(i, j) >= threshold);
    Duplicates::from_links(embeddings.len(), links)
}

/// The dot product of two vectors, in eight lanes (so that it vectorizes), added in a
/// fixed order.
fn dot(a: &[f32], b: &[f32]) -> f32 {
    let mut lanes = [0f32; 8];
    let (a8, b8) = (a.chunks_exact(8), b.chunks_exact(8));
    let tail: f32 = a8
        .remainder()
        .iter()
        .zip(b8.remainder())
        .map(|(x, y)| x * y)
        .sum();
    for (x, y) in a8.zip(b8) {
        for k in 0..8 {
            lanes[k] += x[k] * y[k];
        }
    }
    lanes.iter().sum::<f32>() + tail
}

/// [`semantic_duplicates`] of `texts`, embedded by `embedder` (`chatan::eval::Embedder`,
/// feature `local`).
pub fn semantic_duplicates_of<E: crate::SemanticSimilarity + ?Sized>(
    embedder: &E,
    texts: &[&str],
    threshold: f64,
) -> Result<Duplicates, chatan_core::Error> {
    Ok(semantic_duplicates(
        &embedder.embed_texts(texts)?,
        threshold,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_join_transitively_and_keep_the_first() {
        let d = Duplicates::from_links(6, [(4, 1), (1, 3), (2, 5)]);
        assert_eq!(d.groups(), [vec![1, 3, 4], vec![2, 5]]);
        assert_eq!(d.removed(), [3, 4, 5]);
        assert_eq!(d.kept(), [0, 1, 2]);
        assert_eq!(d.dedup(vec!['a', 'b', 'c', 'd', 'e', 'f']), ['a', 'b', 'c']);
    }

    #[test]
    fn empty_and_short_texts() {
        let m = MinHash::new(0.8);
        assert_eq!(m.signature(""), vec![u64::MAX; 128]);
        assert_eq!(m.signature("Hi!"), m.signature("hi"));
        assert_eq!(
            m.duplicates(&["", " ", "hi", "HI", "ho"]).groups(),
            [vec![0, 1], vec![2, 3]]
        );
        assert_eq!(jaccard("", "", 3), 1.0);
    }
}
