//! The seed's "Basic QA Dataset": one generator writes questions, then answers them.
//!
//! ```sh
//! cargo run --example quickstart                         # SmolLM2 on this CPU, no key
//! OPENAI_API_KEY=sk-... cargo run --example quickstart   # OpenAI
//! CHATAN_MOCK=1 cargo run --example quickstart           # the bundled mock server
//! ```
//!
//! With no provider configured it runs the local model chatan fetches on first use
//! (SmolLM2-135M-Instruct, 98 MB, into the Hugging Face cache). The run is then smaller
//! (8 rows, short answers): real text on the CPU, in well under a minute on two cores.

mod support;

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

    let (n, llm) = if support::is_local(&llm) {
        (8, llm.max_tokens(96))
    } else {
        (100, llm)
    };
    let generated = Qa::runner(&llm).run(n).await?;

    for row in generated.rows.iter().take(3) {
        println!("question: {}\nanswer:   {}\n", row.question, row.answer);
    }
    println!("{}", support::summary(&llm, &generated.report));
    Ok(())
}
