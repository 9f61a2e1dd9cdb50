//! The seed's "Saving Datasets": generate rows, then save them as parquet and csv (and
//! jsonl), as a Hugging Face dataset folder, and look at them as a polars DataFrame.
//!
//! ```sh
//! cargo run -p examples-data --example save                    # into target/examples-output/save
//! cargo run -p examples-data --example save -- /tmp/out        # into /tmp/out
//! OPENAI_API_KEY=sk-... cargo run -p examples-data --example save
//! ```

#[path = "../support/mod.rs"]
mod support;

chatan::dataset! {
    /// A question about a place, and the answer.
    #[derive(Debug, Clone)]
    pub struct Mix {
        pub id: chatan::Uuid = sample::uuid(),
        pub topic: String = sample::choice(["san antonio, tx", "marfa, tx", "paris, fr"]),
        pub prompt: String = gen("write an example question about the history of {topic}"),
        pub response: String = gen("respond to: {prompt}"),
        pub words: usize = |row| row.response.split_whitespace().count(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let out = support::output_dir("save")?;
    let (llm, _mock) = support::generator().await?;

    let rows = Mix::runner(&llm)
        .retry(support::patient())
        .generate(1000)
        .await?;

    // Save to various formats: by extension, or with the format named.
    let parquet = out.join("my_dataset.parquet");
    chatan::save(&rows, &parquet)?;
    let csv = out.join("my_dataset.csv");
    chatan::data::save_as(&rows, &csv, chatan::data::Format::Csv)?;
    let jsonl = out.join("my_dataset.jsonl");
    chatan::save(&rows, &jsonl)?;

    // Convert to Hugging Face format: a folder `datasets.load_dataset` opens as it is.
    let hf = out.join("my_dataset_hf");
    chatan::data::save_huggingface(&rows, &hf)?;

    // The same rows as a polars DataFrame.
    let frame = chatan::data::to_dataframe(&rows)?;
    println!("{}", frame.head(Some(3)));
    for path in [
        &parquet,
        &csv,
        &jsonl,
        &hf.join("data/train-00000-of-00001.parquet"),
    ] {
        println!(
            "wrote {} ({} bytes)",
            path.display(),
            std::fs::metadata(path)?.len()
        );
    }
    Ok(())
}
