//! The core of [chatan](https://docs.rs/chatan): the vocabulary of a run (rows, cells,
//! errors, events, reports), the [`Generator`] trait and the requests it answers, the
//! contract the recipe macros implement, the engine that fills rows in dependency
//! order, the [`Runner`] that starts it, the policy layers (retry, limits, cache,
//! governor, fleets), the samplers, and the HTTP providers (OpenAI, Anthropic, batch
//! APIs).
//!
//! Depend on `chatan`, not on this crate: `chatan` re-exports everything here at the
//! same paths, with the macros and the optional parts (data, local models, evaluation,
//! the viewer) beside it. This crate's own examples are written as a user of `chatan`
//! writes them.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

mod checkpoint;
pub mod condition;
mod context;
mod dataset;
mod distinct;
mod engine;
mod error;
mod event;
mod from_reply;
mod generator;
mod jsonl;
pub mod layer;
mod minhash;
pub mod options;
mod preview;
#[cfg(feature = "progress")]
mod progress;
pub mod provider;
mod recipe;
mod reply;
mod report;
mod request;
mod rng;
mod rowset;
mod runner;
pub mod sample;
#[cfg(feature = "http")]
mod secret;
mod shard;
mod stop;
pub mod structured;
mod watch;

// Lets the macros' output (which names `::chatan`) compile inside this crate's tests.
#[cfg(test)]
extern crate self as chatan;

#[doc(hidden)]
#[path = "private.rs"]
pub mod __private;

pub use crate::context::RunContext;
pub use crate::dataset::{Dataset, NotSampled, SampledColumn, SamplerSlot};
pub use crate::error::{CellError, ConfigError, Error, GeneratorError};
pub use crate::event::{CellKind, CellValue, Column, Event, Observer};
pub use crate::from_reply::{FromReply, ReplyError, Shape};
pub use crate::generator::{BoxFuture, DynGenerator, Generator, GeneratorSet, Generators};
pub use crate::layer::{
    Cached, Endpoint, Fleet, Governance, Governor, Limit, Limiter, ReplyCache, Retry, RetryPolicy,
};
pub use crate::options::{Options, SetOptions};
pub use crate::preview::{Preview, PreviewPrompt, PreviewRow};
#[cfg(feature = "anthropic")]
pub use crate::provider::Anthropic;
#[cfg(feature = "openai")]
pub use crate::provider::OpenAi;
pub use crate::reply::{Finish, RateLimits, Reply, Usage};
pub use crate::report::{FailurePolicy, ReplyPolicy, Report, RowFailure, RunError};
pub use crate::request::{Feedback, Request};
pub use crate::rng::SampleRng;
pub use crate::rowset::{IntoRowSet, RowSet};
pub use crate::runner::{
    Decision, Dropped, Generated, IndexedRowStream, KeepReport, Keeping, RowStream, Runner,
    UnorderedRowStream,
};
pub use crate::sample::{SampleContext, Sampler};
pub use crate::shard::Shard;
pub use crate::stop::Stop;
pub use crate::watch::{Watch, Watching};

/// The `chrono` crate, for date-time columns.
pub use chrono;
/// schemars, which derives the JSON Schema of a structured column's type.
pub use schemars;
/// The `uuid` crate, for UUID columns.
pub use uuid;
/// A UUID, as drawn by [`sample::uuid`].
pub use uuid::Uuid;

/// What chatan's own crates share and users do not call: not a stable API.
#[doc(hidden)]
pub mod internal {
    pub use crate::distinct::normalize;
    pub use crate::minhash::{Signer, shingle_hashes};
    pub use crate::provider::{env, set_but_empty};
    pub use crate::request::Defaults;
    pub use crate::rng::column_key;
}
