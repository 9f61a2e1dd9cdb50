//! Parsing of a column's recipe: `gen("...", options)` arguments and the derive form's
//! field attributes (`#[generate]`, `#[sample]`, `#[value]`, `#[derived]`).

use proc_macro2::{Span, TokenStream};
use quote::ToTokens;
use syn::parse::{Parse, ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::spanned::Spanned;
use syn::{Attribute, Expr, ExprLit, Ident, Lit, LitStr, Token};

use crate::ast::{Check, Column, Distinct, GenOptions, Generated, Kind, RowCheck};
use crate::closure;
use crate::ctxt::Ctxt;
use crate::qualify;
use crate::suggest;
use chatan_template as template;

/// Field attributes of the derive form. (`dataset!` writes `gen(...)`, but `gen` is a
/// reserved keyword from edition 2024 on and cannot name an attribute there.)
pub const GENERATE: &str = "generate";
/// `#[sample(expr)]`.
pub const SAMPLE: &str = "sample";
/// `#[value(expr)]`.
pub const VALUE: &str = "value";
/// `#[derived(|row| ...)]`.
pub const DERIVED: &str = "derived";

/// `#[chatan(crate = "...", methods = false)]` on the struct.
pub const CHATAN: &str = "chatan";

/// The options of `#[chatan(...)]`.
pub const CONTAINER_OPTIONS: &[&str] = &["crate", "methods"];

/// What `#[chatan(...)]` on the struct says.
pub struct Container {
    /// The path of the runtime crate.
    pub krate: syn::Path,
    /// Whether to add inherent `runner` and `generate`.
    pub methods: bool,
}

/// Reads the struct's `#[chatan(...)]` attributes; problems are reported to `cx`.
pub fn container(cx: &Ctxt, attrs: &[Attribute]) -> Container {
    let mut container = Container {
        krate: syn::parse_quote!(::chatan),
        methods: true,
    };
    for attr in attrs.iter().filter(|a| a.path().is_ident(CHATAN)) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("crate") {
                let path: LitStr = meta.value()?.parse()?;
                container.krate = path.parse()?;
                Ok(())
            } else if meta.path.is_ident("methods") {
                let methods: syn::LitBool = meta.value()?.parse()?;
                container.methods = methods.value;
                Ok(())
            } else {
                let name = meta
                    .path
                    .get_ident()
                    .map(Ident::to_string)
                    .unwrap_or_default();
                let hint = match suggest::closest(&name, CONTAINER_OPTIONS.iter().copied()) {
                    Some(s) => format!("did you mean `{s}`? "),
                    None => String::new(),
                };
                Err(meta.error(format!(
                    "unknown option `{name}` for `#[chatan]`; {hint}the options are \
                     `crate = \"path\"` (the chatan crate under another name) and \
                     `methods = false` (no inherent `runner`/`generate`)"
                )))
            }
        });
        if let Err(e) = parsed {
            cx.syn_error(e);
        }
    }
    container
}

/// Reads a column's `#[chatan(json)]`: whether to store it as JSON text in a
/// `DataFrame`. Problems are reported to `cx`.
pub fn column_json(cx: &Ctxt, attrs: &[Attribute]) -> bool {
    let mut json = false;
    for attr in attrs.iter().filter(|a| a.path().is_ident(CHATAN)) {
        let parsed = attr.parse_nested_meta(|meta| {
            if meta.path.is_ident("json") {
                json = true;
                Ok(())
            } else {
                Err(meta.error(
                    "the option of `#[chatan]` on a column is `json` (store the column as \
                     JSON text in a DataFrame)",
                ))
            }
        });
        if let Err(e) = parsed {
            cx.syn_error(e);
        }
    }
    json
}

/// The options `gen(...)` accepts after its template.
pub const GEN_OPTIONS: &[&str] = &[
    "temperature",
    "max_tokens",
    "top_p",
    "top_k",
    "system",
    "model",
    "generator",
    "trim",
    "stop",
    "seed",
    "cache_system",
    "check",
    "distinct",
];

/// One argument of `gen(...)`.
enum GenArg {
    Template(LitStr),
    Option { key: Ident, value: Expr },
    Other(Expr),
}

impl Parse for GenArg {
    fn parse(input: ParseStream) -> syn::Result<Self> {
        if input.peek(Ident) && input.peek2(Token![=]) && !input.peek2(Token![==]) {
            let key: Ident = input.parse()?;
            input.parse::<Token![=]>()?;
            let value: Expr = input.parse()?;
            return Ok(GenArg::Option { key, value });
        }
        match input.parse::<Expr>()? {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) => Ok(GenArg::Template(s)),
            other => Ok(GenArg::Other(other)),
        }
    }
}

/// Parses the arguments of `gen(...)`; `keyword` spans the `gen` (or attribute name)
/// for errors about what is missing. Returns `None` after reporting any error.
pub fn parse_gen(
    cx: &Ctxt,
    krate: &syn::Path,
    keyword: Span,
    args: TokenStream,
) -> Option<Generated> {
    let args = match Punctuated::<GenArg, Token![,]>::parse_terminated.parse2(args) {
        Ok(args) => args,
        Err(e) => {
            cx.syn_error(e);
            return None;
        }
    };
    let mut args = args.into_iter().peekable();
    let literal = match args.peek() {
        Some(GenArg::Template(_)) => match args.next() {
            Some(GenArg::Template(lit)) => Some(lit),
            _ => None,
        },
        _ => None,
    };
    // The template first, so its errors come before those of the options after it.
    let template = literal.as_ref().and_then(|literal| {
        let text = literal.value();
        match template::parse(&text) {
            Ok(t) => Some(t),
            Err(errors) => {
                for e in errors {
                    cx.error(
                        literal.span(),
                        format!("{e}\n{}", template::snippet(&text, e.span)),
                    );
                }
                None
            }
        }
    });
    let mut options = GenOptions::default();
    let mut seen: Vec<String> = Vec::new();
    let mut ok = true;
    for arg in args {
        match arg {
            GenArg::Template(lit) => {
                cx.error(
                    lit.span(),
                    "a `gen` column takes one template; join the text into one string \
                     literal, and give options as `name = value`",
                );
                ok = false;
            }
            GenArg::Other(expr) => {
                cx.error_spanned(
                    &expr,
                    "the prompt template must be a string literal, so that its column \
                     references can be checked at compile time: gen(\"... {column} ...\")",
                );
                ok = false;
            }
            GenArg::Option { key, value } => {
                let name = key.to_string();
                if seen.contains(&name) {
                    cx.error(key.span(), format!("option `{name}` is given twice"));
                    ok = false;
                    continue;
                }
                seen.push(name.clone());
                ok &= parse_option(cx, krate, &key, &value, &mut options);
            }
        }
    }
    let Some(literal) = literal else {
        if ok {
            cx.error(
                keyword,
                "`gen` needs a prompt template as its first argument: \
                 gen(\"... {column} ...\")",
            );
        }
        return None;
    };
    ok.then_some(Generated {
        literal,
        template,
        options,
    })
}

/// Parses one `key = value` option of `gen(...)` into `options`.
fn parse_option(
    cx: &Ctxt,
    krate: &syn::Path,
    key: &Ident,
    value: &Expr,
    options: &mut GenOptions,
) -> bool {
    let name = key.to_string();
    match name.as_str() {
        "check" => match parse_check(cx, krate, value) {
            Some(check) => options.check = Some(Box::new(check)),
            None => return false,
        },
        "distinct" => match (value, number(value)) {
            (
                Expr::Lit(ExprLit {
                    lit: Lit::Bool(b), ..
                }),
                _,
            ) => {
                options.distinct = if b.value {
                    Distinct::Exact
                } else {
                    Distinct::No
                };
            }
            (_, Some(t)) if t > 0.0 && t <= 1.0 => options.distinct = Distinct::Near(t),
            _ => {
                cx.error_spanned(
                    value,
                    "distinct must be `true` (a value equal to an earlier row's, after \
                     normalization, is asked again), a similarity above 0.0 and at most \
                     1.0 such as `0.8` (a value whose words are that similar to an earlier \
                     row's is asked again too), or `false`",
                );
                return false;
            }
        },
        "temperature" => match number(value) {
            Some(t) if (0.0..=2.0).contains(&t) => options.temperature = Some(t as f32),
            Some(_) => {
                cx.error_spanned(value, "temperature must be between 0.0 and 2.0");
                return false;
            }
            None => {
                cx.error_spanned(value, "temperature must be a number literal, such as 0.7");
                return false;
            }
        },
        "top_p" => match number(value) {
            Some(p) if p > 0.0 && p <= 1.0 => options.top_p = Some(p as f32),
            Some(_) => {
                cx.error_spanned(value, "top_p must be above 0.0 and at most 1.0");
                return false;
            }
            None => {
                cx.error_spanned(value, "top_p must be a number literal, such as 0.9");
                return false;
            }
        },
        "stop" => {
            let strings = match value {
                Expr::Lit(ExprLit {
                    lit: Lit::Str(s), ..
                }) => Some(vec![s.clone()]),
                Expr::Array(array) => array
                    .elems
                    .iter()
                    .map(|e| match e {
                        Expr::Lit(ExprLit {
                            lit: Lit::Str(s), ..
                        }) => Some(s.clone()),
                        _ => None,
                    })
                    .collect(),
                _ => None,
            };
            match strings {
                Some(list) if !list.is_empty() && list.iter().all(|s| !s.value().is_empty()) => {
                    options.stop = list;
                }
                _ => {
                    cx.error_spanned(
                        value,
                        "stop must be a non-empty string literal or an array of them, \
                         such as `stop = [\"\\n\\n\", \"###\"]`",
                    );
                    return false;
                }
            }
        }
        "seed" => match value {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) if i.base10_parse::<u64>().is_ok() => {
                options.seed = i.base10_parse::<u64>().ok();
            }
            _ => {
                cx.error_spanned(value, "seed must be a whole number literal, such as 7");
                return false;
            }
        },
        "trim" | "cache_system" => match value {
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) if name == "cache_system" => options.cache_system = Some(b.value),
            _ if name == "cache_system" => {
                cx.error_spanned(
                    value,
                    "cache_system must be `true` (ask the provider to cache the system \
                     prompt) or `false`",
                );
                return false;
            }
            Expr::Lit(ExprLit {
                lit: Lit::Bool(b), ..
            }) => options.trim = Some(b.value),
            _ => {
                cx.error_spanned(
                    value,
                    "trim must be `true` (the default: replies lose leading and trailing \
                     whitespace) or `false` (replies are kept as sent)",
                );
                return false;
            }
        },
        "top_k" => match value {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => match i.base10_parse::<u32>() {
                Ok(n) if n > 0 => options.top_k = Some(n),
                _ => {
                    cx.error_spanned(value, "top_k must be a whole number from 1 to 4294967295");
                    return false;
                }
            },
            _ => {
                cx.error_spanned(value, "top_k must be an integer literal, such as 40");
                return false;
            }
        },
        "max_tokens" => match value {
            Expr::Lit(ExprLit {
                lit: Lit::Int(i), ..
            }) => match i.base10_parse::<u32>() {
                Ok(n) if n > 0 => options.max_tokens = Some(n),
                _ => {
                    cx.error_spanned(
                        value,
                        "max_tokens must be a whole number from 1 to 4294967295",
                    );
                    return false;
                }
            },
            _ => {
                cx.error_spanned(value, "max_tokens must be an integer literal, such as 256");
                return false;
            }
        },
        "system" | "model" | "generator" => match value {
            Expr::Lit(ExprLit {
                lit: Lit::Str(s), ..
            }) if !s.value().trim().is_empty() => {
                let s = Some(s.clone());
                match name.as_str() {
                    "system" => options.system = s,
                    "model" => options.model = s,
                    _ => options.generator = s,
                }
            }
            _ => {
                cx.error_spanned(value, format!("{name} must be a non-empty string literal"));
                return false;
            }
        },
        _ => {
            let hint = match suggest::closest(&name, GEN_OPTIONS.iter().copied()) {
                Some(s) => format!("did you mean `{s}`? "),
                None => String::new(),
            };
            cx.error(
                key.span(),
                format!(
                    "unknown option `{name}` for `gen`; {hint}the options are: {}",
                    GEN_OPTIONS.join(", ")
                ),
            );
            return false;
        }
    }
    true
}

/// Reads `check = ...`: a closure over the value and the row (`|value, row| ...`),
/// whose `row.<field>` reads become dependencies, or any other expression, which must be
/// callable as `Fn(&T) -> Result<(), E>` (rustc checks that where it is called).
fn parse_check(cx: &Ctxt, krate: &syn::Path, value: &Expr) -> Option<Check> {
    let Expr::Closure(closure) = value else {
        return Some(Check::Value(value.clone()));
    };
    if closure.inputs.len() != 2 {
        if closure.inputs.len() == 1 {
            return Some(Check::Value(value.clone()));
        }
        let place = match closure.inputs.iter().nth(2) {
            Some(third) => third.to_token_stream(),
            None => closure.to_token_stream(),
        };
        cx.error_spanned(
            place,
            "a check takes the value, and the row if it reads other columns: \
             `check = |code| ...` or `check = |code, row| ...`, returning \
             `Result<(), String>` (the error is sent back to the model)",
        );
        return None;
    }
    // The row's half is a derived closure's: `row.<field>` reads, rewritten.
    let mut row_only = closure.clone();
    row_only.inputs = closure.inputs.iter().skip(1).cloned().collect();
    row_only.output = syn::ReturnType::Default;
    let derived = closure::analyze(cx, row_only, krate)?;
    Some(Check::Row(Box::new(RowCheck {
        value: closure.inputs[0].clone(),
        row: derived.param,
        fields: derived.fields,
        body: derived.body,
        closure: closure.clone(),
    })))
}

/// The value of a number literal (`0.7`, `1`), if `expr` is one.
fn number(expr: &Expr) -> Option<f64> {
    match expr {
        Expr::Lit(ExprLit {
            lit: Lit::Float(f), ..
        }) => f.base10_parse().ok(),
        Expr::Lit(ExprLit {
            lit: Lit::Int(i), ..
        }) => i.base10_parse::<u32>().ok().map(f64::from),
        _ => None,
    }
}

/// Whether an attribute is one of ours.
pub fn is_recipe_attr(attr: &Attribute) -> bool {
    [GENERATE, SAMPLE, VALUE, DERIVED]
        .iter()
        .any(|name| attr.path().is_ident(name))
}

/// Reads a derive-form field's recipe attributes into a column kind. Reports a missing,
/// doubled or malformed recipe and returns `None` then.
pub fn field_kind(
    cx: &Ctxt,
    krate: &syn::Path,
    column: &Column,
    attrs: &[Attribute],
) -> Option<Kind> {
    let recipes: Vec<&Attribute> = attrs.iter().filter(|a| is_recipe_attr(a)).collect();
    let attr = match recipes.as_slice() {
        [] => {
            // A misspelt recipe attribute is the likely cause: say which one.
            let near_miss = attrs.iter().find_map(|a| {
                let name = a.path().get_ident()?.to_string();
                let fix = suggest::closest(&name, [GENERATE, SAMPLE, VALUE, DERIVED])?;
                Some((a, name, fix))
            });
            if let Some((attr, name, fix)) = near_miss {
                cx.error(
                    attr.path().span(),
                    format!(
                        "field `{}` has no recipe: `#[{name}]` is not a chatan attribute; \
                         did you mean `#[{fix}]`?",
                        column.name
                    ),
                );
                return None;
            }
            cx.error(
                column.ident.span(),
                format!(
                    "field `{}` has no recipe; add one of #[generate(\"... {{column}} ...\")], \
                     #[sample(choice([...]))], #[value(...)] or #[derived(|row| ...)]",
                    column.name
                ),
            );
            return None;
        }
        [one] => *one,
        [_, second, ..] => {
            cx.error(
                second.path().span(),
                format!(
                    "field `{}` has more than one recipe; keep exactly one of \
                     #[generate], #[sample], #[value] or #[derived]",
                    column.name
                ),
            );
            return None;
        }
    };
    let path_span = attr.path().span();
    let name = attr
        .path()
        .get_ident()
        .map(Ident::to_string)
        .unwrap_or_default();
    let tokens = match &attr.meta {
        syn::Meta::List(list) => list.tokens.clone(),
        _ => {
            let example = match name.as_str() {
                GENERATE => "#[generate(\"answer: {question}\")]",
                SAMPLE => "#[sample(choice([\"a\", \"b\"]))]",
                VALUE => "#[value(true)]",
                _ => "#[derived(|row| row.answer.len())]",
            };
            cx.error(
                path_span,
                format!("#[{name}] needs its recipe in parentheses, such as {example}"),
            );
            return None;
        }
    };
    match name.as_str() {
        GENERATE => parse_gen(cx, krate, path_span, tokens).map(Kind::Generated),
        SAMPLE | VALUE => {
            if tokens.is_empty() {
                cx.error(
                    path_span,
                    format!("#[{name}(...)] needs an expression inside the parentheses"),
                );
                return None;
            }
            match syn::parse2::<Expr>(tokens) {
                Ok(mut expr) if name == SAMPLE => {
                    qualify::sampler_paths(&mut expr, true, krate);
                    Some(Kind::Sampled(expr))
                }
                Ok(mut expr) => {
                    qualify::sampler_paths(&mut expr, false, krate);
                    Some(Kind::Static(expr))
                }
                Err(e) => {
                    cx.syn_error(e);
                    None
                }
            }
        }
        _ => match syn::parse2::<Expr>(tokens) {
            Ok(Expr::Closure(c)) => closure::analyze(cx, c, krate).map(Kind::Derived),
            Ok(other) => {
                cx.error_spanned(
                    &other,
                    "#[derived(...)] takes a closure over the row, such as \
                     #[derived(|row| row.answer.len())]",
                );
                None
            }
            Err(e) => {
                cx.syn_error(e);
                None
            }
        },
    }
}
