//! Procedural macros for [chatan](https://docs.rs/chatan): `#[derive(Dataset)]` and
//! `dataset! { ... }`. Use them through the `chatan` crate, which re-exports both and
//! documents them; this crate is an implementation detail.
//!
//! Pipeline, one file per stage: parse (`derive.rs`, `declare.rs`, `attr.rs`,
//! `closure.rs`, `qualify.rs`) into the model of `ast.rs`, with templates parsed by the
//! `chatan-template` crate;
//! validate (`check.rs`, errors gathered in `ctxt.rs`); plan (`plan.rs`); emit
//! (`expand.rs`, or `fallback.rs` on error).

#![forbid(unsafe_code)]
#![warn(missing_docs)]

mod ast;
mod attr;
mod check;
mod closure;
mod column_type;
mod conditions;
mod ctxt;
mod declare;
mod derive;
mod expand;
mod fallback;
mod plan;
mod qualify;
mod suggest;

use proc_macro::TokenStream;

use crate::ast::Recipe;
use crate::ctxt::Ctxt;

/// Derives `chatan::Dataset` for a struct whose fields carry recipe attributes. See the
/// `chatan` crate's documentation.
#[proc_macro_derive(Dataset, attributes(chatan, generate, sample, value, derived))]
pub fn derive_dataset(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    let cx = Ctxt::new();
    let recipe = derive::parse(&cx, input);
    finish(cx, recipe).into()
}

/// Derives `chatan::data::ColumnType` for a struct: it becomes a polars `Struct` column.
/// See the `chatan` crate's documentation.
#[proc_macro_derive(ColumnType, attributes(chatan))]
pub fn derive_column_type(input: TokenStream) -> TokenStream {
    let input = syn::parse_macro_input!(input as syn::DeriveInput);
    column_type::expand(input).into()
}

/// Declares a row struct and its recipe together. See the `chatan` crate's
/// documentation.
#[proc_macro]
pub fn dataset(input: TokenStream) -> TokenStream {
    let declaration = syn::parse_macro_input!(input as declare::Declaration);
    let cx = Ctxt::new();
    let recipe = declare::into_recipe(&cx, declaration);
    finish(cx, Some(recipe)).into()
}

/// Shared by both forms: check, plan, then emit the code or the errors with a stub.
fn finish(cx: Ctxt, recipe: Option<Recipe>) -> proc_macro2::TokenStream {
    let Some(recipe) = recipe else {
        return match cx.check() {
            Ok(()) => proc_macro2::TokenStream::new(),
            Err(e) => e.to_compile_error(),
        };
    };
    check::check(&cx, &recipe);
    conditions::check(&cx, &recipe);
    let plan = plan::plan(&cx, &recipe);
    match cx.check() {
        Ok(()) => expand::expand(&recipe, &plan),
        Err(errors) => fallback::fallback(&recipe, errors),
    }
}
