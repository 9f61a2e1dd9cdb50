//! Generated tokens per second of a local model on this machine: chatan's `Local`
//! (candle, batched on one model thread) at 1, 8 and 32 rows at once, side by side with
//! llama.cpp's `llama-server` on the same GGUF file when one is running, in three
//! alternating rounds (chatan, then llama-server, three times); then what reusing a
//! shared prompt prefix saves: 16 rows with one 500-token system prompt against 16 rows
//! whose system prompts differ from their first token, one generated token each.
//!
//! ```sh
//! scripts/fetch-local-model                 # SmolLM2-135M-Instruct.Q4_1.gguf
//! llama-server -m target/models/SmolLM2-135M-Instruct.Q4_1.gguf --port 8091 -np 8 -t 2 &
//! LLAMA_SERVER=http://127.0.0.1:8091/v1 cargo bench -p bench --bench local
//! ```
//!
//! `-- rows 1 8` measures only those row counts (and not the prefix).
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

async fn measure(name: &str, llm: &impl Generator, round: usize) -> Vec<f64> {
    // One warm-up request (page the weights in, start the server's slots).
    run(llm, 1, 99).await;
    let mut rates = Vec::new();
    for (i, rows) in row_counts().into_iter().enumerate() {
        let (rows, tokens, seconds) = run(llm, rows, round * 10 + i).await;
        let rate = tokens as f64 / seconds;
        println!(
            "round {round} {name:<14} {rows:>3} rows at once: {tokens:>5} tokens in {seconds:>6.2} s = {rate:>7.1} tokens/s"
        );
        rates.push(rate);
    }
    rates
}

/// The rows at once to measure: 1, 8 and 32, or those given as `-- rows 1 8`.
fn row_counts() -> Vec<usize> {
    let args: Vec<String> = std::env::args().collect();
    match args.iter().position(|a| a == "rows") {
        Some(at) => args[at + 1..]
            .iter()
            .map_while(|a| a.parse().ok())
            .collect(),
        None => vec![1, 8, 32],
    }
}

/// The CPU's model name and the SIMD features that decide which kernels run.
fn cpu() -> String {
    let info = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
    let field = |name: &str| {
        info.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_once(':'))
            .map_or(String::new(), |(_, v)| v.trim().to_owned())
    };
    let flags = field("flags");
    let wanted = [
        "avx2",
        "fma",
        "avx512f",
        "avx512bw",
        "avx512_vnni",
        "avx_vnni",
        "amx_int8",
    ];
    let present: Vec<&str> = wanted
        .into_iter()
        .filter(|w| flags.split_whitespace().any(|f| f == *w))
        .collect();
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    format!(
        "{} ({cores} cores): {}",
        field("model name"),
        present.join(" ")
    )
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
    println!("CPU: {}", cpu());
    println!(
        "RAYON_NUM_THREADS={}",
        std::env::var("RAYON_NUM_THREADS").unwrap_or_default()
    );
    tokio::runtime::Runtime::new().unwrap().block_on(compare());
}

fn model_path() -> String {
    let path = std::env::var("CHATAN_LOCAL_MODEL")
        .unwrap_or_else(|_| "target/models/SmolLM2-135M-Instruct.Q4_1.gguf".into());
    if std::path::Path::new(&path).exists() {
        path
    } else {
        format!("../{path}")
    }
}

async fn compare() {
    let path = model_path();
    // `cargo bench -p bench --bench local -- prefix` measures the prefix only.
    if std::env::args().any(|a| a == "prefix") {
        return prefix(&path).await;
    }
    let local = Local::open(&path).expect("the model (run scripts/fetch-local-model)");
    let server = std::env::var("LLAMA_SERVER").ok().map(|url| {
        OpenAi::compatible(&url)
            .expect("LLAMA_SERVER is a base URL")
            .model("smollm2")
    });
    let mut ratios: Vec<Vec<f64>> = Vec::new();
    for round in 1..=3 {
        let ours = measure("chatan Local", &local, round).await;
        if let Some(server) = &server {
            let theirs = measure("llama-server", server, round).await;
            ratios.push(ours.iter().zip(&theirs).map(|(o, t)| o / t).collect());
        }
    }
    if server.is_none() {
        println!("(set LLAMA_SERVER to a llama-server's /v1 URL to compare)");
    }
    for (round, r) in ratios.iter().enumerate() {
        let each: Vec<String> = r
            .iter()
            .zip(row_counts())
            .map(|(ratio, rows)| format!("{ratio:.2}x at {rows} rows"))
            .collect();
        println!(
            "round {}: chatan / llama-server = {}",
            round + 1,
            each.join(", ")
        );
    }
    if std::env::args().any(|a| a == "rows") {
        return;
    }
    prefix(&path).await;
}

/// A system prompt of about 500 tokens; `variant` changes its first words.
fn system_prompt(variant: Option<usize>) -> String {
    let opening = match variant {
        Some(v) => format!("Reviewer number {v}. "),
        None => String::new(),
    };
    let rules = [
        "Read the question and the answer carefully before you judge.",
        "Score the answer from 1 to 10, where 10 is fully correct and complete.",
        "Penalise answers that invent facts, dates, names or numbers.",
        "Reward answers that are short, direct and written in plain words.",
        "Explain your score in one sentence that names the main strength or flaw.",
        "Ignore spelling mistakes unless they change the meaning of the answer.",
        "Do not reward length: a long answer is not better for being long.",
        "When the question is ambiguous, judge the most natural reading of it.",
    ];
    let mut text = opening;
    for i in 0..3 {
        for (j, rule) in rules.iter().enumerate() {
            text.push_str(&format!("Rule {}: {rule} ", i * rules.len() + j + 1));
        }
    }
    text
}

/// 16 rows, one token each, with one shared system prompt or 16 different ones: the
/// seconds, and the prompt tokens read and reused.
async fn prefill(path: &str, shared: bool) -> (f64, u64, u64) {
    let local = Local::open(path).expect("the model");
    let systems: Vec<String> = (0..16)
        .map(|i| system_prompt((!shared).then_some(i)))
        .collect();
    let started = Instant::now();
    let replies = futures::future::join_all((0..16).map(|i| {
        let local = &local;
        let system = &systems[i];
        async move {
            let question = format!("Question {i}: what is {i} plus {i}? Answer: {}.", 2 * i);
            let request = Request::new(&question)
                .system(system)
                .temperature(0.0)
                .max_tokens(1)
                .cell(i, "score");
            local.generate(&request).await
        }
    }))
    .await;
    let seconds = started.elapsed().as_secs_f64();
    let (mut input, mut reused) = (0, 0);
    for reply in replies {
        let usage = reply.expect("a reply").usage.expect("usage");
        input += usage.input_tokens;
        reused += usage.cache_read_tokens;
    }
    (seconds, input, reused)
}

async fn prefix(path: &str) {
    let (apart, input, _) = prefill(path, false).await;
    let (shared, shared_input, reused) = prefill(path, true).await;
    println!(
        "16 rows, 16 different ~500-token system prompts: {input} prompt tokens read in {apart:.2} s"
    );
    println!(
        "16 rows, one shared ~500-token system prompt:    {shared_input} prompt tokens, {reused} of them reused, in {shared:.2} s: {:.1}x faster",
        apart / shared
    );
}
