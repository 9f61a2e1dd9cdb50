//! Why a sampler cannot draw: checked once per run, before any request.

/// What kind of problem a sampler has.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum SamplerErrorKind {
    /// Nothing to draw from: an empty list, empty values, an empty dataset.
    Empty,
    /// An argument that cannot work: a reversed range, a bad step, a negative weight, a
    /// date that does not parse, a bad date format.
    InvalidArgument,
    /// A `sample::input()` column that was given no sampler.
    MissingInput,
    /// Source data that cannot fill the column: a missing column, a value of the wrong
    /// type.
    Source,
    /// Anything else (your own samplers).
    Other,
}

/// Why a sampler cannot draw, from [`Sampler::check`](super::Sampler::check).
///
/// ```
/// use chatan::sample::{SamplerError, SamplerErrorKind};
///
/// let e = SamplerError::new(SamplerErrorKind::Empty, "the list is empty");
/// assert_eq!(e.kind, SamplerErrorKind::Empty);
/// assert_eq!(e.to_string(), "the list is empty");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SamplerError {
    /// What kind of problem.
    pub kind: SamplerErrorKind,
    /// What is wrong, and how to fix it.
    pub message: String,
}

impl SamplerError {
    /// A problem of `kind`, explained by `message`.
    pub fn new(kind: SamplerErrorKind, message: impl Into<String>) -> Self {
        SamplerError {
            kind,
            message: message.into(),
        }
    }

    pub(crate) fn empty(message: impl Into<String>) -> Self {
        Self::new(SamplerErrorKind::Empty, message)
    }

    pub(crate) fn invalid(message: impl Into<String>) -> Self {
        Self::new(SamplerErrorKind::InvalidArgument, message)
    }

    pub(crate) fn source(message: impl Into<String>) -> Self {
        Self::new(SamplerErrorKind::Source, message)
    }
}

impl From<String> for SamplerError {
    /// A problem of kind [`Other`](SamplerErrorKind::Other).
    fn from(message: String) -> Self {
        Self::new(SamplerErrorKind::Other, message)
    }
}

impl From<&str> for SamplerError {
    /// A problem of kind [`Other`](SamplerErrorKind::Other).
    fn from(message: &str) -> Self {
        Self::new(SamplerErrorKind::Other, message)
    }
}
