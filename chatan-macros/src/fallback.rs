//! What is emitted when a recipe has errors: the errors, plus the struct (declaration
//! form) and a stub `Dataset` impl, so the user's other code that names the row type or
//! calls `Row::generate` does not drown the real errors in follow-on ones.

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Recipe;
use crate::expand;

/// The stub items for a recipe whose errors are in `errors`.
pub fn fallback(recipe: &Recipe, errors: syn::Error) -> TokenStream {
    let errors = errors.to_compile_error();
    let declaration = expand::declaration(recipe);
    if !recipe.generics.params.is_empty() {
        // A stub impl for a generic struct would need bounds we cannot know.
        return quote!(#errors #declaration);
    }
    let row = &recipe.ident;
    let krate = &recipe.krate;
    let inherent = expand::inherent_methods(recipe);
    quote! {
        #errors
        #declaration
        #[doc(hidden)]
        const _: () = {
            impl #krate::Dataset for #row {
                type Columns = ();
                type __Recipe = #krate::__private::Unbuildable<#row>;
                fn __columns() {}
                type __Frame = ();
                fn __frame() {}
            }
            #inherent
        };
    }
}
