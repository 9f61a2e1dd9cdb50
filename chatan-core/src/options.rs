//! The generation options, declared once: [`Options`] is what a column sets (the macro's
//! `temperature = 0.7`), what a [`Request`](crate::Request) carries, and what a
//! generator's defaults hold; [`SetOptions`] gives each of them the same setters. The
//! cache key and the recipe's fingerprint are derived from it.
//!
//! Adding an option means a field and a setter here, its spelling in the macro, and its
//! place in each wire format; nothing else restates it.

use serde::Serialize;

/// How to generate one reply: every option a column, a request or a generator's
/// defaults may set. Unset options are `None` (or empty, or `false`): the provider's own
/// default applies.
///
/// Build one with [`Options::new`] and the [`SetOptions`] setters, or by struct update
/// from [`Options::NONE`]:
///
/// ```
/// use chatan::generate::{Options, SetOptions};
/// let warm = Options::new().temperature(0.9).max_tokens(200);
/// let same = Options { temperature: Some(0.9), max_tokens: Some(200), ..Options::NONE };
/// assert_eq!(warm, same);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize)]
pub struct Options<'a> {
    /// The system prompt.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<&'a str>,
    /// The sampling temperature.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// The reply length limit, in tokens.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Nucleus sampling: sample among the most likely tokens whose probabilities add up
    /// to `top_p`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f32>,
    /// Sample among the `top_k` most likely tokens: Anthropic and local models use it,
    /// OpenAI's API has no such option.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// The model, over the generator's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub model: Option<&'a str>,
    /// Sequences that end the reply.
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    pub stop: &'a [&'a str],
    /// The sampling seed, for providers that take one (OpenAI-compatible servers,
    /// local models); others ignore it.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub seed: Option<u64>,
    /// Whether to ask the provider to cache the system prompt (Anthropic's
    /// `cache_control`; others cache long shared prefixes by themselves).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub cache_system: bool,
}

impl Options<'static> {
    /// No option set.
    pub const NONE: Options<'static> = Options::new();
}

impl<'a> Options<'a> {
    /// No option set.
    pub const fn new() -> Self {
        Options {
            system: None,
            temperature: None,
            max_tokens: None,
            top_p: None,
            top_k: None,
            model: None,
            stop: &[],
            seed: None,
            cache_system: false,
        }
    }

    /// These options, with `under`'s where these set nothing: a column's options over
    /// its generator's defaults.
    pub fn or(self, under: &Options<'a>) -> Options<'a> {
        Options {
            system: self.system.or(under.system),
            temperature: self.temperature.or(under.temperature),
            max_tokens: self.max_tokens.or(under.max_tokens),
            top_p: self.top_p.or(under.top_p),
            top_k: self.top_k.or(under.top_k),
            model: self.model.or(under.model),
            stop: if self.stop.is_empty() {
                under.stop
            } else {
                self.stop
            },
            seed: self.seed.or(under.seed),
            cache_system: self.cache_system || under.cache_system,
        }
    }

    /// The options that are set, as compact JSON in declaration order (`{}` for none):
    /// stable across runs and builds, the part of a cache key or a recipe's fingerprint
    /// that options make.
    pub fn describe(&self) -> String {
        serde_json::to_string(self).expect("options serialize")
    }
}

/// The setters of [`Options`], for everything that holds them: `Options` itself, a
/// [`Request`](crate::Request), and each provider (whose options are the defaults of
/// columns that set none). In [`chatan::prelude`](https://docs.rs/chatan/latest/chatan/prelude/).
///
/// Every option but the model has one: `model` is [`Generator::model`](crate::Generator::model)'s name, and a
/// provider's own `model` setter names its default (set a request's with
/// `options.model`).
///
/// ```
/// use chatan::prelude::*;
/// # fn main() -> Result<(), chatan::Error> {
/// // The defaults of columns that set none.
/// let llm = chatan::OpenAi::compatible("http://localhost:8000/v1")?.temperature(0.7);
/// // One request, made by hand.
/// let request = chatan::Request::new("hello").max_tokens(16);
/// # let _ = (llm, request); Ok(()) }
/// ```
pub trait SetOptions<'a>: Sized {
    /// The options being set.
    fn options_mut(&mut self) -> &mut Options<'a>;

    /// With these options over the ones already set.
    fn options(mut self, options: Options<'a>) -> Self {
        let now = self.options_mut();
        *now = options.or(now);
        self
    }

    /// With a system prompt.
    fn system(mut self, system: &'a str) -> Self {
        self.options_mut().system = Some(system);
        self
    }

    /// With a sampling temperature.
    fn temperature(mut self, temperature: f32) -> Self {
        self.options_mut().temperature = Some(temperature);
        self
    }

    /// With a reply length limit, in tokens.
    fn max_tokens(mut self, max_tokens: u32) -> Self {
        self.options_mut().max_tokens = Some(max_tokens);
        self
    }

    /// With a nucleus-sampling `top_p`.
    fn top_p(mut self, top_p: f32) -> Self {
        self.options_mut().top_p = Some(top_p);
        self
    }

    /// With a `top_k` (Anthropic and local models; OpenAI's API has none).
    fn top_k(mut self, top_k: u32) -> Self {
        self.options_mut().top_k = Some(top_k);
        self
    }

    /// With sequences that end the reply.
    fn stop(mut self, stop: &'a [&'a str]) -> Self {
        self.options_mut().stop = stop;
        self
    }

    /// With a sampling seed.
    fn seed(mut self, seed: u64) -> Self {
        self.options_mut().seed = Some(seed);
        self
    }

    /// Asking the provider to cache the system prompt.
    fn cache_system(mut self, cache_system: bool) -> Self {
        self.options_mut().cache_system = cache_system;
        self
    }
}

impl<'a> SetOptions<'a> for Options<'a> {
    fn options_mut(&mut self) -> &mut Options<'a> {
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_columns_options_win_over_the_defaults_under_them() {
        let defaults = Options::new()
            .temperature(0.7)
            .max_tokens(100)
            .system("be kind");
        let column = Options::new().temperature(0.2).stop(&["\n"]);
        let resolved = column.or(&defaults);
        assert_eq!(resolved.temperature, Some(0.2));
        assert_eq!(resolved.max_tokens, Some(100));
        assert_eq!(resolved.system, Some("be kind"));
        assert_eq!(resolved.stop, ["\n"]);
        assert_eq!(Options::NONE.or(&defaults), defaults);
    }

    #[test]
    fn only_the_options_set_are_described() {
        assert_eq!(Options::NONE.describe(), "{}");
        assert_eq!(
            Options::new().top_k(5).temperature(0.5).describe(),
            r#"{"temperature":0.5,"top_k":5}"#
        );
    }
}
