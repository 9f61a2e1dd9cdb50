//! BLEU as NLTK computes it (`nltk.translate.bleu_score`): modified n-gram precisions for
//! n = 1..4 with uniform weights, clipped by the most any one reference has, and the
//! brevity penalty against the reference length closest to the hypothesis' (the shorter
//! on a tie). Corpus BLEU sums the counts and lengths over sentences before dividing;
//! sentence BLEU is corpus BLEU of one sentence.
//!
//! Without smoothing, NLTK scores 0 when no unigram matches; when only a higher order
//! has no match it uses the smallest positive float for that precision (so the score is
//! tiny but not zero) — reproduced here. [`Smoothing::Method1`] is NLTK's `method1`
//! (epsilon 0.1 added to zero counts).

use std::collections::HashMap;

/// How precisions with no matching n-gram are treated.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum Smoothing {
    /// NLTK's default (`method0`): none.
    #[default]
    None,
    /// NLTK's `method1`: a zero count becomes 0.1.
    Method1,
}

/// BLEU-4 of `candidate` against one `reference`, both split on whitespace (Unicode
/// whitespace; no lowercasing, punctuation stays attached to its word).
pub fn bleu(reference: &str, candidate: &str, smoothing: Smoothing) -> f64 {
    let reference: Vec<&str> = reference.split_whitespace().collect();
    let candidate: Vec<&str> = candidate.split_whitespace().collect();
    sentence_bleu(&[reference], &candidate, smoothing)
}

/// Sentence BLEU-4 of tokens `hypothesis` against one or more tokenised `references`:
/// NLTK's `sentence_bleu(references, hypothesis)` (with `smoothing_function=method1`
/// for [`Smoothing::Method1`]). With no reference the score is 0.
pub fn sentence_bleu<S: AsRef<str>, R: AsRef<[S]>>(
    references: &[R],
    hypothesis: &[S],
    smoothing: Smoothing,
) -> f64 {
    let mut counts = Counts::default();
    counts.add(references, hypothesis);
    counts.score(smoothing)
}

/// Corpus BLEU-4: NLTK's `corpus_bleu(list_of_references, hypotheses)`, where
/// `references[i]` are the references of `hypotheses[i]`. Pairs past the shorter list
/// are left out.
pub fn corpus_bleu<S, R, C, H>(references: &[C], hypotheses: &[H], smoothing: Smoothing) -> f64
where
    S: AsRef<str>,
    R: AsRef<[S]>,
    C: AsRef<[R]>,
    H: AsRef<[S]>,
{
    let mut counts = Counts::default();
    for (refs, hypothesis) in references.iter().zip(hypotheses) {
        counts.add(refs.as_ref(), hypothesis.as_ref());
    }
    counts.score(smoothing)
}

const ORDER: usize = 4;

/// Matches and totals per n-gram order, and lengths, summed over sentences.
#[derive(Default)]
struct Counts {
    matches: [u64; ORDER],
    totals: [u64; ORDER],
    hypothesis_length: u64,
    reference_length: u64,
    /// Whether any sentence had a reference.
    referenced: bool,
}

impl Counts {
    fn add<S: AsRef<str>, R: AsRef<[S]>>(&mut self, references: &[R], hypothesis: &[S]) {
        if references.is_empty() {
            return;
        }
        self.referenced = true;
        let hypothesis: Vec<&str> = hypothesis.iter().map(AsRef::as_ref).collect();
        let references: Vec<Vec<&str>> = references
            .iter()
            .map(|r| r.as_ref().iter().map(AsRef::as_ref).collect())
            .collect();
        for n in 1..=ORDER {
            let (matched, total) = modified_precision(&references, &hypothesis, n);
            self.matches[n - 1] += matched;
            self.totals[n - 1] += total;
        }
        let length = hypothesis.len();
        self.hypothesis_length += length as u64;
        // The closest reference length; the shorter one on a tie.
        let closest = references
            .iter()
            .map(Vec::len)
            .min_by_key(|&r| (r.abs_diff(length), r))
            .unwrap_or(0);
        self.reference_length += closest as u64;
    }

    fn score(&self, smoothing: Smoothing) -> f64 {
        if !self.referenced || self.matches[0] == 0 {
            return 0.0;
        }
        let (c, r) = (self.hypothesis_length, self.reference_length);
        let brevity = if c > r {
            1.0
        } else if c == 0 {
            0.0
        } else {
            (1.0 - r as f64 / c as f64).exp()
        };
        let terms: Vec<f64> = (0..ORDER)
            .map(|i| {
                let (m, t) = (self.matches[i], self.totals[i]);
                let p = match (m, smoothing) {
                    (0, Smoothing::None) => f64::MIN_POSITIVE,
                    (0, Smoothing::Method1) => 0.1 / t as f64,
                    _ => m as f64 / t as f64,
                };
                0.25 * p.ln()
            })
            .collect();
        brevity * exact_sum(&terms).exp()
    }
}

/// `(clipped matches, max(1, n-grams))` of order `n` of `hypothesis`: each n-gram
/// counts at most as often as it occurs in any one reference.
fn modified_precision(references: &[Vec<&str>], hypothesis: &[&str], n: usize) -> (u64, u64) {
    fn count<'t>(tokens: &'t [&'t str], n: usize) -> HashMap<&'t [&'t str], u64> {
        let mut counts = HashMap::new();
        if tokens.len() >= n {
            for gram in tokens.windows(n) {
                *counts.entry(gram).or_insert(0) += 1;
            }
        }
        counts
    }
    let ours = count(hypothesis, n);
    let theirs: Vec<HashMap<&[&str], u64>> = references.iter().map(|r| count(r, n)).collect();
    let mut matched = 0;
    let mut total = 0;
    for (gram, &c) in &ours {
        let most = theirs
            .iter()
            .map(|t| t.get(gram).copied().unwrap_or(0))
            .max()
            .unwrap_or(0);
        matched += c.min(most);
        total += c;
    }
    (matched, total.max(1))
}

/// The sum of `values` rounded once, as Python's `math.fsum` (Shewchuk's partials).
fn exact_sum(values: &[f64]) -> f64 {
    let mut partials: Vec<f64> = Vec::new();
    for &value in values {
        let mut x = value;
        let mut kept = 0;
        for i in 0..partials.len() {
            let mut y = partials[i];
            if x.abs() < y.abs() {
                std::mem::swap(&mut x, &mut y);
            }
            let high = x + y;
            let low = y - (high - x);
            if low != 0.0 {
                partials[kept] = low;
                kept += 1;
            }
            x = high;
        }
        partials.truncate(kept);
        partials.push(x);
    }
    partials.iter().rev().fold(0.0, |acc, p| acc + p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_sentences_score_one_and_disjoint_ones_zero() {
        let s = ["the", "cat", "sat", "on", "the", "mat"];
        assert!((sentence_bleu(&[s], &s, Smoothing::None) - 1.0).abs() < 1e-15);
        assert_eq!(
            sentence_bleu(
                &[["a", "b", "c", "d"]],
                &["e", "f", "g", "h"],
                Smoothing::None
            ),
            0.0
        );
        assert_eq!(bleu("a b c", "", Smoothing::Method1), 0.0);
    }

    #[test]
    fn exact_sum_rounds_once() {
        assert_eq!(exact_sum(&[1e100, 1.0, -1e100]), 1.0);
        assert_eq!(exact_sum(&[0.1, 0.2, 0.3]), 0.6);
    }
}
