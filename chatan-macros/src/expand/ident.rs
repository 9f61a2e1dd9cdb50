//! Names of the user's fields as the emitted code spells them.

use proc_macro2::Span;
use syn::Ident;

/// A field name as an identifier (raw if it is a keyword, as in `{review.r#type}`).
pub fn field_ident(name: &str, span: Span) -> Ident {
    if syn::parse_str::<Ident>(name).is_ok() {
        Ident::new(name, span)
    } else {
        Ident::new_raw(name, span)
    }
}
