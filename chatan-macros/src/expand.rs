//! Code emission. The output is thin: a cells struct (one `Option` per column), a
//! samplers struct, the column handles, and an `impl Recipe` whose methods are `match`es
//! that call into `::chatan::__private` (or the `crate = "..."` path). Scheduling, retries, rendering and I/O live in the
//! runtime crate, where they are ordinary tested Rust.

use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};
use syn::spanned::Spanned;

use crate::ast::{Column, Form, Kind, Recipe};
use crate::plan::Plan;
use chatan_template::Node;
use syn::Ident;

/// Emits everything for a recipe that passed all checks.
pub fn expand(recipe: &Recipe, plan: &Plan) -> TokenStream {
    let krate = &recipe.krate;
    let row = &recipe.ident;
    // The helper types are as visible as the row type: `Dataset::Columns` and
    // `Recipe::Row` name them together.
    let vis = &recipe.vis;
    let declaration = declaration(recipe);
    let inherent = inherent_methods(recipe);

    let cells_fields = recipe.columns.iter().map(|c| {
        let (ident, ty) = (&c.ident, &c.ty);
        quote!(#ident: ::core::option::Option<#ty>)
    });
    let empty_cells = recipe.columns.iter().map(|c| {
        let ident = &c.ident;
        quote!(#ident: ::core::option::Option::None)
    });

    let sampled: Vec<(usize, &Column)> = recipe
        .columns
        .iter()
        .enumerate()
        .filter(|(_, c)| matches!(c.kind, Some(Kind::Sampled(_) | Kind::Static(_))))
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
    let is_sampled = |c: &Column| matches!(c.kind, Some(Kind::Sampled(_) | Kind::Static(_)));
    let column_handle_fields = recipe.columns.iter().map(|c| {
        let (ident, ty) = (&c.ident, &c.ty);
        if is_sampled(c) {
            let doc = format!("The sampler of column `{}`.", c.name);
            quote!(#[doc = #doc] pub #ident: #krate::SampledColumn<#row, #ty>)
        } else {
            let doc = format!("Column `{}`, which is not sampled.", c.name);
            quote!(#[doc = #doc] pub #ident: #krate::NotSampled)
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
            #i => self.#ident = ::core::option::Option::Some(#krate::Sampler::sample(&__chatan_samplers.#ident, __chatan_cx)),
        }
    });

    let check_arms = sampled.iter().map(|(i, c)| {
        let ident = &c.ident;
        quote!(#i => #krate::Sampler::check(&__chatan_samplers.#ident),)
    });

    let derive_arms = recipe.columns.iter().enumerate().filter_map(|(i, c)| {
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
    });

    let accept_arms = recipe.columns.iter().enumerate().filter_map(|(i, c)| {
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
    });

    // A `write_ref` arm for each distinct reference (a column, or a field path inside
    // one), spanned on the first template that makes it, so a missing `Display` or a
    // missing field points there.
    let references = references(recipe);
    let write_arms = references.iter().enumerate().map(|(k, r)| {
        let ident = &recipe.columns[r.column].ident;
        let fields = r.fields.iter().map(|f| field_ident(f, r.span));
        let krate = respanned(krate, r.span);
        quote_spanned! {r.span=>
            #k => #krate::__private::write_field(
                __chatan_out,
                &(*#krate::__private::filled(&self.#ident)) #(.#fields)*,
            ),
        }
    });

    let finish_fields = recipe.columns.iter().map(|c| {
        let ident = &c.ident;
        quote!(#ident: #krate::__private::take(self.#ident))
    });

    let spec = spec(recipe, plan, &references);
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
                    __Samplers { #(#sampler_inits,)* }
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
                    __chatan_cx: &mut #krate::SampleContext,
                ) {
                    match __chatan_column {
                        #(#sample_arms)*
                        _ => #krate::__private::unreachable_column(__chatan_column),
                    }
                }

                fn derive(&mut self, __chatan_column: usize) {
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

                fn accept(
                    &mut self,
                    __chatan_column: usize,
                    __chatan_reply: ::std::string::String,
                ) -> ::core::result::Result<(), #krate::ReplyError> {
                    match __chatan_column {
                        #(#accept_arms)*
                        _ => #krate::__private::unreachable_column(__chatan_column),
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
            }

            #inherent
        };
    }
}

/// The struct itself, for the declaration form (the derive form's user wrote it).
pub fn declaration(recipe: &Recipe) -> TokenStream {
    if recipe.form != Form::Declare {
        return TokenStream::new();
    }
    let (attrs, vis, ident, generics) =
        (&recipe.attrs, &recipe.vis, &recipe.ident, &recipe.generics);
    let where_clause = &generics.where_clause;
    // A duplicate column is reported by `check.rs`; declaring it twice would only add
    // rustc's own error about the same thing.
    let mut seen = std::collections::HashSet::new();
    let fields = recipe
        .columns
        .iter()
        .filter(|c| seen.insert(&c.name))
        .map(|c| {
            // A recipe attribute here is already reported; rustc would only add that
            // it does not know it.
            let attrs = c.attrs.iter().filter(|a| !crate::attr::is_recipe_attr(a));
            let (vis, ident, ty) = (&c.vis, &c.ident, &c.ty);
            quote!(#(#attrs)* #vis #ident: #ty)
        });
    quote! {
        #(#attrs)*
        #vis struct #ident #generics #where_clause {
            #(#fields,)*
        }
    }
}

/// `Row::runner(..)` and `Row::generate(..)` without importing the `Dataset` trait.
pub fn inherent_methods(recipe: &Recipe) -> TokenStream {
    if !recipe.methods {
        return TokenStream::new();
    }
    let krate = &recipe.krate;
    let krate_path = quote!(#krate).to_string().replace(' ', "");
    let row = &recipe.ident;
    let (impl_generics, ty_generics, where_clause) = recipe.generics.split_for_impl();
    let doc_runner = format!(
        "A [`Runner`]({krate_path}::Runner) that generates [`{row}`] rows with `generators`, \
         for tuning concurrency, seed, progress and samplers."
    );
    let doc_generate = format!(
        "Generates `n` [`{row}`] rows with `generators`, in row order, with default settings."
    );
    quote! {
        #[automatically_derived]
        impl #impl_generics #row #ty_generics #where_clause {
            #[doc = #doc_runner]
            #[allow(dead_code)]
            pub fn runner<'g, G>(generators: &'g G) -> #krate::Runner<'g, Self, G>
            where
                G: #krate::Generators + ?::core::marker::Sized,
            {
                #krate::Runner::new(generators)
            }

            #[doc = #doc_generate]
            #[allow(dead_code)]
            pub fn generate<'g, G>(
                generators: &'g G,
                n: usize,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<
                    ::std::vec::Vec<Self>,
                    #krate::RunError<Self>,
                >,
            > + ::core::marker::Send + 'g
            where
                G: #krate::Generators + ?::core::marker::Sized,
            {
                #krate::Runner::new(generators).generate(n)
            }
        }
    }
}

/// One distinct reference of the recipe's templates: `Piece::Ref(k)` is the `k`-th.
struct Ref {
    column: usize,
    fields: Vec<String>,
    span: Span,
}

/// The distinct references of every template, numbered in order of appearance.
fn references(recipe: &Recipe) -> Vec<Ref> {
    let mut found: Vec<Ref> = Vec::new();
    for c in &recipe.columns {
        if let Some(Kind::Generated(g)) = &c.kind {
            for r in g.template.iter().flat_map(|t| t.references()) {
                let Some(column) = recipe.columns.iter().position(|c| c.name == r.column()) else {
                    continue;
                };
                if !found
                    .iter()
                    .any(|f| f.column == column && f.fields == r.fields())
                {
                    found.push(Ref {
                        column,
                        fields: r.fields().to_vec(),
                        span: g.literal.span(),
                    });
                }
            }
        }
    }
    found
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

/// A field name as an identifier (raw if it is a keyword, as in `{review.r#type}`).
fn field_ident(name: &str, span: Span) -> Ident {
    if syn::parse_str::<Ident>(name).is_ok() {
        Ident::new(name, span)
    } else {
        Ident::new_raw(name, span)
    }
}

/// The static description of the recipe that the engine schedules from.
fn spec(recipe: &Recipe, plan: &Plan, references: &[Ref]) -> TokenStream {
    let krate = &recipe.krate;
    let name = recipe.ident.to_string();
    let columns = recipe.columns.iter().enumerate().map(|(i, c)| {
        let column_name = &c.name;
        let deps = &plan.deps[i];
        let dependents = &plan.dependents[i];
        let kind = match &c.kind {
            Some(Kind::Sampled(_)) => quote!(#krate::__private::ColumnKind::Sampled),
            Some(Kind::Static(_)) => quote!(#krate::__private::ColumnKind::Static),
            Some(Kind::Derived(_)) => quote!(#krate::__private::ColumnKind::Derived),
            Some(Kind::Generated(g)) => {
                let pieces = g
                    .template
                    .iter()
                    .flat_map(|t| &t.nodes)
                    .map(|node| match node {
                        Node::Text(text) => quote!(#krate::__private::Piece::Text(#text)),
                        Node::Ref(r) => {
                            let k = references
                                .iter()
                                .position(|f| {
                                    recipe.columns[f.column].name == r.column()
                                        && f.fields == r.fields()
                                })
                                .expect("every reference was numbered");
                            quote!(#krate::__private::Piece::Ref(#k))
                        }
                        Node::If(_) => {
                            unreachable!("the template parser makes no conditionals yet")
                        }
                    });
                let o = &g.options;
                let temperature = option(o.temperature.map(|t| quote!(#t)));
                let max_tokens = option(o.max_tokens.map(|t| quote!(#t)));
                let system = option(o.system.as_ref().map(|s| quote!(#s)));
                let model = option(o.model.as_ref().map(|s| quote!(#s)));
                let generator = option(o.generator.as_ref().map(|s| quote!(#s)));
                quote! {
                    #krate::__private::ColumnKind::Generated(#krate::__private::GenSpec {
                        template: &[#(#pieces),*],
                        temperature: #temperature,
                        max_tokens: #max_tokens,
                        system: #system,
                        model: #model,
                        generator: #generator,
                    })
                }
            }
            None => unreachable!("expand runs only on recipes without errors"),
        };
        quote! {
            #krate::__private::ColumnSpec {
                name: #column_name,
                kind: #kind,
                deps: &[#(#deps),*],
                dependents: &[#(#dependents),*],
            }
        }
    });
    quote! {
        #krate::__private::Spec {
            name: #name,
            columns: &[#(#columns),*],
        }
    }
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}
