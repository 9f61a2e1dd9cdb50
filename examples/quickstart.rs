//! The seed's "Basic QA Dataset": one generator writes questions, then answers them.
//!
//! ```sh
//! cargo run --example quickstart                         # bundled mock server
//! cargo run --example quickstart --features local        # SmolLM2 on this CPU
//! OPENAI_API_KEY=sk-... cargo run --example quickstart   # OpenAI
//! ```
//!
//! On a local model the run is smaller (8 rows, short answers): it makes real text on
//! the CPU, in about a minute on two cores.

mod support;

use std::time::Instant;

use chatan::generate::SetOptions;

chatan::dataset! {
    /// A question from a 5th grade math test, and its answer.
    #[derive(Debug, Clone)]
    pub struct Qa {
        pub question: String = gen("write an example question from a 5th grade math test"),
        pub answer: String = gen("answer: {question}"),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (llm, _mock) = support::generator().await?;

    let started = Instant::now();
    let (n, llm) = if support::is_local(&llm) {
        (8, llm.max_tokens(96))
    } else {
        (100, llm)
    };
    let rows: Vec<Qa> = Qa::generate(&llm, n).await?;
    let elapsed = started.elapsed();

    for row in rows.iter().take(3) {
        println!("question: {}\nanswer:   {}\n", row.question, row.answer);
    }
    println!("{} rows in {:.2?}", rows.len(), elapsed);
    Ok(())
}
