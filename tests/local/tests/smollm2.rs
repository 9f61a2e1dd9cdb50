//! A real local model: SmolLM2-135M-Instruct (GGUF, Q4_1), with its tokenizer and chat
//! template built from the file's metadata, run in-process on the CPU.

use chatan::generate::SetOptions;
use chatan::local::Local;
use chatan::{Generator, Request};

fn load() -> Local {
    Local::gguf(tests_local::smollm2()).expect("the model loads")
}

#[tokio::test]
async fn greedy_generation_is_sensible_stable_and_bounded() {
    let llm = load();
    let mut request = Request::new("What is the capital of France? Answer in one word.")
        .temperature(0.0)
        .max_tokens(12);
    request.row = 3;
    let first = llm.generate(&request).await.unwrap();
    let again = llm.generate(&request).await.unwrap();
    assert_eq!(first.text, again.text, "greedy decoding is deterministic");
    let usage = first.usage.unwrap();
    assert!(
        usage.output_tokens <= 12 && usage.output_tokens > 0,
        "{usage:?}"
    );
    // The chat template was applied: the prompt is more than the question's tokens.
    assert!(usage.input_tokens > 15, "{usage:?}");
    // Words of English, not token soup (a 135M model's answer need not be right).
    let words = first
        .text
        .split_whitespace()
        .filter(|w| w.chars().filter(|c| c.is_alphabetic()).count() >= 2)
        .count();
    assert!(words >= 3, "{:?}", first.text);
    assert!(first.text.is_ascii(), "{:?}", first.text);
}

#[tokio::test]
async fn sampling_is_reproducible_per_cell_and_stops_where_told() {
    let llm = load();
    let cell = |row: usize| {
        let mut r = Request::new("Write a sentence about the sea.")
            .temperature(0.9)
            .max_tokens(24);
        r.row = row;
        r.column = "sentence";
        r
    };
    let a = llm.generate(&cell(1)).await.unwrap().text;
    let b = llm.generate(&cell(1)).await.unwrap().text;
    let c = llm.generate(&cell(2)).await.unwrap().text;
    assert_eq!(a, b, "the same cell samples the same reply");
    assert_ne!(a, c, "another row samples another reply");

    let stops = [" "];
    let stopped = llm.generate(&cell(1).stop(&stops)).await.unwrap().text;
    assert!(!stopped.contains(' '), "{stopped:?}");
    assert!(
        a.starts_with(&stopped),
        "{stopped:?} is where {a:?} would stop"
    );
}

chatan::dataset! {
    #[derive(Debug)]
    struct Seeded {
        topic: String = sample::choice(["space", "history", "science"]),
        prompt: String = gen("Ask a short question about {topic}", max_tokens = 24, temperature = 0.0),
    }
}

#[tokio::test]
async fn a_recipe_runs_on_the_local_model() {
    let llm = load();
    let rows = Seeded::runner(&llm).seed(1).generate(3).await.unwrap();
    for row in &rows {
        assert!(row.prompt.split_whitespace().count() >= 2, "{row:?}");
    }
}

#[test]
fn a_file_that_is_not_a_model_is_a_clear_error() {
    let dir = std::env::temp_dir().join("chatan-local-test");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("not-a-model.gguf");
    std::fs::write(&path, b"hello").unwrap();
    let err = Local::gguf(&path).unwrap_err().to_string();
    assert!(
        err.starts_with("local model ") && err.contains("not-a-model.gguf"),
        "{err}"
    );
}

#[test]
fn the_tokenizer_built_from_gguf_metadata_round_trips() {
    let llm = load();
    for text in [
        "The capital of France is Paris.",
        "  leading spaces, tabs\tand\nnew lines  ",
        "naïve café — 東京 🦀",
        "fn main() { println!(\"{}\", 1 + 2); }",
    ] {
        let ids = llm.encode(text).unwrap();
        assert!(
            !ids.is_empty() && ids.len() < text.len() + 4,
            "{text:?}: {ids:?}"
        );
        assert_eq!(llm.decode(&ids).unwrap(), text);
    }
    // Common words are single tokens (the merges are applied), and a control token
    // encodes whole, as one id.
    assert_eq!(llm.encode(" Paris").unwrap().len(), 1);
    assert_eq!(llm.encode("<|im_start|>").unwrap().len(), 1);
}
