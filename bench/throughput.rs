//! Throughput of chatan against its mock server at zero latency: rows per second, client
//! CPU per LLM call, and peak memory.
//!
//! ```sh
//! cargo bench -p bench                 # 10 000 rows x 2 generated columns
//! cargo bench -p bench -- --rows 50000
//! cargo bench -p bench -- --parquet-rows 1000000   # only: a run streamed to parquet
//! ```
//!
//! Every phase runs in a process of its own (this binary, re-executed), so each one's CPU
//! time and peak RSS are its own; the mock server runs in another process, so its work is
//! not counted as the client's.
//!
//! Phases:
//! * `bare-reqwest`: the same requests sent by a hand-written loop over reqwest and
//!   serde_json, 64 at a time: the floor any HTTP client pays.
//! * `chatan-http`: `Qa::runner(&openai).generate(n)` against the mock.
//! * `chatan-null`: the same recipe with a generator that answers in-process: chatan's
//!   own overhead per call (scheduling, rendering, bookkeeping), no HTTP.
//! * `chatan-stream`: `stream(n)` with rows dropped as they arrive, at n and 5n rows:
//!   peak memory should not grow with n.
//! * `chatan-checkpoint`: `chatan-http` journaling every row to a checkpoint file (the
//!   cost of being able to resume).
//! * `chatan-parquet` (with `--parquet-rows N`): rows of uuid, topic and two generated
//!   columns streamed straight to a parquet file (`chatan::data::write_stream`).

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Instant;

use chatan::{Generator, GeneratorError, OpenAi, Reply, Request};
use futures::StreamExt;

chatan::dataset! {
    #[derive(Debug, serde::Serialize, serde::Deserialize)]
    struct Qa {
        question: String = gen("write an example question from a 5th grade math test"),
        answer: String = gen("answer: {question}"),
    }
}

chatan::dataset! {
    #[derive(Debug)]
    struct Mix {
        id: chatan::Uuid = sample::uuid(),
        topic: String = sample::choice(["san antonio, tx", "marfa, tx", "paris, fr"]),
        prompt: String = gen("write an example question about the history of {topic}"),
        response: String = gen("respond to: {prompt}"),
    }
}

const CONCURRENCY: usize = 64;

/// Answers at once, in-process.
struct Null;

impl Generator for Null {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        Ok(Reply::from(format!(
            "reply to {} bytes",
            request.prompt.len()
        )))
    }
}

struct Usage {
    cpu_seconds: f64,
    max_rss_kib: i64,
}

fn usage() -> Usage {
    let mut u = std::mem::MaybeUninit::<libc::rusage>::zeroed();
    // SAFETY: getrusage writes a `rusage` into the pointer it is given.
    let u = unsafe {
        libc::getrusage(libc::RUSAGE_SELF, u.as_mut_ptr());
        u.assume_init()
    };
    let seconds = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    Usage {
        cpu_seconds: seconds(u.ru_utime) + seconds(u.ru_stime),
        max_rss_kib: u.ru_maxrss,
    }
}

fn main() {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("__serve") => serve(),
        Some("__phase") => phase(&args[2], &args[3], args[4].parse().expect("rows")),
        _ => {
            let number = |flag: &str| {
                args.windows(2)
                    .find(|w| w[0] == flag)
                    .map(|w| w[1].parse::<usize>().expect("a number"))
            };
            match number("--parquet-rows") {
                Some(rows) => drive_parquet(rows),
                None => drive(number("--rows").unwrap_or(10_000)),
            }
        }
    }
}

/// Runs the mock server and prints its address.
fn serve() {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    runtime.block_on(async {
        let server = chatan_mock::MockServer::start(chatan_mock::MockConfig::new())
            .await
            .expect("mock server");
        println!("{}", server.openai_url());
        // Serve until the parent kills us.
        std::future::pending::<()>().await;
    });
}

/// One measured phase; prints `calls wall_seconds cpu_seconds max_rss_kib`.
fn phase(name: &str, url: &str, rows: usize) {
    let runtime = tokio::runtime::Runtime::new().expect("runtime");
    let before = usage();
    let started = Instant::now();
    let calls = runtime.block_on(async {
        match name {
            "bare-reqwest" => bare_reqwest(url, rows).await,
            "chatan-http" => generate(&OpenAi::compatible(url).expect("url"), rows).await,
            "chatan-null" => generate(&Null, rows).await,
            "chatan-checkpoint" => {
                let openai = OpenAi::compatible(url).expect("url");
                let path = std::env::temp_dir().join(format!(
                    "chatan-bench-{}.checkpoint.jsonl",
                    std::process::id()
                ));
                let out = Qa::runner(&openai)
                    .concurrency(CONCURRENCY)
                    .progress(false)
                    .seed(1)
                    .checkpoint(&path)
                    .generate(rows)
                    .await
                    .expect("run");
                assert_eq!(out.len(), rows);
                let _ = std::fs::remove_file(&path);
                let _ = std::fs::remove_file(path.with_file_name(format!(
                    "chatan-bench-{}.checkpoint.failed.jsonl",
                    std::process::id()
                )));
                2 * rows
            }
            "chatan-stream" => {
                let openai = OpenAi::compatible(url).expect("url");
                let mut stream = Qa::runner(&openai)
                    .concurrency(CONCURRENCY)
                    .progress(false)
                    .stream(rows)
                    .expect("run");
                let mut n = 0;
                while let Some(row) = stream.next().await {
                    let row = row.expect("row");
                    n += usize::from(!row.question.is_empty() && !row.answer.is_empty());
                }
                assert_eq!(n, rows);
                2 * rows
            }
            "chatan-parquet" => {
                let openai = OpenAi::compatible(url).expect("url");
                let stream = Mix::runner(&openai)
                    .concurrency(CONCURRENCY)
                    .progress(false)
                    .stream(rows)
                    .expect("run");
                let path = std::env::temp_dir()
                    .join(format!("chatan-bench-{}.parquet", std::process::id()));
                let written = chatan::data::write_stream(stream, &path)
                    .await
                    .expect("written");
                assert_eq!(written, rows);
                let _ = std::fs::remove_file(&path);
                2 * rows
            }
            other => panic!("unknown phase {other}"),
        }
    });
    let wall = started.elapsed().as_secs_f64();
    let after = usage();
    println!(
        "{calls} {wall} {} {}",
        after.cpu_seconds - before.cpu_seconds,
        after.max_rss_kib
    );
}

/// `generate(rows)` with default settings but no progress bar; the number of calls.
async fn generate(llm: &impl Generator, rows: usize) -> usize {
    let out = Qa::runner(llm)
        .concurrency(CONCURRENCY)
        .progress(false)
        .generate(rows)
        .await
        .expect("run");
    assert_eq!(out.len(), rows);
    assert!(out.iter().all(|r| !r.question.is_empty()));
    2 * rows
}

/// The same two requests per row, by hand: reqwest + serde_json, 64 rows at a time.
async fn bare_reqwest(base: &str, rows: usize) -> usize {
    let client = reqwest::Client::new();
    let url = format!("{base}/chat/completions");
    let ask = |prompt: String| {
        let client = client.clone();
        let url = url.clone();
        async move {
            let body = serde_json::json!({
                "model": "gpt-4.1-mini",
                "messages": [{"role": "user", "content": prompt}],
            });
            let reply: serde_json::Value = client
                .post(&url)
                .json(&body)
                .send()
                .await
                .expect("send")
                .json()
                .await
                .expect("json");
            reply["choices"][0]["message"]["content"]
                .as_str()
                .expect("content")
                .to_owned()
        }
    };
    futures::stream::iter(0..rows)
        .map(|_| async {
            let question = ask("write an example question from a 5th grade math test".into()).await;
            ask(format!("answer: {question}")).await
        })
        .buffer_unordered(CONCURRENCY)
        .count()
        .await
        * 2
}

struct Measured {
    name: String,
    rows: usize,
    calls: usize,
    wall: f64,
    cpu: f64,
    rss_mib: f64,
}

fn run_phase(exe: &std::path::Path, name: &str, url: &str, rows: usize) -> Measured {
    let out = Command::new(exe)
        .args(["__phase", name, url, &rows.to_string()])
        .output()
        .expect("phase runs");
    assert!(
        out.status.success(),
        "phase {name} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let fields: Vec<f64> = text
        .split_whitespace()
        .map(|f| f.parse().expect("number"))
        .collect();
    Measured {
        name: name.to_owned(),
        rows,
        calls: fields[0] as usize,
        wall: fields[1],
        cpu: fields[2],
        rss_mib: fields[3] / 1024.0,
    }
}

/// Starts the mock server in a process of its own; its handle and URL.
fn start_server(exe: &std::path::Path) -> (std::process::Child, String) {
    let mut server = Command::new(exe)
        .arg("__serve")
        .stdout(Stdio::piped())
        .spawn()
        .expect("mock server process");
    let mut url = String::new();
    BufReader::new(server.stdout.take().expect("stdout"))
        .read_line(&mut url)
        .expect("server address");
    (server, url.trim().to_owned())
}

/// A run of `rows` streamed to parquet: rows/s and peak RSS.
fn drive_parquet(rows: usize) {
    let exe = std::env::current_exe().expect("own path");
    let (mut server, url) = start_server(&exe);
    run_phase(&exe, "chatan-http", &url, 500);
    let m = run_phase(&exe, "chatan-parquet", &url, rows);
    let _ = server.kill();
    let _ = server.wait();
    println!(
        "\n{rows} rows (uuid, topic, 2 generated columns) streamed to parquet, concurrency \
         {CONCURRENCY}, mock server at 0 ms latency: {:.0} rows/s, {:.1} µs CPU per call, \
         peak RSS {:.1} MiB",
        m.rows as f64 / m.wall,
        m.cpu * 1e6 / m.calls as f64,
        m.rss_mib
    );
}

fn drive(rows: usize) {
    let exe = std::env::current_exe().expect("own path");
    let (mut server, url) = start_server(&exe);

    // Warm-up: first connections, page faults of the server.
    run_phase(&exe, "chatan-http", &url, 500);
    let results = [
        run_phase(&exe, "bare-reqwest", &url, rows),
        run_phase(&exe, "chatan-http", &url, rows),
        run_phase(&exe, "chatan-null", &url, rows),
        run_phase(&exe, "chatan-stream", &url, rows),
        run_phase(&exe, "chatan-stream", &url, 5 * rows),
        run_phase(&exe, "chatan-checkpoint", &url, rows),
    ];
    let _ = server.kill();
    let _ = server.wait();

    println!(
        "\n{rows} rows x 2 generated columns, concurrency {CONCURRENCY}, mock server at 0 ms latency\n"
    );
    println!(
        "{:<17} {:>8} {:>9} {:>10} {:>13} {:>12}",
        "phase", "rows", "calls", "rows/s", "CPU µs/call", "peak RSS MiB"
    );
    for m in &results {
        println!(
            "{:<17} {:>8} {:>9} {:>10.0} {:>13.1} {:>12.1}",
            m.name,
            m.rows,
            m.calls,
            m.rows as f64 / m.wall,
            m.cpu * 1e6 / m.calls as f64,
            m.rss_mib
        );
    }
    let per_call = |m: &Measured| m.cpu * 1e6 / m.calls as f64;
    let (bare, http, null) = (&results[0], &results[1], &results[2]);
    println!(
        "\nchatan over HTTP uses {:.2}x the client CPU per call of bare reqwest \
         ({:+.1} µs/call); its own overhead without HTTP is {:.1} µs/call.",
        per_call(http) / per_call(bare),
        per_call(http) - per_call(bare),
        per_call(null)
    );
    // The bare loop drops its replies; `generate` keeps every row until the end, and
    // what the allocator pays for that shows here.
    println!(
        "Streamed, rows dropped as they come as the bare loop drops its replies: {:.2}x \
         the client CPU per call of bare reqwest.",
        per_call(&results[3]) / per_call(bare),
    );
    println!(
        "rows/s: chatan {:.2}x bare reqwest. Streaming {}x the rows: peak RSS {:.2}x.",
        (http.rows as f64 / http.wall) / (bare.rows as f64 / bare.wall),
        5,
        results[4].rss_mib / results[3].rss_mib
    );
    let journaled = &results[5];
    println!(
        "A checkpoint journaling every row: rows/s {:.2}x, CPU per call {:.2}x of the same run without.",
        (journaled.rows as f64 / journaled.wall) / (http.rows as f64 / http.wall),
        per_call(journaled) / per_call(http)
    );
}
