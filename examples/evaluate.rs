//! Evaluation, both ways the Python original offers it:
//!
//! 1. **inline**: a metric is a column of the recipe (the original's
//!    `"score": eval.exact_match("col1", "col2")`), checked at compile time and computed
//!    once its inputs exist — here also exact match, edit similarity and BLEU over a
//!    *generated* column, and an LLM judge's typed 1-5 score;
//! 2. **aggregate**: a typed report over the finished rows (mean, spread, per-row
//!    scores, the judge's distribution), compared with a baseline; with
//!    `--features local`, semantic similarity on all-MiniLM-L6-v2 run in this process.
//!
//! ```sh
//! cargo run --example evaluate
//! scripts/fetch-embedding-model && cargo run --example evaluate --features local
//! ```

mod support;

use chatan::eval::{self, Evaluation, Smoothing};
use chatan::structured::Scale;

chatan::dataset! {
    /// The original's inline example: a metric column over two other columns.
    #[derive(Debug)]
    struct Original {
        col1: String = sample::choice(["a", "a", "b"]),
        col2: String = "b",
        score: bool = |row| eval::exact_match(&row.col1, &row.col2),
    }
}

/// An LLM judge's verdict: the score's range is in the JSON Schema the model is given
/// and checked on every reply (a reply out of range is asked for again).
#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
struct Verdict {
    score: Scale<1, 5>,
    reason: String,
}

fn capital(country: &str) -> &'static str {
    match country {
        "France" => "Paris",
        "Japan" => "Tokyo",
        "Kenya" => "Nairobi",
        _ => "Rome",
    }
}

chatan::dataset! {
    /// Metrics over a generated answer, and a judge of it.
    #[derive(Debug, Clone)]
    struct Capitals {
        country: String = sample::choice(["France", "Japan", "Kenya", "Italy"]),
        gold: String = |row| capital(&row.country).to_owned(),
        answer: String = gen(
            "What is the capital of {country}? Answer with the city's name only.",
            temperature = 0.0,
            max_tokens = 16,
        ),
        // Each runs after `answer` exists: the planner sees the closure read it.
        exact: bool = |row| eval::exact_match_normalized(&row.answer, &row.gold),
        edit: f64 = |row| eval::edit_similarity(&row.answer, &row.gold),
        bleu: f64 = |row| eval::bleu(&row.gold, &row.answer, Smoothing::Method1),
        verdict: Verdict = gen(
            "On a scale of 1 to 5, how correct is this answer to \"What is the capital of \
             {country}?\": {answer}",
            temperature = 0.0,
        ),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (llm, _mock) = support::generator().await?;

    // 1. The original's inline example (no model needed).
    let original = Original::generate(&llm, 9).await?;
    for row in original.iter().take(3) {
        println!("{} vs {}: exact match {}", row.col1, row.col2, row.score);
    }
    let report = Evaluation::new(&original)
        .exact_match("exact_match", |r| (&r.col1, &r.col2))
        .run()?;
    println!("{report}");

    // 2. Metric columns over a generated answer, and a judge.
    // A small local model may not manage the judge's JSON: rows whose judge fails
    // after retries are skipped and reported, not guessed.
    let generated = Capitals::runner(&llm)
        .seed(11)
        .skip_failed()
        .run(12)
        .await?;
    for failure in &generated.report.failed {
        println!("skipped: {failure}");
    }
    let rows = generated.rows;
    for row in rows.iter().take(4) {
        println!(
            "{:<7} gold {:<8} answer {:?}: exact {}, edit {:.2}, BLEU {:.2}, judge {}/5 ({})",
            row.country,
            row.gold,
            row.answer,
            row.exact,
            row.edit,
            row.bleu,
            row.verdict.score,
            row.verdict.reason
        );
    }

    // 3. The aggregate: a typed report, and the same metrics for a baseline that always
    //    answers "Paris", side by side.
    let evaluation = Evaluation::new(&rows)
        .exact_match_normalized("exact", |r| (&r.answer, &r.gold))
        .edit_similarity("edit", |r| (&r.answer, &r.gold))
        .bleu("bleu", Smoothing::Method1, |r| (&r.answer, &r.gold))
        .judge("judge", |r| r.verdict.score);
    #[cfg(feature = "local")]
    let embedder = embedder()?;
    #[cfg(feature = "local")]
    let evaluation = match &embedder {
        Some(embedder) => {
            evaluation.semantic_similarity("semantic", embedder, |r| (&r.answer, &r.gold))
        }
        None => evaluation,
    };
    let report = evaluation.run()?;
    println!("{report}");
    println!(
        "judge scores (score, rows): {:?}",
        report["judge"].distribution()
    );
    let baseline = Evaluation::new(&rows)
        .exact_match_normalized("exact", |r| ("Paris", &r.gold))
        .edit_similarity("edit", |r| ("Paris", &r.gold))
        .run()?;
    for metric in report.compare(&baseline) {
        println!(
            "{:<6} model {:.3}  always-Paris {:.3}  difference {:+.3}",
            metric.name,
            metric.ours,
            metric.theirs,
            metric.difference()
        );
    }
    Ok(())
}

/// all-MiniLM-L6-v2 where `scripts/fetch-embedding-model` puts it (or
/// `CHATAN_EMBEDDING_MODEL`), if it is there.
#[cfg(feature = "local")]
fn embedder() -> Result<Option<eval::Embedder>, chatan::Error> {
    let folder = std::env::var_os("CHATAN_EMBEDDING_MODEL").map_or_else(
        || {
            std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("../target/models/all-MiniLM-L6-v2")
        },
        std::path::PathBuf::from,
    );
    if !folder.join("model.safetensors").exists() {
        eprintln!(
            "No embedding model at {}: run scripts/fetch-embedding-model for semantic \
             similarity.",
            folder.display()
        );
        return Ok(None);
    }
    eval::Embedder::open(&folder).map(Some)
}
