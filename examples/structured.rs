//! Structured outputs: a generated column of a struct type, asked for by its JSON Schema
//! and parsed into the struct; an LLM judge whose score is a typed, range-checked
//! `Scale<1, 10>` from a second, named generator; fields of both read by later templates
//! and conditions.
//!
//! ```sh
//! cargo run --example structured
//! ```

mod support;

use chatan::GeneratorSet;
use chatan::structured::Scale;
use std::sync::Arc;

/// What a review says, as JSON the model must produce.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
pub struct Analysis {
    /// The overall feeling.
    pub sentiment: Sentiment,
    /// Up to five keywords.
    #[schemars(length(max = 5))]
    pub keywords: Vec<String>,
    /// One sentence.
    pub summary: String,
}

/// A review's overall feeling.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Sentiment {
    Positive,
    Negative,
    Mixed,
}

/// A judge's verdict: the score's range is in the schema and checked on every reply.
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
pub struct Judgement {
    pub score: Scale<1, 10>,
    pub reason: String,
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Reviewed {
        pub product: String = sample::choice(["a kettle", "hiking boots", "a desk lamp"]),
        pub review: String = gen("write a short customer review of {product}"),
        pub analysis: Analysis = gen("analyse this review: {review}"),
        pub verdict: Judgement = gen(
            "Rate from 1 to 10 how well this summary fits the review.\nReview: {review}\nSummary: {analysis.summary}",
            generator = "judge",
            temperature = 0.0,
        ),
        pub follow_up: String = gen("{% if verdict.score >= 7 %}write a one-line reply to: {review}{% else %}rewrite this summary better: {analysis.summary}{% endif %}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (llm, _mock) = support::generator().await?;
    let llm = Arc::new(llm);
    // The judge could be another provider or model; here it is the same one.
    let generators = GeneratorSet::new()
        .with_default(Arc::clone(&llm))
        .with("judge", llm);
    let rows = Reviewed::runner(&generators).seed(4).generate(12).await?;
    for row in rows.iter().take(3) {
        println!(
            "{} → {:?}, keywords {:?}; judge: {}/10 ({})",
            row.product,
            row.analysis.sentiment,
            row.analysis.keywords,
            row.verdict.score,
            row.verdict.reason
        );
    }
    let mean = rows
        .iter()
        .map(|r| r.verdict.score.get() as f64)
        .sum::<f64>()
        / rows.len() as f64;
    let mut distribution = [0usize; 10];
    for row in &rows {
        distribution[(row.verdict.score.get() - 1) as usize] += 1;
    }
    println!(
        "{} rows; mean judge score {mean:.2}; by score 1..=10: {distribution:?}",
        rows.len()
    );
    Ok(())
}
