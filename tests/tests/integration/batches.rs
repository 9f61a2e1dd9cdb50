//! Provider batch APIs against the mock server's: a recipe with dependent columns runs
//! as one batch per wave (questions, then answers) with the same rows a plain run
//! makes, over OpenAI's Batch API and Anthropic's Message Batches; failed entries are
//! retried in a later wave and then follow the failure policy; and a process that exits
//! while a batch is pending picks it up from the journal instead of paying again.

use std::path::Path;
use std::sync::Mutex;
use std::time::Duration;

use chatan::event::Event;
use chatan::{Anthropic, OpenAi};
use chatan_mock::{Api, BatchEnd, Fault, MockConfig, MockServer};

chatan::dataset! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Qa {
        topic: String = sample::choice(["tides", "stars", "moss", "owls"]),
        question: String = gen("a question about {topic}"),
        answer: String = gen("answer: {question}", max_tokens = 64),
    }
}

const ROWS: usize = 24;

fn config() -> MockConfig {
    MockConfig::new().batch_delay(Duration::from_millis(80))
}

/// OpenAI's batch API at `url`, with waves and polls quick enough for a test.
fn quick_batch(url: &str) -> chatan::provider::Batch<chatan::provider::openai::ChatCompletions> {
    OpenAi::compatible(url)
        .unwrap()
        .batch()
        .linger(Duration::from_millis(30))
        .poll_every(Duration::from_millis(20))
}

/// The test's rows through `batch` (no concurrency set: a batch asks for its own).
async fn batch_rows<G: chatan::Generator>(batch: &G) -> Vec<Qa> {
    Qa::runner(batch).seed(4).generate(ROWS).await.unwrap()
}

/// The same rows made one request at a time.
async fn plain_rows() -> Vec<Qa> {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    Qa::runner(&llm).seed(4).generate(ROWS).await.unwrap()
}

#[tokio::test]
async fn openai_batches_run_one_wave_per_level_and_make_the_same_rows() {
    let server = MockServer::start(config()).await.unwrap();
    let batch = OpenAi::compatible(&server.openai_url())
        .unwrap()
        .batch()
        .linger(Duration::from_millis(40))
        .poll_every(Duration::from_millis(20))
        .prices(2.0, 8.0);
    let rows = batch_rows(&batch).await;
    assert_eq!(rows, plain_rows().await);
    let batches = server.batches();
    assert_eq!(batches.len(), 2, "questions, then answers: {batches:?}");
    // The generator's own account: two waves, every request answered, and the saving.
    let waves = batch.waves();
    assert_eq!(waves.len(), 2);
    for (wave, info) in waves.iter().zip(&batches) {
        assert_eq!(wave.id, info.id);
        assert_eq!((wave.requests, wave.done, wave.failed), (ROWS, ROWS, 0));
        assert!(wave.ended && !wave.resumed);
        assert!(wave.ended_at.unwrap() >= wave.submitted + Duration::from_millis(80));
    }
    assert!(
        waves[1].submitted >= waves[0].ended_at.unwrap(),
        "answers after questions"
    );
    let usage = batch.usage();
    assert!(usage.input_tokens > 0 && usage.output_tokens > 0);
    let (cost, list) = batch.saving().unwrap();
    let expected = (usage.input_tokens as f64 * 2.0 + usage.output_tokens as f64 * 8.0) / 1e6;
    assert!((list - expected).abs() < 1e-12 && (cost - list / 2.0).abs() < 1e-12);
    assert!(
        batches
            .iter()
            .all(|b| b.api == Api::OpenAi && b.requests == ROWS && b.ended)
    );
    assert_eq!(
        server.stats().requests,
        0,
        "nothing went to the chat endpoint"
    );
    assert_eq!(server.stats().batch_requests, 2 * ROWS as u64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_wave_larger_than_a_batch_goes_as_several_side_by_side() {
    let server = MockServer::start(config()).await.unwrap();
    let batch = quick_batch(&server.openai_url()).max_requests(10);
    // More in flight than a batch holds (the batch alone would ask for 10).
    let rows = Qa::runner(&batch)
        .concurrency(1_000)
        .seed(4)
        .generate(ROWS)
        .await
        .unwrap();
    assert_eq!(rows, plain_rows().await);
    let batches = server.batches();
    let sizes: Vec<usize> = batches.iter().map(|b| b.requests).collect();
    // Questions, then answers: each 24 requests as 10 + 10 + 4.
    let mut sorted = sizes.clone();
    sorted.sort_unstable();
    assert_eq!(sorted, [4, 4, 10, 10, 10, 10], "{sizes:?}");
    assert_eq!(server.stats().batch_requests, 2 * ROWS as u64);
    let waves = batch.waves();
    assert_eq!(waves.len(), 6);
    // The three batches of a level ran side by side: the answers' batches were all
    // submitted after every question's batch had ended.
    let questions_ended = waves[..3]
        .iter()
        .map(|w| w.ended_at.unwrap())
        .max()
        .unwrap();
    let first_answer = waves[3..].iter().map(|w| w.submitted).min().unwrap();
    assert!(first_answer >= questions_ended, "{waves:?}");
    let answers_started = waves[3..].iter().map(|w| w.submitted).max().unwrap();
    let answers_ended = waves[3..]
        .iter()
        .map(|w| w.ended_at.unwrap())
        .min()
        .unwrap();
    assert!(
        answers_started <= answers_ended,
        "all three submitted before any ended: {waves:?}"
    );
}

#[tokio::test]
async fn a_batch_run_keeps_a_whole_wave_in_flight_without_being_told() {
    // More rows than a runner's default concurrency (64): the batch asks for a batch's
    // worth, so each level still goes as one batch.
    let server = MockServer::start(config()).await.unwrap();
    let batch = quick_batch(&server.openai_url());
    let rows = Qa::runner(&batch).seed(4).generate(100).await.unwrap();
    assert_eq!(rows.len(), 100);
    let sizes: Vec<usize> = server.batches().iter().map(|b| b.requests).collect();
    assert_eq!(sizes, [100, 100]);
    // A concurrency set on the runner still wins.
    let server = MockServer::start(config()).await.unwrap();
    let batch = quick_batch(&server.openai_url());
    Qa::runner(&batch)
        .seed(4)
        .concurrency(40)
        .generate(100)
        .await
        .unwrap();
    assert!(
        server.batches().iter().all(|b| b.requests <= 40),
        "{:?}",
        server.batches()
    );
}

#[tokio::test]
async fn anthropic_message_batches_make_the_same_rows() {
    let server = MockServer::start(config().api_key("sk-ant-test"))
        .await
        .unwrap();
    let batch = Anthropic::new("sk-ant-test")
        .unwrap()
        .base_url(&server.anthropic_url())
        .unwrap()
        .batch()
        .linger(Duration::from_millis(40))
        .poll_every(Duration::from_millis(20));
    let rows = batch_rows(&batch).await;
    // The mock answers Anthropic with the same placeholder text for the same prompt.
    assert_eq!(rows, plain_rows().await);
    let batches = server.batches();
    assert_eq!(batches.len(), 2, "{batches:?}");
    assert!(
        batches
            .iter()
            .all(|b| b.api == Api::Anthropic && b.requests == ROWS)
    );
    assert_eq!(server.stats().requests, 0);
}

/// A batch's state as a `BatchProgress` event reports it.
#[derive(Debug, Clone, PartialEq)]
struct Seen {
    wave: usize,
    batch: String,
    requests: usize,
    done: usize,
    failed: usize,
    ended: bool,
    resumed: bool,
}

fn seen(event: &Event<'_>) -> Option<Seen> {
    match *event {
        Event::BatchProgress {
            wave,
            batch,
            requests,
            done,
            failed,
            ended,
            resumed,
        } => Some(Seen {
            wave,
            batch: batch.to_owned(),
            requests,
            done,
            failed,
            ended,
            resumed,
        }),
        _ => None,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_change_of_a_batch_reaches_the_runs_observers_once() {
    let server = MockServer::start(MockConfig::new().batch_delay(Duration::from_millis(300)))
        .await
        .unwrap();
    let batch = quick_batch(&server.openai_url());
    let events = Mutex::new(Vec::new());
    let rows_done_at = Mutex::new(Vec::new());
    Qa::runner(&batch)
        .seed(4)
        .observe(|event: &Event<'_>| {
            let mut events = events.lock().unwrap();
            if let Some(seen) = seen(event) {
                events.push(seen);
            } else if matches!(event, Event::RowDone { .. }) {
                rows_done_at.lock().unwrap().push(events.len());
            }
        })
        .generate(ROWS)
        .await
        .unwrap();
    let events = events.into_inner().unwrap();
    let ids: Vec<String> = server.batches().iter().map(|b| b.id.clone()).collect();
    assert_eq!(ids.len(), 2);
    // Per wave: submitted (nothing answered; the mock counts nothing while it works, so
    // the many polls in between change nothing and report nothing), then ended.
    let expected: Vec<Seen> = ids
        .iter()
        .enumerate()
        .flat_map(|(i, id)| {
            let wave = |done, ended| Seen {
                wave: i + 1,
                batch: id.clone(),
                requests: ROWS,
                done,
                failed: 0,
                ended,
                resumed: false,
            };
            [wave(0, false), wave(ROWS, true)]
        })
        .collect();
    assert_eq!(events, expected);
    // Both waves had ended (and were reported) before the first row was done.
    assert!(
        rows_done_at.into_inner().unwrap().iter().all(|&n| n == 4),
        "rows are done only once the answers' batch has ended"
    );
}

#[tokio::test]
async fn failed_entries_are_retried_in_later_waves_then_reported() {
    let server = MockServer::start(config().fail_for("about moss", Fault::ServerError))
        .await
        .unwrap();
    let batch = quick_batch(&server.openai_url());
    let generated = Qa::runner(&batch)
        .seed(4)
        .retry(tests::quick_retries().max_attempts(3))
        .skip_failed()
        .run(ROWS)
        .await
        .unwrap();
    let moss = plain_rows()
        .await
        .iter()
        .filter(|r| r.topic == "moss")
        .count();
    assert!(moss > 0);
    assert_eq!(generated.rows.len(), ROWS - moss);
    assert!(generated.rows.iter().all(|r| r.topic != "moss"));
    assert_eq!(generated.report.failed.len(), moss);
    for failure in &generated.report.failed {
        assert_eq!(failure.column, "question");
        assert_eq!(failure.attempts(), 3, "{failure}");
        assert!(failure.to_string().contains("500"), "{failure}");
    }
    // The failed entries went again in later waves (the first retry with the answers).
    let batches = server.batches();
    assert!(batches.len() >= 3, "{batches:?}");
    assert_eq!(
        server.stats().batch_requests,
        (2 * (ROWS - moss) + 3 * moss) as u64
    );
}

/// Where a run keeps its batches' journal in [`resume_a_pending_batch`].
#[derive(Clone, Copy)]
enum JournalAt {
    /// Set with `Batch::journal`.
    Set,
    /// Beside the runner's checkpoint, without being asked.
    BesideTheCheckpoint,
}

/// A first process submits the questions' batch and exits before it ends; the next run
/// waits for that batch instead of submitting the questions again.
async fn resume_a_pending_batch(at: JournalAt) {
    let server = MockServer::start(MockConfig::new().batch_delay(Duration::from_millis(600)))
        .await
        .unwrap();
    let url = server.openai_url();
    let dir = std::env::temp_dir().join(format!(
        "chatan-batches-{}-{}",
        std::process::id(),
        at as u8
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let checkpoint = dir.join("qa.checkpoint.jsonl");
    let journal = match at {
        JournalAt::Set => dir.join("my-batches.jsonl"),
        JournalAt::BesideTheCheckpoint => dir.join("qa.checkpoint.batches.jsonl"),
    };
    let make = || {
        let batch = quick_batch(&url);
        match at {
            JournalAt::Set => batch.journal(&journal),
            JournalAt::BesideTheCheckpoint => batch,
        }
    };
    fn runner<'g, G: chatan::Generator>(
        at: JournalAt,
        checkpoint: &Path,
        batch: &'g G,
    ) -> chatan::Runner<'g, Qa, G> {
        let runner = Qa::runner(batch).seed(4);
        match at {
            JournalAt::Set => runner,
            JournalAt::BesideTheCheckpoint => runner.checkpoint(checkpoint),
        }
    }

    let first = make();
    let first_checkpoint = checkpoint.clone();
    tokio::task::spawn_blocking(move || {
        let runtime = tokio::runtime::Runtime::new().unwrap();
        runtime.block_on(async {
            let run = runner(at, &first_checkpoint, &first).generate(ROWS);
            let _ = tokio::time::timeout(Duration::from_millis(250), run).await;
        });
        // Dropping the runtime stops its tasks, as the process's end would.
    })
    .await
    .unwrap();
    assert_eq!(
        server.batches().len(),
        1,
        "the questions' batch was submitted"
    );
    assert!(!server.batches()[0].ended);
    assert!(journal.exists(), "the journal is at {}", journal.display());

    let second = make();
    let events = Mutex::new(Vec::new());
    let rows = runner(at, &checkpoint, &second)
        .observe(|event: &Event<'_>| events.lock().unwrap().extend(seen(event)))
        .generate(ROWS)
        .await
        .unwrap();
    assert_eq!(rows, plain_rows().await);
    let batches = server.batches();
    assert_eq!(
        batches.len(),
        2,
        "the old questions' batch and the answers': {batches:?}"
    );
    assert_eq!(
        server.stats().batch_requests,
        2 * ROWS as u64,
        "nothing paid twice"
    );
    let events = events.into_inner().unwrap();
    let first_wave = &events[0];
    assert_eq!(
        (
            first_wave.wave,
            &first_wave.batch,
            first_wave.requests,
            first_wave.resumed
        ),
        (1, &batches[0].id, ROWS, true),
        "the first wave reported is the one from the journal: {events:?}"
    );
    assert!(events.iter().any(|e| e.wave == 2 && e.ended && !e.resumed));
    let waves = second.waves();
    assert!(waves[0].resumed && waves[0].ended && waves[0].requests == ROWS);
    let journal_text = std::fs::read_to_string(&journal).unwrap();
    assert_eq!(
        journal_text.matches("\"ended\":true").count(),
        2,
        "{journal_text}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pending_batch_is_picked_up_from_the_journal_by_the_next_run() {
    resume_a_pending_batch(JournalAt::Set).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_with_a_checkpoint_keeps_its_batches_journal_beside_it() {
    resume_a_pending_batch(JournalAt::BesideTheCheckpoint).await;
}

#[tokio::test]
async fn a_batch_the_provider_refuses_fails_every_cell_with_its_cause() {
    let server = MockServer::start(config().api_key("right")).await.unwrap();
    let batch = OpenAi::new("wrong")
        .unwrap()
        .base_url(&server.openai_url())
        .unwrap()
        .batch()
        .linger(Duration::from_millis(20))
        .poll_every(Duration::from_millis(20));
    let error = Qa::runner(&batch).seed(4).generate(ROWS).await.unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("column `question`") && message.contains("401"),
        "{message}"
    );
    assert!(
        !message.contains("wrong"),
        "the key is not in the error: {message}"
    );
    assert!(server.batches().is_empty(), "nothing was submitted");
    assert!(batch.waves().is_empty());
}

/// Runs `future`, failing the test if it takes longer than 30 s (a batch that is never
/// seen to end would otherwise hang the test).
async fn within_30s<T>(future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), future)
        .await
        .expect("the run ended within 30 s")
}

#[tokio::test]
async fn an_expired_openai_batch_keeps_what_ran_and_sends_the_rest_again() {
    // Each batch runs its first 10 requests, then its 24 hours run out: the output file
    // holds those (billed), the error file the rest as `batch_expired`.
    let server = MockServer::start(config().batch_end(BatchEnd::Expired { ran: 10 }))
        .await
        .unwrap();
    let batch = quick_batch(&server.openai_url());
    let rows = within_30s(
        Qa::runner(&batch)
            .seed(4)
            .retry(tests::quick_retries())
            .generate(ROWS),
    )
    .await
    .unwrap();
    assert_eq!(rows, plain_rows().await);
    // Nothing that ran was paid for twice: 24 questions and 24 answers, each run once,
    // over several batches (each runs 10).
    assert_eq!(server.stats().batch_requests, 2 * ROWS as u64);
    assert!(server.batches().len() >= 3, "{:?}", server.batches());
}

#[tokio::test]
async fn a_cancelled_openai_batch_fails_the_cells_it_did_not_run_and_ends() {
    let server = MockServer::start(config().batch_end(BatchEnd::Cancelled { ran: 5 }))
        .await
        .unwrap();
    let batch = quick_batch(&server.openai_url());
    let generated = within_30s(
        Qa::runner(&batch)
            .seed(4)
            .retry(tests::quick_retries())
            .skip_failed()
            .run(ROWS),
    )
    .await
    .unwrap();
    // The five questions that ran were kept, and their answers asked for; the other 19
    // are not sent again (a cancel is someone's decision).
    let failed = &generated.report.failed;
    assert_eq!(failed.len(), ROWS - 5, "{}", generated.report);
    for failure in failed {
        assert_eq!(failure.attempts(), 1, "{failure}");
        let text = failure.to_string();
        assert!(
            text.contains("cancelled") && text.contains("batch_cancelled"),
            "{text}"
        );
    }
    assert_eq!(server.stats().batch_requests, 5 + 5);
}

#[tokio::test]
async fn a_failed_openai_batch_fails_its_cells_with_the_reason_and_ends() {
    let server = MockServer::start(config().batch_end(BatchEnd::Failed))
        .await
        .unwrap();
    let batch = quick_batch(&server.openai_url());
    let error = within_30s(Qa::runner(&batch).seed(4).generate(ROWS))
        .await
        .unwrap_err();
    let text = error.to_string();
    assert!(
        text.contains("column `question`")
            && text.contains("failed")
            && text.contains("token_limit_exceeded"),
        "{text}"
    );
    assert_eq!(server.batches().len(), 1, "not submitted again");
    assert_eq!(server.stats().batch_requests, 0);
    let waves = batch.waves();
    assert!(waves[0].ended && waves[0].failed == ROWS, "{waves:?}");
}

#[tokio::test]
async fn anthropic_batches_that_expire_or_are_cancelled_keep_what_ran() {
    for (end, rows_ok) in [
        (BatchEnd::Expired { ran: 10 }, true),
        (BatchEnd::Cancelled { ran: 5 }, false),
    ] {
        let server = MockServer::start(config().batch_end(end)).await.unwrap();
        let batch = Anthropic::new("k")
            .unwrap()
            .base_url(&server.anthropic_url())
            .unwrap()
            .batch()
            .linger(Duration::from_millis(30))
            .poll_every(Duration::from_millis(20));
        let generated = within_30s(
            Qa::runner(&batch)
                .seed(4)
                .retry(tests::quick_retries())
                .skip_failed()
                .run(ROWS),
        )
        .await
        .unwrap();
        if rows_ok {
            assert_eq!(generated.rows.len(), ROWS, "{end:?}");
            assert_eq!(server.stats().batch_requests, 2 * ROWS as u64);
        } else {
            assert_eq!(generated.report.failed.len(), ROWS - 5, "{end:?}");
            assert!(
                generated.report.failed[0]
                    .to_string()
                    .contains("(canceled)")
            );
        }
    }
}
