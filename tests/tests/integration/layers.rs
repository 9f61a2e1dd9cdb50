//! Policy as layers around a generator, over real HTTP: a layer written here composes with
//! the built-in retry and limit, and the runner's own layers step aside for them.

use std::sync::atomic::{AtomicU32, Ordering};

use chatan::layer::GeneratorExt;
use chatan::layer::RetryPolicy;
use chatan::{Generator, GeneratorError, Reply, Request};
use chatan_mock::{Fault, MockConfig};

chatan::dataset! {
    #[derive(Debug)]
    struct Qa {
        question: String = gen("write a question"),
        answer: String = gen("answer: {question}"),
    }
}

/// Counts the requests that pass through it, and the attempt numbers it saw.
struct Counting<G> {
    inner: G,
    calls: AtomicU32,
    retried: AtomicU32,
}

impl<G> Counting<G> {
    fn new(inner: G) -> Self {
        Counting {
            inner,
            calls: AtomicU32::new(0),
            retried: AtomicU32::new(0),
        }
    }
}

impl<G: Generator> Generator for Counting<G> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        self.calls.fetch_add(1, Ordering::SeqCst);
        if request.attempt > 1 {
            self.retried.fetch_add(1, Ordering::SeqCst);
        }
        self.inner.generate(request).await
    }
}

#[tokio::test]
async fn a_custom_layer_sits_between_retry_and_limit() {
    let (server, openai) = tests::openai_mock(
        MockConfig::new()
            .latency(std::time::Duration::from_millis(20))
            .script([Fault::RateLimit, Fault::ServerError, Fault::Drop]),
    )
    .await;
    let stack = Counting::new(openai.limit(3)).retry(tests::quick_retries());
    let rows = Qa::runner(&stack)
        .bare()
        .concurrency(16)
        .generate(12)
        .await
        .unwrap();
    assert_eq!(rows.len(), 12);
    assert!(rows.iter().all(|r| r.answer.contains(&r.question[..20])));
    let counting = stack.inner();
    // Every attempt went through the custom layer, the three failed ones included, and
    // the retries were numbered as such.
    assert_eq!(counting.calls.load(Ordering::SeqCst), 24 + 3);
    assert_eq!(counting.retried.load(Ordering::SeqCst), 3);
    let stats = server.stats();
    assert_eq!(stats.requests, 24 + 3);
    // The limit inside it bound the requests in flight, not the runner's 16.
    assert!(stats.max_in_flight <= 3, "{stats:?}");
    assert_eq!(stats.max_in_flight, 3, "{stats:?}");
}

#[tokio::test]
async fn an_inner_retry_is_not_retried_again_by_the_runner() {
    let (server, openai) =
        tests::openai_mock(MockConfig::new().fail_from(0, Fault::ServerError)).await;
    let failed = Qa::runner(&openai.retry(RetryPolicy::none()))
        .retry(tests::quick_retries())
        .generate(1)
        .await
        .unwrap_err();
    // The runner's default retry layer would make 4 attempts; the user's own layer, which
    // allows one, wins.
    assert_eq!(server.stats().requests, 1);
    assert!(
        failed.to_string().contains("(gave up after 1 attempt)"),
        "{failed}"
    );
}

#[tokio::test]
async fn the_runner_adds_retry_and_limit_to_a_bare_generator() {
    let (server, openai) = tests::openai_mock(
        MockConfig::new()
            .latency(std::time::Duration::from_millis(20))
            .script([Fault::RateLimit, Fault::RateLimit]),
    )
    .await;
    let counting = Counting::new(openai);
    let rows = Qa::runner(&counting)
        .concurrency(2)
        .retry(tests::quick_retries())
        .generate(6)
        .await
        .unwrap();
    assert_eq!(rows.len(), 6);
    assert_eq!(counting.calls.load(Ordering::SeqCst), 12 + 2);
    assert_eq!(counting.retried.load(Ordering::SeqCst), 2);
    assert_eq!(server.stats().max_in_flight, 2);
}

#[tokio::test]
async fn bare_runs_send_each_request_once() {
    let (server, openai) = tests::openai_mock(MockConfig::new().script([Fault::RateLimit])).await;
    let failed = Qa::runner(&openai).bare().generate(1).await.unwrap_err();
    assert_eq!(server.stats().requests, 1);
    assert!(
        matches!(
            failed.error(),
            chatan::Error::Cell {
                cause: chatan::error::CellError::Generator {
                    attempts: 1,
                    cause: GeneratorError::RateLimited { .. }
                },
                ..
            }
        ),
        "{failed}"
    );
}

/// Tracks requests in flight across every generator it wraps.
#[derive(Clone, Default)]
struct InFlight {
    now: std::sync::Arc<AtomicU32>,
    most: std::sync::Arc<AtomicU32>,
}

struct Tracked<G>(G, InFlight);

impl<G: Generator> Generator for Tracked<G> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        let now = self.1.now.fetch_add(1, Ordering::SeqCst) + 1;
        self.1.most.fetch_max(now, Ordering::SeqCst);
        let reply = self.0.generate(request).await;
        self.1.now.fetch_sub(1, Ordering::SeqCst);
        reply
    }
}

#[tokio::test]
async fn one_limiter_bounds_two_generators_together() {
    let latency = std::time::Duration::from_millis(30);
    let (_writer_server, writer) = tests::openai_mock(MockConfig::new().latency(latency)).await;
    let (_judge_server, judge) = tests::openai_mock(MockConfig::new().latency(latency)).await;
    chatan::dataset! {
        struct Judged {
            answer: String = gen("answer something"),
            verdict: String = gen("judge it", generator = "judge"),
        }
    }
    let shared = chatan::layer::Limiter::new(3);
    let seen = InFlight::default();
    let generators = chatan::GeneratorSet::new()
        .with_default(Tracked(writer, seen.clone()).limit_with(&shared))
        .with("judge", Tracked(judge, seen.clone()).limit_with(&shared));
    let rows = Judged::runner(&generators).generate(10).await.unwrap();
    assert_eq!(rows.len(), 10);
    assert!(rows.iter().all(|r| r.answer != r.verdict));
    // Both columns of ten rows were ready at once; the shared limiter let three through.
    assert_eq!(seen.most.load(Ordering::SeqCst), 3);
    assert_eq!(shared.in_flight(), 0);
}
