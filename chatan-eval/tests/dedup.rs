//! Near-duplicates checked against the exact figures: MinHash estimates against the
//! exact Jaccard similarity of the same shingles, and the groups found on a corpus with
//! planted near-duplicates (recall and precision against the exact similarity).

use chatan_eval::{MinHash, exact_duplicates, jaccard};

use chatan::sample::SampleRng as Rng;

/// `below(&mut rng, n)` as an index.
fn below(rng: &mut Rng, n: usize) -> usize {
    rng.below(n as u64) as usize
}

/// Recall and precision of `groups` against `similar` (the exact figure reaching the
/// threshold): the share of `planted` pairs that are similar and in one group, and the
/// share of pairs put in one group that are similar. Also how many planted pairs are
/// similar.
fn recall_and_precision(
    groups: &[Vec<usize>],
    planted: &[(usize, usize)],
    similar: impl Fn(usize, usize) -> bool,
) -> (f64, f64, usize) {
    let (mut found, mut right) = (0, 0);
    for group in groups {
        for (k, &i) in group.iter().enumerate() {
            for &j in &group[k + 1..] {
                found += 1;
                right += usize::from(similar(i, j));
            }
        }
    }
    let truth: Vec<_> = planted.iter().filter(|(a, b)| similar(*a, *b)).collect();
    let recalled = truth
        .iter()
        .filter(|(a, b)| groups.iter().any(|g| g.contains(a) && g.contains(b)))
        .count();
    (
        recalled as f64 / truth.len() as f64,
        right as f64 / found.max(1) as f64,
        truth.len(),
    )
}

/// A text of `words` words drawn from a vocabulary of `vocabulary` words.
fn text(rng: &mut Rng, words: usize, vocabulary: usize) -> Vec<String> {
    (0..words)
        .map(|_| format!("w{}", below(rng, vocabulary)))
        .collect()
}

#[test]
fn minhash_estimates_are_within_the_error_the_permutations_predict() {
    let mut rng = Rng::from_seed(0x00C0_FFEE);
    let minhash = MinHash::with(0.5, 128, 3);
    let p = minhash.permutations() as f64;
    let (mut error, mut predicted, mut pairs) = (0.0, 0.0, 0);
    for _ in 0..400 {
        // A base text and a copy with a share of its words replaced: similarities
        // spread over 0..1.
        let words = 20 + below(&mut rng, 40);
        let base = text(&mut rng, words, 300);
        let mut copy = base.clone();
        let share = below(&mut rng, 100);
        for word in copy.iter_mut() {
            if below(&mut rng, 100) < share {
                *word = format!("w{}", below(&mut rng, 300));
            }
        }
        let (a, b) = (base.join(" "), copy.join(" "));
        let exact = jaccard(&a, &b, 3);
        let estimate = MinHash::estimate(&minhash.signature(&a), &minhash.signature(&b));
        let sigma = (exact * (1.0 - exact) / p).sqrt();
        // Four standard deviations, and one permutation's worth for exact 0 or 1.
        assert!(
            (estimate - exact).abs() <= 4.0 * sigma + 1.0 / p,
            "exact {exact:.4}, estimate {estimate:.4}, sigma {sigma:.4}"
        );
        error += (estimate - exact).abs();
        // The mean absolute deviation of a normal error is sigma * sqrt(2 / pi).
        predicted += sigma * (2.0 / std::f64::consts::PI).sqrt();
        pairs += 1;
    }
    let (error, predicted) = (error / pairs as f64, predicted / pairs as f64);
    println!(
        "{pairs} pairs, 128 permutations: mean |estimate - exact| {error:.4}, predicted {predicted:.4}"
    );
    assert!(error <= 1.25 * predicted, "{error} against {predicted}");
}

#[test]
fn planted_near_duplicates_are_found_with_their_recall_and_precision() {
    let mut rng = Rng::from_seed(0x0D0C_5EED);
    let mut texts: Vec<String> = (0..3000)
        .map(|_| {
            let words = 40 + below(&mut rng, 30);
            text(&mut rng, words, 5000).join(" ")
        })
        .collect();
    // 300 planted copies: one or two words replaced, so their similarity to the
    // original is about 0.75-0.85.
    let mut planted = Vec::new();
    for _ in 0..300 {
        let original = below(&mut rng, 3000);
        let mut words: Vec<String> = texts[original].split(' ').map(str::to_owned).collect();
        for _ in 0..1 + below(&mut rng, 2) {
            let at = below(&mut rng, words.len());
            words[at] = format!("x{}", below(&mut rng, 1000));
        }
        planted.push((original, texts.len()));
        texts.push(words.join(" "));
    }
    let threshold = 0.6;
    let duplicates = MinHash::new(threshold).duplicates(&texts);

    let (recall, precision, truth) = recall_and_precision(duplicates.groups(), &planted, |a, b| {
        jaccard(&texts[a], &texts[b], 3) >= threshold
    });
    println!(
        "{} texts, {} planted near-duplicates ({truth} at or above {threshold}): recall {recall:.3}, precision {precision:.3}",
        texts.len(),
        planted.len(),
    );
    assert!(truth >= 290, "the planted pairs are near-duplicates");
    assert!(recall >= 0.97, "recall {recall}");
    assert!(precision >= 0.97, "precision {precision}");
    // The deduplicated corpus keeps the first of each group: the originals, not the
    // planted copies.
    assert!(duplicates.removed().iter().all(|&i| i >= 3000));
    assert_eq!(
        duplicates.dedup(texts.clone()).len(),
        texts.len() - duplicates.removed().len()
    );
}

#[test]
fn exact_duplicates_compare_normalized_texts() {
    let texts = ["A cat.", "a  CAT", "a dog", "A cat!", "ﬁsh", "fish"];
    let d = exact_duplicates(&texts);
    assert_eq!(d.groups(), [vec![0, 1, 3], vec![4, 5]]);
    assert_eq!(d.kept(), [0, 2, 4]);
}

#[test]
fn planted_semantic_duplicates_are_found_against_the_exact_cosine() {
    // 2 000 random directions in 64 dimensions, and 200 copies of some of them with a
    // little noise (cosine about 0.95-0.99 to their original).
    let mut rng = Rng::from_seed(0x5E3A_271C);
    let mut gauss = || {
        let (u, v) = (rng.unit_f64(), rng.unit_f64());
        ((-2.0 * u.max(1e-300).ln()).sqrt() * (2.0 * std::f64::consts::PI * v).cos()) as f32
    };
    let mut embeddings: Vec<Vec<f32>> = (0..2000)
        .map(|_| (0..64).map(|_| gauss()).collect())
        .collect();
    let mut planted = Vec::new();
    for k in 0..200 {
        let original = (k * 7919) % 2000;
        let copy: Vec<f32> = embeddings[original]
            .iter()
            .map(|x| x + 0.2 * gauss())
            .collect();
        planted.push((original, embeddings.len()));
        embeddings.push(copy);
    }
    let cosine = |a: usize, b: usize| chatan_eval::cosine(&embeddings[a], &embeddings[b]);
    let threshold = 0.9;
    let duplicates = chatan_eval::semantic_duplicates(&embeddings, threshold);
    let (recall, precision, truth) = recall_and_precision(duplicates.groups(), &planted, |a, b| {
        cosine(a, b) >= threshold
    });
    println!(
        "{} embeddings, {} planted ({truth} at or above {threshold}): recall {recall:.3}, precision {precision:.3}",
        embeddings.len(),
        planted.len(),
    );
    assert!(truth >= 190);
    assert!(recall >= 0.97, "recall {recall}");
    assert!(precision >= 0.97, "precision {precision}");
}
