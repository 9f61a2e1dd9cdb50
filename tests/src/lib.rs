//! Shared helpers for chatan's integration tests: a mock server per test and an OpenAI
//! client pointed at it.

use chatan::OpenAi;
use chatan_mock::{MockConfig, MockServer};

/// Starts a mock server with `config` and returns it with an OpenAI client aimed at it.
pub async fn openai_mock(config: MockConfig) -> (MockServer, OpenAi) {
    let server = MockServer::start(config).await.expect("mock server starts");
    let client = OpenAi::compatible(&server.openai_url()).expect("valid URL");
    (server, client)
}
