//! The cells struct (one `Option` per column, filled as the row is built) and the
//! `derive` / `accept` / `write_ref` / `finish` arms of the `Recipe` impl.

use proc_macro2::TokenStream;
use quote::{format_ident, quote, quote_spanned};
use syn::Ident;
use syn::spanned::Spanned;

use super::ident::field_ident;
use super::respanned;
use super::spec::Ref;
use crate::ast::{Check, Column, Kind, Recipe};

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

/// The name of the function that computes derived column `c`.
fn derive_fn(c: &Column) -> Ident {
    format_ident!("__chatan_derive_{}", c.name)
}

/// The derived columns' closures, as associated functions of the row type: there, as in
/// the struct the user wrote, `Self` is the row type, and the body sees nothing of the
/// emitted code but its parameter, the row being built.
pub fn derive_fns(recipe: &Recipe) -> TokenStream {
    let row = &recipe.ident;
    let fns = recipe.columns.iter().filter_map(|c| {
        let Some(Kind::Derived(d)) = &c.kind else {
            return None;
        };
        let (name, param, body) = (derive_fn(c), &d.param, &d.body);
        let output = match &d.closure.output {
            syn::ReturnType::Default => {
                let ty = &c.ty;
                quote!(-> #ty)
            }
            explicit => quote!(#explicit),
        };
        // A block body is the function's body as it is; anything else gets braces.
        let is_block = matches!(&*d.closure.body,
            syn::Expr::Block(b) if b.label.is_none() && b.attrs.is_empty());
        let body = if is_block {
            body.clone()
        } else {
            quote!({ #body })
        };
        Some(quote! {
            #[doc(hidden)]
            fn #name(#param: &__Cells) #output #body
        })
    });
    quote! {
        #[automatically_derived]
        impl #row {
            #(#fns)*
        }
    }
}

/// `Recipe::derive`'s arms: a call of the column's function (whose error, for a closure
/// declared `-> Result<T, E>`, fails the cell).
pub fn derive_arms(recipe: &Recipe) -> Vec<TokenStream> {
    let row = &recipe.ident;
    let krate = &recipe.krate;
    recipe
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let Some(Kind::Derived(d)) = &c.kind else {
                return None;
            };
            let (ident, ty, name) = (&c.ident, &c.ty, derive_fn(c));
            let call = if d.fallible {
                quote_spanned!(d.closure.body.span()=> #krate::__private::fallible(<#row>::#name(self))?)
            } else {
                quote_spanned!(d.closure.body.span()=> <#row>::#name(self))
            };
            Some(quote! {
                #i => {
                    let __chatan_value: #ty = #call;
                    self.#ident = ::core::option::Option::Some(__chatan_value);
                    ::core::result::Result::Ok(())
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
            // Spanned on the type, where a type that cannot be read is reported.
            let parsed = probe(&krate, ty, ty.span(), quote!(parse(__chatan_reply)));
            let checked = g
                .options
                .check
                .as_ref()
                .map(|check| check_call(&recipe.krate, check, ty));
            Some(quote_spanned! {g.literal.span()=>
                #i => {
                    let __chatan_value: #ty = #parsed?;
                    #checked
                    self.#ident = ::core::option::Option::Some(__chatan_value);
                    ::core::result::Result::Ok(())
                }
            })
        })
        .collect()
}

/// A column's check on `__chatan_value`, its failure returned as the reply's error (so
/// the question is asked again with the reason). The user's expression keeps its span,
/// so rustc reports a check of the wrong type on it.
fn check_call(krate: &syn::Path, check: &Check, ty: &syn::Type) -> TokenStream {
    // A text column's check takes `&str`, as a function over text is written.
    let is_string = matches!(ty, syn::Type::Path(p) if p.qself.is_none()
        && p.path.segments.last().is_some_and(|s| s.ident == "String" && s.arguments.is_none()));
    let arg = if is_string {
        quote!(::std::string::String::as_str(&__chatan_value))
    } else {
        quote!(&__chatan_value)
    };
    match check {
        Check::Value(expr) => {
            let krate = respanned(krate, expr.span());
            let call =
                quote_spanned!(expr.span()=> #krate::__private::check::<#ty, _, _, _>(#arg, #expr));
            quote!(#call?;)
        }
        Check::Row(c) => {
            let (value, row, body) = (&c.value, &c.row, &c.body);
            let output = &c.closure.output;
            let krate = respanned(krate, c.closure.span());
            let closure = quote_spanned!(c.closure.span()=> |#value| #output #body);
            let call = quote_spanned!(c.closure.span()=> #krate::__private::check::<#ty, _, _, _>(#arg, #closure));
            quote! {
                {
                    let #row: &Self = &*self;
                    #call?;
                }
            }
        }
    }
}

/// `Recipe::schema`'s arms: the schema of each structured column's type.
pub fn schema_arms(recipe: &Recipe) -> Vec<TokenStream> {
    probe_arms(recipe, quote!(schema()))
}

/// `Recipe::shape`'s arms: the reply shape of each text column's type (none for
/// structured columns, whose schema holds the reply).
pub fn shape_arms(recipe: &Recipe) -> Vec<TokenStream> {
    probe_arms(recipe, quote!(shape()))
}

/// One `column => probe.call` arm per generated column.
fn probe_arms(recipe: &Recipe, call: TokenStream) -> Vec<TokenStream> {
    recipe
        .columns
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let Some(Kind::Generated(g)) = &c.kind else {
                return None;
            };
            let krate = respanned(&recipe.krate, g.literal.span());
            let value = probe(&krate, &c.ty, g.literal.span(), call.clone());
            Some(quote_spanned! {g.literal.span()=> #i => #value, })
        })
        .collect()
}

/// `call` on the probe that picks how a column's type is read from a reply (text through
/// `FromReply`, else structured JSON), with the probe's traits in scope under `_` names
/// inside a block of its own.
fn probe(
    krate: &TokenStream,
    ty: &syn::Type,
    span: proc_macro2::Span,
    call: TokenStream,
) -> TokenStream {
    let call: TokenStream = call
        .into_iter()
        .map(|mut t| {
            t.set_span(span);
            t
        })
        .collect();
    quote_spanned! {span=>
        {
            // Only the trait that applies is used; the allow covers this `use` alone.
            #[allow(unused_imports)]
            use #krate::__private::reply::{
                NoReply as _, StructuredReply as _, TextReply as _,
            };
            (&&&#krate::__private::reply::Probe::<#ty>::new()).#call
        }
    }
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

/// `Recipe::show`'s arms: each column by the first of `Display`, `Serialize`, `Debug`
/// its type has (autoref specialization; see `__private::show`).
pub fn show_arms(recipe: &Recipe) -> Vec<TokenStream> {
    let krate = &recipe.krate;
    recipe
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let ident = &c.ident;
            quote! {
                #i => (&&&&#krate::__private::show::Cell(&self.#ident)).__chatan_show(__chatan_f),
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
