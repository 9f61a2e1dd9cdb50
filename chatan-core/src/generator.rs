//! Generators: what turns a prompt into text. One trait for every provider and every
//! layer (retry, limit, ...), and the hand-off of one or several generators to a recipe.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use crate::context::RunContext;
use crate::error::GeneratorError;
use crate::reply::Reply;
use crate::request::Request;

/// Turns a prompt into text. Implemented by [`OpenAi`](crate::OpenAi),
/// [`Anthropic`](crate::Anthropic) and `chatan::AnyGenerator`; implement
/// it to plug in anything else.
///
/// Return a retryable [`GeneratorError`] (rate limit, server error, timeout, connection)
/// for failures worth retrying; a [`Retry`](crate::Retry) layer retries them with backoff.
///
/// # Layers
///
/// Policy wraps a generator in another generator: the methods of
/// [`GeneratorExt`](crate::layer::GeneratorExt) (`retry`, `limit`, `cache`, `govern`),
/// or your own wrapper type. Each call wraps what came before, so
/// `llm.limit(8).retry(policy)` retries around a limit of 8 requests at once (a retry
/// waits for its backoff without holding a slot). A runner puts today's defaults around
/// whatever it is given — a limit of 64 and [`RetryPolicy::default`](crate::RetryPolicy::default) —
/// and layers you compose yourself take precedence: an inner retry that gives up is not
/// retried again, and an inner limit below 64 is the one that binds.
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

    /// Generates a reply to one request of a run, told what the run tells its layers
    /// (its observers, its checkpoint: see [`RunContext`]). The engine calls this; the
    /// default is [`generate`](Generator::generate), which is all a generator that
    /// neither reports nor keeps state needs. A layer implements it, reading `run` and
    /// passing it to the generator it wraps, and its `generate` is this outside a run.
    fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send {
        let _ = run;
        self.generate(request)
    }

    /// A short name for logs and progress, such as `openai`.
    fn name(&self) -> &str {
        "custom"
    }

    /// The model a request goes to when it names none, if the generator has one (the
    /// response cache keys replies by it).
    fn model(&self) -> Option<&str> {
        None
    }

    /// How many requests a runner should keep in flight through this generator when it
    /// is not told ([`Runner::concurrency`](crate::Runner::concurrency)): `None`, the
    /// default, leaves the runner's 64. A provider [`Batch`](crate::provider::Batch)
    /// asks for a whole batch's worth, since a wave holds only the requests in flight.
    fn concurrency_hint(&self) -> Option<usize> {
        None
    }

    /// Where this generator's requests go (a provider's URL), if it says: the response
    /// cache keys replies by it, so a generator aimed elsewhere is not answered with
    /// another server's replies.
    fn endpoint(&self) -> Option<&str> {
        None
    }

    /// `request` as this generator will send it: its own defaults (a
    /// [`system`](crate::provider::Provider::system) prompt, a
    /// [`temperature`](crate::options::SetOptions::temperature), ...) filled in where the
    /// request sets nothing. The engine resolves every request before any layer sees
    /// it, so a layer that reads options (the cache's key, the governor's token
    /// estimate) reads what is sent; resolving twice changes nothing. A layer passes
    /// this to the generator it wraps. The default is the request as it is.
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        *request
    }
}

impl<G: Generator + ?Sized> Generator for &G {
    fn generate(
        &self,
        request: &Request<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send {
        (**self).generate(request)
    }
    fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send {
        (**self).generate_in(request, run)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
    fn concurrency_hint(&self) -> Option<usize> {
        (**self).concurrency_hint()
    }
    fn endpoint(&self) -> Option<&str> {
        (**self).endpoint()
    }
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        (**self).resolve(request)
    }
}

impl<G: Generator + ?Sized> Generator for Arc<G> {
    fn generate(
        &self,
        request: &Request<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send {
        (**self).generate(request)
    }
    fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> impl Future<Output = Result<Reply, GeneratorError>> + Send {
        (**self).generate_in(request, run)
    }
    fn name(&self) -> &str {
        (**self).name()
    }
    fn model(&self) -> Option<&str> {
        (**self).model()
    }
    fn concurrency_hint(&self) -> Option<usize> {
        (**self).concurrency_hint()
    }
    fn endpoint(&self) -> Option<&str> {
        (**self).endpoint()
    }
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        (**self).resolve(request)
    }
}

/// A boxed generator, as a generator (for the runner's own stacks).
pub(crate) struct Boxed<'g>(pub(crate) Box<dyn DynGenerator + 'g>);

impl Generator for Boxed<'_> {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        self.0.generate_boxed(request, &RunContext::NONE).await
    }
    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        self.0.generate_boxed(request, run).await
    }
    fn name(&self) -> &str {
        self.0.name()
    }
    fn model(&self) -> Option<&str> {
        self.0.model()
    }
    fn concurrency_hint(&self) -> Option<usize> {
        self.0.concurrency_hint()
    }
    fn endpoint(&self) -> Option<&str> {
        self.0.endpoint()
    }
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        self.0.resolve(request)
    }
}

/// A boxed future, as returned by [`DynGenerator`].
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The object-safe form of [`Generator`], implemented for every generator, so that
/// generators of different types can sit in one [`GeneratorSet`].
pub trait DynGenerator: Send + Sync {
    /// [`Generator::generate_in`], boxed.
    fn generate_boxed<'a>(
        &'a self,
        request: &'a Request<'a>,
        run: &'a RunContext<'a>,
    ) -> BoxFuture<'a, Result<Reply, GeneratorError>>;

    /// [`Generator::name`].
    fn name(&self) -> &str;

    /// [`Generator::model`].
    fn model(&self) -> Option<&str>;

    /// [`Generator::concurrency_hint`].
    fn concurrency_hint(&self) -> Option<usize>;

    /// [`Generator::endpoint`].
    fn endpoint(&self) -> Option<&str>;

    /// [`Generator::resolve`].
    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r>;
}

impl<G: Generator> DynGenerator for G {
    fn generate_boxed<'a>(
        &'a self,
        request: &'a Request<'a>,
        run: &'a RunContext<'a>,
    ) -> BoxFuture<'a, Result<Reply, GeneratorError>> {
        Box::pin(self.generate_in(request, run))
    }

    fn name(&self) -> &str {
        Generator::name(self)
    }

    fn model(&self) -> Option<&str> {
        Generator::model(self)
    }

    fn concurrency_hint(&self) -> Option<usize> {
        Generator::concurrency_hint(self)
    }

    fn endpoint(&self) -> Option<&str> {
        Generator::endpoint(self)
    }

    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        Generator::resolve(self, request)
    }
}

impl Generator for dyn DynGenerator + '_ {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        self.generate_boxed(request, &RunContext::NONE).await
    }

    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        self.generate_boxed(request, run).await
    }

    fn name(&self) -> &str {
        DynGenerator::name(self)
    }

    fn model(&self) -> Option<&str> {
        DynGenerator::model(self)
    }

    fn concurrency_hint(&self) -> Option<usize> {
        DynGenerator::concurrency_hint(self)
    }

    fn endpoint(&self) -> Option<&str> {
        DynGenerator::endpoint(self)
    }

    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        DynGenerator::resolve(self, request)
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
/// use chatan::{Anthropic, GeneratorSet, OpenAi};
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
