//! Derived columns: `|row| row.answer.len()`.
//!
//! The closure's dependencies are the `row.<field>` expressions in its body. The body is
//! rewritten so each of them reads the already-filled cell of the row being built:
//! `row.answer` becomes `(*filled(&row.answer))`, a place of the field's type, so the body
//! behaves exactly as if `row` were `&Row` (auto-ref method calls, copies of `Copy`
//! fields, and "cannot move out of a shared reference" for the rest).
//!
//! The body is walked as syntax, respecting scopes: a nested closure, a `let`, a `match`
//! arm or a `for` loop that binds the same name hides the row there, as it would in
//! hand-written code. Inside macro calls (`format!("{}", row.answer)`), whose arguments
//! are not syntax yet, the tokens are scanned instead.

use proc_macro2::{Group, Ident, Span, TokenStream, TokenTree};
use quote::{ToTokens, quote_spanned};
use syn::visit::Visit;
use syn::visit_mut::{self, VisitMut};
use syn::{Arm, Block, Expr, ExprClosure, ExprForLoop, Member, Pat, PatIdent, Stmt};

use crate::ast::Derived;
use crate::ctxt::Ctxt;

/// Checks the closure's shape, finds the fields it reads and rewrites its body.
pub fn analyze(cx: &Ctxt, closure: ExprClosure, krate: &syn::Path) -> Option<Derived> {
    let param = match closure.inputs.iter().collect::<Vec<_>>().as_slice() {
        [
            Pat::Ident(PatIdent {
                ident,
                by_ref: None,
                mutability: None,
                subpat: None,
                attrs,
            }),
        ] if attrs.is_empty() => ident.clone(),
        [Pat::Type(typed)] => {
            cx.error_spanned(
                &typed.ty,
                "remove the type annotation: a derived column's closure takes the row \
                 being built, written `|row| row.answer.len()`",
            );
            return None;
        }
        [] => {
            cx.error_spanned(
                &closure,
                "a derived column's closure takes the row being built: |row| row.answer.len()",
            );
            return None;
        }
        [_, second, ..] => {
            cx.error_spanned(
                second,
                "a derived column's closure takes exactly one parameter, the row: \
                 |row| row.answer.len()",
            );
            return None;
        }
        [other] => {
            cx.error_spanned(
                other,
                "a derived column's closure parameter must be a plain name, such as `row`",
            );
            return None;
        }
    };
    if let Some(asyncness) = &closure.asyncness {
        cx.error(
            asyncness.span,
            "derived columns are computed synchronously; remove `async`",
        );
        return None;
    }
    let mut rewriter = Rewriter {
        cx,
        krate,
        param: &param,
        fields: Vec::new(),
        ok: true,
        hidden: 0,
    };
    let mut body = (*closure.body).clone();
    rewriter.visit_expr_mut(&mut body);
    let Rewriter { fields, ok, .. } = rewriter;
    let fallible = matches!(
        &closure.output,
        syn::ReturnType::Type(_, ty) if matches!(&**ty, syn::Type::Path(p)
            if p.path.segments.last().is_some_and(|s| s.ident == "Result"))
    );
    ok.then(|| Derived {
        fallible,
        body: body.to_token_stream(),
        closure,
        param,
        fields,
    })
}

/// Rewrites `param.field` into a read of the filled cell, recording every field, and
/// reports any other use of `param` (which would hide a dependency).
struct Rewriter<'a> {
    cx: &'a Ctxt,
    krate: &'a syn::Path,
    param: &'a Ident,
    fields: Vec<Ident>,
    ok: bool,
    /// How many enclosing scopes bind a name equal to the parameter.
    hidden: usize,
}

impl Rewriter<'_> {
    /// Whether `pat` binds the parameter's name.
    fn binds(&self, pat: &Pat) -> bool {
        struct Finder<'p> {
            name: &'p Ident,
            found: bool,
        }
        impl<'ast> Visit<'ast> for Finder<'_> {
            fn visit_pat_ident(&mut self, p: &'ast PatIdent) {
                self.found |= p.ident == *self.name;
                syn::visit::visit_pat_ident(self, p);
            }
        }
        let mut finder = Finder {
            name: self.param,
            found: false,
        };
        finder.visit_pat(pat);
        finder.found
    }

    /// Runs `f` with the parameter hidden if `hide`.
    fn scoped(&mut self, hide: bool, f: impl FnOnce(&mut Self)) {
        self.hidden += usize::from(hide);
        f(self);
        self.hidden -= usize::from(hide);
    }

    fn is_param(&self, expr: &Expr) -> bool {
        self.hidden == 0
            && matches!(expr, Expr::Path(p) if p.qself.is_none() && p.path.is_ident(self.param))
    }

    fn bare_use(&mut self, span: Span) {
        self.cx.error(
            span,
            format!(
                "use `{param}` only to read a column, as in `{param}.answer`, \
                 so the column's dependencies can be found at compile time",
                param = self.param
            ),
        );
        self.ok = false;
    }
}

impl VisitMut for Rewriter<'_> {
    fn visit_expr_mut(&mut self, expr: &mut Expr) {
        if let Expr::Field(field) = expr
            && self.is_param(&field.base)
        {
            match &field.member {
                Member::Named(name) => {
                    let (param, name, krate) = (self.param, name.clone(), self.krate);
                    self.fields.push(name.clone());
                    // A bare `*filled(..)`, parenthesized below only where the
                    // surrounding expression needs it (`(*filled(..)).len()`), so no
                    // `unused_parens` lands on the user's code.
                    *expr = syn::parse_quote_spanned! {name.span()=>
                        *#krate::__private::filled(&#param.#name)
                    };
                }
                Member::Unnamed(index) => {
                    self.cx.error_spanned(
                        index,
                        format!(
                            "`{}` has named columns only; write `{}.<column>`",
                            self.param, self.param
                        ),
                    );
                    self.ok = false;
                }
            }
            return;
        }
        if self.is_param(expr) {
            let span = match expr {
                Expr::Path(p) => p.path.segments[0].ident.span(),
                _ => Span::call_site(),
            };
            self.bare_use(span);
            return;
        }
        visit_mut::visit_expr_mut(self, expr);
        parenthesize_operands(expr);
    }

    fn visit_expr_closure_mut(&mut self, closure: &mut ExprClosure) {
        let hide = closure.inputs.iter().any(|p| self.binds(p));
        self.scoped(hide, |this| this.visit_expr_mut(&mut closure.body));
    }

    fn visit_block_mut(&mut self, block: &mut Block) {
        // A `let` hides the parameter for the statements after it, not for its own
        // initializer.
        let mut hidden_here = 0;
        for stmt in &mut block.stmts {
            match stmt {
                Stmt::Local(local) => {
                    if let Some(init) = &mut local.init {
                        self.visit_expr_mut(&mut init.expr);
                        if let Some((_, diverge)) = &mut init.diverge {
                            self.visit_expr_mut(diverge);
                        }
                    }
                    if self.binds(&local.pat) {
                        self.hidden += 1;
                        hidden_here += 1;
                    }
                }
                other => self.visit_stmt_mut(other),
            }
        }
        self.hidden -= hidden_here;
    }

    fn visit_arm_mut(&mut self, arm: &mut Arm) {
        let hide = self.binds(&arm.pat);
        self.scoped(hide, |this| {
            if let Some((_, guard)) = &mut arm.guard {
                this.visit_expr_mut(guard);
            }
            this.visit_expr_mut(&mut arm.body);
        });
    }

    fn visit_expr_for_loop_mut(&mut self, for_loop: &mut ExprForLoop) {
        self.visit_expr_mut(&mut for_loop.expr);
        let hide = self.binds(&for_loop.pat);
        self.scoped(hide, |this| this.visit_block_mut(&mut for_loop.body));
    }

    fn visit_expr_if_mut(&mut self, expr: &mut syn::ExprIf) {
        let hide = self.condition(&mut expr.cond);
        self.scoped(hide, |this| this.visit_block_mut(&mut expr.then_branch));
        if let Some((_, otherwise)) = &mut expr.else_branch {
            self.visit_expr_mut(otherwise);
        }
    }

    fn visit_expr_while_mut(&mut self, expr: &mut syn::ExprWhile) {
        let hide = self.condition(&mut expr.cond);
        self.scoped(hide, |this| this.visit_block_mut(&mut expr.body));
    }

    fn visit_macro_mut(&mut self, mac: &mut syn::Macro) {
        if self.hidden == 0 {
            let tokens = std::mem::take(&mut mac.tokens);
            mac.tokens = self.scan(tokens);
        }
    }
}

/// Wraps a rewritten `*filled(..)` in parentheses where it is the operand of a postfix
/// expression (a method call's receiver, a field's or index's base, `?`, `.await`, a
/// call), spanned like the field it replaced so errors still point at the user's code.
/// A dereference cannot stand there unparenthesized in source, so any found is ours.
fn parenthesize_operands(expr: &mut Expr) {
    let operand = match expr {
        Expr::MethodCall(e) => &mut e.receiver,
        Expr::Field(e) => &mut e.base,
        Expr::Index(e) => &mut e.expr,
        Expr::Try(e) => &mut e.expr,
        Expr::Await(e) => &mut e.base,
        Expr::Call(e) => &mut e.func,
        _ => return,
    };
    if let Expr::Unary(unary) = &**operand
        && matches!(unary.op, syn::UnOp::Deref(_))
    {
        let span = syn::spanned::Spanned::span(&**operand);
        let inner = std::mem::replace(&mut **operand, Expr::Verbatim(TokenStream::new()));
        **operand = Expr::Paren(syn::ExprParen {
            attrs: Vec::new(),
            paren_token: syn::token::Paren(span),
            expr: Box::new(inner),
        });
    }
}

impl Rewriter<'_> {
    /// Visits an `if` or `while` condition; whether it is a `let` that binds the
    /// parameter's name for the body.
    fn condition(&mut self, cond: &mut Expr) -> bool {
        match cond {
            Expr::Let(binding) => {
                self.visit_expr_mut(&mut binding.expr);
                self.binds(&binding.pat)
            }
            cond => {
                self.visit_expr_mut(cond);
                false
            }
        }
    }

    /// The token scan used inside macro calls, whose arguments are not parsed.
    fn scan(&mut self, tokens: TokenStream) -> TokenStream {
        let tokens: Vec<TokenTree> = tokens.into_iter().collect();
        let mut out = TokenStream::new();
        let mut i = 0;
        while i < tokens.len() {
            let is_param = matches!(&tokens[i], TokenTree::Ident(id) if id == self.param);
            // `x.row` is a field named like the parameter, not the parameter itself.
            let after_dot =
                i > 0 && matches!(&tokens[i - 1], TokenTree::Punct(p) if p.as_char() == '.');
            if is_param && !after_dot {
                let dot =
                    matches!(tokens.get(i + 1), Some(TokenTree::Punct(p)) if p.as_char() == '.');
                match (dot, tokens.get(i + 2)) {
                    (true, Some(TokenTree::Ident(field))) => {
                        let (param, krate) = (self.param, self.krate);
                        self.fields.push(field.clone());
                        out.extend(quote_spanned! {field.span()=>
                            (*#krate::__private::filled(&#param.#field))
                        });
                        i += 3;
                        continue;
                    }
                    (true, Some(other)) => {
                        self.cx.error_spanned(
                            other,
                            format!(
                                "`{}` has named columns only; write `{}.<column>`",
                                self.param, self.param
                            ),
                        );
                        self.ok = false;
                    }
                    _ => self.bare_use(tokens[i].span()),
                }
                i += 1;
                continue;
            }
            match &tokens[i] {
                TokenTree::Group(g) => {
                    let inner = self.scan(g.stream());
                    let mut group = Group::new(g.delimiter(), inner);
                    group.set_span(g.span());
                    out.extend(std::iter::once(TokenTree::Group(group)));
                }
                other => out.extend(std::iter::once(other.clone())),
            }
            i += 1;
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::parse_quote;

    fn run(closure: ExprClosure) -> (Option<Derived>, syn::Result<()>) {
        let cx = Ctxt::new();
        let d = analyze(&cx, closure, &parse_quote!(::chatan));
        (d, cx.check())
    }

    fn fields(closure: ExprClosure) -> Vec<String> {
        let (d, r) = run(closure);
        r.unwrap();
        d.unwrap().fields.iter().map(|f| f.to_string()).collect()
    }

    #[test]
    fn finds_fields_and_rewrites_them() {
        let (d, r) = run(parse_quote!(|row| row.answer.len() + row.question.len()));
        r.unwrap();
        let d = d.unwrap();
        assert_eq!(d.param, "row");
        let names: Vec<String> = d.fields.iter().map(|f| f.to_string()).collect();
        assert_eq!(names, ["answer", "question"]);
        let body = d.body.to_string();
        assert!(body.contains("filled (& row . answer)"), "{body}");
        assert!(!body.contains("row . answer . len"), "{body}");
    }

    #[test]
    fn looks_inside_groups_and_macros() {
        assert_eq!(
            fields(parse_quote!(|r| { format!("{} {}", r.a, (r.b)) })),
            ["a", "b"]
        );
    }

    #[test]
    fn a_field_named_like_the_parameter_is_not_the_parameter() {
        assert_eq!(fields(parse_quote!(|row| row.other.row)), ["other"]);
    }

    #[test]
    fn an_inner_closure_may_reuse_the_name() {
        assert_eq!(
            fields(parse_quote!(|row| row
                .answer
                .split(' ')
                .filter(|row| !row.is_empty())
                .count())),
            ["answer"]
        );
    }

    #[test]
    fn lets_arms_and_loops_hide_the_row_after_they_bind_it() {
        assert_eq!(
            fields(parse_quote!(|row| {
                let n = row.a.len();
                let row = n * 2;
                row + 1
            })),
            ["a"]
        );
        assert_eq!(
            fields(parse_quote!(|row| match row.kind.as_str() {
                "x" => 1,
                row => row.len(),
            })),
            ["kind"]
        );
        assert_eq!(
            fields(parse_quote!(|row| {
                let mut total = 0;
                for row in row.items.iter() {
                    total += row.len();
                }
                total
            })),
            ["items"]
        );
    }

    #[test]
    fn if_let_and_while_let_hide_the_row_in_their_body() {
        assert_eq!(
            fields(parse_quote!(|row| if let Some(row) = row.maybe.as_ref() {
                row.len()
            } else {
                row.other.len()
            })),
            ["maybe", "other"]
        );
    }

    #[test]
    fn rejects_bare_use_of_the_row() {
        let (d, r) = run(parse_quote!(|row| describe(row)));
        assert!(d.is_none());
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("use `row` only to read a column")
        );
    }

    #[test]
    fn rejects_typed_and_extra_parameters() {
        let (_, r) = run(parse_quote!(|row: &Qa| row.answer.len()));
        assert!(
            r.unwrap_err()
                .to_string()
                .contains("remove the type annotation")
        );
        let (_, r) = run(parse_quote!(|a, b| a.x));
        assert!(r.unwrap_err().to_string().contains("exactly one parameter"));
    }
}
