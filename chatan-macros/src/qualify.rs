//! Hygiene for sampler expressions: the user's names stay the user's.
//!
//! Emitted code imports nothing into a user's expression. Instead, paths that mean
//! chatan's samplers are written out in full while parsing: `sample::choice(..)` becomes
//! `::chatan::sample::choice(..)` in both forms, and in the derive form's
//! `#[sample(..)]`, whose vocabulary is chatan's samplers, a bare call such as
//! `choice(..)` does too. Everything else — a user's own `range` function, an enum named
//! `Choice`, chrono's `DateTime` — resolves exactly as it would in hand-written code.

use proc_macro2::Span;
use syn::visit_mut::{self, VisitMut};
use syn::{Expr, ExprCall, ExprPath, Ident, Path, PathSegment};

/// The constructors of `chatan::sample`, callable bare inside `#[sample(..)]`.
pub const SAMPLERS: &[&str] = &[
    "choice",
    "weighted",
    "uuid",
    "datetime",
    "range",
    "from_values",
    "from_dataset",
    "constant",
    "input",
];

/// Qualifies the sampler paths of `expr`; `bare` also qualifies bare calls of the
/// [`SAMPLERS`] (the derive form's `#[sample(..)]`).
pub fn sampler_paths(expr: &mut Expr, bare: bool, krate: &Path) {
    Qualify { bare, krate }.visit_expr_mut(expr);
}

struct Qualify<'a> {
    bare: bool,
    krate: &'a Path,
}

impl VisitMut for Qualify<'_> {
    fn visit_expr_call_mut(&mut self, call: &mut ExprCall) {
        if self.bare
            && let Expr::Path(ExprPath {
                qself: None, path, ..
            }) = &mut *call.func
        {
            let known = path.leading_colon.is_none()
                && path.segments.len() == 1
                && SAMPLERS.iter().any(|s| path.segments[0].ident == s);
            if known {
                let span = path.segments[0].ident.span();
                prefix(path, self.krate, Some("sample"), span);
            }
        }
        visit_mut::visit_expr_call_mut(self, call);
    }

    fn visit_path_mut(&mut self, path: &mut Path) {
        if path.leading_colon.is_none()
            && path.segments.len() >= 2
            && path.segments[0].ident == "sample"
            && path.segments[0].arguments.is_none()
        {
            let span = path.segments[0].ident.span();
            prefix(path, self.krate, None, span);
        }
        visit_mut::visit_path_mut(self, path);
    }
}

/// Turns `a::b` into `<krate>::[then::]a::b`, every new token spanned at `span` so that
/// errors about the expression still point at the user's code.
fn prefix(path: &mut Path, krate: &Path, then: Option<&str>, span: Span) {
    let old = std::mem::take(&mut path.segments);
    for segment in &krate.segments {
        let mut segment = segment.clone();
        segment.ident.set_span(span);
        path.segments.push(segment);
    }
    if let Some(name) = then {
        path.segments
            .push(PathSegment::from(Ident::new(name, span)));
    }
    path.segments.extend(old);
    path.leading_colon = krate.leading_colon.map(|_| syn::token::PathSep {
        spans: [span, span],
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use quote::ToTokens;
    use syn::parse_quote;

    fn qualified(mut expr: Expr, bare: bool) -> String {
        sampler_paths(&mut expr, bare, &parse_quote!(::chatan));
        expr.to_token_stream().to_string().replace(' ', "")
    }

    #[test]
    fn sample_paths_are_made_absolute() {
        assert_eq!(
            qualified(parse_quote!(sample::datetime("a", "b").format("%Y")), false),
            "::chatan::sample::datetime(\"a\",\"b\").format(\"%Y\")"
        );
    }

    #[test]
    fn bare_constructors_only_in_the_derive_form() {
        assert_eq!(
            qualified(parse_quote!(choice(["a"])), true),
            "::chatan::sample::choice([\"a\"])"
        );
        assert_eq!(qualified(parse_quote!(range(1, 2)), false), "range(1,2)");
    }

    #[test]
    fn other_names_are_left_alone() {
        for (expr, bare) in [
            (parse_quote!(my::range(1, 2)), true),
            (parse_quote!(Choice::A), true),
            (parse_quote!(DateTime::<Utc>::UNIX_EPOCH), true),
            (parse_quote!(::sample::x()), true),
            (parse_quote!(pick(choice)), true),
        ] {
            let before = (&expr as &Expr)
                .to_token_stream()
                .to_string()
                .replace(' ', "");
            assert_eq!(qualified(expr, bare), before);
        }
    }
}
