//! Every kind of request body chatan sends, captured as the mock server received it, for
//! the check against the providers' published schemas (`tests/conformance/check.py`,
//! run by CI over the files this writes to `target/test-scratch/conformance/`): each
//! generation option, structured types with nested structs, `Vec`, `Option`, data
//! enums, `Scale` and a field named `format`, a question asked again (after a reply
//! that did not parse, and after an empty one), and the batch APIs' input lines and
//! creates. The mock enforces the providers' rules itself, so the run also shows that
//! none of these bodies is refused.

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use chatan::generate::SetOptions;
use chatan::provider::Dialect;
use chatan::structured::Scale;
use chatan_mock::{MockConfig, MockServer};
use serde_json::Value;

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// The document's format.
    format: String,
    score: Scale<1, 10>,
    #[schemars(length(min = 3, max = 200))]
    reason: String,
    tags: Vec<Tag>,
    source: Option<Source>,
    shape: Shape,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tag {
    Clear,
    Vague,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub struct Source {
    id: chatan::Uuid,
    #[schemars(range(min = 0.0, max = 1.0))]
    weight: f64,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
pub enum Shape {
    Point,
    Circle { radius: f64 },
    Square(u32),
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct OpenAiRecipe {
        topic: String = sample::choice(["tides", "moss"]),
        question: String = gen("a question about {topic}", system = "You are terse.",
            temperature = 1.7, top_p = 0.9, max_tokens = 60, stop = ["\n\n", "END"], seed = 7,
            model = "gpt-4.1-mini"),
        note: String = gen("a note on {topic}", stop = "\n"),
        verdict: Verdict = gen("judge: {question}"),
        count: u32 = gen("how many words in: {question}"),
        ok: bool = gen("is this fine? {note}"),
        mark: Scale<1, 5> = gen("mark: {note}"),
    }
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct AnthropicRecipe {
        topic: String = sample::choice(["tides", "moss"]),
        question: String = gen("a question about {topic}", system = "You are terse.",
            cache_system = true, temperature = 0.7, top_k = 40, max_tokens = 60,
            stop = ["\n", "END"]),
        note: String = gen("a note on {topic}", top_p = 0.8),
        verdict: Verdict = gen("judge: {question}"),
        count: u32 = gen("how many words in: {question}"),
    }
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct Reasked {
        legs: u32 = gen("how many legs has a spider?"),
        shape: Shape = gen("a shape, please"),
    }
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct Plain {
        topic: String = sample::choice(["tides", "moss"]),
        question: String = gen("a question about {topic}", temperature = 0.3, max_tokens = 50),
        verdict: Verdict = gen("judge: {question}"),
    }
}

/// Replies that parse into the plain typed columns; the spider's legs first empty, then
/// wrong, then right, so the question is asked again twice.
fn typed_replies() -> MockConfig {
    MockConfig::new()
        .reply_for("how many legs", ["", "lots", "8"])
        .reply_for("how many words", ["7"])
        .reply_for("is this fine", ["true"])
        .reply_for("mark:", ["3"])
}

fn folder() -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../target/test-scratch/conformance");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `bodies` to `name` in the conformance folder, one JSON line each.
fn write(dir: &Path, name: &str, bodies: impl IntoIterator<Item = Value>) -> usize {
    let mut file = std::fs::File::create(dir.join(name)).unwrap();
    let mut n = 0;
    for body in bodies {
        writeln!(file, "{body}").unwrap();
        n += 1;
    }
    n
}

/// The chat bodies `server` received, none refused.
fn bodies(server: &MockServer) -> Vec<Value> {
    assert_eq!(server.stats().refused, 0, "the mock refused a request");
    server.exchanges().into_iter().map(|e| e.body).collect()
}

#[tokio::test]
async fn every_kind_of_body_is_captured_for_the_schema_check() {
    let dir = folder();
    // OpenAI's own rules (`Dialect::OpenAi`: no top_k, `max_completion_tokens`).
    let (openai_server, llm) = tests::openai_mock(typed_replies()).await;
    let llm = llm.dialect(Dialect::OpenAi).temperature(0.5);
    OpenAiRecipe::runner(&llm)
        .seed(1)
        .generate(6)
        .await
        .unwrap();
    Reasked::runner(&llm).seed(1).generate(1).await.unwrap();
    let openai = bodies(&openai_server);

    let (anthropic_server, claude) = tests::anthropic_mock(typed_replies(), "k").await;
    AnthropicRecipe::runner(&claude)
        .seed(1)
        .generate(6)
        .await
        .unwrap();
    Reasked::runner(&claude).seed(1).generate(1).await.unwrap();
    // A model that takes no sampling parameters: none is sent.
    let bare = claude
        .clone()
        .sampling_parameters(false)
        .model("claude-opus-5");
    Reasked::runner(&bare).seed(2).generate(1).await.unwrap();
    let anthropic = bodies(&anthropic_server);
    let no_sampling: Vec<Value> = anthropic
        .iter()
        .filter(|b| b["model"] == "claude-opus-5")
        .cloned()
        .collect();
    assert!(!no_sampling.is_empty());

    // The batch APIs.
    let batches = MockServer::start(MockConfig::new().batch_delay(Duration::from_millis(30)))
        .await
        .unwrap();
    let openai_batch = chatan::OpenAi::compatible(&batches.openai_url())
        .unwrap()
        .dialect(Dialect::OpenAi)
        .batch()
        .linger(Duration::from_millis(20))
        .poll_every(Duration::from_millis(10));
    Plain::runner(&openai_batch)
        .seed(3)
        .generate(4)
        .await
        .unwrap();
    let claude_batch = chatan::Anthropic::new("k")
        .unwrap()
        .base_url(&batches.anthropic_url())
        .unwrap()
        .batch()
        .linger(Duration::from_millis(20))
        .poll_every(Duration::from_millis(10));
    Plain::runner(&claude_batch)
        .seed(3)
        .generate(4)
        .await
        .unwrap();
    let infos = batches.batches();
    let openai_lines: Vec<Value> = infos
        .iter()
        .filter(|b| b.api == chatan_mock::Api::OpenAi)
        .flat_map(|b| b.lines.clone())
        .collect();
    let openai_creates: Vec<Value> = infos
        .iter()
        .filter(|b| b.api == chatan_mock::Api::OpenAi)
        .map(|b| b.create.clone())
        .collect();
    let anthropic_creates: Vec<Value> = infos
        .iter()
        .filter(|b| b.api == chatan_mock::Api::Anthropic)
        .map(|b| b.create.clone())
        .collect();
    assert_eq!(batches.stats().refused, 0);

    // What the bodies hold, so the check covers it.
    let has = |bodies: &[Value], f: &dyn Fn(&Value) -> bool| bodies.iter().any(f);
    assert!(has(
        &openai,
        &|b| b["response_format"]["json_schema"]["strict"] == true
    ));
    assert!(has(&openai, &|b| b.get("seed").is_some()
        && b.get("stop").is_some()));
    assert!(has(&openai, &|b| b["messages"].as_array().unwrap().len() >= 3));
    assert!(has(&anthropic, &|b| b.get("tools").is_some()));
    assert!(has(&anthropic, &|b| b["system"].is_array()));
    assert!(has(&anthropic, &|b| b.get("top_k").is_some()));
    assert!(!has(&anthropic, &|b| {
        b.get("temperature").is_some() && b.get("top_p").is_some()
    }));
    // The empty reply was not sent back as an assistant turn.
    assert!(!has(&anthropic, &|b| {
        b["messages"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m["content"].as_str() == Some(""))
    }));
    assert!(no_sampling.iter().all(|b| b.get("temperature").is_none()));

    write(&dir, "openai-chat.jsonl", openai);
    write(&dir, "anthropic-messages.jsonl", anthropic);
    write(&dir, "anthropic-messages-no-sampling.jsonl", no_sampling);
    assert!(write(&dir, "openai-batch-input.jsonl", openai_lines) >= 8);
    assert!(write(&dir, "openai-batch-create.jsonl", openai_creates) >= 2);
    assert!(write(&dir, "anthropic-batch-create.jsonl", anthropic_creates) >= 2);
}
