//! Generators: what turns a prompt into text. One trait for every provider, and the
//! hand-off of one or several generators to a recipe.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::error::GeneratorError;

/// One request to a generator: the rendered prompt and the column's options.
#[derive(Debug, Clone, Copy)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The prompt, with every `{column}` filled in.
    pub prompt: &'a str,
    /// The column's system prompt, if any.
    pub system: Option<&'a str>,
    /// The column's sampling temperature, if set.
    pub temperature: Option<f32>,
    /// The column's reply length limit, if set.
    pub max_tokens: Option<u32>,
    /// The column's model override, if set.
    pub model: Option<&'a str>,
    /// The row being generated.
    pub row: usize,
    /// The column being generated.
    pub column: &'a str,
}

impl<'a> Request<'a> {
    /// A request for `prompt` with no options (row 0, column `""`): for calling a
    /// generator directly, as in tests of your own generator.
    pub fn new(prompt: &'a str) -> Self {
        Request {
            prompt,
            system: None,
            temperature: None,
            max_tokens: None,
            model: None,
            row: 0,
            column: "",
        }
    }

    /// With a system prompt.
    pub fn system(mut self, system: &'a str) -> Self {
        self.system = Some(system);
        self
    }

    /// With a temperature.
    pub fn temperature(mut self, temperature: f32) -> Self {
        self.temperature = Some(temperature);
        self
    }

    /// With a reply length limit.
    pub fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.max_tokens = Some(max_tokens);
        self
    }

    /// With a model override.
    pub fn model(mut self, model: &'a str) -> Self {
        self.model = Some(model);
        self
    }
}

/// A generator's answer.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Reply {
    /// The generated text.
    pub text: String,
    /// Token counts, if the provider reported them.
    pub usage: Option<Usage>,
}

impl Reply {
    /// A reply with token counts.
    pub fn with_usage(text: String, usage: Usage) -> Self {
        Reply {
            text,
            usage: Some(usage),
        }
    }
}

impl From<String> for Reply {
    fn from(text: String) -> Self {
        Reply { text, usage: None }
    }
}

impl From<&str> for Reply {
    fn from(text: &str) -> Self {
        Reply::from(text.to_owned())
    }
}

/// Token counts of one request.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Usage {
    /// Tokens in the prompt.
    pub input_tokens: u64,
    /// Tokens in the reply.
    pub output_tokens: u64,
}

/// Turns a prompt into text. Implemented by [`OpenAi`](crate::OpenAi),
/// [`Anthropic`](crate::Anthropic) and [`AnyGenerator`](crate::AnyGenerator); implement
/// it to plug in anything else.
///
/// Return a retryable [`GeneratorError`] (rate limit, server error, timeout, connection)
/// for failures worth retrying; the runner retries them with backoff.
///
/// ```
/// use chatan::{Generator, GeneratorError, Reply, Request};
///
/// /// Shouts the prompt back.
/// struct Echo;
///
/// impl Generator for Echo {
///     async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
///         Ok(request.prompt.to_uppercase().into())
///     }
/// }
///
/// chatan::dataset! {
///     #[derive(Debug)]
///     struct Shout {
///         word: String = sample::choice(["hi", "bye"]),
///         loud: String = gen("{word}!"),
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let rows = Shout::generate(&Echo, 3).await.unwrap();
/// assert_eq!(rows[0].loud, format!("{}!", rows[0].word.to_uppercase()));
/// # }
/// ```
pub trait Generator: Send + Sync {
    /// Generates a reply to one request.
    fn generate(
        &self,
        request: &Request<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send;

    /// A short name for logs and progress, such as `openai`.
    fn name(&self) -> &str {
        "custom"
    }
}

impl<G: Generator + ?Sized> Generator for &G {
    fn generate(
        &self,
        request: &Request<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send {
        (**self).generate(request)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}

impl<G: Generator + ?Sized> Generator for Arc<G> {
    fn generate(
        &self,
        request: &Request<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send {
        (**self).generate(request)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
}

/// A boxed future, as returned by [`DynGenerator`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`Generator`], implemented for every generator, so that
/// generators of different types can sit in one [`GeneratorSet`].
pub trait DynGenerator: Send + Sync {
    /// [`Generator::generate`], boxed.
    fn generate_boxed<'a>(
        &'a self,
        request: &'a Request<'a>,
    ) -> BoxFuture<'a, Result<Reply, GeneratorError>>;

    /// [`Generator::name`].
    fn name(&self) -> &str;
}

impl<G: Generator> DynGenerator for G {
    fn generate_boxed<'a>(
        &'a self,
        request: &'a Request<'a>,
    ) -> BoxFuture<'a, Result<Reply, GeneratorError>> {
        Box::pin(self.generate(request))
    }

    fn name(&self) -> &str {
        Generator::name(self)
    }
}

/// What a recipe's `gen` columns draw on: one generator, or a [`GeneratorSet`] of named
/// ones. A column picks a named generator with `gen("...", generator = "judge")`; columns
/// without that option use the default.
///
/// A single [`Generator`] is the default and has no named ones.
pub trait Generators: Send + Sync {
    /// The generator called `name`, or the default one for `None`.
    fn get(&self, name: Option<&str>) -> Option<&dyn DynGenerator>;

    /// The names of the named generators, for error messages.
    fn names(&self) -> Vec<String>;
}

impl<G: Generator> Generators for G {
    fn get(&self, name: Option<&str>) -> Option<&dyn DynGenerator> {
        match name {
            None => Some(self),
            Some(_) => None,
        }
    }

    fn names(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Several generators for one recipe: a default one and named ones.
///
/// ```
/// use chatan::{GeneratorSet, OpenAi, Anthropic};
///
/// chatan::dataset! {
///     struct Judged {
///         question: String = gen("write a trivia question"),
///         answer: String = gen("answer: {question}"),
///         verdict: String = gen("is this answer right? {question} {answer}", generator = "judge"),
///     }
/// }
///
/// # fn main() -> Result<(), chatan::Error> {
/// let generators = GeneratorSet::new()
///     .with_default(OpenAi::new("sk-...")?)
///     .with("judge", Anthropic::new("sk-ant-...")?);
/// let runner = Judged::runner(&generators);
/// # Ok(()) }
/// ```
#[derive(Default)]
pub struct GeneratorSet {
    default: Option<Box<dyn DynGenerator>>,
    named: Vec<(String, Box<dyn DynGenerator>)>,
}

impl GeneratorSet {
    /// An empty set.
    pub fn new() -> Self {
        GeneratorSet::default()
    }

    /// Sets the generator of columns that name none.
    pub fn with_default(mut self, generator: impl Generator + 'static) -> Self {
        self.default = Some(Box::new(generator));
        self
    }

    /// Adds (or replaces) the generator called `name`.
    pub fn with(mut self, name: impl Into<String>, generator: impl Generator + 'static) -> Self {
        let name = name.into();
        self.named.retain(|(n, _)| *n != name);
        self.named.push((name, Box::new(generator)));
        self
    }
}

impl Generators for GeneratorSet {
    fn get(&self, name: Option<&str>) -> Option<&dyn DynGenerator> {
        match name {
            None => self.default.as_deref(),
            Some(name) => self
                .named
                .iter()
                .find(|(n, _)| n == name)
                .map(|(_, g)| g.as_ref()),
        }
    }

    fn names(&self) -> Vec<String> {
        self.named.iter().map(|(n, _)| n.clone()).collect()
    }
}

impl std::fmt::Debug for GeneratorSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeneratorSet")
            .field("default", &self.default.as_ref().map(|g| g.name()))
            .field(
                "named",
                &self
                    .named
                    .iter()
                    .map(|(n, g)| (n.as_str(), g.name()))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}
