//! The inherent `runner` and `generate`, so that the simple path needs no trait import
//! (left out by `#[chatan(methods = false)]`).

use proc_macro2::TokenStream;
use quote::quote;

use crate::ast::Recipe;

/// `Row::runner(..)` and `Row::generate(..)` without importing the `Dataset` trait.
pub fn inherent_methods(recipe: &Recipe) -> TokenStream {
    if !recipe.methods {
        return TokenStream::new();
    }
    let krate = &recipe.krate;
    let krate_path = quote!(#krate).to_string().replace(' ', "");
    let row = &recipe.ident;
    let (impl_generics, ty_generics, where_clause) = recipe.generics.split_for_impl();
    let doc_runner = format!(
        "A [`Runner`]({krate_path}::Runner) that generates [`{row}`] rows with `generators`, \
         for tuning concurrency, seed, progress and samplers."
    );
    let doc_generate = format!(
        "Generates `n` [`{row}`] rows with `generators`, in row order, with default settings."
    );
    quote! {
        #[automatically_derived]
        impl #impl_generics #row #ty_generics #where_clause {
            #[doc = #doc_runner]
            #[allow(dead_code)]
            pub fn runner<'g, G>(generators: &'g G) -> #krate::Runner<'g, Self, G>
            where
                G: #krate::__private::Generators + ?::core::marker::Sized,
            {
                #krate::Runner::new(generators)
            }

            #[doc = #doc_generate]
            #[allow(dead_code)]
            pub fn generate<'g, G>(
                generators: &'g G,
                n: usize,
            ) -> impl ::core::future::Future<
                Output = ::core::result::Result<
                    ::std::vec::Vec<Self>,
                    #krate::RunError<Self>,
                >,
            > + ::core::marker::Send + 'g
            where
                G: #krate::__private::Generators + ?::core::marker::Sized,
            {
                #krate::Runner::new(generators).generate(n)
            }
        }
    }
}
