//! What can be wrong with a template, and how it is said.

use std::fmt;

use crate::Span;

/// What is wrong with a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// A `{` with no matching `}`.
    Unclosed,
    /// A `}` that closes nothing.
    UnmatchedClose,
    /// `{}` or `{  }`.
    Empty,
    /// `{...}` whose content is not a column name or a dotted path.
    InvalidName(String),
    /// `{name:spec}`: a format spec, as Rust's `format!` takes.
    FormatSpec(String),
    /// `{0}`: a position, as Rust's `format!` takes.
    Positional(String),
    /// A `{%` with no `%}`.
    UnclosedTag,
    /// A `{#` with no `#}`.
    UnclosedComment,
    /// A block other than `if`, `elif`, `else`, `endif` (the name found).
    UnknownTag(String),
    /// An `{% if %}` with no `{% endif %}`.
    UnclosedIf,
    /// An `elif`, `else` or `endif` (named) outside any `{% if %}`.
    Stray(String),
    /// An `elif` or a second `else` (named) after the `else` of the same `if`.
    AfterElse(String),
    /// A condition that does not parse, or a tag with something wrong inside; the
    /// message says what.
    Condition(String),
}

/// A template error with the byte range it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Where, in bytes of the template text.
    pub span: Span,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Unclosed => f.write_str(
                "unclosed `{` in template; close the reference with `}`, \
                 or write `{{` for a literal brace",
            ),
            ErrorKind::UnmatchedClose => {
                f.write_str("unmatched `}` in template; write `}}` for a literal brace")
            }
            ErrorKind::Empty => f.write_str(
                "empty `{}` in template; write a column name inside the braces, \
                 or `{{}}` for literal braces",
            ),
            ErrorKind::InvalidName(name) => write!(
                f,
                "`{{{name}}}` is not a column reference; a reference is a field name \
                 such as `{{question}}`, or a path into a struct column such as \
                 `{{review.score}}` (write `{{{{` for a literal brace)"
            ),
            ErrorKind::FormatSpec(name) => write!(
                f,
                "format specs are not supported in templates: `{{{name}}}`; write \
                 `{{{column}}}` and format the value in a derived column \
                 (`|row| format!(\"{{:.2}}\", row.{column})`)",
                column = name.split(':').next().unwrap_or_default().trim()
            ),
            ErrorKind::Positional(name) => write!(
                f,
                "`{{{name}}}` is a position, but templates name columns: \
                 write `{{question}}` (write `{{{{` for a literal brace)"
            ),
            ErrorKind::UnclosedTag => f.write_str(
                "unclosed `{%` in template; end the block with `%}` \
                 (write `{{%` for a literal `{%`)",
            ),
            ErrorKind::UnclosedComment => f.write_str(
                "unclosed `{#` in template; end the comment with `#}` \
                 (write `{{#` for a literal `{#`)",
            ),
            ErrorKind::UnknownTag(name) => write!(
                f,
                "`{{% {name} %}}` is not a template block; the blocks are `{{% if condition %}}`, \
                 `{{% elif condition %}}`, `{{% else %}}` and `{{% endif %}}` \
                 (loops and filters belong in a derived column)"
            ),
            ErrorKind::UnclosedIf => {
                f.write_str("this `{% if %}` is never closed; end it with `{% endif %}`")
            }
            ErrorKind::Stray(word) => write!(
                f,
                "`{{% {word} %}}` outside any `{{% if %}}`; remove it, or open the block with \
                 `{{% if condition %}}`"
            ),
            ErrorKind::AfterElse(word) => write!(
                f,
                "`{{% {word} %}}` after the `{{% else %}}` of the same `{{% if %}}`; `else` is \
                 the last branch, so move this one before it"
            ),
            ErrorKind::Condition(message) => f.write_str(message),
        }
    }
}
