//! The seed's "Dataset Augmentation": pull prompts from an existing dataset and ask the
//! model for variations — sampled from it, and iterating over it (one output row per
//! source row, its id kept beside it). The example first writes the "existing" dataset
//! as a parquet file, standing in for `load_dataset("some/dataset")`.
//!
//! ```sh
//! cargo run -p examples-data --example augmentation [-- OUTPUT_DIR]
//! ```

#[path = "../support/mod.rs"]
mod support;

use chatan::data::Table;
use chatan::data::polars::prelude::{Column, DataFrame};
use chatan::sample;

/// One row of the source dataset.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct Source {
    pub id: i64,
    pub prompt: String,
}

chatan::dataset! {
    /// A variation of a prompt sampled from the source, and a response to it.
    #[derive(Debug, Clone)]
    pub struct Augmented {
        pub original_prompt: String = sample::input(),
        pub variation: String = gen("rewrite this prompt: {original_prompt}"),
        pub response: String = gen("respond to: {variation}"),
    }
}

chatan::dataset! {
    /// One variation per source row, in the source's order.
    #[derive(Debug, Clone)]
    pub struct Rewritten {
        #[chatan(json)] // a struct column, stored as JSON text in the DataFrame
        pub source: Source = sample::input(),
        pub variation: String = gen("rewrite prompt {source.id}: {source.prompt}"),
        pub source_id: i64 = |row| row.source.id,
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = support::output_dir("augmentation")?;
    let (llm, _mock) = support::generator().await?;

    // The existing dataset, written as a file first.
    let prompts = [
        "What is the boiling point of water at altitude?",
        "Explain photosynthesis to a ten-year-old.",
        "Why do cats purr?",
        "How does a bill become a law?",
        "What causes the seasons?",
    ];
    let mut source = DataFrame::new_infer_height(vec![
        Column::new("id".into(), (1..=prompts.len() as i64).collect::<Vec<_>>()),
        Column::new("prompt".into(), prompts),
        Column::new("split".into(), vec!["train"; prompts.len()]),
    ])?;
    let source_path = out.join("source.parquet");
    chatan::data::write_frame(&mut source, &source_path, chatan::data::Format::Parquet)?;

    // Sampling: `sample.from_dataset(hf_data, "prompt")`, reading only that column.
    let table = Table::read_columns(&source_path, &["prompt"])?;
    let sampled = Augmented::runner(&llm)
        .retry(support::patient())
        .seed(7)
        .sampler(
            |c| c.original_prompt,
            sample::from_dataset(&table, "prompt"),
        )
        .generate(100)
        .await?;
    let sampled_path = out.join("augmented.parquet");
    chatan::save(&sampled, &sampled_path)?;

    // Iterating: one row per source row, with its id, in order.
    let table = Table::read(&source_path)?;
    let rewritten = Rewritten::runner(&llm)
        .retry(support::patient())
        .sampler(|c| c.source, sample::from_records(&table).in_order())
        .generate(table.len())
        .await?;
    for row in &rewritten {
        println!("{} -> {}", row.source_id, row.variation);
    }
    let mut frame = chatan::data::to_dataframe(&rewritten)?;
    let rewritten_path = out.join("rewritten.parquet");
    chatan::data::write_frame(&mut frame, &rewritten_path, chatan::data::Format::Parquet)?;

    for path in [&source_path, &sampled_path, &rewritten_path] {
        println!("wrote {}", path.display());
    }
    Ok(())
}
