//! The prompt template language of [chatan](https://docs.rs/chatan), shared by its
//! macros and its runtime.
//!
//! * [`parse`] reads a template's text into a [`Template`]: a tree of [`Node`]s (text,
//!   [`Reference`]s such as `{question}` or `{review.score}`, and a place for
//!   conditionals), every part carrying the byte [`Span`] it came from. It is plain Rust
//!   with no `syn`, unit- and property-tested on its own; the macros turn its errors into
//!   compiler errors, with a caret [`snippet`] because stable Rust cannot point inside a
//!   string literal.
//! * [`Piece`] is the compiled form a recipe carries at run time, and [`render`] fills it
//!   in: rendering is data-driven, with no code emitted per template.
//!
//! ```
//! use chatan_template::{Node, parse};
//!
//! let t = parse("answer {question} in {style.tone} words").unwrap();
//! let names: Vec<String> = t.references().map(|r| r.path.join(".")).collect();
//! assert_eq!(names, ["question", "style.tone"]);
//! assert!(matches!(&t.nodes[0], Node::Text(text) if text == "answer "));
//! ```

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod condition;
mod error;
mod node;
mod parse;
mod piece;
mod snippet;

pub use crate::error::{Error, ErrorKind};
pub use crate::node::{
    Branch, CompareOp, Condition, Conditional, Literal, LiteralValue, Node, Operand, Reference,
    Template,
};
pub use crate::parse::parse;
pub use crate::piece::{Arm, Fill, Piece, render};
pub use crate::snippet::snippet;

/// A byte range in a template's text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}
