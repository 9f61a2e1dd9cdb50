//! The live viewer: a slow recipe (the mock server answers in 0.2-0.6 s, rate-limits 5%
//! of requests and always fails the "comets" rows; or your provider at its own pace)
//! with a page in the browser showing rows as they fill in, the prompt behind every
//! generated cell, retries, failures with their causes, progress, tokens and cost.
//!
//! ```sh
//! cargo run --example viewer            # then open the address it prints
//! CHATAN_VIEWER_PORT=8700 cargo run --example viewer
//! ```

mod support;

use std::time::Duration;

use chatan::viewer::Viewer;
use chatan_mock::{Fault, MockConfig, MockServer};

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Lesson {
        subject: String = sample::choice(["tides", "volcanoes", "bees", "glaciers", "comets"]),
        level: String = sample::choice(["a child", "a student", "an expert"]),
        question: String = gen("Write one question about {subject} for {level}."),
        answer: String = gen("Answer for {level}, in three sentences: {question}"),
        quiz: String = gen("Write a multiple-choice quiz item testing this answer: {answer}"),
        words: usize = |row| row.answer.split_whitespace().count(),
    }
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // A provider if one is configured; otherwise the mock server, slowed down so the
    // page has something to watch.
    let configured = std::env::var_os("OPENAI_API_KEY").is_some()
        || std::env::var_os("ANTHROPIC_API_KEY").is_some()
        || std::env::var_os("OPENAI_BASE_URL").is_some();
    let (llm, _mock) = if configured {
        support::generator().await?
    } else {
        let server = MockServer::start(
            MockConfig::new()
                .latency(Duration::from_millis(200))
                .slow_replies(0.3, Duration::from_millis(400))
                .fault_rates(0.05, 0.0, 0.0, 0.0)
                .fail_for("comets", Fault::ServerError),
        )
        .await?;
        eprintln!("No provider is configured: the mock server answers, slowly (placeholder text).");
        let llm = chatan::OpenAi::compatible(&server.openai_url())?.into();
        (llm, Some(server))
    };
    let port = std::env::var("CHATAN_VIEWER_PORT")
        .ok()
        .and_then(|p| p.parse().ok())
        .unwrap_or(0);
    let rows: usize = std::env::var("CHATAN_VIEWER_ROWS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(60);
    // Prices of a small model, in dollars per million tokens in and out.
    let viewer = Viewer::on_port(port)?.prices(0.40, 1.60);
    let generated = Lesson::runner(&llm)
        .concurrency(8)
        .seed(5)
        .retry(chatan::layer::RetryPolicy::new().max_delay(Duration::from_millis(500)))
        .skip_failed()
        .viewer(viewer)
        .run(rows)
        .await?;
    let report = &generated.report;
    println!(
        "{} rows in {:.1} s ({} failed), {} tokens; the viewer has stopped.",
        report.done,
        report.elapsed.as_secs_f64(),
        report.failed.len(),
        report.usage.total()
    );
    Ok(())
}
