//! The cells struct (one `Option` per column, filled as the row is built) and the
//! `derive` / `accept` / `write_ref` / `finish` arms of the `Recipe` impl.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use super::respanned;
use super::spec::{Ref, field_ident};
use crate::ast::{Kind, Recipe};

/// The fields of `__Cells`.
pub fn fields(recipe: &Recipe) -> Vec<TokenStream> {
    recipe
        .columns
        .iter()
        .map(|c| {
            let (ident, ty) = (&c.ident, &c.ty);
            quote!(#ident: ::core::option::Option<#ty>)
        })
        .collect()
}

/// `__Cells` with every cell empty.
pub fn empty(recipe: &Recipe) -> Vec<TokenStream> {
    recipe
        .columns
        .iter()
        .map(|c| {
            let ident = &c.ident;
            quote!(#ident: ::core::option::Option::None)
        })
        .collect()
}

/// `Recipe::derive`'s arms: the user's closure over the row, as written.
pub fn derive_arms(recipe: &Recipe) -> Vec<TokenStream> {
    recipe
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let Some(Kind::Derived(d)) = &c.kind else {
                return None;
            };
            let (ident, ty, param, body) = (&c.ident, &c.ty, &d.param, &d.body);
            let output = &d.closure.output;
            let call = quote_spanned!(d.closure.body.span()=> __chatan_derive(self));
            Some(quote! {
                #i => {
                    let __chatan_derive = |#param: &Self| #output #body;
                    let __chatan_value: #ty = #call;
                    self.#ident = ::core::option::Option::Some(__chatan_value);
                }
            })
        })
        .collect()
}

/// `Recipe::accept`'s arms: a reply parsed into the column's type.
pub fn accept_arms(recipe: &Recipe) -> Vec<TokenStream> {
    let krate = &recipe.krate;
    recipe
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let Some(Kind::Generated(g)) = &c.kind else {
                return None;
            };
            let (ident, ty) = (&c.ident, &c.ty);
            let krate = respanned(krate, g.literal.span());
            Some(quote_spanned! {g.literal.span()=>
                #i => {
                    self.#ident = ::core::option::Option::Some(
                        #krate::__private::parse_reply::<#ty>(__chatan_reply)?,
                    );
                    ::core::result::Result::Ok(())
                }
            })
        })
        .collect()
}

/// `Recipe::write_ref`'s arms: one for each distinct reference (a column, or a field path
/// inside one), spanned on the first template that makes it, so a missing `Display` or a
/// missing field points there.
pub fn write_arms(recipe: &Recipe, references: &[Ref]) -> Vec<TokenStream> {
    let krate = &recipe.krate;
    references
        .iter()
        .enumerate()
        .map(|(k, r)| {
            let ident = &recipe.columns[r.column].ident;
            let fields = r.fields.iter().map(|f| field_ident(f, r.span));
            let krate = respanned(krate, r.span);
            quote_spanned! {r.span=>
                #k => #krate::__private::write_field(
                    __chatan_out,
                    &(*#krate::__private::filled(&self.#ident)) #(.#fields)*,
                ),
            }
        })
        .collect()
}

/// The finished row's fields, moved out of their cells.
pub fn finish(recipe: &Recipe) -> Vec<TokenStream> {
    let krate = &recipe.krate;
    recipe
        .columns
        .iter()
        .map(|c| {
            let ident = &c.ident;
            quote!(#ident: #krate::__private::take(self.#ident))
        })
        .collect()
}
