//! Generated tokens per second of a local model on this machine: chatan's `Local`
//! (candle, batched on one model thread) at 1, 8 and 32 rows at once, side by side with
//! llama.cpp's `llama-server` on the same GGUF file when one is running.
//!
//! ```sh
//! scripts/fetch-local-model                 # SmolLM2-135M-Instruct.Q4_1.gguf
//! llama-server -m target/models/SmolLM2-135M-Instruct.Q4_1.gguf --port 8091 -np 8 -t 2 &
//! LLAMA_SERVER=http://127.0.0.1:8091/v1 cargo bench -p bench --bench local
//! ```
//!
//! The bench sets `RAYON_NUM_THREADS` to the core count when it is unset, as the README
//! advises; `RAYON_NUM_THREADS= cargo bench ...` (set, empty) measures without it.
//!
//! Every request asks for up to 64 new tokens at temperature 0.7 from a different
//! prompt; tokens are counted from the replies' usage, so replies that end early (end of
//! sequence) count what they made, for both.

use std::time::Instant;

use chatan::generate::SetOptions;
use chatan::local::Local;
use chatan::{Generator, OpenAi, Request};

const MAX_TOKENS: u32 = 64;
const TOPICS: [&str; 8] = [
    "the sea",
    "a mountain",
    "bread",
    "a library",
    "rain",
    "a city",
    "music",
    "a garden",
];

/// `(rows, generated tokens, seconds)` for `rows` requests at once on `llm`.
async fn run(llm: &impl Generator, rows: usize, round: usize) -> (usize, u64, f64) {
    let prompts: Vec<String> = (0..rows)
        .map(|i| {
            format!(
                "Write two sentences about {} (note {}).",
                TOPICS[i % TOPICS.len()],
                round * 1000 + i
            )
        })
        .collect();
    let started = Instant::now();
    let replies = futures::future::join_all(prompts.iter().enumerate().map(|(i, p)| async move {
        let request = Request::new(p)
            .temperature(0.7)
            .max_tokens(MAX_TOKENS)
            .cell(i, "text");
        llm.generate(&request).await
    }))
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let tokens = replies
        .into_iter()
        .map(|r| r.expect("a reply").usage.map_or(0, |u| u.output_tokens))
        .sum();
    (rows, tokens, seconds)
}

async fn measure(name: &str, llm: &impl Generator) -> Vec<f64> {
    // One warm-up request (page the weights in, start the server's slots).
    run(llm, 1, 99).await;
    let mut rates = Vec::new();
    for (round, rows) in [1, 8, 32].into_iter().enumerate() {
        let (rows, tokens, seconds) = run(llm, rows, round).await;
        let rate = tokens as f64 / seconds;
        println!(
            "{name:<14} {rows:>3} rows at once: {tokens:>5} tokens in {seconds:>6.2} s = {rate:>7.1} tokens/s"
        );
        rates.push(rate);
    }
    rates
}

fn main() {
    // As the README advises (see `chatan::local`): without it candle reads /proc/cpuinfo
    // on every matrix product. `RAYON_NUM_THREADS=` (empty) measures that case.
    let unset = std::env::var_os("RAYON_NUM_THREADS").is_none();
    if unset {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: the program has one thread yet.
        unsafe { std::env::set_var("RAYON_NUM_THREADS", cores.to_string()) };
    }
    println!(
        "RAYON_NUM_THREADS={}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
    tokio::runtime::Runtime::new().unwrap().block_on(compare());
}

async fn compare() {
    let path = std::env::var("CHATAN_LOCAL_MODEL")
        .unwrap_or_else(|_| "target/models/SmolLM2-135M-Instruct.Q4_1.gguf".into());
    let path = if std::path::Path::new(&path).exists() {
        path
    } else {
        format!("../{path}")
    };
    let local = Local::open(&path).expect("the model (run scripts/fetch-local-model)");
    let ours = measure("chatan Local", &local).await;
    if let Ok(url) = std::env::var("LLAMA_SERVER") {
        let server = OpenAi::compatible(&url)
            .expect("LLAMA_SERVER is a base URL")
            .model("smollm2");
        let theirs = measure("llama-server", &server).await;
        for (rows, (a, b)) in [1, 8, 32].iter().zip(ours.iter().zip(&theirs)) {
            println!("{rows:>3} rows: chatan / llama-server = {:.2}x", a / b);
        }
    } else {
        println!("(set LLAMA_SERVER to a llama-server's /v1 URL to compare)");
    }
}
