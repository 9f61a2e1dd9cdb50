//! A generator chosen at run time, by name or from the environment: whichever provider
//! or local model the features built in.

use chatan_core::internal::{env, set_but_empty};
#[cfg(feature = "anthropic")]
use chatan_core::provider::Anthropic;
#[cfg(feature = "openai")]
use chatan_core::provider::OpenAi;
use chatan_core::{
    ConfigError, Error, Generator, GeneratorError, Options, Reply, Request, RunContext, SetOptions,
};

/// The provider names [`generator`] knows (those whose cargo feature is on).
pub const PROVIDERS: &[&str] = &[
    #[cfg(feature = "openai")]
    "openai",
    #[cfg(feature = "anthropic")]
    "anthropic",
    #[cfg(feature = "local")]
    "transformers",
    #[cfg(feature = "local")]
    "huggingface",
    #[cfg(feature = "local")]
    "local",
];

/// A generator chosen at run time: by name ([`generator`]) or from the environment
/// ([`AnyGenerator::from_env`]).
#[derive(Debug, Clone)]
#[non_exhaustive]
pub enum AnyGenerator {
    /// OpenAI or an OpenAI-compatible server.
    #[cfg(feature = "openai")]
    OpenAi(OpenAi),
    /// Anthropic.
    #[cfg(feature = "anthropic")]
    Anthropic(Anthropic),
    /// A local model (feature `local`).
    #[cfg(feature = "local")]
    Local(chatan_local::Local),
}

/// A generator for a provider by name, as the Python original writes it
/// (`generator("openai", key)`). The names are in [`PROVIDERS`]; any other name is an
/// error that lists them. With the `local` feature, `"transformers"`, `"huggingface"`
/// and `"local"` take a model instead of a key — a GGUF file, a checkpoint folder, or
/// (with `hub`) a hub id — and load it (`chatan::local::Local::load`), as
/// the seed's `generator("transformers", model="gpt2")`.
///
/// ```
/// # fn main() -> Result<(), chatan::Error> {
/// let llm = chatan::generator("openai", "sk-...")?;
/// let claude = chatan::generator("anthropic", "sk-ant-...")?;
/// assert!(chatan::generator("gpt", "sk-...").unwrap_err().to_string().contains("openai, anthropic"));
/// # Ok(()) }
/// ```
pub fn generator(provider: &str, api_key: impl Into<String>) -> Result<AnyGenerator, Error> {
    let _ = &api_key;
    match provider.trim().to_ascii_lowercase().as_str() {
        #[cfg(feature = "local")]
        "transformers" | "huggingface" | "local" => {
            chatan_local::Local::load(&api_key.into()).map(AnyGenerator::Local)
        }
        #[cfg(feature = "openai")]
        "openai" => OpenAi::new(api_key).map(AnyGenerator::OpenAi),
        #[cfg(feature = "anthropic")]
        "anthropic" => Anthropic::new(api_key).map(AnyGenerator::Anthropic),
        _ => Err(Error::UnknownProvider {
            name: provider.to_owned(),
            known: PROVIDERS,
        }),
    }
}

impl AnyGenerator {
    /// The first provider the environment configures: `OPENAI_API_KEY`, then
    /// `ANTHROPIC_API_KEY`, then `OPENAI_BASE_URL` (an OpenAI-compatible server without
    /// a key), then `ANTHROPIC_BASE_URL`. With none set, the error says what to set.
    pub fn from_env() -> Result<Self, Error> {
        for variable in [
            "OPENAI_API_KEY",
            "ANTHROPIC_API_KEY",
            "OPENAI_BASE_URL",
            "ANTHROPIC_BASE_URL",
        ] {
            if env(variable).is_none() {
                continue;
            }
            match variable.split('_').next() {
                #[cfg(feature = "openai")]
                Some("OPENAI") => return OpenAi::from_env().map(AnyGenerator::OpenAi),
                #[cfg(feature = "anthropic")]
                Some("ANTHROPIC") => return Anthropic::from_env().map(AnyGenerator::Anthropic),
                _ => {}
            }
        }
        // A key variable that is set but empty is a mistake to name, not "nothing set".
        for variable in ["OPENAI_API_KEY", "ANTHROPIC_API_KEY"] {
            if set_but_empty(variable) {
                return Err(Error::Config(ConfigError::EmptyVariable(variable.into())));
            }
        }
        Err(Error::Config(ConfigError::NoProvider))
    }
}

impl Generator for AnyGenerator {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        let _ = request;
        match *self {
            #[cfg(feature = "openai")]
            AnyGenerator::OpenAi(ref g) => g.generate(request).await,
            #[cfg(feature = "anthropic")]
            AnyGenerator::Anthropic(ref g) => g.generate(request).await,
            #[cfg(feature = "local")]
            AnyGenerator::Local(ref g) => g.generate(request).await,
        }
    }

    async fn generate_in(
        &self,
        request: &Request<'_>,
        run: &RunContext<'_>,
    ) -> Result<Reply, GeneratorError> {
        let _ = (request, run);
        match *self {
            #[cfg(feature = "openai")]
            AnyGenerator::OpenAi(ref g) => g.generate_in(request, run).await,
            #[cfg(feature = "anthropic")]
            AnyGenerator::Anthropic(ref g) => g.generate_in(request, run).await,
            #[cfg(feature = "local")]
            AnyGenerator::Local(ref g) => g.generate_in(request, run).await,
        }
    }

    fn name(&self) -> &str {
        match *self {
            #[cfg(feature = "openai")]
            AnyGenerator::OpenAi(ref g) => g.name(),
            #[cfg(feature = "anthropic")]
            AnyGenerator::Anthropic(ref g) => g.name(),
            #[cfg(feature = "local")]
            AnyGenerator::Local(ref g) => g.name(),
        }
    }

    fn model(&self) -> Option<&str> {
        match *self {
            #[cfg(feature = "openai")]
            AnyGenerator::OpenAi(ref g) => g.model(),
            #[cfg(feature = "anthropic")]
            AnyGenerator::Anthropic(ref g) => g.model(),
            #[cfg(feature = "local")]
            AnyGenerator::Local(ref g) => g.model(),
        }
    }

    fn endpoint(&self) -> Option<&str> {
        match *self {
            #[cfg(feature = "openai")]
            AnyGenerator::OpenAi(ref g) => g.endpoint(),
            #[cfg(feature = "anthropic")]
            AnyGenerator::Anthropic(ref g) => g.endpoint(),
            #[cfg(feature = "local")]
            AnyGenerator::Local(ref g) => g.endpoint(),
        }
    }

    fn resolve<'r>(&'r self, request: &Request<'r>) -> Request<'r> {
        let _ = request;
        match *self {
            #[cfg(feature = "openai")]
            AnyGenerator::OpenAi(ref g) => g.resolve(request),
            #[cfg(feature = "anthropic")]
            AnyGenerator::Anthropic(ref g) => g.resolve(request),
            #[cfg(feature = "local")]
            AnyGenerator::Local(ref g) => g.resolve(request),
        }
    }

    fn concurrency_hint(&self) -> Option<usize> {
        match *self {
            #[cfg(feature = "openai")]
            AnyGenerator::OpenAi(ref g) => g.concurrency_hint(),
            #[cfg(feature = "anthropic")]
            AnyGenerator::Anthropic(ref g) => g.concurrency_hint(),
            #[cfg(feature = "local")]
            AnyGenerator::Local(ref g) => g.concurrency_hint(),
        }
    }
}

/// Forwards a builder method to whichever provider an [`AnyGenerator`] holds.
/// `local` says what a local model does with it: `local` calls the same method,
/// `ignored` leaves the model as it is and says so in a warning (it has no such
/// setting).
macro_rules! forward {
    ($(#[$doc:meta])* fn $name:ident($($arg:ident: $ty:ty),*); $local:ident) => {
        $(#[$doc])*
        pub fn $name(self, $($arg: $ty),*) -> Self {
            let _ = ($(&$arg,)*);
            match self {
                #[cfg(feature = "openai")]
                AnyGenerator::OpenAi(g) => AnyGenerator::OpenAi(g.$name($($arg),*)),
                #[cfg(feature = "anthropic")]
                AnyGenerator::Anthropic(g) => AnyGenerator::Anthropic(g.$name($($arg),*)),
                #[cfg(feature = "local")]
                AnyGenerator::Local(g) => AnyGenerator::Local(forward!(@local $local g.$name($($arg),*))),
            }
        }
    };
    (@local local $g:ident.$name:ident($($arg:ident),*)) => { $g.$name($($arg),*) };
    (@local ignored $g:ident.$name:ident($($arg:ident),*)) => {{
        tracing::warn!(
            model = Generator::model(&$g).unwrap_or("local"),
            concat!("a local model has no `", stringify!($name), "` setting; ignored")
        );
        $g
    }};
}

/// The defaults of columns that set none, for whichever provider was chosen.
impl SetOptions<'static> for AnyGenerator {
    fn options_mut(&mut self) -> &mut Options<'static> {
        match *self {
            #[cfg(feature = "openai")]
            AnyGenerator::OpenAi(ref mut g) => g.options_mut(),
            #[cfg(feature = "anthropic")]
            AnyGenerator::Anthropic(ref mut g) => g.options_mut(),
            #[cfg(feature = "local")]
            AnyGenerator::Local(ref mut g) => g.options_mut(),
        }
    }
}

/// The builder methods of [`Provider`](chatan_core::provider::Provider), for whichever provider was chosen:
/// `chatan::generator("anthropic", key)?.model("claude-sonnet-4-5").temperature(0.7)`.
impl AnyGenerator {
    forward! {
        /// The model of columns that do not name one. A local model is the one it
        /// loaded: this logs a warning and changes nothing (load another with
        /// `chatan::local::Local::load`).
        fn model(model: impl Into<String>); ignored
    }
    forward! {
        /// Gives up on a request after `timeout` (default 120 s for providers, none for
        /// a local model); a timeout is retried.
        fn timeout(timeout: std::time::Duration); local
    }
    forward! {
        /// The system prompt of columns that set none.
        fn system(system: impl Into<String>); local
    }

    /// Sends requests to `base_url` instead.
    pub fn base_url(self, base_url: &str) -> Result<Self, Error> {
        let _ = base_url;
        match self {
            #[cfg(feature = "openai")]
            AnyGenerator::OpenAi(g) => g.base_url(base_url).map(AnyGenerator::OpenAi),
            #[cfg(feature = "anthropic")]
            AnyGenerator::Anthropic(g) => g.base_url(base_url).map(AnyGenerator::Anthropic),
            #[cfg(feature = "local")]
            AnyGenerator::Local(g) => Err(Error::Config(ConfigError::Local(format!(
                "{}: a local model has no base URL",
                g.model().unwrap_or("local")
            )))),
        }
    }
}

#[cfg(feature = "openai")]
impl From<OpenAi> for AnyGenerator {
    fn from(g: OpenAi) -> Self {
        AnyGenerator::OpenAi(g)
    }
}

#[cfg(feature = "local")]
impl From<chatan_local::Local> for AnyGenerator {
    fn from(g: chatan_local::Local) -> Self {
        AnyGenerator::Local(g)
    }
}

#[cfg(feature = "anthropic")]
impl From<Anthropic> for AnyGenerator {
    fn from(g: Anthropic) -> Self {
        AnyGenerator::Anthropic(g)
    }
}
