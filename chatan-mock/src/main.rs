//! `chatan-mock`: the mock LLM server as a program.

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use chatan_mock::{MockConfig, MockServer};

const HELP: &str = "\
chatan-mock: a local LLM server speaking the OpenAI and Anthropic wire formats,
with placeholder replies derived from the prompt.

USAGE: chatan-mock [OPTIONS]

OPTIONS:
  --host HOST           address to listen on            [default: 127.0.0.1]
  --port PORT           port to listen on (0: any free)  [default: 8080]
  --latency-ms MS       delay before every reply         [default: 0]
  --rate-limit P        probability of a 429              [default: 0]
  --server-error P      probability of a 500              [default: 0]
  --drop P              probability of a dropped connection [default: 0]
  --malformed P         probability of a malformed body   [default: 0]
  --retry-after-ms MS   Retry-After sent with 429s        [default: 0]
  --batch-delay-ms MS   processing time of a batch (OpenAI Batch, Anthropic
                        Message Batches)                  [default: 0]
  --seed N              seed of the random faults          [default: 0]
  --api-key KEY         require this key (else 401)
  -h, --help            print this help

Point clients at it:
  OPENAI_BASE_URL=http://HOST:PORT/v1     ANTHROPIC_BASE_URL=http://HOST:PORT";

fn main() -> ExitCode {
    match run() {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("chatan-mock: {message}");
            ExitCode::FAILURE
        }
    }
}

fn run() -> Result<(), String> {
    let mut host = "127.0.0.1".to_owned();
    let mut port: u16 = 8080;
    let mut config = MockConfig::new();
    let (mut rate_limit, mut server_error, mut drop, mut malformed) = (0.0, 0.0, 0.0, 0.0);
    let mut args = std::env::args().skip(1);
    while let Some(flag) = args.next() {
        if flag == "-h" || flag == "--help" {
            println!("{HELP}");
            return Ok(());
        }
        let value = args
            .next()
            .ok_or_else(|| format!("{flag} needs a value (see --help)"))?;
        let number = |v: &str| -> Result<f64, String> {
            v.parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && *x >= 0.0)
                .ok_or_else(|| format!("{flag} takes a number >= 0, not {v:?}"))
        };
        match flag.as_str() {
            "--host" => host = value,
            "--port" => {
                port = value
                    .parse()
                    .map_err(|_| format!("--port takes a port number, not {value:?}"))?
            }
            "--latency-ms" => {
                config = config.latency(Duration::from_secs_f64(number(&value)? / 1000.0))
            }
            "--batch-delay-ms" => {
                config = config.batch_delay(Duration::from_secs_f64(number(&value)? / 1000.0))
            }
            "--retry-after-ms" => {
                config = config.retry_after(Duration::from_secs_f64(number(&value)? / 1000.0))
            }
            "--rate-limit" => rate_limit = number(&value)?,
            "--server-error" => server_error = number(&value)?,
            "--drop" => drop = number(&value)?,
            "--malformed" => malformed = number(&value)?,
            "--seed" => {
                config = config.seed(
                    value
                        .parse()
                        .map_err(|_| format!("--seed takes an integer, not {value:?}"))?,
                )
            }
            "--api-key" => config = config.api_key(value),
            other => return Err(format!("unknown option {other} (see --help)")),
        }
    }
    config = config.fault_rates(rate_limit, server_error, drop, malformed);
    let addr: SocketAddr = format!("{host}:{port}")
        .parse()
        .map_err(|_| format!("{host}:{port} is not an address to listen on"))?;
    let runtime = tokio::runtime::Runtime::new().map_err(|e| e.to_string())?;
    runtime.block_on(async move {
        let server = MockServer::bind(addr, config)
            .await
            .map_err(|e| format!("cannot listen on {addr}: {e}"))?;
        println!("chatan-mock listening on http://{}", server.addr());
        println!("  OPENAI_BASE_URL={}", server.openai_url());
        println!("  ANTHROPIC_BASE_URL={}", server.anthropic_url());
        println!("Replies are placeholder text. Stop with Ctrl-C.");
        tokio::signal::ctrl_c().await.map_err(|e| e.to_string())?;
        let stats = server.stats();
        println!(
            "served {} requests ({} replies, {} refused, faults: {:?}), at most {} at once",
            stats.requests, stats.replies, stats.refused, stats.faults, stats.max_in_flight
        );
        Ok(())
    })
}
