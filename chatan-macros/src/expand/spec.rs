//! The static `Spec` the engine schedules from: column names, kinds, dependencies, and
//! each template compiled to `Piece`s over numbered references.

use chatan_template::Node;
use proc_macro2::{Span, TokenStream};
use quote::quote;

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
            // Only references written into prompts; the ones conditions read are
            // compared, not written, so they need no `Display`.
            for r in g.template.iter().flat_map(|t| t.rendered_references()) {
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

/// A template's nodes as `Piece`s; each condition met is numbered in turn and its
/// expression pushed onto `conditions` (which `Recipe::test` matches on).
fn compile(
    recipe: &Recipe,
    references: &[Ref],
    nodes: &[Node],
    span: Span,
    conditions: &mut Vec<(TokenStream, Vec<usize>)>,
) -> Vec<TokenStream> {
    let krate = &recipe.krate;
    nodes
        .iter()
        .map(|node| match node {
            Node::Text(text) => quote!(#krate::__private::Piece::Text(#text)),
            Node::Ref(r) => {
                let k = references
                    .iter()
                    .position(|f| {
                        recipe.columns[f.column].name == r.column() && f.fields == r.fields()
                    })
                    .expect("every reference was numbered");
                quote!(#krate::__private::Piece::Ref(#k))
            }
            Node::If(conditional) => {
                let mut arms = Vec::new();
                for branch in &conditional.branches {
                    let n = conditions.len();
                    let mut reads: Vec<usize> = Vec::new();
                    for r in branch.condition.references() {
                        let column = recipe.columns.iter().position(|c| c.name == r.column());
                        if let Some(c) = column.filter(|c| !reads.contains(c)) {
                            reads.push(c);
                        }
                    }
                    let expression = super::conditions::expression(recipe, &branch.condition, span);
                    conditions.push((expression, reads));
                    let body = compile(recipe, references, &branch.body, span, conditions);
                    arms.push(quote! {
                        #krate::__private::Arm {
                            condition: ::core::option::Option::Some(#n),
                            body: &[#(#body),*],
                        }
                    });
                }
                if !conditional.otherwise.is_empty() {
                    let body =
                        compile(recipe, references, &conditional.otherwise, span, conditions);
                    arms.push(quote! {
                        #krate::__private::Arm {
                            condition: ::core::option::Option::None,
                            body: &[#(#body),*],
                        }
                    });
                }
                quote!(#krate::__private::Piece::If(&[#(#arms),*]))
            }
        })
        .collect()
}

/// The static description of the recipe that the engine schedules from, and the
/// expressions of its templates' conditions, in the order the pieces number them.
pub fn spec(recipe: &Recipe, plan: &Plan, references: &[Ref]) -> (TokenStream, Vec<TokenStream>) {
    let mut conditions = Vec::new();
    let conditions_ref = &mut conditions;
    let krate = &recipe.krate;
    let name = recipe.ident.to_string();
    let columns: Vec<TokenStream> = recipe
        .columns
        .iter()
        .enumerate()
        .map(|(i, c)| {
            let conditions = &mut *conditions_ref;
            let column_name = &c.name;
            let deps = &plan.deps[i];
            let dependents = &plan.dependents[i];
            let kind = match &c.kind {
                Some(Kind::Sampled(_)) => quote!(#krate::__private::ColumnKind::Sampled),
                Some(Kind::Static(_)) => quote!(#krate::__private::ColumnKind::Static),
                Some(Kind::Derived(_)) => quote!(#krate::__private::ColumnKind::Derived),
                Some(Kind::Generated(g)) => {
                    let pieces = g.template.as_ref().map_or_else(Vec::new, |t| {
                        compile(recipe, references, &t.nodes, g.literal.span(), conditions)
                    });
                    let o = &g.options;
                    let set = |field: &str, value: Option<TokenStream>| {
                        value.map(|v| {
                            let field = syn::Ident::new(field, proc_macro2::Span::call_site());
                            quote!(#field: ::core::option::Option::Some(#v),)
                        })
                    };
                    let lit = |s: &Option<syn::LitStr>| s.as_ref().map(|s| quote!(#s));
                    let options = [
                        set("system", lit(&o.system)),
                        set("temperature", o.temperature.map(|t| quote!(#t))),
                        set("max_tokens", o.max_tokens.map(|t| quote!(#t))),
                        set("top_p", o.top_p.map(|p| quote!(#p))),
                        set("top_k", o.top_k.map(|k| quote!(#k))),
                        set("model", lit(&o.model)),
                        set("seed", o.seed.map(|s| quote!(#s))),
                        (!o.stop.is_empty()).then(|| {
                            let stop = &o.stop;
                            quote!(stop: &[#(#stop),*],)
                        }),
                        o.cache_system.map(|c| quote!(cache_system: #c,)),
                    ];
                    let options = options.into_iter().flatten();
                    let trim = o.trim.unwrap_or(true);
                    let distinct = match o.distinct {
                        crate::ast::Distinct::No => quote!(#krate::__private::Distinct::No),
                        crate::ast::Distinct::Exact => quote!(#krate::__private::Distinct::Exact),
                        crate::ast::Distinct::Near(t) => {
                            quote!(#krate::__private::Distinct::Near(#t))
                        }
                    };
                    let generator = option(o.generator.as_ref().map(|s| quote!(#s)));
                    quote! {
                        #krate::__private::ColumnKind::Generated(#krate::__private::GenSpec {
                            template: &[#(#pieces),*],
                            options: #krate::__private::Options {
                                #(#options)*
                                ..#krate::__private::Options::NONE
                            },
                            generator: #generator,
                            trim: #trim,
                            distinct: #distinct,
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
        })
        .collect();
    let reference_columns = references.iter().map(|r| r.column);
    let condition_columns = conditions.iter().map(|(_, reads)| quote!(&[#(#reads),*]));
    let definition = definition(recipe);
    let spec = quote! {
        #krate::__private::Spec {
            name: #name,
            columns: &[#(#columns),*],
            references: &[#(#reference_columns),*],
            conditions: &[#(#condition_columns),*],
            definition: #definition,
        }
    };
    (spec, conditions.into_iter().map(|(e, _)| e).collect())
}

fn option(value: Option<TokenStream>) -> TokenStream {
    match value {
        Some(v) => quote!(::core::option::Option::Some(#v)),
        None => quote!(::core::option::Option::None),
    }
}

/// A hash of what the recipe makes but its columns' options (see `Spec::fingerprint`):
/// each column's name, type and how it is filled (the template, generator and trimming,
/// or the sampler, value or closure as tokens). Derives, docs and
/// attributes that do not change the rows leave it alone.
fn definition(recipe: &Recipe) -> u64 {
    use quote::ToTokens;
    let mut text = recipe.ident.to_string();
    for c in &recipe.columns {
        text.push('\n');
        text.push_str(&c.name);
        text.push(':');
        text.push_str(&c.ty.to_token_stream().to_string());
        text.push('=');
        match &c.kind {
            Some(Kind::Generated(g)) => {
                // The options count in `Spec::fingerprint`, from the `Options` they make.
                let o = &g.options;
                text.push_str(&format!(
                    "gen({:?}, {:?}, {:?}, {})",
                    g.literal.value(),
                    o.generator.as_ref().map(syn::LitStr::value),
                    o.trim,
                    match o.distinct {
                        crate::ast::Distinct::No => "any".to_owned(),
                        crate::ast::Distinct::Exact => "distinct".to_owned(),
                        crate::ast::Distinct::Near(t) => format!("distinct {t}"),
                    },
                ));
                // A changed check changes which replies are kept.
                match o.check.as_deref() {
                    Some(crate::ast::Check::Value(e)) => {
                        text.push_str(" check ");
                        text.push_str(&e.to_token_stream().to_string());
                    }
                    Some(crate::ast::Check::Row(c)) => {
                        text.push_str(" check ");
                        text.push_str(&c.closure.to_token_stream().to_string());
                    }
                    None => {}
                }
            }
            Some(Kind::Sampled(e)) => {
                text.push_str("sample ");
                text.push_str(&e.to_token_stream().to_string());
            }
            Some(Kind::Static(e)) => {
                text.push_str("value ");
                text.push_str(&e.to_token_stream().to_string());
            }
            Some(Kind::Derived(d)) => {
                text.push_str("derived ");
                text.push_str(&d.closure.to_token_stream().to_string());
            }
            None => {}
        }
    }
    // FNV-1a: stable across compilers and runs, unlike the std hasher.
    text.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |hash, b| {
        (hash ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}
