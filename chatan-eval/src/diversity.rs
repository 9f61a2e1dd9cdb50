//! How varied a column's texts are, so two recipes can be compared on more than a
//! judge's mean:
//!
//! - [`distinct_n`]: distinct n-grams over all n-grams of the column (Li et al. 2016,
//!   "A Diversity-Promoting Objective Function for Neural Conversation Models"); 1.0
//!   when no n-gram repeats anywhere;
//! - [`self_bleu`]: each text's BLEU-4 against all the others as references, averaged
//!   (Zhu et al. 2018, Texygen); high when the texts say the same things the same way.
//!   Each score is NLTK's `sentence_bleu(others, text)` ([`sentence_bleu`]);
//! - [`mean_pairwise_cosine`]: the mean cosine similarity of every two texts' sentence
//!   embeddings; high when the texts mean the same things, however worded.
//!
//! Texts are split on whitespace, as [`bleu`](crate::bleu) splits them.

use std::collections::HashSet;

use super::{Smoothing, sentence_bleu};

/// Distinct-n of `texts`: how many different n-grams (of whitespace-separated tokens)
/// they hold, over how many n-grams they hold, counting across every text (a text
/// shorter than `n` tokens adds none). 0.0 when there is no n-gram at all.
///
/// ```
/// use chatan::eval::distinct_n;
///
/// let texts = ["the cat sat", "the cat ran"];
/// assert_eq!(distinct_n(&texts, 1), 4.0 / 6.0); // the, cat, sat, ran of 6 words
/// assert_eq!(distinct_n(&texts, 2), 3.0 / 4.0); // "the cat" twice
/// ```
pub fn distinct_n<S: AsRef<str>>(texts: &[S], n: usize) -> f64 {
    let n = n.max(1);
    let mut seen: HashSet<Vec<&str>> = HashSet::new();
    let mut total = 0usize;
    for text in texts {
        let tokens: Vec<&str> = text.as_ref().split_whitespace().collect();
        for gram in tokens.windows(n) {
            total += 1;
            if !seen.contains(gram) {
                seen.insert(gram.to_vec());
            }
        }
    }
    if total == 0 {
        return 0.0;
    }
    seen.len() as f64 / total as f64
}

/// Each text's sentence BLEU-4 against all the other texts as its references (NLTK's
/// `sentence_bleu(others, text)`), in order. A lone text has no references and scores
/// 0. Costs one BLEU per text over every other text: quadratic in the texts.
pub fn self_bleu_scores<S: AsRef<str>>(texts: &[S], smoothing: Smoothing) -> Vec<f64> {
    let tokens: Vec<Vec<&str>> = texts
        .iter()
        .map(|t| t.as_ref().split_whitespace().collect())
        .collect();
    (0..tokens.len())
        .map(|i| {
            let others: Vec<&[&str]> = tokens
                .iter()
                .enumerate()
                .filter(|&(j, _)| j != i)
                .map(|(_, t)| t.as_slice())
                .collect();
            sentence_bleu(&others, &tokens[i], smoothing)
        })
        .collect()
}

/// Self-BLEU of `texts`: the mean of [`self_bleu_scores`] (NaN for no texts).
///
/// ```
/// use chatan::eval::{Smoothing, self_bleu};
///
/// let same = ["the cat sat on the mat"; 3];
/// assert_eq!(self_bleu(&same, Smoothing::None), 1.0);
/// let varied = ["the cat sat on the mat", "a storm rolled in at noon", "prices rose again"];
/// assert!(self_bleu(&varied, Smoothing::Method1) < 0.1);
/// ```
pub fn self_bleu<S: AsRef<str>>(texts: &[S], smoothing: Smoothing) -> f64 {
    let scores = self_bleu_scores(texts, smoothing);
    scores.iter().sum::<f64>() / scores.len() as f64
}

/// For each embedding, its mean cosine similarity to every other one, in order (0 for a
/// lone one); a zero vector's cosine is 0.
pub fn pairwise_cosines(embeddings: &[Vec<f32>]) -> Vec<f64> {
    let unit: Vec<Vec<f64>> = embeddings
        .iter()
        .map(|e| {
            let norm = e.iter().map(|&x| f64::from(x).powi(2)).sum::<f64>().sqrt();
            e.iter()
                .map(|&x| if norm > 0.0 { f64::from(x) / norm } else { 0.0 })
                .collect()
        })
        .collect();
    let n = unit.len();
    let mut sums = vec![0f64; n];
    for i in 0..n {
        for j in i + 1..n {
            let cos: f64 = unit[i].iter().zip(&unit[j]).map(|(a, b)| a * b).sum();
            sums[i] += cos;
            sums[j] += cos;
        }
    }
    let others = n.saturating_sub(1).max(1) as f64;
    sums.into_iter().map(|s| s / others).collect()
}

/// The mean cosine similarity over every two of `embeddings` (NaN for none, 0 for one).
///
/// ```
/// use chatan::eval::mean_pairwise_cosine;
///
/// let e = [vec![1.0, 0.0], vec![0.0, 1.0], vec![1.0, 1.0]];
/// let expected = (0.0 + 2f64.sqrt() / 2.0 + 2f64.sqrt() / 2.0) / 3.0;
/// assert!((mean_pairwise_cosine(&e) - expected).abs() < 1e-12);
/// ```
pub fn mean_pairwise_cosine(embeddings: &[Vec<f32>]) -> f64 {
    let each = pairwise_cosines(embeddings);
    each.iter().sum::<f64>() / each.len() as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cosine;

    #[test]
    fn distinct_n_counts_across_texts_and_skips_short_ones() {
        assert_eq!(distinct_n(&["a a a a"], 1), 0.25);
        assert_eq!(distinct_n(&["a b", "c"], 2), 1.0);
        assert_eq!(distinct_n(&["a", "b"], 2), 0.0);
        assert_eq!(distinct_n::<&str>(&[], 1), 0.0);
        // n = 0 is taken as 1.
        assert_eq!(distinct_n(&["a b a"], 0), distinct_n(&["a b a"], 1));
    }

    #[test]
    fn self_bleu_is_each_texts_bleu_against_the_others() {
        let texts = ["the cat sat on the mat", "the cat sat on a mat", "dogs run"];
        let scores = self_bleu_scores(&texts, Smoothing::Method1);
        let others: Vec<Vec<&str>> = [texts[1], texts[2]]
            .iter()
            .map(|t| t.split_whitespace().collect())
            .collect();
        let first: Vec<&str> = texts[0].split_whitespace().collect();
        assert_eq!(
            scores[0],
            sentence_bleu(&others, &first, Smoothing::Method1)
        );
        assert_eq!(self_bleu_scores(&["alone"], Smoothing::None), [0.0]);
        assert!(self_bleu::<&str>(&[], Smoothing::None).is_nan());
    }

    #[test]
    fn pairwise_cosines_average_every_other_text() {
        let e = vec![
            vec![1.0, 0.0],
            vec![0.0, 2.0],
            vec![3.0, 3.0],
            vec![0.0, 0.0],
        ];
        let each = pairwise_cosines(&e);
        for (i, got) in each.iter().enumerate() {
            let expected: f64 = (0..e.len())
                .filter(|&j| j != i)
                .map(|j| cosine(&e[i], &e[j]))
                .sum::<f64>()
                / 3.0;
            assert!((got - expected).abs() < 1e-12, "{i}: {got} vs {expected}");
        }
        assert_eq!(pairwise_cosines(&[vec![1.0]]), [0.0]);
        assert!(mean_pairwise_cosine(&[]).is_nan());
    }
}
