//! The contract between the macros and the engine: what a compiled recipe tells the
//! engine (a static [`Spec`]) and what it lets the engine do to a row being built (the
//! [`Recipe`] trait, implemented by the macro-generated cells struct).
//!
//! Nothing here is meant to be used by hand; it is public (and hidden) because the code
//! the macros emit lives in the user's crate.

use crate::from_reply::ReplyError;
use crate::sample::SampleContext;

/// Why a derived column's closure failed.
pub type DeriveError = Box<dyn std::error::Error + Send + Sync>;

/// A compiled recipe: column names, kinds and dependencies, in declaration order.
#[derive(Debug)]
pub struct Spec {
    /// The row struct's name.
    pub name: &'static str,
    /// The columns.
    pub columns: &'static [ColumnSpec],
    /// For each reference [`Piece::Ref`] numbers, the column it reads.
    pub references: &'static [usize],
    /// For each condition [`Arm`]s number, the columns it reads.
    pub conditions: &'static [&'static [usize]],
    /// A hash of the recipe's definition but its columns' options (column names, types,
    /// templates, generator names, sampler and closure code); see
    /// [`fingerprint`](Spec::fingerprint).
    pub definition: u64,
}

impl Spec {
    /// A hash of the whole recipe: its [`definition`](Spec::definition) and each
    /// generated column's [`Options`](crate::options::Options), so that a checkpoint made
    /// by another version of the recipe is refused instead of mixed in.
    pub fn fingerprint(&self) -> u64 {
        let mut text = format!("{:016x}", self.definition);
        for column in self.columns {
            if let ColumnKind::Generated(spec) = &column.kind {
                text.push('\n');
                text.push_str(&spec.options.describe());
            }
        }
        // FNV-1a: stable across compilers and runs, unlike the std hasher.
        text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, b| {
            (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
        })
    }
}

/// One column of a [`Spec`].
#[derive(Debug)]
pub struct ColumnSpec {
    /// The field name.
    pub name: &'static str,
    /// How it is filled.
    pub kind: ColumnKind,
    /// Indices of the columns it reads.
    pub deps: &'static [usize],
    /// Indices of the columns that read it.
    pub dependents: &'static [usize],
}

/// How a column is filled.
#[derive(Debug)]
pub enum ColumnKind {
    /// From a sampler.
    Sampled,
    /// The same value every row (a constant sampler).
    Static,
    /// From a closure over other columns.
    Derived,
    /// From a generator.
    Generated(GenSpec),
}

/// A generated column's template and options.
#[derive(Debug)]
pub struct GenSpec {
    /// The template, as text and column references.
    pub template: &'static [Piece],
    /// The column's options.
    pub options: crate::options::Options<'static>,
    /// Named generator.
    pub generator: Option<&'static str>,
    /// Whether the reply loses its leading and trailing whitespace before it is read.
    pub trim: bool,
    /// Whether a value that repeats one of an earlier row is asked again.
    pub distinct: Distinct,
}

/// Which values of a generated column count as repeats (`gen(.., distinct = ..)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Distinct {
    /// None: values may repeat (the default).
    No,
    /// Values equal after normalization (NFKC, lowercase, punctuation and spacing
    /// folded): `distinct = true`.
    Exact,
    /// Those too, and values whose word 3-shingles have an estimated Jaccard similarity
    /// of at least this (MinHash, 128 permutations): `distinct = 0.8`.
    Near(f64),
}

pub use chatan_template::{Arm, CompareOp, Piece};

/// A row being built: one optional cell per column. Implemented by the macros.
pub trait Recipe: Send + Sized + 'static {
    /// The finished row type.
    type Row;
    /// The recipe's samplers, one per sampled or static column.
    type Samplers: Send + Sync + 'static;

    /// The compiled recipe.
    const SPEC: Spec;

    /// A row with every cell empty.
    fn new() -> Self;

    /// Builds the recipe's samplers (once per runner).
    fn samplers() -> Self::Samplers;

    /// Checks the sampler of sampled or static column `column` (once per run).
    fn check_sampler(
        samplers: &Self::Samplers,
        column: usize,
    ) -> Result<(), crate::sample::SamplerError>;

    /// Fills sampled or static column `column`.
    fn sample(&mut self, column: usize, samplers: &Self::Samplers, cx: &mut SampleContext);

    /// Fills derived column `column` (its dependencies are filled); the error of a
    /// closure that returned one.
    fn derive(&mut self, column: usize) -> Result<(), DeriveError>;

    /// Writes the value of reference `reference` (a filled column, or a field inside
    /// one; see [`Piece::Ref`]) into a prompt.
    fn write_ref(&self, reference: usize, out: &mut String);

    /// Whether condition `condition` of the recipe's templates holds (see
    /// [`Piece::If`]); the cells it reads are filled.
    fn test(&self, condition: usize) -> bool;

    /// The JSON Schema of generated column `column`'s type, if it is a structured
    /// column (see [`crate::structured`]).
    fn schema(column: usize) -> Option<std::sync::Arc<crate::structured::Schema>>;

    /// The shape of generated text column `column`'s replies, if its type has one (see
    /// [`FromReply::shape`](crate::FromReply::shape)).
    fn shape(column: usize) -> Option<crate::Shape> {
        let _ = column;
        None
    }

    /// Fills generated column `column` from a reply.
    fn accept(&mut self, column: usize, reply: String) -> Result<(), ReplyError>;

    /// Writes the value of column `column` for people to read (the live viewer, the
    /// [`CellFilled`](crate::Event::CellFilled) event): by `Display` where the type has
    /// it, else as JSON, else by `Debug`, else the type's name; nothing for an empty
    /// cell.
    fn show(&self, column: usize, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let _ = (column, f);
        Ok(())
    }

    /// The finished row (every cell filled).
    fn finish(self) -> Self::Row;
}

/// Renders a compiled template for a row whose referenced cells are filled.
pub(crate) fn render<R: Recipe>(cells: &R, template: &[Piece], out: &mut String) {
    chatan_template::render(template, out, &mut Cells(cells));
}

/// A row's cells as what fills a template.
struct Cells<'a, R>(&'a R);

impl<R: Recipe> chatan_template::Fill for Cells<'_, R> {
    fn write_ref(&mut self, n: usize, out: &mut String) {
        self.0.write_ref(n, out);
    }
    fn test(&mut self, n: usize) -> bool {
        self.0.test(n)
    }
}
