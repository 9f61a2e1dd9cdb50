//! The declaration form: `dataset! { struct Name { field: Type = recipe, ... } }`, which
//! declares the struct and its recipe in one place.
//!
//! A recipe is read by its shape:
//!
//! * `gen("...", options)` is a generated column;
//! * a closure `|row| ...` is a derived column;
//! * a literal (`true`, `"b"`, `3`, `-1.5`) or `value(expr)` is a static value;
//! * any other expression builds a sampler (`sample::choice([...])`, `my_sampler()`).

use proc_macro2::{Span, TokenStream, TokenTree};
use syn::parse::{Parse, ParseStream};
use syn::punctuated::Punctuated;
use syn::{
    Attribute, Expr, ExprCall, ExprLit, ExprUnary, Generics, Ident, Token, Type, UnOp, Visibility,
    braced, parenthesized,
};

use crate::ast::{Column, Form, Kind, Recipe, unraw};
use crate::attr;
use crate::closure;
use crate::ctxt::Ctxt;
use crate::qualify;

/// The body of `dataset! { ... }` as written, before any checks.
pub struct Declaration {
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    generics: Generics,
    columns: Punctuated<RawColumn, Token![,]>,
}

struct RawColumn {
    attrs: Vec<Attribute>,
    vis: Visibility,
    ident: Ident,
    ty: Type,
    value: Option<RawValue>,
}

enum RawValue {
    Gen { keyword: Span, args: TokenStream },
    Expr(Expr),
}

impl Parse for Declaration {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        input.parse::<Token![struct]>()?;
        let ident: Ident = input.parse()?;
        let mut generics: Generics = input.parse()?;
        generics.where_clause = input.parse()?;
        let content;
        braced!(content in input);
        let columns = content.parse_terminated(RawColumn::parse, Token![,])?;
        if !input.is_empty() {
            return Err(input.error("dataset! declares exactly one struct"));
        }
        Ok(Declaration {
            attrs,
            vis,
            ident,
            generics,
            columns,
        })
    }
}

impl Parse for RawColumn {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        let attrs = input.call(Attribute::parse_outer)?;
        let vis: Visibility = input.parse()?;
        let ident: Ident = input.parse()?;
        input.parse::<Token![:]>()?;
        let ty: Type = input.parse()?;
        let value = if input.peek(Token![=]) {
            input.parse::<Token![=]>()?;
            Some(parse_value(input)?)
        } else if input.is_empty() || input.peek(Token![,]) {
            None
        } else {
            return Err(input.error(format!(
                "expected `=` and the column's recipe after its type: \
                 `{ident}: {ty} = gen(\"...\")`",
                ty = quote::ToTokens::to_token_stream(&ty)
                    .to_string()
                    .replace(' ', ""),
            )));
        };
        Ok(RawColumn {
            attrs,
            vis,
            ident,
            ty,
            value,
        })
    }
}

fn parse_value(input: ParseStream) -> syn::Result<RawValue> {
    let fork = input.fork();
    let is_gen = fork.parse::<Ident>().is_ok_and(|id| id == "gen")
        && fork.peek(syn::token::Paren)
        && fork.parse::<TokenTree>().is_ok()
        && (fork.is_empty() || fork.peek(Token![,]));
    if is_gen {
        let keyword: Ident = input.parse()?;
        let args;
        parenthesized!(args in input);
        return Ok(RawValue::Gen {
            keyword: keyword.span(),
            args: args.parse()?,
        });
    }
    Ok(RawValue::Expr(input.parse()?))
}

/// Turns the declaration into a recipe; problems are reported to `cx`.
pub fn into_recipe(cx: &Ctxt, decl: Declaration) -> Recipe {
    let container = attr::container(cx, &decl.attrs);
    let krate = &container.krate;
    let mut columns = Vec::with_capacity(decl.columns.len());
    for raw in decl.columns {
        let cfg = raw.attrs.iter().find(|a| a.path().is_ident("cfg")).cloned();
        let json = attr::column_json(cx, &raw.attrs);
        let mut column = Column {
            cfg,
            json,
            attrs: raw.attrs,
            vis: raw.vis,
            name: unraw(&raw.ident),
            ident: raw.ident,
            ty: raw.ty,
            kind: None,
        };
        if let Some(attr) = column.attrs.iter().find(|a| attr::is_recipe_attr(a)) {
            cx.error_spanned(
                attr,
                "inside dataset! a column's recipe follows `=`: `answer: String = gen(\"...\")`",
            );
        }
        column.kind = match raw.value {
            None => {
                cx.error(
                    column.ident.span(),
                    format!(
                        "column `{name}` has no recipe; write `{name}: Type = gen(\"...\")`, \
                         a sampler such as `sample::choice([...])`, a value, \
                         or a closure `|row| ...`",
                        name = column.name
                    ),
                );
                None
            }
            Some(RawValue::Gen { keyword, args }) => {
                attr::parse_gen(cx, krate, keyword, args).map(Kind::Generated)
            }
            Some(RawValue::Expr(Expr::Closure(c))) => {
                closure::analyze(cx, c, krate).map(Kind::Derived)
            }
            Some(RawValue::Expr(expr)) => Some(classify(expr, krate)),
        };
        columns.push(column);
    }
    Recipe {
        form: Form::Declare,
        attrs: decl
            .attrs
            .into_iter()
            .filter(|a| !a.path().is_ident(attr::CHATAN))
            .collect(),
        vis: decl.vis,
        ident: decl.ident,
        generics: decl.generics,
        columns,
        krate: container.krate,
        methods: container.methods,
    }
}

/// A literal or `value(expr)` is a static value; anything else builds a sampler.
fn classify(expr: Expr, krate: &syn::Path) -> Kind {
    let mut kind = classify_shape(expr);
    if let Kind::Sampled(e) | Kind::Static(e) = &mut kind {
        qualify::sampler_paths(e, false, krate);
    }
    kind
}

fn classify_shape(expr: Expr) -> Kind {
    match expr {
        Expr::Lit(ExprLit { .. }) => Kind::Static(expr),
        Expr::Unary(ExprUnary {
            op: UnOp::Neg(_),
            expr: ref inner,
            ..
        }) if matches!(**inner, Expr::Lit(_)) => Kind::Static(expr),
        Expr::Call(ExprCall {
            ref func, ref args, ..
        }) if args.len() == 1 && matches!(&**func, Expr::Path(p) if p.path.is_ident("value")) => {
            Kind::Static(args[0].clone())
        }
        other => Kind::Sampled(other),
    }
}
