//! Scoring a finished dataset: metrics over its rows, with the columns they compare
//! named by closures over the row type (so a misspelt field is a compile error), into a
//! typed [`Scores`]; and two sets of scores compared metric by metric.

use std::fmt;

use super::{Smoothing, edit_similarity, exact_match, exact_match_normalized, sentence_bleu};
use chatan_core::Error;

/// A score for every row at once, or an error.
type Batch<'a, R> = Box<dyn FnOnce(&[R]) -> Result<Vec<f64>, Error> + 'a>;

/// One figure of all the rows together.
type Whole<'a, R> = Box<dyn FnOnce(&[R]) -> f64 + 'a>;

/// How a metric scores rows.
enum Scorer<'a, R> {
    /// One row at a time.
    Row(Box<dyn Fn(&R) -> f64 + 'a>),
    /// All rows at once (a model that batches).
    Rows(Batch<'a, R>),
}

/// Metrics to compute over rows of type `R`.
///
/// ```
/// use chatan::eval::{Evaluation, Smoothing};
///
/// struct Row { answer: String, gold: String }
/// let rows = vec![
///     Row { answer: "Paris".into(), gold: "Paris".into() },
///     Row { answer: "the cat sat on a mat".into(), gold: "the cat sat on the mat".into() },
/// ];
/// let report = Evaluation::new(&rows)
///     .exact_match("exact", |r| (&r.answer, &r.gold))
///     .edit_similarity("edit", |r| (&r.answer, &r.gold))
///     .bleu("bleu", Smoothing::Method1, |r| (&r.answer, &r.gold))
///     .metric("answer words", |r| r.answer.split_whitespace().count() as f64)
///     .run()?;
/// assert_eq!(report["exact"].mean, 0.5);
/// assert_eq!(report["exact"].scores, [1.0, 0.0]);
/// println!("{report}");
/// # Ok::<(), chatan::Error>(())
/// ```
pub struct Evaluation<'a, R> {
    rows: &'a [R],
    metrics: Vec<(String, Scorer<'a, R>)>,
    figures: Vec<(String, Whole<'a, R>)>,
}

impl<'a, R> Evaluation<'a, R> {
    /// Metrics over `rows`, none yet.
    pub fn new(rows: &'a [R]) -> Self {
        Evaluation {
            rows,
            metrics: Vec::new(),
            figures: Vec::new(),
        }
    }

    /// Any score per row.
    pub fn metric(mut self, name: impl Into<String>, score: impl Fn(&R) -> f64 + 'a) -> Self {
        self.metrics
            .push((name.into(), Scorer::Row(Box::new(score))));
        self
    }

    /// Any score computed for all rows at once (a model that batches): `score` gets every
    /// row and returns one score per row, in order (a different count panics: it is a
    /// bug in `score`), or an error that fails the run.
    pub fn batch_metric(
        mut self,
        name: impl Into<String>,
        score: impl FnOnce(&[R]) -> Result<Vec<f64>, Error> + 'a,
    ) -> Self {
        self.metrics
            .push((name.into(), Scorer::Rows(Box::new(score))));
        self
    }

    /// An LLM judge's typed score column (a number, or anything that converts to one),
    /// summarised like any metric; [`Metric::distribution`] counts each score.
    pub fn judge<S: Into<f64>>(
        self,
        name: impl Into<String>,
        score: impl Fn(&R) -> S + 'a,
    ) -> Self {
        self.metric(name, move |r| score(r).into())
    }

    /// Semantic similarity per row: the cosine of the two texts' sentence embeddings
    /// from `embedder` (`chatan::eval::Embedder`, feature `local`: all-MiniLM-L6-v2 by
    /// default in the original), every text of the dataset embedded in batches.
    pub fn semantic_similarity<E: super::SemanticSimilarity + ?Sized>(
        self,
        name: impl Into<String>,
        embedder: &'a E,
        pair: impl Fn(&R) -> (&str, &str) + 'a,
    ) -> Self {
        self.batch_metric(name, move |rows| {
            let pairs: Vec<(&str, &str)> = rows.iter().map(&pair).collect();
            embedder.score_pairs(&pairs)
        })
    }

    /// 1.0 where the two texts are the same, else 0.0: the mean is the share that match.
    pub fn exact_match(
        self,
        name: impl Into<String>,
        pair: impl Fn(&R) -> (&str, &str) + 'a,
    ) -> Self {
        self.pairwise(name, pair, |a, b| f64::from(u8::from(exact_match(a, b))))
    }

    /// [`exact_match`](Evaluation::exact_match) after case and whitespace folding.
    pub fn exact_match_normalized(
        self,
        name: impl Into<String>,
        pair: impl Fn(&R) -> (&str, &str) + 'a,
    ) -> Self {
        self.pairwise(name, pair, |a, b| {
            f64::from(u8::from(exact_match_normalized(a, b)))
        })
    }

    /// [`edit_similarity`](super::edit_similarity) of the two texts.
    pub fn edit_similarity(
        self,
        name: impl Into<String>,
        pair: impl Fn(&R) -> (&str, &str) + 'a,
    ) -> Self {
        self.pairwise(name, pair, edit_similarity)
    }

    /// A metric of two texts of each row.
    fn pairwise(
        self,
        name: impl Into<String>,
        pair: impl Fn(&R) -> (&str, &str) + 'a,
        score: impl Fn(&str, &str) -> f64 + 'a,
    ) -> Self {
        self.metric(name, move |r| {
            let (a, b) = pair(r);
            score(a, b)
        })
    }

    /// Sentence BLEU-4 of `(candidate, reference)` per row, split on whitespace.
    pub fn bleu(
        self,
        name: impl Into<String>,
        smoothing: Smoothing,
        pair: impl Fn(&R) -> (&str, &str) + 'a,
    ) -> Self {
        self.pairwise(name, pair, move |candidate, reference| {
            let candidate: Vec<&str> = candidate.split_whitespace().collect();
            let reference: Vec<&str> = reference.split_whitespace().collect();
            sentence_bleu(&[reference], &candidate, smoothing)
        })
    }

    /// Distinct-n of a text column ([`distinct_n`](crate::distinct_n)): different
    /// n-grams over all n-grams, across the rows. A figure of the whole column, in
    /// [`Scores::figures`].
    pub fn distinct(
        mut self,
        name: impl Into<String>,
        n: usize,
        text: impl Fn(&R) -> &str + 'a,
    ) -> Self {
        let figure = move |rows: &[R]| {
            let texts: Vec<&str> = rows.iter().map(&text).collect();
            crate::distinct_n(&texts, n)
        };
        self.figures.push((name.into(), Box::new(figure)));
        self
    }

    /// Self-BLEU of a text column: each row's BLEU-4 against every other row's text
    /// ([`self_bleu_scores`](crate::self_bleu_scores)); the mean is the column's
    /// self-BLEU. Quadratic in the rows.
    pub fn self_bleu(
        self,
        name: impl Into<String>,
        smoothing: Smoothing,
        text: impl Fn(&R) -> &str + 'a,
    ) -> Self {
        self.batch_metric(name, move |rows| {
            let texts: Vec<&str> = rows.iter().map(&text).collect();
            Ok(crate::self_bleu_scores(&texts, smoothing))
        })
    }

    /// Each row's mean cosine similarity to every other row, by the sentence embeddings
    /// of a text column from `embedder` ([`pairwise_cosines`](crate::pairwise_cosines));
    /// the mean is the column's mean pairwise cosine. Every text is embedded once.
    pub fn mean_cosine<E: super::SemanticSimilarity + ?Sized>(
        self,
        name: impl Into<String>,
        embedder: &'a E,
        text: impl Fn(&R) -> &str + 'a,
    ) -> Self {
        self.batch_metric(name, move |rows| {
            let texts: Vec<&str> = rows.iter().map(&text).collect();
            Ok(crate::pairwise_cosines(&embedder.embed_texts(&texts)?))
        })
    }

    /// Scores every row with every metric. Only a metric that runs a model can fail
    /// (an embedding model's fault); the pure metrics cannot.
    pub fn run(self) -> Result<Scores, Error> {
        let mut metrics = Vec::with_capacity(self.metrics.len());
        for (name, scorer) in self.metrics {
            let scores = match scorer {
                Scorer::Row(score) => self.rows.iter().map(score).collect(),
                Scorer::Rows(score) => {
                    let scores = score(self.rows)?;
                    assert_eq!(
                        scores.len(),
                        self.rows.len(),
                        "batch metric {name:?} must return one score per row"
                    );
                    scores
                }
            };
            metrics.push(Metric::new(name, scores));
        }
        let figures = self
            .figures
            .into_iter()
            .map(|(name, figure)| Figure {
                value: figure(self.rows),
                name,
            })
            .collect();
        Ok(Scores { metrics, figures })
    }
}

/// What an [`Evaluation`] found: one [`Metric`] per metric, in the order they were
/// added; `report["name"]` picks one (and panics on a name it does not have; see
/// [`Scores::get`]).
#[derive(Debug, Clone, PartialEq)]
pub struct Scores {
    /// The metrics.
    pub metrics: Vec<Metric>,
    /// The figures of the whole dataset, in the order they were added (distinct-n).
    pub figures: Vec<Figure>,
}

/// A figure of a whole dataset rather than of each row (distinct-n).
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// Its name.
    pub name: String,
    /// Its value.
    pub value: f64,
}

/// One metric over a dataset.
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Its name.
    pub name: String,
    /// The mean score (NaN over no rows).
    pub mean: f64,
    /// The lowest score (NaN over no rows).
    pub min: f64,
    /// The highest score (NaN over no rows).
    pub max: f64,
    /// The population standard deviation (NaN over no rows).
    pub std_dev: f64,
    /// Each row's score, in row order.
    pub scores: Vec<f64>,
}

impl Metric {
    fn new(name: String, scores: Vec<f64>) -> Self {
        let n = scores.len() as f64;
        let mean = scores.iter().sum::<f64>() / n;
        let variance = scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / n;
        // Over no rows every figure is NaN (not the folds' infinities).
        let (min, max) = if scores.is_empty() {
            (f64::NAN, f64::NAN)
        } else {
            (
                scores.iter().copied().fold(f64::INFINITY, f64::min),
                scores.iter().copied().fold(f64::NEG_INFINITY, f64::max),
            )
        };
        Metric {
            name,
            mean,
            min,
            max,
            std_dev: variance.sqrt(),
            scores,
        }
    }

    /// Each distinct score with how many rows have it, lowest first: the distribution
    /// of a judge's 1-5 ratings, say.
    ///
    /// ```
    /// # use chatan::eval::Evaluation;
    /// let ratings = [4u8, 5, 4, 2];
    /// let report = Evaluation::new(&ratings).judge("rating", |r| *r).run()?;
    /// assert_eq!(report["rating"].distribution(), [(2.0, 1), (4.0, 2), (5.0, 1)]);
    /// # Ok::<(), chatan::Error>(())
    /// ```
    pub fn distribution(&self) -> Vec<(f64, usize)> {
        let mut sorted = self.scores.clone();
        sorted.sort_by(f64::total_cmp);
        let mut out: Vec<(f64, usize)> = Vec::new();
        for s in sorted {
            match out.last_mut() {
                Some((value, count)) if value.total_cmp(&s).is_eq() => *count += 1,
                _ => out.push((s, 1)),
            }
        }
        out
    }

    /// How many scores fall in each of `bins` equal bins between `min` and `max`.
    pub fn histogram(&self, bins: usize) -> Vec<usize> {
        let bins = bins.max(1);
        let mut counts = vec![0; bins];
        let span = self.max - self.min;
        for s in &self.scores {
            let bin = if span > 0.0 {
                (((s - self.min) / span) * bins as f64) as usize
            } else {
                0
            };
            counts[bin.min(bins - 1)] += 1;
        }
        counts
    }
}

/// One metric of two sets of scores side by side.
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    /// The metric.
    pub name: String,
    /// Its mean in the report compared.
    pub ours: f64,
    /// Its mean in the other report.
    pub theirs: f64,
}

impl Comparison {
    /// `ours - theirs`.
    pub fn difference(&self) -> f64 {
        self.ours - self.theirs
    }
}

impl Scores {
    /// The metric named `name`.
    pub fn get(&self, name: &str) -> Option<&Metric> {
        self.metrics.iter().find(|m| m.name == name)
    }

    /// The figure named `name`.
    pub fn figure(&self, name: &str) -> Option<f64> {
        self.figures
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.value)
    }

    /// Each metric both sets of scores have, with both means, then each figure both
    /// have: for comparing two datasets (or two generators) on the same metrics.
    pub fn compare(&self, other: &Scores) -> Vec<Comparison> {
        let metrics = self.metrics.iter().filter_map(|m| {
            other.get(&m.name).map(|o| Comparison {
                name: m.name.clone(),
                ours: m.mean,
                theirs: o.mean,
            })
        });
        let figures = self.figures.iter().filter_map(|f| {
            other.figure(&f.name).map(|theirs| Comparison {
                name: f.name.clone(),
                ours: f.value,
                theirs,
            })
        });
        metrics.chain(figures).collect()
    }
}

impl std::ops::Index<&str> for Scores {
    type Output = Metric;

    fn index(&self, name: &str) -> &Metric {
        self.get(name)
            .unwrap_or_else(|| panic!("the report has no metric {name:?}"))
    }
}

impl fmt::Display for Scores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let width = self
            .metrics
            .iter()
            .map(|m| m.name.len())
            .chain(self.figures.iter().map(|f| f.name.len()))
            .max()
            .unwrap_or(6)
            .max(6);
        writeln!(
            f,
            "{:<width$}  {:>8}  {:>8}  {:>8}  {:>8}  rows",
            "metric", "mean", "std", "min", "max"
        )?;
        for m in &self.metrics {
            writeln!(
                f,
                "{:<width$}  {:>8.4}  {:>8.4}  {:>8.4}  {:>8.4}  {}",
                m.name,
                m.mean,
                m.std_dev,
                m.min,
                m.max,
                m.scores.len()
            )?;
        }
        for figure in &self.figures {
            writeln!(
                f,
                "{:<width$}  {:>8.4}  (whole dataset)",
                figure.name, figure.value
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn over_no_rows_every_figure_is_nan() {
        let rows: [(&str, &str); 0] = [];
        let report = Evaluation::new(&rows)
            .exact_match("exact", |r| (r.0, r.1))
            .run()
            .unwrap();
        let m = &report["exact"];
        assert!(m.mean.is_nan() && m.min.is_nan() && m.max.is_nan() && m.std_dev.is_nan());
        assert!(m.distribution().is_empty());
        assert_eq!(m.histogram(3), [0, 0, 0]);
    }

    #[test]
    fn judge_scores_summarise_with_their_distribution() {
        use chatan_core::structured::Scale;
        let scores: Vec<Scale<1, 5>> = [5, 3, 5, 1]
            .into_iter()
            .map(|s| Scale::new(s).unwrap())
            .collect();
        let report = Evaluation::new(&scores)
            .judge("judge", |s| *s)
            .run()
            .unwrap();
        assert_eq!(report["judge"].mean, 3.5);
        assert_eq!(
            report["judge"].distribution(),
            [(1.0, 1), (3.0, 1), (5.0, 2)]
        );
    }

    #[test]
    fn a_batch_metric_scores_every_row_or_fails_the_run() {
        let rows = [1.0, 2.0, 4.0];
        let report = Evaluation::new(&rows)
            .batch_metric("double", |rows| Ok(rows.iter().map(|r| r * 2.0).collect()))
            .run()
            .unwrap();
        assert_eq!(report["double"].scores, [2.0, 4.0, 8.0]);
        let failed = Evaluation::new(&rows)
            .metric("fine", |r| *r)
            .batch_metric("broken", |_| {
                Err(Error::Embedding {
                    model: "m".into(),
                    message: "the model's thread has stopped".into(),
                })
            })
            .run()
            .unwrap_err();
        assert!(failed.to_string().contains("embedding model m"), "{failed}");
    }

    use crate::SemanticSimilarity;

    /// Embeds a text as `[length, vowels]`.
    struct Shape;

    impl SemanticSimilarity for Shape {
        fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
            Ok(texts
                .iter()
                .map(|t| {
                    let vowels = t.chars().filter(|c| "aeiou".contains(*c)).count();
                    vec![t.len() as f32, vowels as f32]
                })
                .collect())
        }
    }

    #[test]
    fn diversity_of_a_column_sits_beside_the_metrics() {
        let rows = ["the cat sat", "the cat ran", "a storm rolled in"];
        let report = Evaluation::new(&rows)
            .self_bleu("self-bleu", Smoothing::Method1, |r| r)
            .distinct("distinct-1", 1, |r| r)
            .distinct("distinct-2", 2, |r| r)
            .mean_cosine("cosine", &Shape, |r| r)
            .run()
            .unwrap();
        assert_eq!(
            report["self-bleu"].scores,
            crate::self_bleu_scores(&rows, Smoothing::Method1)
        );
        assert_eq!(report.figure("distinct-1"), Some(8.0 / 10.0));
        assert_eq!(report.figure("distinct-2"), Some(6.0 / 7.0));
        let embedded = Shape.embed_texts(&rows).unwrap();
        assert_eq!(report["cosine"].scores, crate::pairwise_cosines(&embedded));
        assert!((report["cosine"].mean - crate::mean_pairwise_cosine(&embedded)).abs() < 1e-12);
        // The default pair score is the cosine of the two embeddings.
        let pair = Shape.score_pairs(&[("the cat", "storms")]).unwrap();
        assert_eq!(pair, [crate::cosine(&[7.0, 2.0], &[6.0, 1.0])]);
        // Figures print and compare like metrics.
        assert!(report.to_string().contains("distinct-2"), "{report}");
        let other = Evaluation::new(&["same same", "same same"])
            .distinct("distinct-1", 1, |r| r)
            .run()
            .unwrap();
        let comparison = report.compare(&other);
        assert_eq!(comparison.len(), 1);
        assert_eq!(comparison[0].theirs, 0.25);
    }

    /// An embedder whose model has stopped.
    struct Stopped;

    impl SemanticSimilarity for Stopped {
        fn embed_texts(&self, _: &[&str]) -> Result<Vec<Vec<f32>>, Error> {
            Err(Error::Embedding {
                model: "stopped".into(),
                message: "the model's thread has stopped".into(),
            })
        }
    }

    #[test]
    fn an_embedders_fault_fails_the_diversity_run_and_the_pair_scores() {
        let rows = ["a", "b"];
        let failed = Evaluation::new(&rows)
            .distinct("distinct-1", 1, |r| r)
            .mean_cosine("cosine", &Stopped, |r| r)
            .run()
            .unwrap_err();
        assert!(
            failed.to_string().contains("embedding model stopped"),
            "{failed}"
        );
        assert!(Stopped.score_pairs(&[("a", "b")]).is_err());
        assert!(crate::semantic_duplicates_of(&Stopped, &rows, 0.9).is_err());
    }
}
