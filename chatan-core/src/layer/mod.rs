//! Layers: generators that wrap another generator to add policy — retrying failures
//! ([`Retry`]), bounding requests in flight ([`Limit`]), keeping to a provider's rate
//! limits ([`Governor`]) and spreading requests over several endpoints ([`Fleet`]). A rate governor, a response
//! cache or a batch API is one more wrapper of the same kind. The engine knows none of
//! them: it sends each request to whatever stack of layers it was given.
//!
//! Compose them with the methods of [`Generator`](crate::Generator): each wraps what came
//! before, so the last one called is the outermost.

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
