//! Checks of template conditions that the macro can make from the column types as
//! written: a `u32` column compared with a string literal is reported on the template,
//! with a caret under the comparison. Types the macro cannot read (aliases, paths into
//! struct columns) are left to rustc, which reports them through `chatan::condition`'s
//! traits, also spanned on the template.

use chatan_template::{Condition, LiteralValue, Operand, Span as TemplateSpan};
use quote::ToTokens;
use syn::{GenericArgument, PathArguments, Type};

use crate::ast::{Kind, Recipe};
use crate::ctxt::Ctxt;

/// What literals a column type compares with, as far as the macro can tell.
#[derive(Clone, Copy, PartialEq)]
enum Family {
    Text,
    Number,
    Bool,
}

impl Family {
    fn describe(self) -> &'static str {
        match self {
            Family::Text => "a string such as \"text\"",
            Family::Number => "a number such as 3 or 0.5",
            Family::Bool => "`true` or `false`",
        }
    }
}

fn family(ty: &Type) -> Option<Family> {
    match ty {
        Type::Reference(r) => family(&r.elem),
        Type::Paren(p) => family(&p.elem),
        Type::Group(g) => family(&g.elem),
        Type::Path(p) if p.qself.is_none() => {
            let last = p.path.segments.last()?;
            match last.ident.to_string().as_str() {
                "String" | "str" | "char" => Some(Family::Text),
                "u8" | "u16" | "u32" | "u64" | "u128" | "usize" | "i8" | "i16" | "i32" | "i64"
                | "i128" | "isize" | "f32" | "f64" => Some(Family::Number),
                "bool" => Some(Family::Bool),
                "Option" => match &last.arguments {
                    PathArguments::AngleBracketed(args) => match args.args.first()? {
                        GenericArgument::Type(inner) => family(inner),
                        _ => None,
                    },
                    _ => None,
                },
                _ => None,
            }
        }
        _ => None,
    }
}

fn literal_family(value: &LiteralValue) -> Family {
    match value {
        LiteralValue::Str(_) => Family::Text,
        LiteralValue::Int(_) | LiteralValue::Float(_) => Family::Number,
        LiteralValue::Bool(_) => Family::Bool,
    }
}

/// Reports every comparison of a column with a literal it cannot equal.
pub fn check(cx: &Ctxt, recipe: &Recipe) {
    for column in &recipe.columns {
        let Some(Kind::Generated(g)) = &column.kind else {
            continue;
        };
        let Some(template) = &g.template else {
            continue;
        };
        let text = g.literal.value();
        for condition in template.conditions() {
            walk(condition, &mut |operand, literal, span| {
                let Operand::Ref(r) = operand else { return };
                if r.path.len() != 1 {
                    return;
                }
                let Some(target) = recipe.columns.iter().find(|c| c.name == r.path[0]) else {
                    return; // unknown columns are reported elsewhere
                };
                let Some(family) = family(&target.ty) else {
                    return;
                };
                if family == literal_family(literal) {
                    return;
                }
                let ty = type_name(&target.ty);
                cx.error(
                    g.literal.span(),
                    format!(
                        "a condition in the template of `{}` compares `{}`, a `{ty}` column, \
                         with {}; compare it with {}\n{}",
                        column.name,
                        target.name,
                        literal.describe(),
                        family.describe(),
                        chatan_template::snippet(&text, span),
                    ),
                );
            });
        }
    }
}

/// Calls `found(column side, literal, span)` for each comparison of an operand with a
/// literal (`in` lists: each literal).
fn walk(condition: &Condition, found: &mut dyn FnMut(&Operand, &LiteralValue, TemplateSpan)) {
    match condition {
        Condition::Truthy(_) => {}
        Condition::Compare {
            left, right, span, ..
        } => match (left, right) {
            (o, Operand::Literal(l)) | (Operand::Literal(l), o) => found(o, &l.value, *span),
            _ => {}
        },
        Condition::In { item, list, .. } => {
            for l in list {
                found(item, &l.value, l.span);
            }
        }
        Condition::Not(c) => walk(c, found),
        Condition::And(a, b) | Condition::Or(a, b) => {
            walk(a, found);
            walk(b, found);
        }
    }
}

/// A type as the user wrote it, without the token spacing of `to_string`.
fn type_name(ty: &Type) -> String {
    ty.to_token_stream()
        .to_string()
        .replace(" < ", "<")
        .replace("< ", "<")
        .replace(" >", ">")
        .replace(" :: ", "::")
        .replace("& ", "&")
}
