//! # chatan
//!
//! Synthetic datasets with language models, with recipes checked at compile time.
//!
//! Describe one row as a struct. Each field is a column: **generated** by an LLM from a
//! prompt template that names other columns, **sampled** (a choice, a UUID, a date, a
//! value from existing data), a **static** value, or **derived** from other columns by a
//! closure. The macro checks the recipe while your crate compiles (unknown columns,
//! cycles, broken templates are compiler errors) and gives the struct an async
//! `generate` that fills every cell in dependency order, many rows at once.
//!
//! ```no_run
//! chatan::dataset! {
//!     #[derive(Debug, serde::Serialize)]
//!     pub struct Mix {
//!         pub id: chatan::Uuid     = sample::uuid(),
//!         pub topic: String        = sample::choice(["san antonio, tx", "marfa, tx", "paris, fr"]),
//!         pub prompt: String       = gen("write an example question about the history of {topic}"),
//!         pub response: String     = gen("respond to: {prompt}"),
//!         pub checked: bool        = true,
//!         pub length: usize        = |row| row.response.len(),
//!     }
//! }
//!
//! #[tokio::main]
//! async fn main() -> Result<(), Box<dyn std::error::Error>> {
//!     let llm = chatan::generator("openai", std::env::var("OPENAI_API_KEY")?)?;
//!     let rows: Vec<Mix> = Mix::generate(&llm, 100).await?;
//!     println!("{:#?}", rows[0]);
//!     Ok(())
//! }
//! ```
//!
//! The same recipe as a derive on a struct you write yourself:
//!
//! ```
//! use chatan::Dataset;
//!
//! #[derive(Dataset, Debug)]
//! struct Qa {
//!     #[sample(choice(["Python", "JavaScript", "Rust"]))]
//!     topic: String,
//!     #[generate("write a programming question about {topic}")]
//!     prompt: String,
//!     #[generate("answer this question: {prompt}", temperature = 0.2)]
//!     response: String,
//! }
//! ```
//!
//! See [`dataset!`] for the recipe language, [`Runner`] for concurrency, seeds, streaming
//! and run-time samplers, [`sample`] for the samplers, and [`OpenAi`], [`Anthropic`] and
//! [`Generator`] for providers.

#![forbid(unsafe_code)]
#![warn(missing_docs)]
#![cfg_attr(docsrs, feature(doc_cfg))]

// chatan is a facade over crates that each depend only on the ones below them
// (Cargo.toml lists them); every public path is a re-export from one of them.

mod any;

pub use chatan_core::{condition, layer, structured};

/// Samplers: [`choice`](sample::choice), [`uuid`](sample::uuid),
/// [`datetime`](sample::datetime), [`range`](sample::range), values from existing data,
/// and your own [`Sampler`](sample::Sampler); the handles [`Runner::sampler`] takes.
pub mod sample {
    pub use chatan_core::sample::*;
    pub use chatan_core::{NotSampled, SampleRng, SampledColumn, SamplerSlot};
}

/// The traits whose methods a recipe's code calls, to bring into scope at once:
/// `use chatan::prelude::*;`.
pub mod prelude {
    pub use chatan_core::layer::GeneratorExt;
    pub use chatan_core::{Dataset, Generator, SetOptions};
    #[cfg(feature = "polars")]
    pub use chatan_data::WriteRows;
    #[cfg(all(feature = "polars", feature = "hub"))]
    pub use chatan_data::{HubPush, HubTables};
}

/// The built-in providers: OpenAI (and every OpenAI-compatible server) and Anthropic,
/// with their batch APIs; and a generator chosen by name or from the environment.
pub mod provider {
    pub use crate::any::{AnyGenerator, PROVIDERS, generator};
    pub use chatan_core::provider::*;
}

/// Rows as polars `DataFrame`s, and files (feature `polars`): the crate [`chatan_data`].
#[cfg(feature = "polars")]
#[cfg_attr(docsrs, doc(cfg(feature = "polars")))]
pub mod data {
    #[doc(inline)]
    pub use chatan_data::*;
}

/// Scoring data: metrics over pairs of texts (see [`chatan_eval`]), and with feature
/// `local`, the sentence `Embedder` for semantic similarity.
pub mod eval {
    pub use chatan_eval::*;
    #[cfg(feature = "local")]
    #[cfg_attr(docsrs, doc(cfg(feature = "local")))]
    pub use chatan_local::Embedder;
}

/// The Hugging Face hub (feature `hub`): the crate [`chatan_hub`].
#[cfg(feature = "hub")]
#[cfg_attr(docsrs, doc(cfg(feature = "hub")))]
pub mod hub {
    #[doc(inline)]
    pub use chatan_hub::*;
}

/// Local models on candle (feature `local`): the crate [`chatan_local`].
#[cfg(feature = "local")]
#[cfg_attr(docsrs, doc(cfg(feature = "local")))]
pub mod local {
    #[doc(inline)]
    pub use chatan_local::*;
}

/// The live viewer (feature `viewer`): the crate [`chatan_viewer`].
#[cfg(feature = "viewer")]
#[cfg_attr(docsrs, doc(cfg(feature = "viewer")))]
pub mod viewer {
    #[doc(inline)]
    pub use chatan_viewer::*;
}

#[doc(hidden)]
pub mod __private {
    pub use chatan_core::__private::*;
    #[cfg(feature = "polars")]
    pub use chatan_data::__private as data;
}

/// The guide: chatan chapter by chapter. Every example in it compiles, and runs with the
/// tests unless it needs a provider.
pub mod guide {
    #[doc = include_str!("../guide/recipes.md")]
    pub mod recipes {}
    #[doc = include_str!("../guide/python.md")]
    pub mod python {}
    #[doc = include_str!("../guide/running.md")]
    pub mod running {}
    #[doc = include_str!("../guide/samplers.md")]
    pub mod samplers {}
    #[doc = include_str!("../guide/data.md")]
    pub mod data {}
    #[doc = include_str!("../guide/local.md")]
    pub mod local {}
    #[doc = include_str!("../guide/quality.md")]
    pub mod quality {}
    #[doc = include_str!("../guide/evaluation.md")]
    pub mod evaluation {}
    #[doc = include_str!("../guide/providers.md")]
    pub mod providers {}
    #[doc = include_str!("../guide/testing.md")]
    pub mod testing {}
    #[doc = include_str!("../guide/performance.md")]
    pub mod performance {}
    #[doc = include_str!("../guide/limits.md")]
    pub mod limits {}
}

/// The README's examples, compiled and run as doc tests.
#[doc = include_str!("../../README.md")]
#[cfg(doctest)]
pub struct ReadmeDoctests;

pub use crate::any::{AnyGenerator, generator};
#[cfg(feature = "anthropic")]
pub use chatan_core::Anthropic;
#[cfg(feature = "openai")]
pub use chatan_core::OpenAi;
pub use chatan_core::{
    Dataset, Error, FromReply, Generator, GeneratorError, GeneratorSet, Reply, Report, Request,
    RunError, Runner, Shard, Stop,
};
#[cfg(feature = "polars")]
pub use chatan_data::save;

/// The rest of what passes through a [`Generator`]: several generators for one recipe
/// ([`Generators`](generate::Generators)), the object-safe form, and what a reply
/// carries (how it ended, its token counts, the provider's rate limits).
pub mod generate {
    pub use chatan_core::{
        BoxFuture, DynGenerator, Feedback, Finish, Generators, Options, RateLimits, RunContext,
        SetOptions, Shape, Usage,
    };
}

/// What a run tells while it goes: [`Event`](event::Event)s to every
/// [`Observer`](event::Observer), and [`Watch`](event::Watch)es started and closed with
/// the run (the live viewer is one).
pub mod event {
    pub use chatan_core::{CellKind, CellValue, Column, Event, Observer, Watch, Watching};
}

/// What a [`Runner`] takes and gives besides rows: row sets, failure and reply
/// policies, streams, previews, the run's result.
pub mod runner {
    pub use chatan_core::{
        Decision, Dropped, FailurePolicy, Generated, IndexedRowStream, IntoRowSet, KeepReport,
        Keeping, Preview, PreviewPrompt, PreviewRow, ReplyPolicy, RowFailure, RowSet, RowStream,
        UnorderedRowStream,
    };
}

/// Errors beside [`Error`] and [`RunError`]: a cell's, a configuration's, a reply's that
/// does not parse.
pub mod error {
    pub use chatan_core::{CellError, ConfigError, ReplyError};
}

/// A UUID, as drawn by [`sample::uuid`].
pub use chatan_core::Uuid;
/// The `chrono` crate, for date-time columns.
pub use chatan_core::chrono;
/// schemars, which derives the JSON Schema of a structured column's type.
pub use chatan_core::schemars;
/// The `uuid` crate, for UUID columns.
pub use chatan_core::uuid;

/// Derives [`Dataset`] for a struct whose fields carry recipes.
///
/// Each field needs exactly one recipe attribute:
///
/// | attribute | column |
/// |---|---|
/// | `#[generate("... {column} ...", options)]` | generated by the LLM from the template |
/// | `#[sample(expr)]` | drawn from a sampler, such as `choice([...])` or `uuid()` |
/// | `#[value(expr)]` | the same value in every row |
/// | `#[derived(\|row\| ...)]` | computed from other columns of the row |
///
/// Inside `#[sample(...)]`, the [`sample`] constructors (`choice`, `weighted`, `uuid`,
/// `datetime`, `range`, `from_values`, `from_dataset`, `constant`, `input`) may be called
/// bare; every other name resolves as in your own code (call your own function named
/// like one as `self::range(..)`). The attribute is `generate`, not `gen` as in [`dataset!`]: edition 2024 reserves the
/// keyword `gen`, so it cannot name an attribute.
///
/// The recipe language (templates, options, checks) is the same as [`dataset!`]'s.
///
/// ```
/// use chatan::Dataset;
///
/// #[derive(Dataset, Debug, Clone)]
/// struct Qa {
///     #[sample(choice(["Python", "JavaScript", "Rust"]))]
///     topic: String,
///     #[generate("write a programming question about {topic}")]
///     prompt: String,
///     #[generate("answer this question: {prompt}", temperature = 0.2, max_tokens = 400)]
///     response: String,
///     #[value("v1")]
///     version: String,
///     #[derived(|row| row.response.split_whitespace().count())]
///     words: usize,
/// }
/// ```
pub use chatan_macros::Dataset;

/// Declares a row struct and its recipe in one place.
///
/// ```
/// chatan::dataset! {
///     /// A question, its answer, and some bookkeeping.
///     #[derive(Debug, Clone)]
///     pub struct Mix {
///         pub id: chatan::Uuid = sample::uuid(),
///         pub topic: String = sample::choice(["san antonio, tx", "marfa, tx", "paris, fr"]),
///         pub prompt: String = gen("write an example question about the history of {topic}"),
///         pub response: String = gen("respond to: {prompt}", temperature = 0.2),
///         pub checked: bool = true,
///         pub length: usize = |row| row.response.len(),
///     }
/// }
/// ```
///
/// # Columns
///
/// A column's recipe follows `=` and is read by its shape:
///
/// * `gen("template", options)`: **generated** by the LLM. Options: `temperature`
///   (0.0 to 2.0), `max_tokens`, `top_p`, `system` (a system prompt), `model` (overrides
///   the generator's), `generator` (a named generator of a [`GeneratorSet`]), `trim`
///   (default `true`: the reply loses its leading and trailing whitespace; `false` keeps
///   it as sent). A column's option wins over the generator's default
///   (`OpenAi::from_env()?.temperature(0.7)`: the setters of
///   [`SetOptions`](generate::SetOptions) and the like).
///   A generated column is usually a `String`; numbers, `bool`, `char` and any
///   [`FromReply`] type are parsed from the reply, and a reply that does not parse is
///   requested again, then reported.
/// * `|row| expr`: **derived** from other columns, read as `row.<column>`; the closure
///   sees the row as `&Row`. Its dependencies are the columns it names. A closure
///   declared `|row| -> Result<T, E> { .. }` (any `E` that converts into
///   `Box<dyn Error + Send + Sync>`) fails its cell with its error; a panic in any user
///   code that fills a cell (a closure, a sampler, a `Display` or `FromReply` impl) fails
///   the cell too, naming row and column, instead of unwinding through the run.
/// * a literal (`true`, `"b"`, `3`), or `value(expr)`: **static**, the same in every row.
/// * any other expression builds a **sampler**: `sample::choice([...])`,
///   `sample::uuid()`, `sample::input()` or your own [`Sampler`](sample::Sampler). A path starting
///   `sample::` means chatan's [`sample`] module; every other name resolves as in your
///   own code, and nothing is imported into your expressions. Samplers are built when a
///   run starts, and can be replaced per run with [`Runner::sampler`].
///
/// # Templates
///
/// `{column}` inserts another column's value (any `Display` type); `{column.field}`
/// inserts a field of a struct column (say, a whole row of a source dataset); `{{` and
/// `}}` are literal braces; spaces just inside the braces are ignored. A column may name
/// any other column, declared before or after it. Format specs (`{score:.2}`) are not
/// supported: format in a derived column instead.
///
/// # Derived columns see the row and items, not local variables
///
/// A recipe compiles into items (a struct and its impls), so a derived closure can read
/// the row, functions and constants, but not a local variable of the function that
/// declares the recipe: rustc then says "attempt to use a non-constant value in a
/// constant". For a value known only at run time, declare a sampled column
/// (`suffix: String = sample::input()`) and give it with [`Runner::sampler`].
///
/// # Options on the struct
///
/// `#[chatan(crate = "path")]` names the chatan crate when it is a renamed dependency
/// (as serde's `crate` option does). `#[chatan(methods = false)]` leaves out the inherent
/// `runner` and `generate`, for a struct with its own methods of those names; start
/// from [`Runner::new`] instead (`Runner::<Row, _>::new(&llm).generate(100)`). `#[cfg]` on a column is not supported.
///
/// # Checked at compile time
///
/// Each of these is a compiler error that points at what to change, and all of a
/// recipe's errors are reported together:
///
/// * a template or closure naming a column that does not exist (with "did you mean");
/// * a column that refers to itself, or a cycle (`a -> b -> a`);
/// * an unclosed `{`, a stray `}`, an empty `{}`;
/// * a duplicate column, an unknown `gen` option, a `gen` without a template;
/// * a sampler whose values do not convert into the column's type, a generated column
///   of a type that cannot be parsed, a template naming a column that is not `Display`.
///
/// ```compile_fail
/// chatan::dataset! {
///     struct Qa {
///         question: String = gen("write a question"),
///         answer: String = gen("answer: {questoin}"), // did you mean `question`?
///     }
/// }
/// ```
pub use chatan_macros::dataset;
