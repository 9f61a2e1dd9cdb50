//! The response cache: a second identical run sends nothing; editing one template asks
//! again only that column and the columns that read it; identical prompts in different
//! rows stay separate samples; a question asked again is not answered with the reply
//! that failed.

use std::path::PathBuf;

use chatan::generate::SetOptions;
use chatan::layer::ReplyCache;
use chatan_mock::MockConfig;

chatan::dataset! {
    #[derive(Debug, Clone, PartialEq)]
    struct V1 {
        topic: String = sample::choice(["tides", "stars"]),
        question: String = gen("a question about {topic}"),
        answer: String = gen("answer: {question}"),
        summary: String = gen("summarise {topic}"),
    }
}

chatan::dataset! {
    /// V1 with the `answer` template edited.
    #[derive(Debug, Clone, PartialEq)]
    struct V2 {
        topic: String = sample::choice(["tides", "stars"]),
        question: String = gen("a question about {topic}"),
        answer: String = gen("answer briefly: {question}"),
        summary: String = gen("summarise {topic}"),
    }
}

chatan::dataset! {
    /// V1 with the `question` template edited: `answer` reads it.
    #[derive(Debug, Clone, PartialEq)]
    struct V3 {
        topic: String = sample::choice(["tides", "stars"]),
        question: String = gen("one question about {topic}"),
        answer: String = gen("answer: {question}"),
        summary: String = gen("summarise {topic}"),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("cache-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test]
async fn reruns_and_edits_ask_only_what_changed() {
    let path = scratch("replies.jsonl");
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let cache = ReplyCache::open(&path).unwrap();
    let first = V1::runner(&llm)
        .seed(2)
        .cache(&cache)
        .generate(20)
        .await
        .unwrap();
    assert_eq!(server.exchanges().len(), 60);
    // Twenty rows of two topics: identical prompts in different rows were each asked.
    assert!(first.iter().filter(|r| r.topic == "tides").count() > 1);

    // Reopened from disk: the same run sends nothing and returns the same rows (the
    // same server: a reply is kept for the URL it came from).
    let cache = ReplyCache::open(&path).unwrap();
    assert_eq!(cache.len(), 60);
    let second = V1::runner(&llm)
        .seed(2)
        .cache(&cache)
        .generate(20)
        .await
        .unwrap();
    assert_eq!(server.exchanges().len(), 60);
    assert_eq!(second, first);
    assert_eq!(cache.hits(), 60);

    // `answer` edited: only `answer` is asked again.
    V2::runner(&llm)
        .seed(2)
        .cache(&cache)
        .generate(20)
        .await
        .unwrap();
    let log = server.exchanges();
    assert_eq!(log.len(), 80);
    assert!(
        log[60..]
            .iter()
            .all(|e| e.prompt.starts_with("answer briefly: "))
    );

    // `question` edited: `question` and `answer`, which reads it, are asked again.
    V3::runner(&llm)
        .seed(2)
        .cache(&cache)
        .generate(20)
        .await
        .unwrap();
    let log = server.exchanges();
    assert_eq!(log.len(), 120);
    assert!(log[80..].iter().all(|e| !e.prompt.starts_with("summarise")));
}

chatan::dataset! {
    #[derive(Debug)]
    struct Counted {
        legs: u32 = gen("how many legs has a spider?"),
    }
}

#[tokio::test]
async fn a_question_asked_again_is_not_answered_from_the_cache() {
    let path = scratch("reask.jsonl");
    let cache = ReplyCache::open(&path).unwrap();
    let (server, llm) =
        tests::openai_mock(MockConfig::new().reply_for("how many legs", ["lots", "8"])).await;
    let rows = Counted::runner(&llm)
        .cache(&cache)
        .generate(1)
        .await
        .unwrap();
    assert_eq!(rows[0].legs, 8);
    assert_eq!(server.exchanges().len(), 2);
    // Rerun: both replies come from the cache, in the same order, and the row is the
    // same.
    let rows = Counted::runner(&llm)
        .cache(&cache)
        .generate(1)
        .await
        .unwrap();
    assert_eq!(rows[0].legs, 8);
    assert_eq!(server.exchanges().len(), 2);
}

#[tokio::test]
async fn the_report_counts_only_requests_sent_not_replies_from_the_cache() {
    let path = scratch("report.jsonl");
    let cache = ReplyCache::open(&path).unwrap();
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let first = V1::runner(&llm)
        .seed(5)
        .cache(&cache)
        .run(30)
        .await
        .unwrap();
    assert_eq!(first.report.requests, 90);
    let rerun = V1::runner(&llm)
        .seed(5)
        .cache(&cache)
        .run(30)
        .await
        .unwrap();
    assert_eq!(server.exchanges().len(), 90, "the rerun sent nothing");
    assert_eq!(rerun.report.requests, 0, "{}", rerun.report);
    assert_eq!(rerun.rows, first.rows);
}

#[tokio::test]
async fn a_changed_generator_default_or_url_is_not_answered_from_the_cache() {
    let path = scratch("defaults.jsonl");
    let cache = ReplyCache::open(&path).unwrap();
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    V1::runner(&llm)
        .seed(6)
        .cache(&cache)
        .generate(5)
        .await
        .unwrap();
    assert_eq!(server.exchanges().len(), 15);
    // The generator's own system prompt and temperature are part of what is sent.
    let styled = llm.clone().system("answer as a pirate");
    V1::runner(&styled)
        .seed(6)
        .cache(&cache)
        .generate(5)
        .await
        .unwrap();
    assert_eq!(
        server.exchanges().len(),
        30,
        "a new system prompt asks again"
    );
    let log = server.exchanges();
    assert!(
        log[15..]
            .iter()
            .all(|e| e.system.as_deref() == Some("answer as a pirate"))
    );
    let warmer = styled.clone().temperature(0.9);
    V1::runner(&warmer)
        .seed(6)
        .cache(&cache)
        .generate(5)
        .await
        .unwrap();
    assert_eq!(server.exchanges().len(), 45, "a new temperature asks again");
    // The same settings again: answered from the cache.
    V1::runner(&warmer)
        .seed(6)
        .cache(&cache)
        .generate(5)
        .await
        .unwrap();
    assert_eq!(server.exchanges().len(), 45);
    // Another server: asked there.
    let (other, elsewhere) = tests::openai_mock(MockConfig::new()).await;
    V1::runner(&elsewhere)
        .seed(6)
        .cache(&cache)
        .generate(5)
        .await
        .unwrap();
    assert_eq!(other.exchanges().len(), 15, "another base URL asks again");
}
