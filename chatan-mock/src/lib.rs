//! A local mock LLM server for testing [chatan](https://docs.rs/chatan) and anything
//! else that speaks the OpenAI chat-completions or Anthropic messages wire formats.
//!
//! * `POST /v1/chat/completions` (OpenAI) and `POST /v1/messages` (Anthropic), with the
//!   real formats for requests, replies and errors, and `GET /health`.
//! * Replies are deterministic placeholder text derived from the prompt
//!   (`[mock reply 3f9a1c2b] placeholder text for: ...`), or canned replies per prompt.
//! * The batch APIs: OpenAI Batch (`/v1/files`, `/v1/batches`) and Anthropic Message
//!   Batches (`/v1/messages/batches`), with status transitions after a configurable
//!   processing delay, output and error files, and failed entries from `fail_for` rules.
//! * Configurable latency (per prompt, too), injected faults (429 with `Retry-After`,
//!   500, dropped connections, malformed JSON, 401, 400) scripted or at random, an
//!   optional required API key, and counters: requests, faults, requests in flight now
//!   and at most, and a log of every exchange with its timing.
//!
//! Start it in-process on an ephemeral loopback port with [`MockServer::start`], or run
//! the `chatan-mock` binary (`cargo run -p chatan-mock -- --help`).
//!
//! ```
//! use chatan_mock::{MockConfig, MockServer};
//!
//! # #[tokio::main(flavor = "current_thread")] async fn main() -> std::io::Result<()> {
//! let server = MockServer::start(MockConfig::new()).await?;
//! let base_url = server.openai_url(); // point an OpenAI client here
//! # let _ = base_url;
//! # Ok(()) }
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod batch;
mod config;
mod hub;
mod index;
mod reply;
mod rules;
mod server;
mod wire;

pub use batch::BatchInfo;
pub use config::{BatchEnd, Fault, MockConfig};
pub use hub::{MockHub, MockHubBuilder};
pub use index::{MockIndex, MockIndexBuilder, Packing};
pub use reply::placeholder;
pub use server::{Exchange, MockServer, Stats};
pub use wire::{Api, Structured};
