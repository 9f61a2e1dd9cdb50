//! The rate governor against a server that allows R requests a second (429 beyond):
//! with a budget of R, throughput is close to R and almost nothing is refused; with a
//! tokens-per-minute budget, the budget is kept; with no budget (the runner's default),
//! 429s pause the endpoint instead of every cell retrying on its own.

use std::time::Duration;

use chatan::layer::GeneratorExt;
use chatan::layer::Governance;
use chatan_mock::{Fault, MockConfig, MockServer};

chatan::dataset! {
    #[derive(Debug)]
    struct One {
        id: chatan::Uuid = sample::uuid(),
        text: String = gen("say {id}", max_tokens = 20),
    }
}

const R: u32 = 100;

/// Rows a second the server answered, from its first request to its last reply, and the
/// share of requests it refused.
fn measured(server: &MockServer) -> (f64, f64) {
    let log = server.exchanges();
    let answered = log.iter().filter(|e| e.fault.is_none()).count();
    let refused = log
        .iter()
        .filter(|e| e.fault == Some(Fault::RateLimit))
        .count();
    let first = log.iter().map(|e| e.received).min().unwrap();
    let last = log.iter().map(|e| e.finished).max().unwrap();
    let seconds = (last - first).as_secs_f64();
    (answered as f64 / seconds, refused as f64 / log.len() as f64)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_request_budget_of_r_runs_close_to_r_with_almost_no_refusals() {
    let server = MockServer::start(MockConfig::new().requests_per_second(R))
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url())
        .unwrap()
        .govern(&Governance::new().requests_per_minute(R * 60));
    let rows = One::runner(&llm)
        .concurrency(64)
        .generate(300)
        .await
        .unwrap();
    assert_eq!(rows.len(), 300);
    let (rate, refused) = measured(&server);
    eprintln!(
        "budget {R}/s: {rate:.1} rows/s, {:.1}% refused",
        refused * 100.0
    );
    assert!(
        (rate - f64::from(R)).abs() <= 0.15 * f64::from(R),
        "{rate:.1} rows/s against a limit of {R}/s"
    );
    assert!(refused < 0.05, "{:.1}% refused", refused * 100.0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_token_budget_is_kept() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let tpm = 30_000; // 500 tokens a second
    let llm = chatan::OpenAi::compatible(&server.openai_url())
        .unwrap()
        .govern(&Governance::new().tokens_per_minute(tpm));
    One::runner(&llm)
        .concurrency(64)
        .generate(120)
        .await
        .unwrap();
    let stats = server.stats();
    let tokens = (stats.input_tokens + stats.output_tokens) as f64;
    let log = server.exchanges();
    let first = log.iter().map(|e| e.received).min().unwrap();
    let last = log.iter().map(|e| e.received).max().unwrap();
    let seconds = (last - first).as_secs_f64();
    let rate = f64::from(tpm) / 60.0;
    eprintln!("{tokens} tokens in {seconds:.2} s against {rate}/s");
    // One second's worth may go at once; after that, the rate.
    assert!(
        tokens <= rate * (seconds + 1.0) * 1.1 + 60.0,
        "{tokens} tokens in {seconds:.2} s"
    );
    assert!(seconds > 1.0, "the budget slowed the run down");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_budget_a_rate_limit_pauses_the_endpoint_instead_of_a_storm() {
    let config = MockConfig::new()
        .requests_per_second(R)
        .retry_after(Duration::from_millis(200));
    let server = MockServer::start(config.clone()).await.unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    let rows = One::runner(&llm)
        .concurrency(64)
        .generate(400)
        .await
        .unwrap();
    assert_eq!(rows.len(), 400);
    let (rate, refused) = measured(&server);
    let requests = server.exchanges().len();
    eprintln!(
        "no budget: {rate:.1} rows/s, {requests} requests, {:.1}% refused",
        refused * 100.0
    );
    // Without a governor (`bare`, retries only), the same run for comparison.
    let bare_server = MockServer::start(config).await.unwrap();
    let bare = chatan::OpenAi::compatible(&bare_server.openai_url())
        .unwrap()
        .limit(64)
        .retry(chatan::layer::RetryPolicy::new().max_attempts(20));
    One::runner(&bare).bare().generate(400).await.unwrap();
    let bare_requests = bare_server.exchanges().len();
    let (_, bare_refused) = measured(&bare_server);
    eprintln!(
        "bare: {bare_requests} requests, {:.1}% refused",
        bare_refused * 100.0
    );
    assert!(refused < bare_refused, "the governor refused no fewer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_no_budget_a_rate_limit_is_learned_and_kept_to() {
    // 50 requests a second let through; `Retry-After: 0` with every 429, so nothing but
    // the share of 429s tells the governor it sends too fast.
    let server = MockServer::start(MockConfig::new().requests_per_second(50))
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    let paces = std::sync::Mutex::new(Vec::new());
    let started = std::time::Instant::now();
    let rows = One::runner(&llm)
        .concurrency(100)
        .observe(|event: &chatan::event::Event<'_>| {
            if let chatan::event::Event::Throttled { pause, pace } = event {
                paces
                    .lock()
                    .unwrap()
                    .push((started.elapsed(), *pause, *pace));
            }
        })
        .generate(400)
        .await
        .unwrap();
    assert_eq!(rows.len(), 400);
    let log = server.exchanges();
    let first = log.iter().map(|e| e.received).min().unwrap();
    // After a warm-up of 4 s (the pace is learned by halving down from the burst the
    // limiter let through at first, then growing back by a fifth a second).
    let after: Vec<_> = log
        .iter()
        .filter(|e| e.received >= first + Duration::from_secs(4))
        .collect();
    let refused = after
        .iter()
        .filter(|e| e.fault == Some(Fault::RateLimit))
        .count();
    let answered = log.iter().filter(|e| e.fault.is_none()).count();
    let last = log.iter().map(|e| e.finished).max().unwrap();
    let rate = answered as f64 / (last - first).as_secs_f64();
    for p in paces.lock().unwrap().iter() {
        eprintln!("{p:?}");
    }
    eprintln!(
        "{rate:.1} rows/s; after 4 s: {refused} of {} refused",
        after.len()
    );
    // Under 1% on a quiet machine (`cargo bench -p bench --bench faults`); a test shares
    // the machine with the others, whose load delays the pace's timers. Without the
    // governor, two thirds are refused.
    assert!(
        (refused as f64) < 0.05 * after.len() as f64,
        "{refused} of {} refused after 4 s",
        after.len()
    );
    assert!(rate > 35.0, "{rate:.1} rows/s against a limit of 50/s");
}
