//! The input model shared by both macro forms: a recipe is a struct whose fields are
//! columns, each with a kind (generated, sampled, static, derived).
//!
//! `#[derive(Dataset)]` and `dataset! { ... }` are parsed into the same [`Recipe`]
//! (see `derive.rs` and `declare.rs`); everything after parsing is shared.

use proc_macro2::{Span, TokenStream};
use syn::{Attribute, Expr, ExprClosure, Generics, Ident, LitStr, Type, Visibility};

use chatan_template::{self as template, Template};

/// Which macro the recipe came from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form {
    /// `#[derive(Dataset)]` on a user-written struct.
    Derive,
    /// `dataset! { struct ... }`, which also declares the struct.
    Declare,
}

/// A parsed recipe.
pub struct Recipe {
    /// Which macro produced it.
    pub form: Form,
    /// Attributes to put on the emitted struct (declare form only).
    pub attrs: Vec<Attribute>,
    /// The struct's visibility.
    pub vis: Visibility,
    /// The struct's name.
    pub ident: Ident,
    /// Generics, which are rejected by `check.rs` but kept so the stub can be emitted.
    pub generics: Generics,
    /// The columns, in declaration order.
    pub columns: Vec<Column>,
    /// The path of the runtime crate (`::chatan` unless `#[chatan(crate = "...")]`).
    pub krate: syn::Path,
    /// Whether to add inherent `runner` and `generate` (unless `#[chatan(methods = false)]`).
    pub methods: bool,
}

/// One column: a field of the row struct and how it is filled.
pub struct Column {
    /// Attributes to put on the emitted field (declare form only).
    pub attrs: Vec<Attribute>,
    /// The field's visibility (declare form only).
    pub vis: Visibility,
    /// The field name.
    pub ident: Ident,
    /// The field name as templates refer to it (raw identifiers unprefixed).
    pub name: String,
    /// The field type.
    pub ty: Type,
    /// How the column is filled; `None` if its recipe was missing or broken (already
    /// reported), so later checks can skip it.
    pub kind: Option<Kind>,
    /// A `#[cfg(..)]` on the field, which is reported as unsupported.
    pub cfg: Option<Attribute>,
    /// `#[chatan(json)]`: stored as JSON text in a `DataFrame`.
    pub json: bool,
}

/// How a column is filled.
pub enum Kind {
    /// Text from an LLM.
    Generated(Generated),
    /// A sampler expression, evaluated once per run.
    Sampled(Expr),
    /// The same value in every row.
    Static(Expr),
    /// A closure over other columns of the same row.
    Derived(Derived),
}

/// A `gen("...")` column.
pub struct Generated {
    /// The template literal, for spans.
    pub literal: LitStr,
    /// The parsed template; `None` if it had errors (already reported).
    pub template: Option<Template>,
    /// Per-column request options.
    pub options: GenOptions,
}

/// Options of one `gen(...)` column.
#[derive(Default)]
pub struct GenOptions {
    /// Sampling temperature.
    pub temperature: Option<f32>,
    /// Nucleus sampling.
    pub top_p: Option<f32>,
    /// Sampling among the k most likely tokens.
    pub top_k: Option<u32>,
    /// Whether to strip the reply's surrounding whitespace (default yes).
    pub trim: Option<bool>,
    /// Upper bound on reply tokens.
    pub max_tokens: Option<u32>,
    /// System prompt.
    pub system: Option<LitStr>,
    /// Model override for this column.
    pub model: Option<LitStr>,
    /// Name of the generator to use, for recipes with several generators.
    pub generator: Option<LitStr>,
    /// Stop sequences.
    pub stop: Vec<LitStr>,
    /// Sampling seed.
    pub seed: Option<u64>,
    /// Whether to cache the system prompt.
    pub cache_system: Option<bool>,
    /// A check on the value: a failure is asked again with the reason.
    pub check: Option<Box<Check>>,
    /// Which values that repeat an earlier row's are asked again.
    pub distinct: Distinct,
}

/// `distinct = ..` on a generated column.
#[derive(Default, Clone, Copy)]
pub enum Distinct {
    /// Values may repeat.
    #[default]
    No,
    /// `true`: equal after normalization.
    Exact,
    /// A Jaccard similarity threshold: near values too.
    Near(f64),
}

/// `check = ...` on a generated column.
pub enum Check {
    /// Anything callable as `Fn(&T) -> Result<(), E>` (a function's path, a closure over
    /// the value), checked by rustc where it is used.
    Value(Expr),
    /// `|value, row| ...`: a closure over the value and other columns of the row.
    Row(Box<RowCheck>),
}

/// A `|value, row| ...` check.
pub struct RowCheck {
    /// The closure as written (for the recipe's fingerprint).
    pub closure: ExprClosure,
    /// The value's parameter, as written (it may carry a type).
    pub value: syn::Pat,
    /// The row's parameter name.
    pub row: Ident,
    /// Every `row.<field>` the body names.
    pub fields: Vec<Ident>,
    /// The body, each `row.<field>` rewritten to read the filled cell.
    pub body: TokenStream,
}

/// A `|row| ...` column.
pub struct Derived {
    /// The closure as written.
    pub closure: ExprClosure,
    /// The closure's parameter name.
    pub param: Ident,
    /// Every `row.<field>` the body names, in order.
    pub fields: Vec<Ident>,
    /// The body with each `row.<field>` rewritten to read the filled cell.
    pub body: TokenStream,
    /// Whether the closure returns a `Result` (declared `|row| -> Result<T, E> { .. }`),
    /// whose error fails the cell.
    pub fallible: bool,
}

/// A place where one column names another.
pub struct Reference {
    /// The referenced name.
    pub name: String,
    /// Where to point an error about it.
    pub span: Span,
    /// For template references: the template text and the byte range of `{name}`.
    pub in_template: Option<(String, template::Span)>,
}

impl Column {
    /// Every reference this column makes to other columns, in order.
    pub fn references(&self) -> Vec<Reference> {
        match &self.kind {
            Some(Kind::Generated(g)) => {
                let mut references: Vec<Reference> = match &g.template {
                    Some(t) => {
                        let text = g.literal.value();
                        t.references()
                            .map(|r| Reference {
                                name: r.column().to_owned(),
                                span: g.literal.span(),
                                in_template: Some((text.clone(), r.span)),
                            })
                            .collect()
                    }
                    None => Vec::new(),
                };
                // A check that reads other columns waits for them, as the template does.
                if let Some(Check::Row(check)) = g.options.check.as_deref() {
                    references.extend(check.fields.iter().map(|f| Reference {
                        name: unraw(f),
                        span: f.span(),
                        in_template: None,
                    }));
                }
                references
            }
            Some(Kind::Derived(d)) => d
                .fields
                .iter()
                .map(|f| Reference {
                    name: unraw(f),
                    span: f.span(),
                    in_template: None,
                })
                .collect(),
            Some(Kind::Sampled(_) | Kind::Static(_)) | None => Vec::new(),
        }
    }
}

/// An identifier's name without the `r#` prefix of raw identifiers.
pub fn unraw(ident: &Ident) -> String {
    let s = ident.to_string();
    s.strip_prefix("r#").map(str::to_owned).unwrap_or(s)
}
