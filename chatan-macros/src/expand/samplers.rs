//! The samplers struct (one boxed sampler per sampled or static column), how the recipe
//! builds it, the column handles of `Dataset::Columns`, and the `sample` / `check_sampler`
//! arms of the `Recipe` impl.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::respanned;
use crate::ast::{Column, Kind, Recipe};

/// The sampler parts of the expansion.
pub struct Samplers {
    /// The fields of `__Samplers`.
    pub fields: Vec<TokenStream>,
    /// The field initializers of `__Samplers` (the user's sampler expressions).
    pub inits: Vec<TokenStream>,
    /// The fields of `__Columns`.
    pub handle_fields: Vec<TokenStream>,
    /// The field initializers of `__Columns`.
    pub handles: Vec<TokenStream>,
    /// `Recipe::sample`'s arms.
    pub sample_arms: Vec<TokenStream>,
    /// `Recipe::check_sampler`'s arms.
    pub check_arms: Vec<TokenStream>,
}

/// Whether a column is filled by a sampler (a static value is a constant sampler).
fn is_sampled(c: &Column) -> bool {
    matches!(c.kind, Some(Kind::Sampled(_) | Kind::Static(_)))
}

/// The sampler parts of `recipe`.
pub fn emit(recipe: &Recipe) -> Samplers {
    let krate = &recipe.krate;
    let row = &recipe.ident;
    let sampled: Vec<(usize, &Column)> = recipe
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| is_sampled(c))
        .collect();
    let sampler_fields = sampled.iter().map(|(_, c)| {
        let (ident, ty) = (&c.ident, &c.ty);
        quote!(#ident: #krate::__private::BoxedSampler<#ty>)
    });
    let sampler_inits = sampled.iter().map(|(_, c)| {
        let (ident, ty) = (&c.ident, &c.ty);
        match &c.kind {
            Some(Kind::Sampled(expr)) => {
                let krate = respanned(krate, expr.span());
                quote_spanned! {expr.span()=>
                #ident: #krate::sample::IntoSampler::<#ty>::into_sampler(#expr)
                }
            }
            Some(Kind::Static(expr)) => {
                let krate = respanned(krate, expr.span());
                quote_spanned! {expr.span()=>
                #ident: #krate::__private::constant::<#ty, _>(#expr)
                }
            }
            _ => unreachable!("filtered to sampled columns"),
        }
    });
    let column_handle_fields = recipe.columns.iter().map(|c| {
        let (ident, ty) = (&c.ident, &c.ty);
        if is_sampled(c) {
            let doc = format!("The sampler of column `{}`.", c.name);
            quote!(#[doc = #doc] pub #ident: #krate::__private::SampledColumn<#row, #ty>)
        } else {
            let doc = format!("Column `{}`, which is not sampled.", c.name);
            quote!(#[doc = #doc] pub #ident: #krate::__private::NotSampled)
        }
    });
    let column_handles = recipe.columns.iter().map(|c| {
        let (ident, ty, name) = (&c.ident, &c.ty, &c.name);
        if is_sampled(c) {
            quote! {
                #ident: #krate::__private::column::<#row, #ty>(
                    #name,
                    |samplers: &mut __Samplers, sampler| samplers.#ident = sampler,
                )
            }
        } else {
            quote!(#ident: #krate::__private::not_sampled(#name))
        }
    });
    let sample_arms = sampled.iter().map(|(i, c)| {
        let ident = &c.ident;
        quote! {
            #i => self.#ident = ::core::option::Option::Some(#krate::__private::Sampler::sample(&__chatan_samplers.#ident, __chatan_cx)),
        }
    });

    let check_arms = sampled.iter().map(|(i, c)| {
        let ident = &c.ident;
        quote!(#i => #krate::__private::Sampler::check(&__chatan_samplers.#ident),)
    });

    Samplers {
        fields: sampler_fields.collect(),
        inits: sampler_inits.collect(),
        handle_fields: column_handle_fields.collect(),
        handles: column_handles.collect(),
        sample_arms: sample_arms.collect(),
        check_arms: check_arms.collect(),
    }
}
