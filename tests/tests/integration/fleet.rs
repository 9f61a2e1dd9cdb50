//! A fleet of endpoints (several mock servers): requests spread over them, a server that
//! dies mid-run has its share moved to the others with every row made exactly once, a
//! rate-limited or bad-key endpoint is set aside alone, an endpoint that recovers is
//! probed back, and a fleet with every endpoint down fails with a clear error that
//! counts every request made.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use chatan::OpenAi;
use chatan::event::Event;
use chatan::layer::Fleet;
use chatan_mock::{Fault, MockConfig, MockServer};

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Line {
        n: u32 = sample::range(0, 1_000_000),
        text: String = gen("line number {n}"),
    }
}

async fn servers(configs: Vec<MockConfig>) -> Vec<Arc<MockServer>> {
    let mut out = Vec::new();
    for config in configs {
        out.push(Arc::new(MockServer::start(config).await.unwrap()));
    }
    out
}

fn fleet(servers: &[Arc<MockServer>]) -> Fleet<OpenAi> {
    Fleet::new(
        servers
            .iter()
            .map(|s| OpenAi::compatible(&s.openai_url()).unwrap()),
    )
}

/// The reply every healthy mock server gives to `prompt`.
async fn expected_replies(rows: &[Line]) -> Vec<String> {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let mut out = Vec::new();
    for row in rows {
        let prompt = format!("line number {}", row.n);
        let request = chatan::Request::new(&prompt);
        out.push(
            chatan::Generator::generate(&llm, &request)
                .await
                .unwrap()
                .text,
        );
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dead_endpoint_s_share_moves_to_the_others() {
    let servers = servers(
        (0..3)
            .map(|_| MockConfig::new().latency(Duration::from_millis(4)))
            .collect(),
    )
    .await;
    let fleet = fleet(&servers).eject_for(Duration::from_secs(60));
    let done = AtomicUsize::new(0);
    let at_death = AtomicUsize::new(usize::MAX);
    let victim = Arc::clone(&servers[1]);
    let rows = Line::runner(&fleet)
        .concurrency(12)
        .seed(1)
        .retry(tests::quick_retries())
        .observe(|event: &Event<'_>| {
            if matches!(event, Event::RowDone { .. })
                && done.fetch_add(1, Ordering::SeqCst) + 1 == 90
            {
                at_death.store(victim.stats().replies as usize, Ordering::SeqCst);
                victim.kill();
            }
        })
        .generate(400)
        .await
        .expect("every row is made despite the dead endpoint");
    assert_eq!(rows.len(), 400);
    assert_eq!(
        rows.iter().map(|r| r.text.clone()).collect::<Vec<_>>(),
        expected_replies(&rows).await,
        "each row's reply is the one its prompt gets"
    );

    let replies: Vec<u64> = servers.iter().map(|s| s.stats().replies).collect();
    let at_death = at_death.load(Ordering::SeqCst) as u64;
    // Requests in flight at the kill may still have been answered.
    assert!(
        replies[1] <= at_death + 12,
        "{replies:?}, {at_death} at death"
    );
    assert!(replies[1] >= 10, "it had its share before: {replies:?}");
    assert!(
        replies[0] > replies[1] && replies[2] > replies[1],
        "{replies:?}"
    );
    // Every reply counted once: the rows, plus nothing answered twice.
    assert_eq!(replies.iter().sum::<u64>(), 400, "{replies:?}");
    let endpoints = fleet.endpoints();
    assert!(
        endpoints[1].out && endpoints[1].ejections >= 1,
        "{:?}",
        endpoints
    );
    assert!(endpoints[1].failures >= 1);
    assert!(!endpoints[0].out && !endpoints[2].out);
    assert_eq!(endpoints.iter().map(|e| e.in_flight).sum::<usize>(), 0);
}

#[tokio::test]
async fn a_rate_limited_endpoint_is_paused_alone() {
    let servers = servers(vec![
        MockConfig::new()
            .fail_from(0, Fault::RateLimit)
            .retry_after(Duration::from_secs(2)),
        MockConfig::new(),
        MockConfig::new(),
    ])
    .await;
    let fleet = fleet(&servers);
    let generated = Line::runner(&fleet)
        .concurrency(8)
        .retry(tests::quick_retries())
        .run(60)
        .await
        .unwrap();
    assert_eq!(generated.rows.len(), 60);
    let stats: Vec<_> = servers.iter().map(|s| s.stats()).collect();
    assert_eq!(stats[0].replies, 0);
    assert_eq!(stats[1].replies + stats[2].replies, 60);
    // Its governor paused it after the first 429s: it saw only the first few requests.
    assert!(
        stats[0].requests <= 8,
        "{} requests to the limited one",
        stats[0].requests
    );
    assert!(stats[1].replies >= 15 && stats[2].replies >= 15, "spread");
}

#[tokio::test]
async fn a_bad_key_takes_its_endpoint_out_at_once() {
    let servers = servers(vec![
        MockConfig::new().api_key("right"),
        MockConfig::new().api_key("right"),
    ])
    .await;
    let fleet = Fleet::new([
        OpenAi::new("wrong")
            .unwrap()
            .base_url(&servers[0].openai_url())
            .unwrap(),
        OpenAi::new("right")
            .unwrap()
            .base_url(&servers[1].openai_url())
            .unwrap(),
    ]);
    // One at a time, so the first request is the only one the bad key fails.
    let rows = Line::runner(&fleet)
        .concurrency(1)
        .generate(30)
        .await
        .unwrap();
    assert_eq!(rows.len(), 30);
    let endpoints = fleet.endpoints();
    assert_eq!(endpoints[0].failures, 1, "out after its first 401");
    assert_eq!(endpoints[0].requests, 1, "and sent nothing more");
    assert!(endpoints[0].out);
    assert_eq!(servers[1].stats().replies, 30);
}

#[tokio::test]
async fn an_endpoint_that_recovers_is_probed_back() {
    let servers = servers(vec![
        MockConfig::new()
            .latency(Duration::from_millis(2))
            .script([Fault::ServerError; 3]),
        MockConfig::new().latency(Duration::from_millis(2)),
    ])
    .await;
    let fleet = fleet(&servers)
        .eject_after(3)
        .eject_for(Duration::from_millis(30));
    // One request at a time, so the first three go to endpoint 0 in turn (it is the
    // least used) and fail there before the fleet moves on.
    let rows = Line::runner(&fleet)
        .concurrency(1)
        .generate(80)
        .await
        .unwrap();
    assert_eq!(rows.len(), 80);
    let endpoints = fleet.endpoints();
    assert_eq!(endpoints[0].ejections, 1, "{endpoints:?}");
    assert_eq!(endpoints[0].failures, 3);
    assert!(!endpoints[0].out, "back after its probe");
    assert!(
        servers[0].stats().replies >= 10,
        "used again once back: {:?}",
        servers[0].stats().replies
    );
}

#[tokio::test]
async fn with_every_endpoint_down_the_run_fails_naming_the_cell() {
    let servers = servers(vec![MockConfig::new(), MockConfig::new()]).await;
    let fleet = fleet(&servers).eject_for(Duration::from_millis(5));
    // Both answer first (a server that has never answered is not retried at all: see
    // the next test), then go down.
    Line::runner(&fleet)
        .concurrency(2)
        .generate(4)
        .await
        .unwrap();
    let before: u64 = fleet.endpoints().iter().map(|e| e.requests).sum();
    for server in &servers {
        server.kill();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let error = Line::runner(&fleet)
        .retry(tests::quick_retries())
        .generate(1)
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("column `text`"), "{message}");
    assert!(
        message.contains("connect") || message.contains("connection"),
        "{message}"
    );
    // Every request counts: each retry tried both endpoints, and the retry policy's 8
    // attempts are 8 requests (4 rounds of 2), not 8 rounds.
    match error.error() {
        chatan::Error::Cell {
            cause: chatan::error::CellError::Generator { attempts, cause },
            ..
        } => {
            assert_eq!(*attempts, 8, "{message}");
            let sent: u64 = fleet.endpoints().iter().map(|e| e.requests).sum();
            assert_eq!(sent - before, 8);
            assert!(
                matches!(cause, chatan::GeneratorError::Connection(_)),
                "the cause without its wrappers: {cause:?}"
            );
        }
        other => panic!("expected a cell error, got {other:?}"),
    }
}

#[tokio::test]
async fn a_fleet_none_of_whose_endpoints_ever_answered_fails_at_once() {
    let servers = servers(vec![MockConfig::new(), MockConfig::new()]).await;
    let fleet = fleet(&servers);
    for server in &servers {
        server.kill();
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    let started = std::time::Instant::now();
    let error = Line::runner(&fleet).generate(50).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2), "{error}");
    let message = error.to_string();
    assert!(message.contains("never answered"), "{message}");
    // One request per endpoint, no retry, no other row.
    let sent: u64 = fleet.endpoints().iter().map(|e| e.requests).sum();
    assert_eq!(sent, 2, "{message}");
}

#[tokio::test]
async fn a_request_every_endpoint_failed_is_retried_and_counts_every_attempt() {
    // Each endpoint fails its first request with a 500: the first round fails on both,
    // the retry finds them working. The reply counts the three requests it took.
    let flaky = servers(vec![
        MockConfig::new().script([Fault::ServerError]),
        MockConfig::new().script([Fault::ServerError]),
    ])
    .await;
    let both = fleet(&flaky);
    let request = chatan::Request::new("line number 7");
    let reply = chatan::Generator::generate(
        &chatan::layer::GeneratorExt::retry(&both, tests::quick_retries()),
        &request,
    )
    .await
    .unwrap();
    assert_eq!(reply.attempts, 3);
    let requests: u64 = both.endpoints().iter().map(|e| e.requests).sum();
    assert_eq!(requests, 3);

    // Without a retry outside, the failure says how many requests it stands for, and is
    // still retryable.
    let down = servers(vec![
        MockConfig::new().fail_from(0, Fault::ServerError),
        MockConfig::new().fail_from(0, Fault::ServerError),
    ])
    .await;
    let error = chatan::Generator::generate(&fleet(&down), &request)
        .await
        .unwrap_err();
    assert_eq!(error.attempts(), 2, "{error}");
    assert!(error.is_retryable(), "{error}");
    assert!(
        error.to_string().contains("2 attempts, one per endpoint"),
        "{error}"
    );
}

#[tokio::test]
async fn a_fleet_of_batch_endpoints_asks_for_a_batchs_worth_in_flight() {
    let servers = servers(vec![MockConfig::new(), MockConfig::new()]).await;
    let batches: Vec<_> = servers
        .iter()
        .map(|s| {
            OpenAi::compatible(&s.openai_url())
                .unwrap()
                .batch()
                .max_requests(700)
        })
        .collect();
    let fleet = Fleet::new(batches);
    assert_eq!(chatan::Generator::concurrency_hint(&fleet), Some(700));
    // Through the runner's layers too.
    assert_eq!(
        chatan::Generator::concurrency_hint(&chatan::layer::GeneratorExt::retry(
            &fleet,
            tests::quick_retries()
        )),
        Some(700)
    );
}
