//! Checkpoints and graceful stops: nothing paid for is lost. A run journals its rows; a
//! rerun makes only the missing ones and ends with exactly what an uninterrupted run
//! makes; a process killed mid-run (SIGKILL) or interrupted (SIGINT) resumes; a changed
//! recipe or another seed is refused.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::process::{Child, Command};
use std::time::{Duration, Instant};

use chatan::{Error, Stop};
use chatan_mock::{Fault, MockConfig, MockServer};

chatan::dataset! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Qa {
        id: u32 = sample::range(0, 1_000_000_000),
        question: String = gen("question {id}"),
        answer: String = gen("answer {id}: {question}"),
    }
}

chatan::dataset! {
    /// The same name and columns, one template changed.
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct QaChanged {
        id: u32 = sample::range(0, 1_000_000_000),
        question: String = gen("a question {id}"),
        answer: String = gen("answer {id}: {question}"),
    }
}

fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("checkpoint-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

fn journal_rows(path: &Path) -> Vec<u64> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .skip(1)
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["row"].as_u64())
        .collect()
}

#[tokio::test]
async fn a_rerun_makes_only_the_missing_rows_and_equals_an_uninterrupted_run() {
    let path = scratch("resume.jsonl");
    // First run: some rows fail for good and are skipped; the rest are journaled.
    let (first, llm) =
        tests::openai_mock(MockConfig::new().fail_for("7:", Fault::BadRequest)).await;
    let partial = Qa::runner(&llm)
        .seed(5)
        .skip_failed()
        .checkpoint(&path)
        .run(60)
        .await
        .unwrap();
    let skipped = partial.report.failed.len();
    assert!(skipped > 0 && partial.rows.len() == 60 - skipped);
    assert_eq!(journal_rows(&path).len(), 60 - skipped);
    // The skipped rows are listed beside the checkpoint, with column, attempts, cause.
    let listed: Vec<serde_json::Value> =
        std::fs::read_to_string(path.with_file_name("resume.failed.jsonl"))
            .unwrap()
            .lines()
            .map(|l| serde_json::from_str(l).unwrap())
            .collect();
    assert_eq!(listed.len(), skipped);
    for (line, failure) in listed.iter().zip(&partial.report.failed) {
        let _ = failure;
        assert!(line["row"].is_u64() && line["attempts"] == 1, "{line}");
        assert!(
            line["column"] == "question" || line["column"] == "answer",
            "{line}"
        );
        assert!(
            line["cause"].as_str().unwrap().contains("HTTP 400"),
            "{line}"
        );
    }
    let mut listed_rows: Vec<u64> = listed.iter().map(|l| l["row"].as_u64().unwrap()).collect();
    listed_rows.sort_unstable();
    let failed_rows: Vec<u64> = partial.report.failed.iter().map(|f| f.row as u64).collect();
    assert_eq!(listed_rows, failed_rows);
    drop(first);

    // Second run, against a healthy server: only the skipped rows are asked for.
    let (second, llm) = tests::openai_mock(MockConfig::new()).await;
    let resumed = Qa::runner(&llm)
        .seed(5)
        .checkpoint(&path)
        .generate(60)
        .await
        .unwrap();
    assert_eq!(
        second.exchanges().len(),
        2 * skipped,
        "two cells per missing row"
    );
    assert_eq!(journal_rows(&path).len(), 60);

    // What an uninterrupted run makes.
    let (_third, llm) = tests::openai_mock(MockConfig::new()).await;
    let whole = Qa::runner(&llm).seed(5).generate(60).await.unwrap();
    assert_eq!(resumed, whole);

    // A third run with the full journal sends nothing and returns the same rows; without
    // a seed it takes the journal's.
    let (fourth, llm) = tests::openai_mock(MockConfig::new()).await;
    let again = Qa::runner(&llm)
        .checkpoint(&path)
        .generate(60)
        .await
        .unwrap();
    assert_eq!(fourth.exchanges().len(), 0);
    assert_eq!(again, whole);
}

#[tokio::test]
async fn a_changed_recipe_another_seed_or_a_torn_line_are_handled() {
    let path = scratch("guard.jsonl");
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    Qa::runner(&llm)
        .seed(1)
        .checkpoint(&path)
        .generate(5)
        .await
        .unwrap();

    let err = QaChanged::runner(&llm)
        .seed(1)
        .checkpoint(&path)
        .generate(5)
        .await
        .unwrap_err();
    assert!(matches!(err.error(), Error::Checkpoint { .. }), "{err}");
    let text = err.to_string();
    assert!(text.contains("not `QaChanged`"), "{text}");

    let err = Qa::runner(&llm)
        .seed(2)
        .checkpoint(&path)
        .generate(5)
        .await
        .unwrap_err();
    assert!(err.to_string().contains("made with seed 1"), "{err}");

    // A journal whose last line was torn by a crash: the torn line is dropped.
    let mut text = std::fs::read_to_string(&path).unwrap();
    text.push_str("{\"row\": 3, \"val");
    std::fs::write(&path, text).unwrap();
    let rows = Qa::runner(&llm)
        .seed(1)
        .checkpoint(&path)
        .generate(8)
        .await
        .unwrap();
    assert_eq!(rows.len(), 8);
    let lines = journal_rows(&path);
    assert_eq!(lines.len(), 8, "{lines:?}");
}

#[tokio::test]
async fn a_changed_template_is_refused() {
    // The same struct name, a changed template: the fingerprint differs.
    mod v2 {
        chatan::dataset! {
            #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
            pub struct Qa {
                pub id: u32 = sample::range(0, 1_000_000_000),
                pub question: String = gen("question number {id}"),
                pub answer: String = gen("answer {id}: {question}"),
            }
        }
    }
    let path = scratch("changed.jsonl");
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    Qa::runner(&llm)
        .seed(1)
        .checkpoint(&path)
        .generate(3)
        .await
        .unwrap();
    let err = v2::Qa::runner(&llm)
        .seed(1)
        .checkpoint(&path)
        .generate(3)
        .await
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("has changed since this checkpoint"),
        "{err}"
    );
}

#[tokio::test]
async fn a_stop_keeps_finished_rows_and_ends_with_stopped() {
    let path = scratch("stop.jsonl");
    let (_server, llm) =
        tests::openai_mock(MockConfig::new().latency(Duration::from_millis(20))).await;
    let stop = Stop::new();
    let thrower = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(300)).await;
        thrower.stop();
    });
    let err = Qa::runner(&llm)
        .seed(3)
        .concurrency(4)
        .stop_on(stop)
        .checkpoint(&path)
        .generate(10_000)
        .await
        .unwrap_err();
    assert!(matches!(err.error(), Error::Stopped), "{err}");
    let kept = err.completed().len();
    assert!(kept > 0 && kept < 10_000);
    // Every kept row is in the journal, and nothing else.
    assert_eq!(journal_rows(&path).len(), kept);
}

/// Spawns the `checkpointed` binary.
fn spawn(server: &MockServer, path: &Path, rows: usize) -> Child {
    Command::new(env!("CARGO_BIN_EXE_checkpointed"))
        .arg(server.openai_url())
        .arg(path)
        .arg(rows.to_string())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("the helper binary starts")
}

/// Waits until the journal holds at least `n` rows.
async fn wait_for_rows(path: &Path, n: usize) {
    let start = Instant::now();
    while journal_rows(path).len() < n {
        assert!(
            start.elapsed() < Duration::from_secs(60),
            "the run made no progress"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// How many prompts the server saw more than once.
fn repeated_prompts(server: &MockServer) -> usize {
    let mut seen: HashMap<String, usize> = HashMap::new();
    for e in server.exchanges() {
        *seen.entry(e.prompt).or_default() += 1;
    }
    seen.values().filter(|&&n| n > 1).count()
}

fn finish(child: Child) -> String {
    let output = child.wait_with_output().unwrap();
    String::from_utf8_lossy(&output.stdout).into_owned()
}

const ROWS: usize = 400;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_run_resumes_with_every_row_once() {
    let path = scratch("killed.jsonl");
    let server = MockServer::start(MockConfig::new().latency(Duration::from_millis(10)))
        .await
        .unwrap();
    let mut child = spawn(&server, &path, ROWS);
    wait_for_rows(&path, 60).await;
    child.kill().unwrap(); // SIGKILL: no chance to flush anything
    child.wait().unwrap();
    let before = journal_rows(&path).len();
    assert!(before < ROWS, "killed before the end");

    let out = finish(spawn(&server, &path, ROWS));
    assert!(out.contains(&format!("done {ROWS}")), "{out}");
    let mut rows = journal_rows(&path);
    rows.sort_unstable();
    assert_eq!(
        rows,
        (0..ROWS as u64).collect::<Vec<_>>(),
        "every row exactly once"
    );
    // Only the rows under way when the process died were asked for again: at most the
    // requests in flight and the finished cells of unfinished rows (seen: 0 to 8, the
    // concurrency; bounded here by twice it).
    let repeated = repeated_prompts(&server);
    eprintln!("SIGKILL after {before} rows: {repeated} prompts repeated");
    assert!(repeated <= 16, "{repeated} prompts repeated");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_interrupted_run_stops_gracefully_and_resumes_without_repeating_a_prompt() {
    let path = scratch("interrupted.jsonl");
    let server = MockServer::start(MockConfig::new().latency(Duration::from_millis(10)))
        .await
        .unwrap();
    let child = spawn(&server, &path, ROWS);
    wait_for_rows(&path, 60).await;
    // SIGINT, as Ctrl-C sends.
    let pid = child.id() as libc::pid_t;
    assert_eq!(unsafe { libc::kill(pid, libc::SIGINT) }, 0);
    let out = finish(child);
    assert!(out.starts_with("stopped"), "{out}");
    let before = journal_rows(&path).len();
    assert!(before < ROWS);

    let out = finish(spawn(&server, &path, ROWS));
    assert!(out.contains(&format!("done {ROWS}")), "{out}");
    let mut rows = journal_rows(&path);
    rows.sort_unstable();
    assert_eq!(rows, (0..ROWS as u64).collect::<Vec<_>>());
    assert_eq!(
        repeated_prompts(&server),
        0,
        "rows under way finished before the exit"
    );
}

#[tokio::test]
async fn rows_still_under_way_when_the_grace_period_ends_are_given_up() {
    // Every reply takes 2 s; the stop comes when the first rows are under way and
    // allows them 100 ms.
    let (server, llm) = tests::openai_mock(MockConfig::new().latency(Duration::from_secs(2))).await;
    let stop = Stop::new();
    let thrower = stop.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_millis(200)).await;
        thrower.stop();
    });
    let started = Instant::now();
    let err = Qa::runner(&llm)
        .seed(3)
        .stop_on(stop)
        .grace(Duration::from_millis(100))
        .generate(50)
        .await
        .unwrap_err();
    assert!(matches!(err.error(), Error::Stopped), "{err}");
    assert!(err.completed().is_empty());
    assert!(
        started.elapsed() < Duration::from_millis(1_500),
        "the run waited for the rows it gave up: {:?}",
        started.elapsed()
    );
    assert!(
        server.stats().in_flight > 0,
        "rows were under way when given up"
    );
}
