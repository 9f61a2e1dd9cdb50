//! What the providers refuse, adapt or say besides the text, over real HTTP against a
//! mock server that enforces the providers' own rules (`chatan-mock/src/rules.rs`):
//! requests Anthropic would refuse are adapted or refused before they are sent, strict
//! schemas keep to what OpenAI takes, replies cut off by the token limit or refused are
//! never silent values, prompt-cache usage is counted, and a 429's reset headers are
//! obeyed.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chatan::error::CellError;
use chatan::event::Event;
use chatan::generate::Finish;
use chatan::generate::SetOptions;
use chatan::provider::Dialect;
use chatan::runner::ReplyPolicy;
use chatan::{Error, GeneratorError};
use chatan_mock::{Fault, MockConfig};

chatan::dataset! {
    #[derive(Debug)]
    struct Hot {
        text: String = gen("say something", temperature = 1.5),
    }
}

chatan::dataset! {
    #[derive(Debug)]
    struct Both {
        text: String = gen("say something", temperature = 0.5, top_p = 0.9),
    }
}

/// The cell error of a run that failed.
fn cell(error: &Error) -> &CellError {
    match error {
        Error::Cell { cause, .. } => cause,
        other => panic!("expected a cell error, got {other:?}"),
    }
}

#[tokio::test]
async fn what_anthropic_does_not_take_is_refused_before_anything_is_sent() {
    let (server, claude) = tests::anthropic_mock(MockConfig::new(), "k").await;
    let hot = Hot::runner(&claude).generate(20).await.unwrap_err();
    let text = hot.to_string();
    assert!(
        matches!(
            cell(hot.error()),
            CellError::Generator {
                cause: GeneratorError::Unsupported { .. },
                ..
            }
        ),
        "{text}"
    );
    assert!(
        text.contains("from 0 to 1") && text.contains("1.5"),
        "{text}"
    );
    let both = Both::runner(&claude).generate(20).await.unwrap_err();
    assert!(
        both.to_string().contains("temperature or top_p, not both"),
        "{both}"
    );
    // A generator default counts as much as a column's option.
    chatan::dataset! {
        #[derive(Debug)]
        struct Plain { text: String = gen("say something", top_p = 0.9) }
    }
    let warm = claude.clone().temperature(0.7);
    assert!(Plain::runner(&warm).generate(5).await.is_err());
    assert_eq!(server.stats().requests, 0, "nothing was sent");
    // OpenAI takes a temperature up to 2, and both.
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    Hot::runner(&llm).generate(2).await.unwrap();
    Both::runner(&llm).generate(2).await.unwrap();
    assert_eq!(server.stats().refused, 0);
}

#[tokio::test]
async fn models_without_sampling_parameters_are_sent_none() {
    let config = MockConfig::new().no_sampling_models(["claude-next"]);
    let (server, claude) = tests::anthropic_mock(config, "k").await;
    let next = claude.model("claude-next").sampling_parameters(false);
    chatan::dataset! {
        #[derive(Debug)]
        struct Plain { text: String = gen("say something", max_tokens = 50) }
    }
    Plain::runner(&next).generate(3).await.unwrap();
    assert!(
        server
            .exchanges()
            .iter()
            .all(|e| e.temperature.is_none() && e.top_p.is_none())
    );
    // A column that asks for one is refused, naming it, rather than quietly changed.
    let error = Hot::runner(&next).generate(3).await.unwrap_err();
    assert!(error.to_string().contains("temperature 1.5"), "{error}");
    assert_eq!(server.stats().refused, 0);
}

chatan::dataset! {
    #[derive(Debug)]
    struct Lines {
        first: String = gen("write two lines", stop = "\n"),
    }
}

#[tokio::test]
async fn a_whitespace_stop_is_applied_to_the_reply_not_sent_to_anthropic() {
    let config = MockConfig::new().reply_for("two lines", ["the first line\nthe second line"]);
    let (server, claude) = tests::anthropic_mock(config.clone(), "k").await;
    let rows = Lines::generate(&claude, 2).await.unwrap();
    assert!(rows.iter().all(|r| r.first == "the first line"), "{rows:?}");
    assert!(server.exchanges().iter().all(|e| e.stop.is_empty()));
    assert_eq!(server.stats().refused, 0);
    // OpenAI takes it as it is (the mock stops there, as the model would).
    let (server, llm) = tests::openai_mock(config).await;
    let rows = Lines::generate(&llm, 1).await.unwrap();
    assert_eq!(rows[0].first, "the first line");
    assert_eq!(server.exchanges()[0].stop, ["\n"]);
}

#[tokio::test]
async fn an_empty_reply_asked_again_is_not_sent_back_as_an_empty_turn() {
    chatan::dataset! {
        #[derive(Debug)]
        struct Legs { legs: u32 = gen("how many legs has a spider?") }
    }
    let config = MockConfig::new().reply_for("how many legs", ["", "8"]);
    let (server, claude) = tests::anthropic_mock(config, "k").await;
    let rows = Legs::generate(&claude, 1).await.unwrap();
    assert_eq!(rows[0].legs, 8);
    let log = server.exchanges();
    assert_eq!(log.len(), 2);
    let roles: Vec<&str> = log[1].turns.iter().map(|(r, _)| r.as_str()).collect();
    assert_eq!(roles, ["user", "user"]);
    assert!(log[1].turns[1].1.contains("Your reply was empty"));
    assert_eq!(server.stats().refused, 0);
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Review {
    /// The review's format.
    format: String,
    #[schemars(length(min = 20))]
    reason: String,
    shape: Shape,
    note: Option<String>,
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
enum Shape {
    Point,
    Circle { radius: f64 },
}

chatan::dataset! {
    #[derive(Debug)]
    struct Reviewed {
        review: Review = gen("review this"),
    }
}

#[tokio::test]
async fn strict_schemas_openai_takes_and_constraints_still_checked_here() {
    let short = r#"{"format": "pdf", "reason": "too short", "shape": "Point", "note": null}"#;
    let long = r#"{"format": "pdf", "reason": "long enough to be a reason", "shape": {"Circle": {"radius": 2.0}}, "note": null}"#;
    let config = MockConfig::new().reply_for("review this", [short, long]);
    let (server, llm) = tests::openai_mock(config).await;
    let llm = llm.dialect(Dialect::OpenAi);
    let rows = Reviewed::generate(&llm, 1).await.unwrap();
    assert_eq!(rows[0].review.format, "pdf");
    let log = server.exchanges();
    assert_eq!(log.len(), 2, "the short reason was asked for again");
    assert_eq!(server.stats().refused, 0, "the mock's strict rules held");
    let schema = log[0].schema.as_ref().unwrap();
    assert_eq!(schema["properties"]["format"]["type"], "string");
    assert!(
        schema["properties"]["reason"]["description"]
            .as_str()
            .unwrap()
            .contains("minLength: 20")
    );
    assert!(log[1].turns[2].1.contains("fewer than 20"));
}

chatan::dataset! {
    #[derive(Debug)]
    struct Asked {
        answer: String = gen("tell me the forbidden thing"),
    }
}

#[tokio::test]
async fn a_refusal_fails_its_cell_once_with_its_text_or_is_kept_when_asked() {
    for anthropic in [false, true] {
        let config = MockConfig::new().refuse_for("forbidden");
        let server = chatan_mock::MockServer::start(config).await.unwrap();
        let error = if anthropic {
            let claude = chatan::Anthropic::new("k")
                .unwrap()
                .base_url(&server.anthropic_url())
                .unwrap();
            Asked::runner(&claude).run(1).await.unwrap_err()
        } else {
            let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
            Asked::runner(&llm).run(1).await.unwrap_err()
        };
        match cell(error.error()) {
            CellError::Refused { attempts: 1, text } => {
                assert!(text.contains("can't help"), "{text}")
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(server.stats().requests, 1, "a refusal is not retried");
        // Kept as the value, and listed.
        let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
        let kept = Asked::runner(&llm)
            .on_refused(ReplyPolicy::Keep)
            .run(2)
            .await
            .unwrap();
        assert!(kept.rows[0].answer.contains("can't help"));
        assert_eq!(kept.report.refused, [(0, "answer"), (1, "answer")]);
    }
}

chatan::dataset! {
    #[derive(Debug)]
    struct Short {
        text: String = gen("write a long story", max_tokens = 3),
    }
}

#[tokio::test]
async fn a_reply_cut_off_by_the_token_limit_is_kept_and_listed_or_fails() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let finishes = Mutex::new(Vec::new());
    let generated = Short::runner(&llm)
        .observe(|event: &Event<'_>| {
            if let Event::CellGenerated { finish, .. } = event {
                finishes.lock().unwrap().push(*finish);
            }
        })
        .run(2)
        .await
        .unwrap();
    assert_eq!(generated.rows[0].text.split_whitespace().count(), 3);
    assert_eq!(generated.report.truncated, [(0, "text"), (1, "text")]);
    assert!(generated.report.to_string().contains("2 kept cut off"));
    assert_eq!(
        *finishes.lock().unwrap(),
        [Finish::Truncated, Finish::Truncated]
    );
    let error = Short::runner(&llm)
        .on_truncated(ReplyPolicy::Fail)
        .run(1)
        .await
        .unwrap_err();
    assert!(
        matches!(
            cell(error.error()),
            CellError::Truncated { attempts: 1, .. }
        ),
        "{error}"
    );
    assert!(error.to_string().contains("max_tokens"), "{error}");
}

#[derive(Debug, serde::Deserialize, schemars::JsonSchema)]
#[allow(dead_code)]
struct Long {
    words: Vec<String>,
}

chatan::dataset! {
    #[derive(Debug)]
    struct Listed {
        list: Long = gen("list many words", max_tokens = 1),
    }
}

#[tokio::test]
async fn a_structured_reply_cut_off_is_asked_for_again_saying_so() {
    let (server, claude) = tests::anthropic_mock(MockConfig::new(), "k").await;
    let error = Listed::runner(&claude)
        .max_asks(2)
        .run(1)
        .await
        .unwrap_err();
    let log = server.exchanges();
    assert_eq!(log.len(), 2, "{error}");
    assert!(
        log[1]
            .turns
            .last()
            .unwrap()
            .1
            .contains("cut off by the token limit")
    );
}

#[tokio::test]
async fn anthropic_prompt_cache_tokens_are_counted_as_input() {
    chatan::dataset! {
        #[derive(Debug)]
        struct Cached {
            text: String = gen("say something", system = "a long shared system prompt of many words", cache_system = true),
        }
    }
    let (server, claude) = tests::anthropic_mock(MockConfig::new(), "k").await;
    let generated = Cached::runner(&claude).concurrency(1).run(3).await.unwrap();
    let usage = generated.report.usage;
    let system = 8;
    // The first request writes the system prompt to the cache, the others read it.
    assert_eq!(usage.cache_write_tokens, system);
    assert_eq!(usage.cache_read_tokens, 2 * system);
    assert_eq!(
        usage.input_tokens,
        server.stats().input_tokens + 3 * system,
        "{usage:?}"
    );
}

#[tokio::test]
async fn a_429_with_reset_headers_and_no_retry_after_waits_for_the_reset() {
    // One request a second: the second row's first try is refused with
    // `x-ratelimit-reset-requests` and no `Retry-After` (as OpenAI sends them).
    let config = MockConfig::new().requests_per_second(1);
    let (server, llm) = tests::openai_mock(config).await;
    chatan::dataset! {
        #[derive(Debug)]
        struct One { text: String = gen("say {n}"), n: u32 = sample::range(0, 1000) }
    }
    let started = Instant::now();
    One::runner(&llm).concurrency(1).generate(2).await.unwrap();
    let refused = server
        .exchanges()
        .iter()
        .filter(|e| e.fault == Some(Fault::RateLimit))
        .count();
    assert_eq!(
        refused, 1,
        "waited for the reset instead of asking at once again"
    );
    assert!(started.elapsed() >= Duration::from_millis(800));
    // The wait is the reset the headers give, on the error itself.
    let request = chatan::Request::new("say 1");
    let _ = chatan::Generator::generate(&llm, &request).await;
    match chatan::Generator::generate(&llm, &request).await {
        Err(GeneratorError::RateLimited {
            retry_after: Some(wait),
            ..
        }) => assert!(wait > Duration::from_millis(500), "{wait:?}"),
        other => panic!("{other:?}"),
    }
}
