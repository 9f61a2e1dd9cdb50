//! A provider's batch API (half the price): a recipe of questions and answers runs as
//! two batches — every question, then every answer — against chatan-mock's OpenAI
//! Batch API (each batch takes 1.5 s to process here, up to a day at OpenAI), with a
//! journal so a run stopped while a batch is pending picks it up next time. Prints
//! each wave as it goes, the round trip, and the saving at list prices.
//!
//! ```sh
//! cargo run --example batch
//! ```
//!
//! With OpenAI itself: `OpenAi::from_env()?.batch()`; with Anthropic:
//! `Anthropic::from_env()?.batch()` (Message Batches).

use std::time::{Duration, Instant};

use chatan::OpenAi;
use chatan_mock::{MockConfig, MockServer};

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Qa {
        topic: String = sample::choice(["tides", "volcanoes", "bees", "glaciers"]),
        question: String = gen("Write one question about {topic}."),
        answer: String = gen("Answer in two sentences: {question}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let server =
        MockServer::start(MockConfig::new().batch_delay(Duration::from_millis(1500))).await?;
    eprintln!("chatan-mock's batch API answers (placeholder text), 1.5 s a batch.");
    let journal = std::env::temp_dir().join("chatan-example-batches.jsonl");
    let _ = std::fs::remove_file(&journal);
    let batch = OpenAi::compatible(&server.openai_url())?
        .batch()
        .linger(Duration::from_millis(200))
        .poll_every(Duration::from_millis(250))
        .journal(&journal)
        .prices(0.40, 1.60) // list prices, $ per million tokens in and out
        .progress(true);
    let started = Instant::now();
    // No concurrency to set: the batch asks the runner for a whole batch's worth in
    // flight, so each wave holds every cell that is ready.
    let rows = Qa::runner(&batch)
        .seed(8)
        .progress(false)
        .generate(500)
        .await?;
    let elapsed = started.elapsed();
    println!(
        "{} rows in {:.1} s, in {} batches:",
        rows.len(),
        elapsed.as_secs_f64(),
        batch.waves().len()
    );
    for wave in batch.waves() {
        println!("  {wave}");
    }
    let usage = batch.usage();
    if let Some((cost, list)) = batch.saving() {
        println!(
            "{} tokens: ${cost:.4} as batches, ${list:.4} at list price — saved ${:.4} (50%)",
            usage.total(),
            list - cost
        );
    }
    let _ = std::fs::remove_file(&journal);
    Ok(())
}
