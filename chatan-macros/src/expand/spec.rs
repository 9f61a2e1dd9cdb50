//! The static `Spec` the engine schedules from: column names, kinds, dependencies, and
//! each template compiled to `Piece`s over numbered references.

use chatan_template::Node;
use proc_macro2::{Span, TokenStream};
use quote::quote;
use syn::Ident;

use crate::ast::{Kind, Recipe};
use crate::plan::Plan;

/// One distinct reference of the recipe's templates: `Piece::Ref(k)` is the `k`-th.
pub struct Ref {
    /// The column's index.
    pub column: usize,
    /// The field path inside it.
    pub fields: Vec<String>,
    /// The template literal that first makes it.
    pub span: Span,
}

/// The distinct references of every template, numbered in order of appearance.
pub fn references(recipe: &Recipe) -> Vec<Ref> {
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

/// A field name as an identifier (raw if it is a keyword, as in `{review.r#type}`).
pub fn field_ident(name: &str, span: Span) -> Ident {
    if syn::parse_str::<Ident>(name).is_ok() {
        Ident::new(name, span)
    } else {
        Ident::new_raw(name, span)
    }
}

/// The static description of the recipe that the engine schedules from.
pub fn spec(recipe: &Recipe, plan: &Plan, references: &[Ref]) -> TokenStream {
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
                let top_p = option(o.top_p.map(|p| quote!(#p)));
                let trim = o.trim.unwrap_or(true);
                let system = option(o.system.as_ref().map(|s| quote!(#s)));
                let model = option(o.model.as_ref().map(|s| quote!(#s)));
                let generator = option(o.generator.as_ref().map(|s| quote!(#s)));
                quote! {
                    #krate::__private::ColumnKind::Generated(#krate::__private::GenSpec {
                        template: &[#(#pieces),*],
                        temperature: #temperature,
                        max_tokens: #max_tokens,
                        top_p: #top_p,
                        system: #system,
                        model: #model,
                        generator: #generator,
                        trim: #trim,
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
