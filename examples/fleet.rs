//! A fleet of endpoints: one generator over three OpenAI-compatible servers (here three
//! chatan-mock servers, each taking 4 requests at a time at 20 ms a reply, as three
//! small inference servers would). Requests go to the least busy; halfway through the
//! run one server dies, and its share moves to the other two. Prints rows/s before and
//! after, and each endpoint's counters.
//!
//! ```sh
//! cargo run --example fleet
//! ```
//!
//! With your own servers: `Fleet::new([OpenAi::compatible("http://gpu-1:8000/v1")?, ...])`.

use std::sync::Arc;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use chatan::OpenAi;
use chatan::event::Event;
use chatan::layer::{Fleet, Governance, Governor};
use chatan_mock::{MockConfig, MockServer};

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Riddle {
        theme: String = sample::choice(["rivers", "clocks", "shadows", "keys"]),
        riddle: String = gen("Write a riddle about {theme}."),
    }
}

const ROWS: usize = 1_200;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut servers = Vec::new();
    for _ in 0..3 {
        let config = MockConfig::new().latency(Duration::from_millis(20));
        servers.push(Arc::new(MockServer::start(config).await?));
    }
    eprintln!("Three chatan-mock servers stand in for inference servers (placeholder text).");
    // Each endpoint takes 4 requests at a time, as a small server with 4 slots would.
    let fleet = Fleet::governed(
        servers
            .iter()
            .map(|s| {
                let endpoint = OpenAi::compatible(&s.openai_url())?;
                Ok(Governor::new(endpoint, Governance::new().max_in_flight(4)))
            })
            .collect::<Result<Vec<_>, chatan::Error>>()?,
    )
    .eject_for(Duration::from_secs(30));

    let started = Instant::now();
    let halfway: Mutex<Option<Duration>> = Mutex::new(None);
    let done = std::sync::atomic::AtomicUsize::new(0);
    let victim = Arc::clone(&servers[2]);
    let rows = Riddle::runner(&fleet)
        .concurrency(24)
        .seed(3)
        .progress(false)
        .observe(|event: &Event<'_>| {
            if let Event::RowDone { .. } = event {
                let n = done.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
                if n == ROWS / 2 {
                    *halfway.lock().unwrap() = Some(started.elapsed());
                    victim.kill();
                }
            }
        })
        .generate(ROWS)
        .await?;
    let total = started.elapsed();
    let first = halfway.lock().unwrap().unwrap_or(total);
    let half = (ROWS / 2) as f64;
    println!(
        "{} rows: {:.0} rows/s with three endpoints, {:.0} rows/s after one died ({:.2}x)",
        rows.len(),
        half / first.as_secs_f64(),
        half / (total - first).as_secs_f64(),
        (first.as_secs_f64()) / (total - first).as_secs_f64()
    );
    for endpoint in fleet.endpoints() {
        println!("{endpoint}");
    }
    let replies: u64 = servers.iter().map(|s| s.stats().replies).sum();
    println!(
        "{replies} replies for {} rows: every row exactly once",
        rows.len()
    );
    Ok(())
}
