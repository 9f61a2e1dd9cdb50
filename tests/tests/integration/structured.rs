//! Structured columns over real HTTP, in both wire formats: the schema goes out as the
//! provider's native structured output (or in the prompt), the reply is checked and
//! parsed into the type, an unusable reply is asked again with the problem fed back,
//! and fields of a structured column feed later templates. Also the request options
//! `stop`, `seed`, `cache_system` and the length-limit field.

use chatan::Error;
use chatan::error::CellError;
use chatan::provider::{MaxTokensParam, StructuredOutput};
use chatan::structured::Scale;
use chatan_mock::{MockConfig, Structured};

/// A judge's verdict.
#[derive(Debug, Clone, PartialEq, serde::Deserialize, schemars::JsonSchema)]
pub struct Judgement {
    /// From 1 to 10.
    pub score: Scale<1, 10>,
    #[schemars(length(min = 3))]
    pub reason: String,
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Judged {
        answer: String = gen("answer a trivia question"),
        verdict: Judgement = gen("rate this answer: {answer}", temperature = 0.0),
        keywords: Vec<String> = gen("keywords of: {answer}"),
        note: String = gen("explain a score of {verdict.score}: {verdict.reason}"),
    }
}

#[tokio::test]
async fn openai_json_schema_requests_are_strict_and_parsed() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Judged::generate(&llm, 3).await.unwrap();
    let log = server.exchanges();
    let verdicts: Vec<_> = log
        .iter()
        .filter(|e| e.prompt.starts_with("rate"))
        .collect();
    assert_eq!(verdicts.len(), 3);
    for e in &verdicts {
        assert_eq!(
            e.structured,
            Some(Structured::JsonSchema {
                name: "verdict".into(),
                strict: true
            })
        );
        let schema = e.schema.as_ref().unwrap();
        assert_eq!(schema["additionalProperties"], false);
        assert_eq!(schema["properties"]["score"]["minimum"], 1);
        assert_eq!(schema["properties"]["score"]["maximum"], 10);
        assert_eq!(schema["required"], serde_json::json!(["score", "reason"]));
    }
    // A text column sends no schema.
    let answers = log
        .iter()
        .filter(|e| e.prompt == "answer a trivia question");
    assert!(
        answers
            .into_iter()
            .all(|e| e.schema.is_none() && e.structured.is_none())
    );
    // A `Vec` is wrapped as `{"value": [...]}`.
    let keywords = log
        .iter()
        .find(|e| e.prompt.starts_with("keywords"))
        .unwrap();
    assert_eq!(
        keywords.schema.as_ref().unwrap()["properties"]["value"]["type"],
        "array"
    );
    for row in &rows {
        // The mock's answer to the schema, parsed: what it sent for this row's prompt.
        let sent = log
            .iter()
            .find(|e| e.prompt == format!("rate this answer: {}", row.answer))
            .and_then(|e| e.reply.clone())
            .unwrap();
        let sent: serde_json::Value = serde_json::from_str(&sent).unwrap();
        assert_eq!(sent["score"], row.verdict.score.get());
        assert!((1..=10).contains(&row.verdict.score.get()));
        assert_eq!(row.verdict.reason, "mock reason");
        assert_eq!(row.keywords, ["mock value"]);
        // `{verdict.score}` and `{verdict.reason}` in a later template.
        let explain = format!("explain a score of {}: mock reason", row.verdict.score);
        assert!(log.iter().any(|e| e.prompt == explain), "{explain}");
    }
}

#[tokio::test]
async fn anthropic_tool_use_carries_the_schema_and_the_reply() {
    let (server, llm) = tests::anthropic_mock(MockConfig::new(), "sk-ant-test").await;
    let rows = Judged::generate(&llm, 2).await.unwrap();
    let log = server.exchanges();
    let verdict = log.iter().find(|e| e.prompt.starts_with("rate")).unwrap();
    assert_eq!(
        verdict.structured,
        Some(Structured::Tool {
            name: "answer".into()
        })
    );
    assert_eq!(
        verdict.schema.as_ref().unwrap()["properties"]["score"]["maximum"],
        10
    );
    let sent = verdict.reply.as_ref().unwrap();
    let first = rows
        .iter()
        .find(|r| verdict.prompt == format!("rate this answer: {}", r.answer))
        .unwrap();
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(sent).unwrap()["score"],
        first.verdict.score.get()
    );
    assert_eq!(rows[1].keywords, ["mock value"]);
}

#[tokio::test]
async fn an_unusable_reply_is_asked_again_with_the_problem_fed_back() {
    let config = MockConfig::new().reply_for(
        "rate this",
        [
            "I think it deserves a 7.",
            r#"{"score": 11, "reason": "too generous"}"#,
            r#"```json
{"score": 7, "reason": "mostly right"}
```"#,
        ],
    );
    for anthropic in [false, true] {
        let (server, rows) = if anthropic {
            let (server, llm) = tests::anthropic_mock(config.clone(), "k").await;
            let rows = Judged::generate(&llm, 1).await.unwrap();
            (server, rows)
        } else {
            let (server, llm) = tests::openai_mock(config.clone()).await;
            let rows = Judged::generate(&llm, 1).await.unwrap();
            (server, rows)
        };
        assert_eq!(rows[0].verdict.score.get(), 7, "anthropic: {anthropic}");
        assert_eq!(rows[0].verdict.reason, "mostly right");
        let asks: Vec<_> = server
            .exchanges()
            .into_iter()
            .filter(|e| e.prompt.starts_with("rate"))
            .collect();
        assert_eq!(asks.len(), 3);
        assert_eq!(asks[0].turns.len(), 1);
        // The second question carries the first reply and why it failed.
        let second = &asks[1].turns;
        assert_eq!(second.len(), 3, "{second:?}");
        assert_eq!(
            second[1],
            ("assistant".into(), "I think it deserves a 7.".into())
        );
        assert!(second[2].1.contains("not JSON"), "{}", second[2].1);
        let third = &asks[2].turns;
        assert!(
            third[2].1.contains("`score` is 11, above the maximum 10"),
            "{}",
            third[2].1
        );
    }
}

#[tokio::test]
async fn replies_that_never_fit_fail_the_cell_naming_row_column_and_reason() {
    let config = MockConfig::new().reply_for("rate this", [r#"{"score": 0, "reason": "bad"}"#]);
    let (_server, llm) = tests::openai_mock(config).await;
    let err = Judged::generate(&llm, 2).await.unwrap_err();
    let Error::Cell { row, column, cause } = err.error() else {
        panic!("{err}")
    };
    assert_eq!(*column, "verdict");
    assert!(*row < 2);
    let CellError::Reply { attempts, cause } = cause else {
        panic!("{cause}")
    };
    assert_eq!(*attempts, 4, "asked four times, then reported");
    assert!(cause.reason.contains("below the minimum 1"), "{cause}");
    assert!(cause.excerpt.contains("\"score\": 0"), "{cause}");
    assert!(err.to_string().contains("verdict"), "{err}");

    // The number of questions is the runner's to set.
    let config = MockConfig::new().reply_for("rate this", [r#"{"score": 0, "reason": "bad"}"#]);
    let (server, llm) = tests::openai_mock(config).await;
    let err = Judged::runner(&llm)
        .max_asks(2)
        .generate(1)
        .await
        .unwrap_err();
    let Error::Cell {
        cause: CellError::Reply { attempts, .. },
        ..
    } = err.error()
    else {
        panic!("{err}")
    };
    assert_eq!(*attempts, 2);
    let asked = server
        .exchanges()
        .iter()
        .filter(|e| e.prompt.starts_with("rate"))
        .count();
    assert_eq!(asked, 2);
}

#[tokio::test]
async fn the_schema_can_go_in_the_prompt_for_servers_without_json_schema() {
    let config = MockConfig::new()
        .reply_for(
            "rate this",
            [r#"Sure: {"score": 4, "reason": "fine enough"}"#],
        )
        .reply_for("keywords", [r#"["trivia", "answer"]"#]);
    let (server, llm) = tests::openai_mock(config).await;
    let llm = llm.structured_output(StructuredOutput::InPrompt);
    let rows = Judged::generate(&llm, 1).await.unwrap();
    assert_eq!(rows[0].verdict.score.get(), 4);
    assert_eq!(rows[0].keywords, ["trivia", "answer"]);
    let log = server.exchanges();
    let verdict = log.iter().find(|e| e.prompt.starts_with("rate")).unwrap();
    assert!(verdict.structured.is_none() && verdict.schema.is_none());
    assert!(
        verdict.prompt.contains("matches this JSON Schema"),
        "{}",
        verdict.prompt
    );
    assert!(
        verdict.prompt.contains("\"maximum\":10"),
        "{}",
        verdict.prompt
    );
}

chatan::dataset! {
    #[derive(Debug)]
    struct Options {
        story: String = gen("tell a story", stop = ["THE END", "\n\n"], seed = 42, max_tokens = 64, system = "You are a long, shared system prompt.", cache_system = true),
        title: String = gen("title for: {story}", stop = "\n"),
    }
}

#[tokio::test]
async fn request_options_reach_both_wire_formats() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    Options::generate(&llm, 1).await.unwrap();
    let log = server.exchanges();
    let story = log.iter().find(|e| e.prompt == "tell a story").unwrap();
    assert_eq!(story.stop, ["THE END", "\n\n"]);
    assert_eq!(story.seed, Some(42));
    // A compatible server gets `max_tokens`.
    assert_eq!(story.max_tokens_param, Some("max_tokens"));
    assert_eq!(story.max_tokens, Some(64));
    let title = log.iter().find(|e| e.prompt.starts_with("title")).unwrap();
    assert_eq!(title.stop, ["\n"]);
    assert_eq!(title.seed, None);

    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let llm = llm.max_tokens_param(MaxTokensParam::MaxCompletionTokens);
    Options::generate(&llm, 1).await.unwrap();
    let story = server
        .exchanges()
        .into_iter()
        .find(|e| e.prompt == "tell a story")
        .unwrap();
    assert_eq!(story.max_tokens_param, Some("max_completion_tokens"));

    let (server, llm) = tests::anthropic_mock(MockConfig::new(), "k").await;
    Options::generate(&llm, 1).await.unwrap();
    let story = server
        .exchanges()
        .into_iter()
        .find(|e| e.prompt == "tell a story")
        .unwrap();
    // Anthropic refuses a stop sequence of whitespace only: it is applied to the reply
    // instead of sent.
    assert_eq!(story.stop, ["THE END"]);
    assert!(
        story.cache_system,
        "the system prompt is marked for caching"
    );
    assert_eq!(
        story.system.as_deref(),
        Some("You are a long, shared system prompt.")
    );
    assert_eq!(story.seed, None, "Anthropic takes no seed");
}
