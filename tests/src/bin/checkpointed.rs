//! A run into a checkpoint, for the crash-and-resume tests: generates `ROWS` rows of a
//! small recipe against the OpenAI-compatible server at `BASE_URL`, journaling to
//! `CHECKPOINT`, stopping gracefully on Ctrl-C / SIGTERM.
//!
//! ```sh
//! checkpointed BASE_URL CHECKPOINT ROWS
//! ```

use std::process::ExitCode;

chatan::dataset! {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    pub struct Journaled {
        pub id: u32 = sample::range(0, 1_000_000_000),
        pub question: String = gen("question {id}"),
        pub answer: String = gen("answer {id}: {question}"),
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().collect();
    let [_, base_url, checkpoint, rows] = args.as_slice() else {
        eprintln!("usage: checkpointed BASE_URL CHECKPOINT ROWS");
        return ExitCode::from(2);
    };
    let rows: usize = rows.parse().expect("ROWS is a number");
    let llm = chatan::OpenAi::compatible(base_url).expect("a valid URL");
    let result = Journaled::runner(&llm)
        .seed(11)
        .concurrency(8)
        .progress(false)
        .checkpoint(checkpoint)
        .stop_on(chatan::Stop::on_signals())
        .generate(rows)
        .await;
    match result {
        Ok(rows) => {
            println!("done {}", rows.len());
            ExitCode::SUCCESS
        }
        Err(e) => {
            println!("stopped {}: {e}", e.completed().len());
            ExitCode::from(3)
        }
    }
}
