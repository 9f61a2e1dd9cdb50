//! The live viewer in a real browser: headless Chromium (Debian's `chromium`, driven by
//! `tests/browser/viewer.mjs` with playwright-core) opens the page while a run goes on
//! against the mock server with latency. The page shows rows appearing mid-run, the
//! prompt behind a generated cell, hostile values as text (no script runs), retries and
//! a failed row with its column, attempts and cause, and the final summary; screenshots and the DOM are written to
//! `target/test-scratch/viewer-browser/`. A second run goes through the mock's batch API
//! (`tests/browser/batches.mjs`): the page lists each wave as it is submitted and ends.
//!
//! Needs chromium (`CHATAN_CHROMIUM`, else /usr/bin/chromium), node, and `npm ci` in
//! `tests/browser`, so both tests are ignored by a plain `cargo test`; `.ci/run` installs
//! them and runs the tests with `--ignored`, where a missing program is a failure.

use std::path::{Path, PathBuf};
use std::time::Duration;

use chatan::viewer::Viewer;
use chatan_mock::{Fault, MockConfig};
use serde_json::Value;

const HOSTILE: &str = "<script>window.pwned = 1</script><img src=x onerror=\"window.pwned = 2\">";

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Watched {
        topic: String = sample::choice(["tides", "stars", "hostile", "tides", "stars", "doomed"]),
        question: String = gen("a question about {topic}"),
        answer: String = gen("answer: {question}"),
        length: usize = |row| row.answer.len(),
    }
}

/// Chromium and the folder of the browser scripts; a test that runs without them fails
/// saying what is missing.
fn browser_or_fail() -> (PathBuf, PathBuf) {
    browser().unwrap_or_else(|missing| panic!("the browser test cannot run: {missing}"))
}

/// Runs `node script url out` and reads the one JSON object it prints.
async fn report_of(browser: std::process::Child) -> Value {
    let waiting = tokio::task::spawn_blocking(move || browser.wait_with_output());
    let output = tokio::time::timeout(Duration::from_secs(90), waiting)
        .await
        .expect("the browser finishes")
        .unwrap()
        .unwrap();
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "the browser script failed:\n{stdout}\n{}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_str(stdout.trim()).expect("one JSON report")
}

fn start_browser(chromium: &Path, script: &Path, url: &str, out: &Path) -> std::process::Child {
    std::process::Command::new("node")
        .arg(script)
        .arg(url)
        .arg(out)
        .env("CHATAN_CHROMIUM", chromium)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("node starts")
}

/// What the browser test needs, or why it cannot run.
fn browser() -> Result<(PathBuf, PathBuf), String> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("browser");
    let chromium = std::env::var_os("CHATAN_CHROMIUM")
        .map_or_else(|| PathBuf::from("/usr/bin/chromium"), PathBuf::from);
    if !chromium.exists() {
        return Err(format!("no chromium at {}", chromium.display()));
    }
    if !root.join("node_modules/playwright-core").exists() {
        return Err(format!(
            "no playwright-core: run `npm install` in {}",
            root.display()
        ));
    }
    let node = std::process::Command::new("node").arg("--version").output();
    if !node.is_ok_and(|o| o.status.success()) {
        return Err("no node".into());
    }
    Ok((chromium, root))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, node and `npm ci` in tests/browser: .ci/run installs them"]
async fn chromium_shows_rows_appearing_prompts_and_the_final_summary() {
    let (chromium, scripts) = browser_or_fail();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-scratch/viewer-browser");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();

    let config = MockConfig::new()
        .latency(Duration::from_millis(250))
        .reply_for("hostile", [HOSTILE])
        .fail_for("doomed", Fault::ServerError);
    let (_server, llm) = tests::openai_mock(config).await;
    let viewer = Viewer::start().unwrap().quiet().prices(0.40, 1.60);
    let url = viewer.url();

    let browser = start_browser(&chromium, &scripts.join("viewer.mjs"), &url, &out);
    // 30 rows of two 250 ms requests, 3 at a time: about 5 s to watch.
    let generated = Watched::runner(&llm)
        .concurrency(3)
        .seed(5)
        .retry(tests::quick_retries())
        .skip_failed()
        .viewer(viewer)
        .run(30)
        .await
        .unwrap();
    let failed = generated.report.failed.len();
    // Seed 5 draws "doomed" for a few rows (their failures are the mock's doing).
    assert!(
        failed > 0 && failed < 15,
        "some doomed rows among 30: {failed}"
    );
    let done = 30 - failed;
    let report = report_of(browser).await;

    // Mid-run: rows on the page, some done, the run still going.
    let mid = &report["midRun"];
    assert_eq!(mid["status"], "running", "{mid}");
    assert!(mid["done"].as_u64().unwrap() >= 2, "{mid}");
    assert!(
        mid["done"].as_u64().unwrap() < done as u64,
        "seen before the end: {mid}"
    );
    // Requests on their way are told apart from cells waiting for a slot.
    assert!(mid["flight"].as_u64().unwrap() >= 1, "{mid}");
    assert!(
        mid["flightText"]
            .as_array()
            .unwrap()
            .iter()
            .all(|t| t.as_str().unwrap().starts_with("in flight")),
        "{mid}"
    );

    // The prompt behind a generated cell.
    let panel = &report["panel"];
    assert_eq!(panel["hidden"], false);
    let prompt = panel["text"].as_str().unwrap();
    assert!(
        prompt.starts_with("a question about ") || prompt.starts_with("answer: "),
        "{panel}"
    );

    // The end: every row, the failures, the summary, hostile values as text and
    // nothing run.
    let last = &report["final"];
    assert_eq!(last["status"], "finished");
    assert_eq!(last["done"], done, "{last}");
    assert_eq!(last["header"], format!("{done} / 30"));
    let summary = last["summary"].as_str().unwrap();
    assert!(
        summary.starts_with(&format!("Run finished: {done} rows done · {failed} failed")),
        "{summary}"
    );
    assert!(summary.contains("cost ≈ $"), "{summary}");
    // Retries and re-asks, as the run's report counts them.
    let report_retries = generated.report.retries + generated.report.reasks;
    assert!(report_retries > 0);
    assert_eq!(last["retries"], report_retries.to_string(), "{last}");
    let failures = last["failures"].as_array().unwrap();
    assert_eq!(failures.len(), failed, "{last}");
    for (text, failure) in failures.iter().zip(&generated.report.failed) {
        let expected = format!(
            "✗ row {}, column question, {} attempts: ",
            failure.row,
            failure.attempts()
        );
        let text = text.as_str().unwrap();
        assert!(text.starts_with(&expected), "{text}");
        assert!(text.contains("500"), "the cause: {text}");
    }
    assert_eq!(
        last["pendingAfterEnd"], 0,
        "no cell is left pending: {last}"
    );
    assert_eq!(
        last["stopped"], failed,
        "each failed row's unfilled cell: {last}"
    );
    let hostile = last["hostile"].as_array().unwrap();
    assert!(
        hostile.iter().any(|t| t == HOSTILE),
        "the hostile value is shown as text: {last}"
    );
    assert_eq!(last["pwned"], Value::Null, "no injected script ran");
    assert_eq!(last["scripts"], 1, "only the page's own script element");
    assert_eq!(last["images"], 0, "no injected element");
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report}");

    for shot in ["rows-appearing.png", "finished.png"] {
        let bytes = std::fs::read(out.join(shot)).unwrap();
        assert!(bytes.starts_with(b"\x89PNG"), "{shot} is a PNG");
        assert!(bytes.len() > 10_000, "{shot} has content");
    }
    let dom = std::fs::read_to_string(out.join("finished.html")).unwrap();
    assert!(dom.contains(&format!("Run finished: {done} rows done")));
    assert!(
        dom.contains("&lt;script&gt;window.pwned = 1&lt;/script&gt;"),
        "escaped in the DOM"
    );
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Batched {
        topic: String = sample::choice(["tides", "stars"]),
        question: String = gen("a question about {topic}"),
        answer: String = gen("answer: {question}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs chromium, node and `npm ci` in tests/browser: .ci/run installs them"]
async fn chromium_shows_each_provider_batch_as_it_goes() {
    let (chromium, scripts) = browser_or_fail();
    let out = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/test-scratch/viewer-batches");
    let _ = std::fs::remove_dir_all(&out);
    std::fs::create_dir_all(&out).unwrap();
    let server =
        chatan_mock::MockServer::start(MockConfig::new().batch_delay(Duration::from_millis(5000)))
            .await
            .unwrap();
    let batch = chatan::OpenAi::compatible(&server.openai_url())
        .unwrap()
        .batch()
        .linger(Duration::from_millis(100))
        .poll_every(Duration::from_millis(50));
    let viewer = Viewer::start().unwrap().quiet();
    let url = viewer.url();
    let browser = start_browser(&chromium, &scripts.join("batches.mjs"), &url, &out);
    let rows = Batched::runner(&batch)
        .concurrency(1_000)
        .seed(2)
        .viewer(viewer)
        .generate(40)
        .await
        .unwrap();
    assert_eq!(rows.len(), 40);
    let report = report_of(browser).await;
    let ids: Vec<String> = server.batches().iter().map(|b| b.id.clone()).collect();
    assert_eq!(ids.len(), 2);
    // While the questions' batch ran: it, in progress, and no row done yet. (Each batch
    // takes 5 s at the mock, so a browser slow to start on a loaded machine still opens
    // the page during the first.)
    let first = &report["firstWave"];
    assert_eq!(
        first["lines"],
        serde_json::json!(["batch 1: in progress, 0 / 40 done"]),
        "{report}"
    );
    assert_eq!(first["titles"], serde_json::json!([ids[0]]));
    assert_eq!(first["done"], 0, "{report}");
    // At the end: both waves, ended.
    let last = &report["final"];
    assert_eq!(
        last["lines"],
        serde_json::json!([
            "batch 1: ended, 40 / 40 done",
            "batch 2: ended, 40 / 40 done"
        ]),
        "{report}"
    );
    assert_eq!(last["done"], 40);
    assert_eq!(report["errors"].as_array().unwrap().len(), 0, "{report}");
    let shot = std::fs::read(out.join("batches.png")).unwrap();
    assert!(shot.starts_with(b"\x89PNG"));
}
