//! Checks across columns: duplicate names, unknown references (with "did you mean"),
//! self-references and unsupported struct shapes. Cycles are found by `plan.rs`.

use std::collections::HashSet;

use syn::spanned::Spanned;

use crate::ast::{Form, Recipe, Reference};
use crate::ctxt::Ctxt;
use crate::suggest;
use chatan_template as template;

/// Runs every check, reporting all problems to `cx`.
pub fn check(cx: &Ctxt, recipe: &Recipe) {
    if !recipe.generics.params.is_empty() {
        cx.error(
            recipe.generics.span(),
            "a dataset cannot be generic; remove the generic parameters \
             (every column needs a concrete type)",
        );
    } else if let Some(clause) = &recipe.generics.where_clause {
        cx.error(
            clause.span(),
            "a dataset cannot have a `where` clause; remove it \
             (every column needs a concrete type)",
        );
    }
    let names: Vec<&str> = recipe.columns.iter().map(|c| c.name.as_str()).collect();
    if recipe.form == Form::Declare {
        let mut seen = HashSet::new();
        for column in &recipe.columns {
            if !seen.insert(column.name.as_str()) {
                cx.error(
                    column.ident.span(),
                    format!(
                        "duplicate column `{}`; each column needs its own name",
                        column.name
                    ),
                );
            }
        }
    }
    for column in &recipe.columns {
        if let Some(cfg) = column.cfg.as_ref() {
            cx.error_spanned(
                cfg,
                format!(
                    "`#[cfg]` on column `{}` is not supported: a recipe's columns are fixed \
                     when it compiles; declare a recipe per configuration, or make the \
                     column an `Option` filled by a derived closure",
                    column.name
                ),
            );
        }
        for reference in column.references() {
            if reference.name == column.name {
                report(
                    cx,
                    &reference,
                    format!(
                        "column `{}` refers to itself; a column cannot depend on its own value",
                        column.name
                    ),
                );
            } else if !names.contains(&reference.name.as_str()) {
                let others = names.iter().copied().filter(|n| *n != column.name);
                let hint = match suggest::closest(&reference.name, others) {
                    Some(s) => format!("did you mean `{s}`?"),
                    None => format!("the columns are: {}", names.join(", ")),
                };
                let place = if reference.in_template.is_some() {
                    "template"
                } else {
                    "closure"
                };
                report(
                    cx,
                    &reference,
                    format!(
                        "unknown column `{}` in the {place} of `{}`; {hint}",
                        reference.name, column.name
                    ),
                );
            }
        }
    }
}

/// Reports an error about a reference: on a template, with a caret under `{name}`.
pub fn report(cx: &Ctxt, reference: &Reference, message: String) {
    match &reference.in_template {
        Some((text, span)) => cx.error(
            reference.span,
            format!("{message}\n{}", template::snippet(text, *span)),
        ),
        None => cx.error(reference.span, message),
    }
}
