//! Scoring data: metrics over pairs of texts, with numbers equal to the implementations
//! people trust.
//!
//! - [`exact_match`] (and [`exact_match_normalized`]: case and whitespace folded);
//! - [`edit_distance`] (Levenshtein over Unicode scalar values) and [`edit_similarity`]
//!   (`1 - distance / max(len)`; 1.0 for two empty texts);
//! - BLEU: [`sentence_bleu`] and [`corpus_bleu`] over tokens, equal to NLTK's
//!   `sentence_bleu` / `corpus_bleu` (uniform 4-gram weights, brevity penalty; no
//!   smoothing or NLTK's `method1`), and [`bleu`] over two texts split on whitespace.
//!   Tested against fixtures NLTK computed (`chatan-eval/tests/eval/`).
//! - semantic similarity (feature `local`): the [`cosine`] of two texts' sentence
//!   embeddings from `chatan::eval::Embedder`, a [`SemanticSimilarity`] (a BERT sentence-transformer such as
//!   all-MiniLM-L6-v2, run locally on candle), equal to Python's `sentence-transformers`
//!   within 1e-4;
//! - duplicates in a column: [`exact_duplicates`] (after [`normalize`]) and
//!   [`MinHash::duplicates`] (near-duplicates by MinHash over word shingles with LSH
//!   banding) and [`semantic_duplicates`] (by the cosine of sentence embeddings), each
//!   the groups and a deduplicated dataset ([`Duplicates`]);
//! - diversity of a column: [`distinct_n`], [`self_bleu`] (each text's BLEU against the
//!   others, with the NLTK-equal BLEU above) and [`mean_pairwise_cosine`] of sentence
//!   embeddings, so two recipes can be compared on more than a judge's mean;
//! - an LLM judge: a generated column with a typed score (`rating: u8 = gen(..)`),
//!   summarised by [`Evaluation::judge`] (mean, spread, [`Metric::distribution`]).
//!
//! Two ways to use them, as the Python original does: **inline**, as a derived column of
//! the recipe (`bleu: f64 = |row| eval::bleu(&row.reference, &row.answer,
//! Smoothing::Method1)`), checked at compile time like any column and computed once its
//! inputs exist; and **over a finished dataset**, with [`Evaluation`] into a typed
//! [`Scores`] (mean, spread, per-row scores, and a comparison of two sets of scores).
//!
//! ```
//! use chatan::eval;
//!
//! assert!(eval::exact_match("Paris", "Paris"));
//! assert!(eval::exact_match_normalized("  paris ", "Paris"));
//! assert_eq!(eval::edit_distance("kitten", "sitting"), 3);
//! assert!((eval::edit_similarity("kitten", "sitting") - (1.0 - 3.0 / 7.0)).abs() < 1e-12);
//! let score = eval::bleu("the cat sat on the mat", "the cat sat on a mat", eval::Smoothing::None);
//! assert!(score > 0.5 && score < 1.0);
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod bleu;
mod dedup;
mod diversity;
mod edit;
mod exact;
mod scores;
mod semantic;

pub use self::bleu::{Smoothing, bleu, corpus_bleu, sentence_bleu};
pub use self::dedup::{
    Duplicates, MinHash, exact_duplicates, jaccard, normalize, semantic_duplicates,
    semantic_duplicates_of,
};
pub use self::diversity::{
    distinct_n, mean_pairwise_cosine, pairwise_cosines, self_bleu, self_bleu_scores,
};
pub use self::edit::{edit_distance, edit_similarity};
pub use self::exact::{exact_match, exact_match_normalized};
pub use self::scores::{Comparison, Evaluation, Figure, Metric, Scores};
pub use self::semantic::{SemanticSimilarity, cosine};
