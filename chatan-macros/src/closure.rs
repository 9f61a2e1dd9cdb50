//! Derived columns: `|row| row.answer.len()`.
//!
//! The closure's dependencies are the `row.<field>` expressions in its body. The body is
//! rewritten so each of them reads the already-filled cell of the row being built:
//! `row.answer` becomes `(*filled(&row.answer))`, a place of the field's type, so the body
//! behaves exactly as if `row` were `&Row` (auto-ref method calls, copies of `Copy`
//! fields, and "cannot move out of a shared reference" for the rest).

use proc_macro2::{Group, Ident, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::{ExprClosure, Pat, PatIdent};

use crate::ast::Derived;
use crate::ctxt::Ctxt;

/// Checks the closure's shape, finds the fields it reads and rewrites its body.
pub fn analyze(cx: &Ctxt, closure: ExprClosure) -> Option<Derived> {
    let param = match closure.inputs.iter().collect::<Vec<_>>().as_slice() {
        [
            Pat::Ident(PatIdent {
                ident,
                by_ref: None,
                mutability: None,
                subpat: None,
                attrs,
            }),
        ] if attrs.is_empty() => ident.clone(),
        [Pat::Type(typed)] => {
            cx.error_spanned(
                &typed.ty,
                "remove the type annotation: a derived column's closure takes the row \
                 being built, written `|row| row.answer.len()`",
            );
            return None;
        }
        [] => {
            cx.error_spanned(
                &closure,
                "a derived column's closure takes the row being built: |row| row.answer.len()",
            );
            return None;
        }
        [_, second, ..] => {
            cx.error_spanned(
                second,
                "a derived column's closure takes exactly one parameter, the row: \
                 |row| row.answer.len()",
            );
            return None;
        }
        [other] => {
            cx.error_spanned(
                other,
                "a derived column's closure parameter must be a plain name, such as `row`",
            );
            return None;
        }
    };
    if let Some(asyncness) = &closure.asyncness {
        cx.error(
            asyncness.span,
            "derived columns are computed synchronously; remove `async`",
        );
        return None;
    }
    let mut fields = Vec::new();
    let mut ok = true;
    let body = rewrite(
        cx,
        closure.body.to_token_stream(),
        &param,
        &mut fields,
        &mut ok,
    );
    ok.then_some(Derived {
        closure,
        param,
        fields,
        body,
    })
}

/// Rewrites `param.field` into a read of the filled cell, recording every field, and
/// reports any other use of `param` (which would hide a dependency).
fn rewrite(
    cx: &Ctxt,
    tokens: TokenStream,
    param: &Ident,
    fields: &mut Vec<Ident>,
    ok: &mut bool,
) -> TokenStream {
    let tokens: Vec<TokenTree> = tokens.into_iter().collect();
    let mut out = TokenStream::new();
    let mut i = 0;
    while i < tokens.len() {
        let is_param = matches!(&tokens[i], TokenTree::Ident(id) if id == param);
        // `x.row` is a field named like the parameter, not the parameter itself.
        let after_dot =
            i > 0 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
        if is_param && !after_dot {
            let dot = matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '.');
            match (dot, tokens.get(i + 2)) {
                (true, Some(TokenTree::Ident(field))) => {
                    fields.push(field.clone());
                    out.extend(quote_spanned! {field.span()=>
                        (*::chatan::__private::filled(&#param.#field))
                    });
                    i += 3;
                    continue;
                }
                (true, Some(other)) => {
                    cx.error_spanned(
                        other,
                        format!("`{param}` has named columns only; write `{param}.<column>`"),
                    );
                }
                _ => {
                    cx.error(
                        tokens[i].span(),
                        format!(
                            "use `{param}` only to read a column, as in `{param}.answer`, \
                             so the column's dependencies can be found at compile time"
                        ),
                    );
                }
            }
            *ok = false;
            i += 1;
            continue;
        }
        match &tokens[i] {
            TokenTree::Group(g) => {
                let inner = rewrite(cx, g.stream(), param, fields, ok);
                let mut group = Group::new(g.delimiter(), inner);
                group.set_span(g.span());
                out.extend(std::iter::once(TokenTree::Group(group)));
            }
            other => out.extend(std::iter::once(other.clone())),
        }
        i += 1;
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn run(closure: ExprClosure) -> (Option<Derived>, syn::Result<()>) {
        let cx = Ctxt::new();
        let d = analyze(&cx, closure);
        (d, cx.check())
    }

    #[test]
    fn finds_fields_and_rewrites_them() {
        let (d, r) = run(parse_quote!(|row| row.answer.len() + row.question.len()));
        r.unwrap();
        let d = d.unwrap();
        assert_eq!(d.param, "row");
        let names: Vec<String> = d.fields.iter().map(|f| f.to_string()).collect();
        assert_eq!(names, ["answer", "question"]);
        let body = d.body.to_string();
        assert!(body.contains("filled (& row . answer)"), "{body}");
        assert!(!body.contains("row . answer . len"), "{body}");
    }

    #[test]
    fn looks_inside_groups_and_macros() {
        let (d, r) = run(parse_quote!(|r| { format!("{} {}", r.a, (r.b)) }));
        r.unwrap();
        let names: Vec<String> = d.unwrap().fields.iter().map(|f| f.to_string()).collect();
        assert_eq!(names, ["a", "b"]);
    }

    #[test]
    fn a_field_named_like_the_parameter_is_not_the_parameter() {
        let (d, r) = run(parse_quote!(|row| row.other.row));
        r.unwrap();
        let names: Vec<String> = d.unwrap().fields.iter().map(|f| f.to_string()).collect();
        assert_eq!(names, ["other"]);
    }

    #[test]
    fn rejects_bare_use_of_the_row() {
        let (d, r) = run(parse_quote!(|row| describe(row)));
        assert!(d.is_none());
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("use `row` only to read a column")
        );
    }

    #[test]
    fn rejects_typed_and_extra_parameters() {
        let (_, r) = run(parse_quote!(|row: &Qa| row.answer.len()));
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("remove the type annotation")
        );
        let (_, r) = run(parse_quote!(|a, b| a.x));
        assert!(r.unwrap_err().to_string().contains("exactly one parameter"));
    }
}
