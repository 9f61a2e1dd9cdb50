//! Semantic similarity: the cosine of two texts' sentence embeddings, as the Python
//! original's `semantic_similarity` computes it with sentence-transformers. The model is
//! a [`SemanticSimilarity`], such as `chatan::eval::Embedder` (feature `local`): a BERT sentence-transformer
//! such as all-MiniLM-L6-v2, run on candle in this process, equal to Python's
//! `sentence-transformers` within 1e-4 (tested against fixtures it computed,
//! `chatan-eval/tests/eval/semantic_fixture.json`).

/// The cosine similarity of two vectors, computed in `f64`: 1.0 for the same direction,
/// 0.0 when either vector is zero.
///
/// ```
/// assert_eq!(chatan::eval::cosine(&[1.0, 0.0], &[2.0, 0.0]), 1.0);
/// assert_eq!(chatan::eval::cosine(&[1.0, 0.0], &[0.0, 3.0]), 0.0);
/// assert_eq!(chatan::eval::cosine(&[0.0, 0.0], &[1.0, 1.0]), 0.0);
/// ```
pub fn cosine(a: &[f32], b: &[f32]) -> f64 {
    let (mut dot, mut aa, mut bb) = (0f64, 0f64, 0f64);
    for (&x, &y) in a.iter().zip(b) {
        let (x, y) = (f64::from(x), f64::from(y));
        dot += x * y;
        aa += x * x;
        bb += y * y;
    }
    if aa == 0.0 || bb == 0.0 {
        return 0.0;
    }
    dot / (aa.sqrt() * bb.sqrt())
}

/// Embeds texts and scores pairs of them by meaning, for
/// [`Evaluation::semantic_similarity`](crate::Evaluation::semantic_similarity) and
/// [`Evaluation::mean_cosine`](crate::Evaluation::mean_cosine): `chatan::eval::Embedder`
/// (feature `local`) is one.
pub trait SemanticSimilarity {
    /// Each text's sentence embedding, in order.
    fn embed_texts(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>, chatan_core::Error>;

    /// The similarity of each pair, in order: by default the [`cosine`] of their
    /// embeddings, every text embedded in one call.
    fn score_pairs(&self, pairs: &[(&str, &str)]) -> Result<Vec<f64>, chatan_core::Error> {
        let texts: Vec<&str> = pairs.iter().flat_map(|&(a, b)| [a, b]).collect();
        let vectors = self.embed_texts(&texts)?;
        Ok(vectors.chunks(2).map(|p| cosine(&p[0], &p[1])).collect())
    }
}
