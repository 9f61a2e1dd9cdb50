//! The derive form: `#[derive(Dataset)]` on a struct whose fields carry recipe attributes.

use syn::{Data, DeriveInput, Fields, Visibility};

use crate::ast::{Column, Form, Recipe, unraw};
use crate::attr;
use crate::ctxt::Ctxt;

/// Reads a derive input into a recipe; problems are reported to `cx`. Returns `None` only
/// when there is no struct to speak of (an enum, a union, a tuple struct).
pub fn parse(cx: &Ctxt, input: DeriveInput) -> Option<Recipe> {
    let fields = match &input.data {
        Data::Struct(data) => match &data.fields {
            Fields::Named(named) => named.named.clone(),
            _ => {
                cx.error(
                    input.ident.span(),
                    "#[derive(Dataset)] needs a struct with named fields, one per column",
                );
                return None;
            }
        },
        Data::Enum(e) => {
            cx.error(
                e.enum_token.span,
                "#[derive(Dataset)] needs a struct with named fields, one per column; \
                 found an enum",
            );
            return None;
        }
        Data::Union(u) => {
            cx.error(
                u.union_token.span,
                "#[derive(Dataset)] needs a struct with named fields, one per column; \
                 found a union",
            );
            return None;
        }
    };
    let container = attr::container(cx, &input.attrs);
    let mut columns = Vec::with_capacity(fields.len());
    for field in fields {
        let Some(ident) = field.ident.clone() else {
            continue;
        };
        let mut column = Column {
            cfg: field
                .attrs
                .iter()
                .find(|a| a.path().is_ident("cfg"))
                .cloned(),
            json: attr::column_json(cx, &field.attrs),
            attrs: Vec::new(),
            vis: Visibility::Inherited,
            name: unraw(&ident),
            ident,
            ty: field.ty.clone(),
            kind: None,
        };
        column.kind = attr::field_kind(cx, &container.krate, &column, &field.attrs);
        columns.push(column);
    }
    Some(Recipe {
        form: Form::Derive,
        attrs: Vec::new(),
        vis: input.vis,
        ident: input.ident,
        generics: input.generics,
        columns,
        krate: container.krate,
        methods: container.methods,
    })
}
