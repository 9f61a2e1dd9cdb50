//! The built-in providers: OpenAI (and every OpenAI-compatible server) and Anthropic,
//! with their batch APIs.
//!
//! Each provider is a [`WireFormat`] (how a request becomes a body and a body a reply)
//! over one HTTP transport that owns the client, key, base URL, timeout and error
//! mapping: [`Provider<F>`]. [`OpenAi`] and [`Anthropic`] are its two instances.

#[cfg(feature = "anthropic")]
pub mod anthropic;
#[cfg(any(feature = "openai", feature = "anthropic"))]
pub mod batch;
#[cfg(feature = "http")]
mod format;
#[cfg(feature = "openai")]
pub mod openai;
#[cfg(feature = "http")]
mod transport;

#[cfg(feature = "anthropic")]
pub use self::anthropic::Anthropic;
#[cfg(any(feature = "openai", feature = "anthropic"))]
pub use self::batch::{Batch, BatchApi};
#[cfg(feature = "http")]
pub use self::format::{Auth, Info, Provider, WireFormat};
#[cfg(feature = "openai")]
pub use self::openai::{Dialect, MaxTokensParam, OpenAi, StructuredOutput};

/// A non-empty environment variable.
#[doc(hidden)]
pub fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

/// Whether environment variable `name` is set to nothing (or only spaces).
#[doc(hidden)]
pub fn set_but_empty(name: &str) -> bool {
    std::env::var_os(name).is_some_and(|v| v.to_string_lossy().trim().is_empty())
}
