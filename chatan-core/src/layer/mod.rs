//! Layers: generators that wrap another generator to add policy — retrying failures
//! ([`Retry`]), bounding requests in flight ([`Limit`]), keeping to a provider's rate
//! limits ([`Governor`]) and spreading requests over several endpoints ([`Fleet`]). A rate governor, a response
//! cache or a batch API is one more wrapper of the same kind. The engine knows none of
//! them: it sends each request to whatever stack of layers it was given.
//!
//! Compose them with the methods of [`GeneratorExt`], which every [`Generator`] has: each
//! wraps what came before, so the last one called is the outermost.

mod cache;
mod fleet;
mod governor;
mod halt;
mod limit;
mod retry;

pub(crate) use self::halt::{Halt, Halting};

pub use self::cache::{Cached, ReplyCache};
pub use self::fleet::{Endpoint, Fleet};
pub use self::governor::{Governance, Governor};
pub use self::limit::{Limit, Limiter};
pub use self::retry::{Retry, RetryPolicy};

use crate::generator::Generator;

/// Writes the [`Generator`] methods a layer passes through to the generator it wraps:
/// everything that describes the generator rather than policy — its name, model,
/// endpoint, defaults (`resolve`) and concurrency hint — and `generate` outside a run, as
/// the layer's own `generate_in` with [`RunContext::NONE`](crate::RunContext::NONE).
///
/// A layer implements [`generate_in`](Generator::generate_in), passing the run on, and
/// states the rest once by naming the field it wraps, so it cannot forget one; a method
/// added to [`Generator`] is added here, and every layer passes it on. The built-in
/// layers use it, and so can yours:
///
/// ```
/// use chatan::{Generator, GeneratorError, Reply, Request};
/// use chatan::generate::RunContext;
///
/// /// Counts the prompt characters sent through it.
/// struct Measure<G> {
///     inner: G,
///     chars: std::sync::atomic::AtomicUsize,
/// }
///
/// impl<G: Generator> Generator for Measure<G> {
///     async fn generate_in(
///         &self,
///         request: &Request<'_>,
///         run: &RunContext<'_>,
///     ) -> Result<Reply, GeneratorError> {
///         let chars = request.prompt.chars().count();
///         self.chars.fetch_add(chars, std::sync::atomic::Ordering::Relaxed);
///         self.inner.generate_in(request, run).await
///     }
///
///     chatan::layer::passes_through!(inner);
/// }
/// ```
#[macro_export]
#[doc(hidden)]
macro_rules! __passes_through {
    ($inner:ident) => {
        async fn generate(
            &self,
            request: &$crate::Request<'_>,
        ) -> ::core::result::Result<$crate::Reply, $crate::GeneratorError> {
            <Self as $crate::Generator>::generate_in(self, request, &$crate::RunContext::NONE).await
        }

        fn name(&self) -> &str {
            $crate::Generator::name(&self.$inner)
        }

        fn model(&self) -> ::core::option::Option<&str> {
            $crate::Generator::model(&self.$inner)
        }

        fn endpoint(&self) -> ::core::option::Option<&str> {
            $crate::Generator::endpoint(&self.$inner)
        }

        fn resolve<'r>(&'r self, request: &$crate::Request<'r>) -> $crate::Request<'r> {
            $crate::Generator::resolve(&self.$inner, request)
        }

        fn concurrency_hint(&self) -> ::core::option::Option<usize> {
            $crate::Generator::concurrency_hint(&self.$inner)
        }
    };
}
#[doc(inline)]
pub use crate::__passes_through as passes_through;

/// The layers as methods of every [`Generator`]: `llm.limit(16).retry(policy)`. Each
/// wraps what came before, so the last one called is the outermost.
///
/// ```
/// use chatan::layer::RetryPolicy;
/// use chatan::layer::GeneratorExt;
/// # fn main() -> Result<(), chatan::Error> {
/// let llm = chatan::OpenAi::compatible("http://localhost:8000/v1")?
///     .limit(16)
///     .retry(RetryPolicy::new().max_attempts(8));
/// # Ok(()) }
/// ```
pub trait GeneratorExt: Generator + Sized {
    /// Retries this generator's retryable failures by `policy` (see [`Retry`]).
    fn retry(self, policy: RetryPolicy) -> Retry<Self>
    where
        Self: Sized,
    {
        Retry::new(self, policy)
    }

    /// At most `requests` requests to this generator at once (see [`Limit`]).
    fn limit(self, requests: usize) -> Limit<Self>
    where
        Self: Sized,
    {
        Limit::new(self, Limiter::new(requests))
    }

    /// Answers requests from `cache` when it has the reply, and keeps new replies in it
    /// (see [`ReplyCache`]).
    fn cache(self, cache: &ReplyCache) -> Cached<Self>
    where
        Self: Sized,
    {
        Cached::new(self, cache.clone())
    }

    /// Keeps this generator's requests to `governance`'s budgets and to what the
    /// provider says of its limits (see [`Governor`]); share one
    /// `Governance` between generators behind the same limits.
    fn govern(self, governance: &Governance) -> Governor<Self>
    where
        Self: Sized,
    {
        Governor::new(self, governance.clone())
    }

    /// Counts this generator's requests against `limiter`, which other generators may
    /// share: one bound across several providers.
    fn limit_with(self, limiter: &Limiter) -> Limit<Self>
    where
        Self: Sized,
    {
        Limit::new(self, limiter.clone())
    }
}

impl<G: Generator> GeneratorExt for G {}

#[cfg(test)]
mod tests;
