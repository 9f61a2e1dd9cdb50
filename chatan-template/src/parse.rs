//! The parser: `{column}` and `{column.field}` references, `{{` / `}}` literal braces,
//! and every error in a template at once.

use std::fmt;

use crate::Span;
use crate::node::{Node, Reference, Template};

/// What is wrong with a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// A `{` with no matching `}`.
    Unclosed,
    /// A `}` that closes nothing.
    UnmatchedClose,
    /// `{}` or `{  }`.
    Empty,
    /// `{...}` whose content is not a column name or a dotted path.
    InvalidName(String),
    /// `{name:spec}`: a format spec, as Rust's `format!` takes.
    FormatSpec(String),
    /// `{0}`: a position, as Rust's `format!` takes.
    Positional(String),
    /// A `{% ... %}` block.
    Block,
}

/// A template error with the byte range it concerns.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Error {
    /// What is wrong.
    pub kind: ErrorKind,
    /// Where, in bytes of the template text.
    pub span: Span,
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            ErrorKind::Unclosed => f.write_str(
                "unclosed `{` in template; close the reference with `}`, \
                 or write `{{` for a literal brace",
            ),
            ErrorKind::UnmatchedClose => {
                f.write_str("unmatched `}` in template; write `}}` for a literal brace")
            }
            ErrorKind::Empty => f.write_str(
                "empty `{}` in template; write a column name inside the braces, \
                 or `{{}}` for literal braces",
            ),
            ErrorKind::InvalidName(name) => write!(
                f,
                "`{{{name}}}` is not a column reference; a reference is a field name \
                 such as `{{question}}`, or a path into a struct column such as \
                 `{{review.score}}` (write `{{{{` for a literal brace)"
            ),
            ErrorKind::FormatSpec(name) => write!(
                f,
                "format specs are not supported in templates: `{{{name}}}`; write \
                 `{{{column}}}` and format the value in a derived column \
                 (`|row| format!(\"{{:.2}}\", row.{column})`)",
                column = name.split(':').next().unwrap_or_default().trim()
            ),
            ErrorKind::Positional(name) => write!(
                f,
                "`{{{name}}}` is a position, but templates name columns: \
                 write `{{question}}` (write `{{{{` for a literal brace)"
            ),
            ErrorKind::Block => f.write_str(
                "`{% ... %}` blocks are not supported in templates yet; \
                 use `{column}` references (write `{{` for a literal brace)",
            ),
        }
    }
}

/// Parses a template. All errors in the template are returned, not just the first.
///
/// Spaces just inside the braces are ignored: `{ topic }` is `{topic}`.
pub fn parse(src: &str) -> Result<Template, Vec<Error>> {
    let bytes = src.as_bytes();
    let mut nodes = Vec::new();
    let mut errors = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let mut text_start = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'{' if bytes.get(i + 1) == Some(&b'{') => {
                text.push_str(&src[text_start..i]);
                text.push('{');
                i += 2;
                text_start = i;
            }
            b'}' if bytes.get(i + 1) == Some(&b'}') => {
                text.push_str(&src[text_start..i]);
                text.push('}');
                i += 2;
                text_start = i;
            }
            b'}' => {
                errors.push(Error {
                    kind: ErrorKind::UnmatchedClose,
                    span: Span {
                        start: i,
                        end: i + 1,
                    },
                });
                i += 1;
            }
            b'{' => {
                text.push_str(&src[text_start..i]);
                let open = i;
                if bytes.get(i + 1) == Some(&b'%') {
                    // Skip the whole block so its insides do not produce more errors,
                    // and report only a template's first block: one is enough to say
                    // blocks are unsupported.
                    let end = src[i..].find("%}").map_or(bytes.len(), |p| i + p + 2);
                    if !errors.iter().any(|e: &Error| e.kind == ErrorKind::Block) {
                        errors.push(Error {
                            kind: ErrorKind::Block,
                            span: Span { start: open, end },
                        });
                    }
                    i = end;
                    text_start = i;
                    continue;
                }
                // A reference ends at the first `}`; a `{` before it means this one is unclosed.
                let close = src[open + 1..]
                    .find(['{', '}'])
                    .map(|p| open + 1 + p)
                    .filter(|&p| bytes[p] == b'}');
                let Some(close) = close else {
                    let end = src[open + 1..]
                        .find(['{', '\n'])
                        .map_or(bytes.len(), |p| open + 1 + p);
                    errors.push(Error {
                        kind: ErrorKind::Unclosed,
                        span: Span { start: open, end },
                    });
                    i = open + 1;
                    text_start = i;
                    continue;
                };
                let span = Span {
                    start: open,
                    end: close + 1,
                };
                match reference(src[open + 1..close].trim()) {
                    Ok(path) => {
                        if !text.is_empty() {
                            nodes.push(Node::Text(std::mem::take(&mut text)));
                        }
                        nodes.push(Node::Ref(Reference { path, span }));
                    }
                    Err(kind) => errors.push(Error { kind, span }),
                }
                i = close + 1;
                text_start = i;
            }
            _ => i += 1,
        }
    }
    text.push_str(&src[text_start..]);
    if !text.is_empty() {
        nodes.push(Node::Text(text));
    }
    if errors.is_empty() {
        Ok(Template { nodes })
    } else {
        Err(errors)
    }
}

/// Reads the inside of `{...}` (trimmed) as a path of identifiers.
fn reference(inner: &str) -> Result<Vec<String>, ErrorKind> {
    if inner.is_empty() {
        return Err(ErrorKind::Empty);
    }
    if let Some((name, _)) = inner.split_once(':') {
        let name = name.trim();
        return Err(if name.split('.').all(is_identifier) {
            ErrorKind::FormatSpec(inner.to_owned())
        } else {
            ErrorKind::InvalidName(inner.to_owned())
        });
    }
    if inner.bytes().all(|b| b.is_ascii_digit()) {
        return Err(ErrorKind::Positional(inner.to_owned()));
    }
    let parts: Vec<&str> = inner.split('.').collect();
    if !parts.iter().all(|p| is_identifier(p)) {
        return Err(ErrorKind::InvalidName(inner.to_owned()));
    }
    Ok(parts
        .into_iter()
        .map(|p| p.strip_prefix("r#").unwrap_or(p).to_owned())
        .collect())
}

/// Whether `s` is a Rust identifier (raw identifiers included).
fn is_identifier(s: &str) -> bool {
    let s = s.strip_prefix("r#").unwrap_or(s);
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    s != "_" && chars.all(|c| c == '_' || c.is_alphanumeric())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Node {
        Node::Text(s.to_owned())
    }

    fn reference(path: &str, start: usize, end: usize) -> Node {
        Node::Ref(Reference {
            path: path.split('.').map(str::to_owned).collect(),
            span: Span { start, end },
        })
    }

    fn kinds(src: &str) -> Vec<ErrorKind> {
        parse(src)
            .unwrap_err()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn plain_text_is_one_node() {
        let t = parse("write a question").unwrap();
        assert_eq!(t.nodes, vec![text("write a question")]);
    }

    #[test]
    fn empty_template_has_no_nodes() {
        assert_eq!(parse("").unwrap().nodes, vec![]);
    }

    #[test]
    fn references_and_text_interleave() {
        let t = parse("answer: {question} ({topic})").unwrap();
        assert_eq!(
            t.nodes,
            vec![
                text("answer: "),
                reference("question", 8, 18),
                text(" ("),
                reference("topic", 20, 27),
                text(")"),
            ]
        );
    }

    #[test]
    fn reference_alone() {
        let t = parse("{prompt}").unwrap();
        assert_eq!(t.nodes, vec![reference("prompt", 0, 8)]);
    }

    #[test]
    fn whitespace_inside_braces_is_trimmed() {
        let t = parse("{ topic }").unwrap();
        assert_eq!(t.nodes, vec![reference("topic", 0, 9)]);
    }

    #[test]
    fn raw_identifier_names_the_field() {
        let t = parse("{r#type}").unwrap();
        assert_eq!(t.references().next().unwrap().column(), "type");
    }

    #[test]
    fn dotted_paths_name_a_column_and_its_fields() {
        let t = parse("{src.prompt} / {review.score.r#type}").unwrap();
        let refs: Vec<_> = t.references().collect();
        assert_eq!(
            (refs[0].column(), refs[0].fields()),
            ("src", &["prompt".to_string()][..])
        );
        assert_eq!(refs[1].path, ["review", "score", "type"]);
        assert_eq!(refs[1].span, Span { start: 15, end: 36 });
    }

    #[test]
    fn doubled_braces_are_literal_and_merge_with_text() {
        let t = parse("json: {{\"a\": {value}}}").unwrap();
        assert_eq!(
            t.nodes,
            vec![
                text("json: {\"a\": "),
                reference("value", 13, 20),
                text("}"),
            ]
        );
    }

    #[test]
    fn escaped_braces_around_a_reference() {
        let t = parse("{{{x}}}").unwrap();
        assert_eq!(t.nodes, vec![text("{"), reference("x", 2, 5), text("}")]);
    }

    #[test]
    fn unicode_text_and_names() {
        let t = parse("¿qué? {año} é").unwrap();
        assert_eq!(
            t.nodes,
            vec![text("¿qué? "), reference("año", 8, 14), text(" é")]
        );
    }

    #[test]
    fn unclosed_brace() {
        let errors = parse("answer: {question").unwrap_err();
        assert_eq!(
            errors,
            vec![Error {
                kind: ErrorKind::Unclosed,
                span: Span { start: 8, end: 17 }
            }]
        );
    }

    #[test]
    fn unclosed_brace_followed_by_a_reference() {
        let errors = parse("{a {b}").unwrap_err();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].kind, ErrorKind::Unclosed);
        assert_eq!(errors[0].span, Span { start: 0, end: 3 });
    }

    #[test]
    fn unmatched_close() {
        let errors = parse("a } b").unwrap_err();
        assert_eq!(
            errors,
            vec![Error {
                kind: ErrorKind::UnmatchedClose,
                span: Span { start: 2, end: 3 }
            }]
        );
    }

    #[test]
    fn empty_braces() {
        assert_eq!(
            kinds("x {} y { }"),
            vec![ErrorKind::Empty, ErrorKind::Empty]
        );
    }

    #[test]
    fn invalid_names() {
        assert_eq!(
            kinds("{a b}{1x}{a-b}{_}{a.}{.b}{a..b}"),
            vec![
                ErrorKind::InvalidName("a b".into()),
                ErrorKind::InvalidName("1x".into()),
                ErrorKind::InvalidName("a-b".into()),
                ErrorKind::InvalidName("_".into()),
                ErrorKind::InvalidName("a.".into()),
                ErrorKind::InvalidName(".b".into()),
                ErrorKind::InvalidName("a..b".into()),
            ]
        );
    }

    #[test]
    fn format_specs_and_positions_say_what_they_are() {
        assert_eq!(
            kinds("{score:.2} {0} {}"),
            vec![
                ErrorKind::FormatSpec("score:.2".into()),
                ErrorKind::Positional("0".into()),
                ErrorKind::Empty,
            ]
        );
        assert_eq!(
            kinds("{\"a\": 1}"),
            vec![ErrorKind::InvalidName("\"a\": 1".into())]
        );
        let message = parse("{score:.2}").unwrap_err()[0].to_string();
        assert!(
            message.contains("format specs are not supported"),
            "{message}"
        );
        assert!(message.contains("row.score"), "{message}");
    }

    #[test]
    fn jinja_block_is_reported_once() {
        let src = "{%- if kind == \"a\" -%}x{%- endif -%}";
        assert_eq!(kinds(src), vec![ErrorKind::Block]);
    }

    #[test]
    fn all_errors_are_collected() {
        assert_eq!(
            kinds("} {} {a b} {open"),
            vec![
                ErrorKind::UnmatchedClose,
                ErrorKind::Empty,
                ErrorKind::InvalidName("a b".into()),
                ErrorKind::Unclosed,
            ]
        );
    }

    mod properties {
        use super::super::*;
        use crate::snippet;
        use proptest::prelude::*;

        /// Rebuilds a template's source from its nodes (escaping text braces).
        fn unparse(t: &Template) -> String {
            t.nodes
                .iter()
                .map(|n| match n {
                    Node::Text(t) => t.replace('{', "{{").replace('}', "}}"),
                    Node::Ref(r) => format!("{{{}}}", r.path.join(".")),
                    Node::If(_) => unreachable!("the parser makes no conditionals yet"),
                })
                .collect()
        }

        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z ,.!?é]{0,8}",
                "[a-z][a-z0-9_]{0,6}".prop_map(|n| format!("{{{n}}}")),
                "[a-z][a-z0-9_]{0,4}\\.[a-z][a-z0-9_]{0,4}".prop_map(|n| format!("{{{n}}}")),
                Just("{{".to_owned()),
                Just("}}".to_owned()),
            ]
        }

        proptest! {
            #[test]
            fn never_panics_and_spans_are_in_bounds(src in "[{}%:.0-9a-z \n]{0,40}") {
                match parse(&src) {
                    Ok(t) => for r in t.references() {
                        prop_assert!(r.span.start < r.span.end && r.span.end <= src.len());
                        prop_assert_eq!(&src[r.span.start..r.span.start + 1], "{");
                    },
                    Err(errors) => for e in errors {
                        prop_assert!(e.span.start < e.span.end && e.span.end <= src.len());
                        let _ = snippet(&src, e.span);
                    },
                }
            }

            #[test]
            fn well_formed_templates_round_trip(pieces in prop::collection::vec(piece(), 0..8)) {
                let src: String = pieces.concat();
                let t = parse(&src).unwrap();
                prop_assert_eq!(parse(&unparse(&t)).unwrap(), t.clone());
                // Reference spans cover exactly `{path}` in the source.
                for r in t.references() {
                    prop_assert_eq!(&src[r.span.start..r.span.end], format!("{{{}}}", r.path.join(".")));
                }
            }

            #[test]
            fn adjacent_nodes_are_never_both_text(pieces in prop::collection::vec(piece(), 0..8)) {
                let t = parse(&pieces.concat()).unwrap();
                for w in t.nodes.windows(2) {
                    let both_text = matches!(w, [Node::Text(_), Node::Text(_)]);
                    prop_assert!(!both_text);
                }
            }
        }
    }
}
