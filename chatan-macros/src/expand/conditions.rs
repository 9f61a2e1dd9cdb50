//! Template conditions as Rust: each `{% if %}` / `{% elif %}` condition becomes one arm
//! of `Recipe::test`, comparing the row's cells through `chatan::condition`'s traits, so
//! a column that cannot be compared with a literal is a type error spanned on the
//! template.

use chatan_template::{CompareOp, Condition, LiteralValue, Operand};
use proc_macro2::{Span, TokenStream};
use quote::{quote, quote_spanned};

use super::ident::field_ident;
use super::respanned;
use crate::ast::Recipe;

/// The Rust expression (a `bool`) of `condition`, over `self`'s cells.
pub fn expression(recipe: &Recipe, condition: &Condition, span: Span) -> TokenStream {
    let krate = respanned(&recipe.krate, span);
    let c = quote_spanned!(span=> #krate::condition);
    match condition {
        Condition::Truthy(Operand::Ref(r)) => {
            let value = cell(recipe, &r.path, span);
            quote_spanned!(span=> #c::truthy(#value))
        }
        Condition::Truthy(Operand::Literal(l)) => {
            let truth = match &l.value {
                LiteralValue::Str(s) => !s.is_empty(),
                LiteralValue::Int(n) => n.parse::<i128>().is_ok_and(|n| n != 0),
                LiteralValue::Float(n) => n.parse::<f64>().is_ok_and(|n| n != 0.0),
                LiteralValue::Bool(b) => *b,
            };
            quote!(#truth)
        }
        Condition::Compare {
            left, op, right, ..
        } => {
            let op_tokens = |op: CompareOp| {
                let name = match op {
                    CompareOp::Eq => "Eq",
                    CompareOp::Ne => "Ne",
                    CompareOp::Lt => "Lt",
                    CompareOp::Le => "Le",
                    CompareOp::Gt => "Gt",
                    CompareOp::Ge => "Ge",
                };
                let ident = syn::Ident::new(name, span);
                quote_spanned!(span=> #krate::__private::CompareOp::#ident)
            };
            match (left, right) {
                (Operand::Ref(a), Operand::Ref(b)) => {
                    let (a, b) = (cell(recipe, &a.path, span), cell(recipe, &b.path, span));
                    let op = op_tokens(*op);
                    quote_spanned!(span=> #c::holds_columns(#a, #op, #b))
                }
                (Operand::Ref(r), Operand::Literal(l)) => {
                    let value = cell(recipe, &r.path, span);
                    let literal = literal(&c, &l.value, span);
                    let op = op_tokens(*op);
                    quote_spanned!(span=> #c::holds(#value, #op, &#literal))
                }
                (Operand::Literal(l), Operand::Ref(r)) => {
                    let value = cell(recipe, &r.path, span);
                    let literal = literal(&c, &l.value, span);
                    let op = op_tokens(op.flipped());
                    quote_spanned!(span=> #c::holds(#value, #op, &#literal))
                }
                (Operand::Literal(_), Operand::Literal(_)) => {
                    unreachable!("the template parser rejects two literals")
                }
            }
        }
        Condition::In {
            item,
            list,
            negated,
            ..
        } => {
            let Operand::Ref(r) = item else {
                unreachable!("the template parser rejects a literal before `in`")
            };
            let value = cell(recipe, &r.path, span);
            let tests = list.iter().map(|l| {
                let literal = literal(&c, &l.value, span);
                quote_spanned!(span=> #c::holds(__chatan_item, #krate::__private::CompareOp::Eq, &#literal))
            });
            let not = negated.then(|| quote!(!));
            quote_spanned!(span=> {
                let __chatan_item = #value;
                #not (#(#tests)||*)
            })
        }
        Condition::Not(inner) => {
            let inner = expression(recipe, inner, span);
            quote!((!#inner))
        }
        Condition::And(a, b) => {
            let (a, b) = (expression(recipe, a, span), expression(recipe, b, span));
            quote!((#a && #b))
        }
        Condition::Or(a, b) => {
            let (a, b) = (expression(recipe, a, span), expression(recipe, b, span));
            quote!((#a || #b))
        }
    }
}

/// `&` the value at `path` (a column, then fields) of a filled cell.
fn cell(recipe: &Recipe, path: &[String], span: Span) -> TokenStream {
    let krate = respanned(&recipe.krate, span);
    let column = recipe
        .columns
        .iter()
        .find(|c| c.name == path[0])
        .expect("references were checked");
    let ident = &column.ident;
    let fields = path[1..].iter().map(|f| field_ident(f, span));
    quote_spanned!(span=> &(*#krate::__private::filled(&self.#ident)) #(.#fields)*)
}

fn literal(c: &TokenStream, value: &LiteralValue, span: Span) -> TokenStream {
    match value {
        LiteralValue::Str(s) => quote_spanned!(span=> #c::StringLiteral(#s)),
        LiteralValue::Int(n) => {
            let n: i128 = n.parse().unwrap_or_default();
            let n = proc_macro2::Literal::i128_suffixed(n);
            quote_spanned!(span=> #c::IntegerLiteral(#n))
        }
        LiteralValue::Float(n) => {
            let n = proc_macro2::Literal::f64_suffixed(n.parse().unwrap_or_default());
            quote_spanned!(span=> #c::FloatLiteral(#n))
        }
        LiteralValue::Bool(b) => quote_spanned!(span=> #c::BoolLiteral(#b)),
    }
}
