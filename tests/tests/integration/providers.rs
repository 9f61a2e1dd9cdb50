//! The built-in providers against the mock server's OpenAI and Anthropic endpoints:
//! prompts, options and replies on the wire, and the factory by name.

use chatan::generate::SetOptions;
use chatan::{Anthropic, Error, Generator, GeneratorSet, OpenAi, Request, generator};
use chatan_mock::{Api, MockConfig};

chatan::dataset! {
    #[derive(Debug)]
    struct Styled {
        topic: String = sample::choice(["tides"]),
        question: String = gen("a question about {topic}", system = "You are terse.", temperature = 0.3, max_tokens = 50, model = "special-model"),
        answer: String = gen("answer: {question}"),
    }
}

#[tokio::test]
async fn openai_sends_options_and_reads_replies() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let llm = llm.model("default-model");
    let rows = Styled::generate(&llm, 1).await.unwrap();
    let log = server.exchanges();
    let q = log
        .iter()
        .find(|e| e.prompt == "a question about tides")
        .unwrap();
    assert_eq!(q.api, Api::OpenAi);
    assert_eq!(q.system.as_deref(), Some("You are terse."));
    // f32 0.3 goes on the wire as 0.3, not 0.30000001192092896.
    assert_eq!(q.temperature, Some(0.3));
    assert_eq!(q.max_tokens, Some(50));
    assert_eq!(q.model, "special-model");
    assert_eq!(q.reply.as_deref(), Some(rows[0].question.as_str()));
    assert_eq!(rows[0].topic, "tides");
    let a = log
        .iter()
        .find(|e| e.prompt.starts_with("answer: "))
        .unwrap();
    assert_eq!(
        (
            a.model.as_str(),
            a.system.as_deref(),
            a.temperature,
            a.max_tokens
        ),
        ("default-model", None, None, None)
    );
    assert_eq!(rows[0].answer, chatan_mock::placeholder(None, &a.prompt));
}

#[tokio::test]
async fn anthropic_sends_options_and_reads_replies() {
    let (server, claude) =
        tests::anthropic_mock(MockConfig::new().api_key("sk-ant-test"), "sk-ant-test").await;
    let rows = Styled::generate(&claude, 1).await.unwrap();
    let log = server.exchanges();
    let q = log
        .iter()
        .find(|e| e.prompt == "a question about tides")
        .unwrap();
    assert_eq!(q.api, Api::Anthropic);
    assert_eq!(q.system.as_deref(), Some("You are terse."));
    assert_eq!(q.max_tokens, Some(50));
    assert_eq!(q.model, "special-model");
    assert_eq!(q.reply.as_deref(), Some(rows[0].question.as_str()));
    // The messages API needs max_tokens: the default is sent for columns without one.
    let a = log
        .iter()
        .find(|e| e.prompt.starts_with("answer: "))
        .unwrap();
    assert_eq!(
        a.max_tokens,
        Some(u64::from(chatan::provider::anthropic::DEFAULT_MAX_TOKENS))
    );
    assert_eq!(a.model, chatan::provider::anthropic::DEFAULT_MODEL);
}

#[tokio::test]
async fn a_generator_can_be_called_directly() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let reply = llm
        .generate(&Request::new("hello").system("be kind"))
        .await
        .unwrap();
    assert_eq!(
        reply.text,
        chatan_mock::placeholder(Some("be kind"), "hello")
    );
    let usage = reply.usage.expect("the mock reports usage");
    assert_eq!(usage.input_tokens, 1);
}

#[tokio::test]
async fn the_factory_builds_providers_by_name() {
    let (server, _) = tests::openai_mock(MockConfig::new().api_key("k1")).await;
    let any = generator("openai", "k1").unwrap();
    let chatan::AnyGenerator::OpenAi(openai) = any else {
        panic!("expected OpenAI")
    };
    let openai = openai.base_url(&server.openai_url()).unwrap();
    let rows = Styled::generate(&openai, 1).await.unwrap();
    assert_eq!(rows.len(), 1);
    assert!(matches!(
        generator("Anthropic", "k2").unwrap(),
        chatan::AnyGenerator::Anthropic(_)
    ));
}

#[test]
fn unknown_provider_names_list_the_known_ones() {
    let err = generator("transformer", "k").unwrap_err();
    assert!(matches!(&err, Error::UnknownProvider { name, .. } if name == "transformer"));
    // The list is the providers this build has: with the `local` feature (which
    // `cargo test --workspace` turns on for every crate) it goes on with the local names.
    let message = err.to_string();
    assert!(
        message
            .starts_with("unknown provider \"transformer\"; the providers are: openai, anthropic"),
        "{message}"
    );
    assert!(
        chatan::provider::PROVIDERS
            .iter()
            .all(|p| message.contains(p)),
        "{message}"
    );
}

#[test]
fn bad_base_urls_are_config_errors() {
    let err = OpenAi::compatible("localhost:8000").unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(Anthropic::new("k").unwrap().base_url("ftp://x").is_err());
    assert!(OpenAi::new("").is_err());
}

chatan::dataset! {
    #[derive(Debug)]
    struct Judged {
        question: String = gen("write a trivia question"),
        verdict: String = gen("judge: {question}", generator = "judge"),
    }
}

#[tokio::test]
async fn named_generators_route_columns() {
    let (writer_server, writer) = tests::openai_mock(MockConfig::new()).await;
    let (judge_server, judge) = tests::anthropic_mock(MockConfig::new(), "k").await;
    let set = GeneratorSet::new()
        .with_default(writer)
        .with("judge", judge);
    let rows = Judged::generate(&set, 3).await.unwrap();
    assert_eq!(rows.len(), 3);
    for row in &rows {
        assert_eq!(
            row.verdict,
            chatan_mock::placeholder(None, &format!("judge: {}", row.question))
        );
    }
    assert!(
        writer_server
            .exchanges()
            .iter()
            .all(|e| e.prompt == "write a trivia question")
    );
    assert!(
        judge_server
            .exchanges()
            .iter()
            .all(|e| e.prompt.starts_with("judge: ") && e.api == Api::Anthropic)
    );
    assert_eq!(
        (
            writer_server.stats().requests,
            judge_server.stats().requests
        ),
        (3, 3)
    );
    let debug = format!("{set:?}");
    assert!(
        debug.contains("judge") && debug.contains("anthropic"),
        "{debug}"
    );
}

#[tokio::test]
async fn a_missing_named_generator_fails_before_any_request() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let failed = Judged::generate(&llm, 3).await.unwrap_err();
    assert!(
        matches!(failed.error(), Error::UnknownGenerator { column: "verdict", name: Some(n), .. } if n == "judge"),
        "{failed:?}"
    );
    assert_eq!(
        failed.error().to_string(),
        "column `verdict` uses generator \"judge\", but no named generators were given"
    );
    assert_eq!(server.stats().requests, 0);
    let set = GeneratorSet::new().with("critic", llm.clone());
    let failed = Judged::generate(&set, 1).await.unwrap_err();
    assert_eq!(
        failed.error().to_string(),
        "column `question` uses the default generator, but the generators given are: critic"
    );
}
