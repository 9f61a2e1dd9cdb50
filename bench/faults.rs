//! Runs under faults, against the mock server, with the runner's defaults (retry policy,
//! governor, first request alone): wall time against a clean run of the same rows, and
//! what a dead or misconfigured endpoint costs.
//!
//! ```sh
//! cargo bench -p bench --bench faults                 # 1 000 rows, 100 in flight
//! cargo bench -p bench --bench faults -- --rows 2000 --latency-ms 20
//! ```
//!
//! * `clean`, `isolated 429s` (10% answered 429 with `Retry-After: 0`) and `mixed faults`
//!   (10% 429s, 5% 500s, 2% dropped connections, 2% malformed bodies): wall time, and
//!   the faulted runs as a multiple of the clean one.
//! * `all 429`: every request refused; how long until the run gives up.
//! * `bad key`, `unknown model`, `unknown host`, `refused connection`: requests that
//!   reached the server and time to the error, 1 000 rows asked for.
//! * `50/s server`: a server that answers 50 requests a second (429 beyond) and no
//!   budget set: the share of requests refused after the first 3 seconds.
//!
//! The mock server runs in this process, on a runtime of its own.

use std::time::{Duration, Instant};

use chatan::OpenAi;
use chatan_mock::{Fault, MockConfig, MockServer};

chatan::dataset! {
    #[derive(Debug)]
    struct Pair {
        id: chatan::Uuid = sample::uuid(),
        question: String = gen("question {id}"),
        answer: String = gen("answer {id}: {question}"),
    }
}

chatan::dataset! {
    #[derive(Debug)]
    struct One {
        id: chatan::Uuid = sample::uuid(),
        text: String = gen("say {id}"),
    }
}

const CONCURRENCY: usize = 100;

/// Starts a mock server with `config` on the server runtime.
fn serve(server_runtime: &tokio::runtime::Runtime, config: MockConfig) -> MockServer {
    server_runtime
        .block_on(MockServer::start(config))
        .expect("mock server")
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let number = |flag: &str, default: u64| {
        args.windows(2)
            .find(|w| w[0] == flag)
            .map_or(default, |w| w[1].parse().expect("a number"))
    };
    let rows = number("--rows", 1_000) as usize;
    let latency = Duration::from_millis(number("--latency-ms", 0));
    let servers = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client = tokio::runtime::Runtime::new().expect("runtime");
    let base = || MockConfig::new().latency(latency).seed(19);
    println!(
        "{rows} rows x 2 generated columns, {CONCURRENCY} in flight, {} ms latency, runner defaults",
        latency.as_millis()
    );

    // Wall time of a run against `config`, and the requests the server saw.
    let timed = |config: MockConfig| {
        let server = serve(&servers, config);
        let llm = OpenAi::compatible(&server.openai_url()).expect("url");
        let started = Instant::now();
        let generated = client.block_on(
            Pair::runner(&llm)
                .concurrency(CONCURRENCY)
                .progress(false)
                .run(rows),
        );
        let wall = started.elapsed().as_secs_f64();
        let generated = generated.expect("every row");
        assert_eq!(generated.rows.len(), rows);
        (wall, server.stats().requests)
    };
    let (clean, clean_requests) = timed(base());
    println!("clean            {clean:>7.2} s  {clean_requests} requests");
    let (isolated, requests) = timed(base().fault_rates(0.10, 0.0, 0.0, 0.0));
    println!(
        "isolated 429s    {isolated:>7.2} s  {requests} requests  {:.2}x clean",
        isolated / clean
    );
    let (mixed, requests) = timed(base().fault_rates(0.10, 0.05, 0.02, 0.02));
    println!(
        "mixed faults     {mixed:>7.2} s  {requests} requests  {:.2}x clean",
        mixed / clean
    );

    // Runs that cannot succeed: the time to the error and the requests made.
    let failing = |config: Option<MockConfig>, llm: &dyn Fn(&MockServer) -> OpenAi| {
        let server = config.map(|c| serve(&servers, c));
        let llm = match &server {
            Some(server) => llm(server),
            None => llm(&serve(&servers, MockConfig::new())),
        };
        let started = Instant::now();
        let error = client
            .block_on(
                Pair::runner(&llm)
                    .concurrency(CONCURRENCY)
                    .progress(false)
                    .run(1_000),
            )
            .expect_err("the run fails");
        let wall = started.elapsed().as_secs_f64();
        let requests = server.map_or(0, |s| s.stats().requests);
        (wall, requests, error.to_string())
    };
    let compatible = |server: &MockServer| OpenAi::compatible(&server.openai_url()).expect("url");
    let (wall, requests, _) = failing(Some(base().fail_from(0, Fault::RateLimit)), &compatible);
    println!("all 429          {wall:>7.2} s to give up, {requests} requests");
    let (wall, requests, _) = failing(Some(base().api_key("right")), &|server| {
        OpenAi::new("wrong")
            .expect("key")
            .base_url(&server.openai_url())
            .expect("url")
    });
    println!("bad key          {wall:>7.2} s, {requests} request(s)");
    let (wall, requests, _) = failing(Some(base().models(["gpt-4.1-mini"])), &|server| {
        compatible(server).model("gpt-nonexistent")
    });
    println!("unknown model    {wall:>7.2} s, {requests} request(s)");
    let (wall, _, error) = failing(None, &|_| {
        OpenAi::compatible("http://chatan-nowhere.invalid/v1").expect("url")
    });
    println!("unknown host     {wall:>7.2} s  ({error})");
    let free = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("port")
        .local_addr()
        .expect("address");
    let (wall, _, _) = failing(None, &|_| {
        OpenAi::compatible(&format!("http://{free}/v1")).expect("url")
    });
    println!("refused conn.    {wall:>7.2} s");

    // A server limited to 50 requests a second, no budget: refusals after warm-up.
    let server = serve(&servers, base().requests_per_second(50));
    let llm = OpenAi::compatible(&server.openai_url()).expect("url");
    let limited_rows = 800;
    let started = Instant::now();
    client
        .block_on(
            One::runner(&llm)
                .concurrency(CONCURRENCY)
                .progress(false)
                .generate(limited_rows),
        )
        .expect("every row");
    let wall = started.elapsed().as_secs_f64();
    let log = server.exchanges();
    let first = log.iter().map(|e| e.received).min().expect("requests");
    let share = |from: Duration| {
        let later: Vec<_> = log.iter().filter(|e| e.received >= first + from).collect();
        let refused = later
            .iter()
            .filter(|e| e.fault == Some(Fault::RateLimit))
            .count();
        (
            refused as f64 / later.len().max(1) as f64 * 100.0,
            later.len(),
        )
    };
    let (all, _) = share(Duration::ZERO);
    let (after1, n1) = share(Duration::from_secs(1));
    let (after3, n3) = share(Duration::from_secs(3));
    let (after5, n5) = share(Duration::from_secs(5));
    println!(
        "50/s server      {wall:>7.2} s for {limited_rows} rows ({:.1} rows/s); refused: {all:.1}% of all, \
         {after1:.2}% after 1 s ({n1} requests), {after3:.2}% after 3 s ({n3}), {after5:.2}% after 5 s ({n5})",
        limited_rows as f64 / wall
    );
}
