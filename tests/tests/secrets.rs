//! API keys never appear in `Debug` output, errors or logs. (A binary of its own: it
//! installs a tracing subscriber, and tracing's callsite and level caches are shared by
//! every test of a binary, so a span could go unrecorded while other tests run.)

use std::io::Write;
use std::sync::{Arc, Mutex};

use chatan::{Anthropic, AnyGenerator, GeneratorSet, OpenAi};
use chatan_mock::{Fault, MockConfig};
use tracing_subscriber::fmt::format::FmtSpan;

const KEY: &str = "sk-test-5ecret-key-do-not-print";

chatan::dataset! {
    #[derive(Debug)]
    struct Qa {
        question: String = gen("write a question"),
        answer: String = gen("answer: {question}"),
    }
}

#[test]
fn debug_output_hides_keys() {
    let openai = OpenAi::new(KEY).unwrap();
    let anthropic = Anthropic::new(KEY).unwrap();
    let any = chatan::generator("openai", KEY).unwrap();
    let set = GeneratorSet::new()
        .with_default(openai.clone())
        .with("judge", anthropic.clone());
    for text in [
        format!("{openai:?}"),
        format!("{anthropic:?}"),
        format!("{any:?}"),
        format!("{:?}", AnyGenerator::from(anthropic.clone())),
        format!("{set:?}"),
        format!("{openai:#?}"),
    ] {
        assert!(!text.contains(KEY) && !text.contains("5ecret"), "{text}");
        assert!(
            text.contains("redacted") || text.contains("GeneratorSet"),
            "{text}"
        );
    }
}

/// Collects everything a tracing subscriber writes.
#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

#[tokio::test]
async fn errors_and_logs_hide_keys_even_when_the_server_quotes_them() {
    let captured = Captured::default();
    let writer = captured.clone();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_span_events(FmtSpan::FULL)
        .with_writer(move || writer.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);

    // A server that requires another key and quotes back the one it got.
    let (server, _) = tests::openai_mock(
        MockConfig::new()
            .api_key("the-right-key")
            .echo_key_in_errors(true),
    )
    .await;
    let openai = OpenAi::new(KEY)
        .unwrap()
        .base_url(&server.openai_url())
        .unwrap();
    let failed = Qa::runner(&openai).generate(2).await.unwrap_err();
    let (anthropic_server, _) = tests::anthropic_mock(
        MockConfig::new()
            .api_key("the-right-key")
            .echo_key_in_errors(true),
        "unused",
    )
    .await;
    let anthropic = Anthropic::new(KEY)
        .unwrap()
        .base_url(&anthropic_server.anthropic_url())
        .unwrap();
    let failed_anthropic = Qa::runner(&anthropic).generate(1).await.unwrap_err();

    // A 200 whose body is not JSON and quotes the request's Authorization header: the
    // malformed-reply path, retried (warnings) and then reported.
    let (echo_server, _) = tests::openai_mock(
        MockConfig::new()
            .echo_key_in_errors(true)
            .fail_for("write a question", Fault::Malformed),
    )
    .await;
    let echoed = OpenAi::new(KEY)
        .unwrap()
        .base_url(&echo_server.openai_url())
        .unwrap();
    let malformed = Qa::runner(&echoed)
        .retry(tests::quick_retries().max_attempts(3))
        .generate(1)
        .await
        .unwrap_err();
    let malformed_text = format!("{malformed} {malformed:?}");
    assert!(
        malformed_text.contains("malformed reply"),
        "{malformed_text}"
    );
    assert!(
        malformed_text.contains("authorization: Bearer [redacted]"),
        "{malformed_text}"
    );
    assert!(!malformed_text.contains("5ecret"), "{malformed_text}");

    // And a run with retries, so the log has warnings with error text in them.
    let (retry_server, _) = tests::openai_mock(
        MockConfig::new()
            .api_key(KEY)
            .script([Fault::RateLimit, Fault::ServerError]),
    )
    .await;
    let good = OpenAi::new(KEY)
        .unwrap()
        .base_url(&retry_server.openai_url())
        .unwrap();
    let rows = Qa::runner(&good)
        .retry(tests::quick_retries())
        .generate(1)
        .await
        .unwrap();
    assert!(rows[0].answer.contains(&rows[0].question[..20]));

    for text in [
        failed.to_string(),
        format!("{failed:?}"),
        failed_anthropic.to_string(),
        format!("{failed_anthropic:?}"),
    ] {
        assert!(!text.contains(KEY), "{text}");
        assert!(
            text.contains("Incorrect API key provided: [redacted]"),
            "{text}"
        );
    }
    let log = String::from_utf8(captured.0.lock().unwrap().clone()).unwrap();
    assert!(
        log.contains("chatan.request"),
        "the log should have request spans:\n{log}"
    );
    assert!(
        log.contains("retrying"),
        "the log should have retry warnings:\n{log}"
    );
    assert!(!log.contains(KEY) && !log.contains("5ecret"), "{log}");
}
