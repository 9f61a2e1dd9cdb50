//! `#[derive(ColumnType)]`: a struct of columnable fields becomes a polars `Struct`
//! column, its dtype known from the field types alone.

use proc_macro2::TokenStream;
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;
use syn::{Data, DeriveInput, Fields};

use crate::ast::unraw;
use crate::attr;
use crate::ctxt::Ctxt;

/// Expands the derive, or returns every error with no impl (a missing impl only makes
/// rustc say the type has no dtype, which the errors already explain).
pub fn expand(input: DeriveInput) -> TokenStream {
    let cx = Ctxt::new();
    let container = attr::container(&cx, &input.attrs);
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) if !named.named.is_empty() => Some(named.named.clone()),
            Fields::Named(_) | Fields::Unit => {
                cx.error(
                    input.ident.span(),
                    "#[derive(ColumnType)] needs a struct with at least one field: a polars \
                     struct column has one field per struct field",
                );
                None
            }
            Fields::Unnamed(_) => {
                cx.error(
                    input.ident.span(),
                    "#[derive(ColumnType)] needs named fields, which name the struct \
                     column's fields; for a tuple struct, implement `ColumnType` by hand or \
                     mark the column `#[chatan(json)]`",
                );
                None
            }
        },
        Data::Enum(e) => {
            cx.error(
                e.enum_token.span,
                "#[derive(ColumnType)] needs a struct; an enum has no polars dtype of its \
                 own: implement `ColumnType` by hand (say, as its name in a string column) \
                 or mark the column `#[chatan(json)]`",
            );
            None
        }
        Data::Union(u) => {
            cx.error(u.union_token.span, "#[derive(ColumnType)] needs a struct");
            None
        }
    };
    let mut dtypes = Vec::new();
    let mut series = Vec::new();
    let mut bounds = Vec::new();
    let krate = &container.krate;
    for field in fields.iter().flatten() {
        let json = attr::column_json(&cx, &field.attrs);
        let Some(ident) = &field.ident else { continue };
        let name = unraw(ident);
        let ty = &field.ty;
        if json {
            dtypes.push(quote! { (#name, #krate::__private::data::DataType::String) });
            series.push(quote! {
                #krate::__private::data::struct_json_field(
                    #name, __chatan_values, |__chatan_value: &Self| &__chatan_value.#ident,
                )?
            });
            bounds.push(quote! { #ty: #krate::__private::serde::Serialize });
        } else {
            dtypes.push(quote_spanned! {ty.span()=>
                (#name, <#ty as #krate::data::ColumnType>::dtype())
            });
            // Spanned on the field's type, so a type with no dtype is reported there once.
            series.push(quote_spanned! {ty.span()=>
                <#ty as #krate::data::ColumnType>::series_of_options(
                    ::std::convert::From::from(#name),
                    &#krate::__private::data::struct_field(
                        __chatan_values, |__chatan_value: &Self| &__chatan_value.#ident,
                    ),
                )?
            });
            bounds.push(quote! { #ty: #krate::data::ColumnType });
        }
    }
    if let Err(errors) = cx.check() {
        return errors.to_compile_error();
    }
    let ident = &input.ident;
    let (impl_generics, ty_generics, where_clause) = input.generics.split_for_impl();
    let mut predicates: Vec<TokenStream> = where_clause
        .map(|w| w.predicates.iter().map(|p| quote!(#p)).collect())
        .unwrap_or_default();
    if !input.generics.params.is_empty() {
        predicates.extend(bounds);
    }
    quote! {
        #[automatically_derived]
        impl #impl_generics #krate::data::ColumnType for #ident #ty_generics
        where #(#predicates,)*
        {
            fn dtype() -> #krate::__private::data::DataType {
                #krate::__private::data::struct_dtype(::std::vec![#(#dtypes),*])
            }
            fn series_of_options(
                __chatan_name: #krate::__private::data::PlSmallStr,
                __chatan_values: &[::std::option::Option<&Self>],
            ) -> #krate::__private::data::PolarsResult<#krate::__private::data::Series> {
                #krate::__private::data::struct_series(
                    __chatan_name,
                    __chatan_values,
                    ::std::vec![#(#series),*],
                )
            }
        }
    }
}
