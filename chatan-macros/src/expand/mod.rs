//! Code emission. The output is thin: a cells struct (one `Option` per column), a
//! samplers struct, the column handles, and an `impl Recipe` whose methods are `match`es
//! that call into `::chatan::__private` (or the `crate = "..."` path). Scheduling,
//! retries, rendering and I/O live in the runtime crate, where they are ordinary tested
//! Rust. One file per emitted part:
//!
//! * `declaration.rs`: the row struct (declaration form);
//! * `spec.rs`: the static `Spec` and the numbered template references;
//! * `mod.rs` (here): the cells struct, the samplers struct, the column handles and the
//!   `impl Recipe` / `impl Dataset` that tie them together;
//! * `methods.rs`: the inherent `runner` and `generate`.
//!
//! Everything sits in a `const _: () = { ... }` block, so no helper name reaches the
//! user's namespace; the emitted methods' own parameters are `__chatan_`-prefixed, so a
//! user's closure body cannot name them by accident.

mod cells;
mod conditions;
mod declaration;
mod ident;
mod methods;
mod samplers;
mod spec;

pub use self::declaration::declaration;
pub use self::methods::inherent_methods;

use proc_macro2::{Span, TokenStream};
use quote::quote;

use self::samplers::Samplers;
use self::spec::{references, spec};
use crate::ast::Recipe;
use crate::plan::Plan;

/// Emits everything for a recipe that passed all checks.
pub fn expand(recipe: &Recipe, plan: &Plan) -> TokenStream {
    let krate = &recipe.krate;
    let row = &recipe.ident;
    // The helper types are as visible as the row type: `Dataset::Columns` and
    // `Recipe::Row` name them together.
    let vis = &recipe.vis;
    let declaration = declaration(recipe);
    let inherent = inherent_methods(recipe);

    let cells_fields = cells::fields(recipe);
    let empty_cells = cells::empty(recipe);
    let Samplers {
        fields: sampler_fields,
        inits: sampler_inits,
        handle_fields: column_handle_fields,
        handles: column_handles,
        sample_arms,
        check_arms,
    } = samplers::emit(recipe);
    let derive_arms = cells::derive_arms(recipe);
    let derive_fns = cells::derive_fns(recipe);
    let accept_arms = cells::accept_arms(recipe);
    let schema_arms = cells::schema_arms(recipe);
    let shape_arms = cells::shape_arms(recipe);
    let references = references(recipe);
    let write_arms = cells::write_arms(recipe, &references);
    let finish_fields = cells::finish(recipe);
    let show_arms = cells::show_arms(recipe);
    let (frame_type, frame_value) = frame_list(recipe);

    let (spec, conditions) = spec(recipe, plan, &references);
    let test_arms = conditions
        .iter()
        .enumerate()
        .map(|(n, expression)| quote!(#n => #expression,));
    let columns_doc = format!("Handles to the columns of [`{row}`].");

    quote! {
        #declaration

        #[doc(hidden)]
        const _: () = {
            #vis struct __Cells {
                #(#cells_fields,)*
            }

            #vis struct __Samplers {
                #(#sampler_fields,)*
            }

            #[doc = #columns_doc]
            #vis struct __Columns {
                #(#column_handle_fields,)*
            }

            #[automatically_derived]
            impl #krate::__private::Recipe for __Cells {
                type Row = #row;
                type Samplers = __Samplers;

                const SPEC: #krate::__private::Spec = #spec;

                fn new() -> Self {
                    __Cells { #(#empty_cells,)* }
                }

                fn samplers() -> __Samplers {
                    <#row>::__chatan_samplers()
                }

                fn check_sampler(
                    __chatan_samplers: &__Samplers,
                    __chatan_column: usize,
                ) -> ::core::result::Result<(), #krate::sample::SamplerError> {
                    match __chatan_column {
                        #(#check_arms)*
                        _ => #krate::__private::unreachable_column(__chatan_column),
                    }
                }

                fn sample(
                    &mut self,
                    __chatan_column: usize,
                    __chatan_samplers: &__Samplers,
                    __chatan_cx: &mut #krate::__private::SampleContext,
                ) {
                    match __chatan_column {
                        #(#sample_arms)*
                        _ => #krate::__private::unreachable_column(__chatan_column),
                    }
                }

                fn derive(
                    &mut self,
                    __chatan_column: usize,
                ) -> ::core::result::Result<(), #krate::__private::DeriveError> {
                    match __chatan_column {
                        #(#derive_arms)*
                        _ => #krate::__private::unreachable_column(__chatan_column),
                    }
                }

                fn write_ref(
                    &self,
                    __chatan_reference: usize,
                    __chatan_out: &mut ::std::string::String,
                ) {
                    match __chatan_reference {
                        #(#write_arms)*
                        _ => #krate::__private::unreachable_column(__chatan_reference),
                    }
                }

                fn test(&self, __chatan_condition: usize) -> bool {
                    match __chatan_condition {
                        #(#test_arms)*
                        _ => #krate::__private::unreachable_column(__chatan_condition),
                    }
                }

                fn schema(
                    __chatan_column: usize,
                ) -> ::core::option::Option<
                    ::std::sync::Arc<#krate::structured::Schema>,
                > {
                    match __chatan_column {
                        #(#schema_arms)*
                        _ => ::core::option::Option::None,
                    }
                }

                fn shape(
                    __chatan_column: usize,
                ) -> ::core::option::Option<#krate::__private::Shape> {
                    match __chatan_column {
                        #(#shape_arms)*
                        _ => ::core::option::Option::None,
                    }
                }

                fn accept(
                    &mut self,
                    __chatan_column: usize,
                    __chatan_reply: ::std::string::String,
                ) -> ::core::result::Result<(), #krate::__private::ReplyError> {
                    match __chatan_column {
                        #(#accept_arms)*
                        _ => #krate::__private::unreachable_column(__chatan_column),
                    }
                }

                fn show(
                    &self,
                    __chatan_column: usize,
                    __chatan_f: &mut ::core::fmt::Formatter<'_>,
                ) -> ::core::fmt::Result {
                    // Underscore imports: the methods, no names.
                    #[allow(unused_imports)]
                    use #krate::__private::show::{
                        ViaDebug as _, ViaDisplay as _, ViaName as _, ViaSerialize as _,
                    };
                    match __chatan_column {
                        #(#show_arms)*
                        _ => ::core::result::Result::Ok(()),
                    }
                }

                fn finish(self) -> #row {
                    #row { #(#finish_fields,)* }
                }
            }

            #[automatically_derived]
            impl #krate::Dataset for #row {
                type Columns = __Columns;
                type __Recipe = __Cells;

                fn __columns() -> __Columns {
                    __Columns { #(#column_handles,)* }
                }

                type __Frame = #frame_type;

                fn __frame() -> Self::__Frame {
                    #frame_value
                }
            }

            #derive_fns


            // The user's sampler expressions, where `Self` is the row type as in the
            // struct they wrote.
            #[automatically_derived]
            impl #row {
                #[doc(hidden)]
                fn __chatan_samplers() -> __Samplers {
                    __Samplers { #(#sampler_inits,)* }
                }
            }

            #inherent
        };
    }
}

/// The columns' getters as a type-level list, `(Col<Row, A>, (Json<Row, B>, ()))`, and
/// its value: what the data layer builds a `DataFrame` from.
fn frame_list(recipe: &Recipe) -> (TokenStream, TokenStream) {
    let krate = &recipe.krate;
    let row = &recipe.ident;
    let mut ty = quote!(());
    let mut value = quote!(());
    for c in recipe.columns.iter().rev() {
        let (ident, field_ty) = (&c.ident, &c.ty);
        let wrapper = if c.json {
            quote!(#krate::__private::Json)
        } else {
            quote!(#krate::__private::Col)
        };
        ty = quote!((#wrapper<#row, #field_ty>, #ty));
        value = quote!((#wrapper(|row: &#row| &row.#ident), #value));
    }
    (ty, value)
}

/// The crate path with every token spanned at `span`, for code whose errors must point
/// at the user's expression rather than at the macro call.
fn respanned(path: &syn::Path, span: Span) -> TokenStream {
    use quote::ToTokens;
    path.to_token_stream()
        .into_iter()
        .map(|mut token| {
            token.set_span(span);
            token
        })
        .collect()
}
