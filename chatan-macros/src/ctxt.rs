//! The error collector: every check of one expansion pushes here, and all errors are
//! reported together, so a user fixes a recipe in one compile instead of ten.

use std::cell::RefCell;
use std::fmt::Display;

use proc_macro2::Span;

/// Collects the errors of one macro expansion.
///
/// Dropping a `Ctxt` without calling [`Ctxt::check`] panics (in debug builds of the
/// macro), so no error can be collected and then forgotten.
#[derive(Default)]
pub struct Ctxt {
    errors: RefCell<Option<Vec<syn::Error>>>,
}

impl Ctxt {
    /// A new, empty collector.
    pub fn new() -> Self {
        Ctxt {
            errors: RefCell::new(Some(Vec::new())),
        }
    }

    /// Records an error spanned on `span`.
    pub fn error(&self, span: Span, message: impl Display) {
        self.syn_error(syn::Error::new(span, message));
    }

    /// Records an error spanned on the tokens of `tokens`.
    pub fn error_spanned(&self, tokens: impl quote::ToTokens, message: impl Display) {
        self.syn_error(syn::Error::new_spanned(tokens, message));
    }

    /// Records a parse error from syn.
    pub fn syn_error(&self, error: syn::Error) {
        self.errors
            .borrow_mut()
            .as_mut()
            .expect("Ctxt used after check")
            .push(error);
    }

    /// Consumes the collector: `Ok` if nothing was recorded, else all errors combined.
    pub fn check(self) -> syn::Result<()> {
        let errors = self.errors.borrow_mut().take().expect("Ctxt checked twice");
        let mut iter = errors.into_iter();
        let Some(mut combined) = iter.next() else {
            return Ok(());
        };
        for error in iter {
            combined.combine(error);
        }
        Err(combined)
    }
}

impl Drop for Ctxt {
    fn drop(&mut self) {
        if !std::thread::panicking() && self.errors.borrow().is_some() {
            panic!("chatan-macros bug: Ctxt dropped without check()");
        }
    }
}
