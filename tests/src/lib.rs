//! Shared helpers for chatan's integration tests. Every test talks real HTTP to a
//! `chatan_mock::MockServer` of its own on a loopback port.

use std::time::Duration;

use chatan::layer::RetryPolicy;
use chatan::{Anthropic, OpenAi};
use chatan_mock::{MockConfig, MockServer};

/// Starts a mock server with `config` and returns it with an OpenAI client aimed at it.
pub async fn openai_mock(config: MockConfig) -> (MockServer, OpenAi) {
    let server = MockServer::start(config).await.expect("mock server starts");
    let client = OpenAi::compatible(&server.openai_url()).expect("valid URL");
    (server, client)
}

/// Starts a mock server with `config` and returns it with an Anthropic client aimed at
/// it (using `key`, which the server may require).
pub async fn anthropic_mock(config: MockConfig, key: &str) -> (MockServer, Anthropic) {
    let server = MockServer::start(config).await.expect("mock server starts");
    let client = Anthropic::new(key)
        .and_then(|a| a.base_url(&server.anthropic_url()))
        .expect("valid client");
    (server, client)
}

/// The default number of attempts, with millisecond waits so tests stay fast.
pub fn quick_retries() -> RetryPolicy {
    RetryPolicy::new()
        .base_delay(Duration::from_millis(1))
        .max_delay(Duration::from_millis(20))
}
