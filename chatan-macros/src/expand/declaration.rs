//! The row struct itself, for the declaration form (the derive form's user wrote it).

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::{Form, Recipe};

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
            let attrs = c.attrs.iter().filter(|a| {
                !crate::attr::is_recipe_attr(a) && !a.path().is_ident(crate::attr::CHATAN)
            });
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
