//! Prompt templates: `{column}` references and `{{` / `}}` literal braces.
//!
//! This module is plain Rust with no `syn` in sight: it works on the template's text and
//! byte ranges so it can be unit-tested (and property-tested) on its own. The macro turns
//! its errors into spanned compiler errors; because stable Rust cannot point *inside* a
//! string literal, every error carries the byte range it concerns and [`snippet`] renders
//! a caret line under the offending part of the template.

use std::fmt;

/// A byte range in the template text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Span {
    /// First byte of the range.
    pub start: usize,
    /// One past the last byte of the range.
    pub end: usize,
}

/// One piece of a parsed template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Segment {
    /// Literal text, with `{{` and `}}` already unescaped.
    Text(String),
    /// A `{name}` reference to another column.
    Ref {
        /// The referenced column name, trimmed of surrounding whitespace.
        name: String,
        /// The whole `{name}` range, braces included.
        span: Span,
    },
}

/// A parsed template: text and references in order.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Template {
    /// The segments; adjacent text is always merged into one segment.
    pub segments: Vec<Segment>,
}

impl Template {
    /// The references in order of appearance (a name may appear more than once).
    pub fn references(&self) -> impl Iterator<Item = (&str, Span)> {
        self.segments.iter().filter_map(|s| match s {
            Segment::Ref { name, span } => Some((name.as_str(), *span)),
            Segment::Text(_) => None,
        })
    }
}

/// What is wrong with a template.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ErrorKind {
    /// A `{` with no matching `}`.
    Unclosed,
    /// A `}` that closes nothing.
    UnmatchedClose,
    /// `{}` or `{  }`.
    Empty,
    /// `{...}` whose content is not a column name.
    InvalidName(String),
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
                 such as `{{question}}` (write `{{{{` for a literal brace)"
            ),
            ErrorKind::Block => f.write_str(
                "`{% ... %}` blocks are not supported in templates yet; \
                 use `{column}` references (write `{{` for a literal brace)",
            ),
        }
    }
}

/// Parses a template. All errors in the template are returned, not just the first.
pub fn parse(src: &str) -> Result<Template, Vec<Error>> {
    let bytes = src.as_bytes();
    let mut segments = Vec::new();
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
                let inner = src[open + 1..close].trim();
                if inner.is_empty() {
                    errors.push(Error {
                        kind: ErrorKind::Empty,
                        span,
                    });
                } else if !is_identifier(inner) {
                    errors.push(Error {
                        kind: ErrorKind::InvalidName(inner.to_owned()),
                        span,
                    });
                } else {
                    if !text.is_empty() {
                        segments.push(Segment::Text(std::mem::take(&mut text)));
                    }
                    segments.push(Segment::Ref {
                        name: inner.strip_prefix("r#").unwrap_or(inner).to_owned(),
                        span,
                    });
                }
                i = close + 1;
                text_start = i;
            }
            _ => i += 1,
        }
    }
    text.push_str(&src[text_start..]);
    if !text.is_empty() {
        segments.push(Segment::Text(text));
    }
    if errors.is_empty() {
        Ok(Template { segments })
    } else {
        Err(errors)
    }
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

/// Renders the line of `src` that holds `span`, with carets under the span, for error
/// messages. Lines over 80 characters are cut around the span.
pub fn snippet(src: &str, span: Span) -> String {
    const CONTEXT: usize = 30;
    let line_start = src[..span.start].rfind('\n').map_or(0, |p| p + 1);
    let line_end = src[span.start..]
        .find('\n')
        .map_or(src.len(), |p| span.start + p);
    let line = &src[line_start..line_end];
    let col = src[line_start..span.start].chars().count();
    let width = src[span.start..span.end.min(line_end).max(span.start)]
        .chars()
        .count()
        .max(1);
    let long = line.chars().count() > 80;
    let skip = if long { col.saturating_sub(CONTEXT) } else { 0 };
    let take = if long {
        CONTEXT + width + CONTEXT
    } else {
        usize::MAX
    };
    let shown: String = line.chars().skip(skip).take(take).collect();
    let cut_left = skip > 0;
    let cut_right = long && line.chars().count() > skip + take;
    let prefix = if cut_left { "..." } else { "" };
    let suffix = if cut_right { "..." } else { "" };
    format!(
        "{prefix}{shown}{suffix}\n{pad}{carets}",
        pad = " ".repeat(prefix.len() + col - skip),
        carets = "^".repeat(width),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(s: &str) -> Segment {
        Segment::Text(s.to_owned())
    }

    fn reference(name: &str, start: usize, end: usize) -> Segment {
        Segment::Ref {
            name: name.to_owned(),
            span: Span { start, end },
        }
    }

    fn kinds(src: &str) -> Vec<ErrorKind> {
        parse(src)
            .unwrap_err()
            .into_iter()
            .map(|e| e.kind)
            .collect()
    }

    #[test]
    fn plain_text_is_one_segment() {
        let t = parse("write a question").unwrap();
        assert_eq!(t.segments, vec![text("write a question")]);
    }

    #[test]
    fn empty_template_has_no_segments() {
        assert_eq!(parse("").unwrap().segments, vec![]);
    }

    #[test]
    fn references_and_text_interleave() {
        let t = parse("answer: {question} ({topic})").unwrap();
        assert_eq!(
            t.segments,
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
        assert_eq!(t.segments, vec![reference("prompt", 0, 8)]);
    }

    #[test]
    fn whitespace_inside_braces_is_trimmed() {
        let t = parse("{ topic }").unwrap();
        assert_eq!(t.segments, vec![reference("topic", 0, 9)]);
    }

    #[test]
    fn raw_identifier_names_the_field() {
        let t = parse("{r#type}").unwrap();
        assert_eq!(t.references().next().unwrap().0, "type");
    }

    #[test]
    fn doubled_braces_are_literal_and_merge_with_text() {
        let t = parse("json: {{\"a\": {value}}}").unwrap();
        assert_eq!(
            t.segments,
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
        assert_eq!(t.segments, vec![text("{"), reference("x", 2, 5), text("}")]);
    }

    #[test]
    fn unicode_text_and_names() {
        let t = parse("¿qué? {año} é").unwrap();
        assert_eq!(
            t.segments,
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
            kinds("{a b}{1x}{a-b}{_}"),
            vec![
                ErrorKind::InvalidName("a b".into()),
                ErrorKind::InvalidName("1x".into()),
                ErrorKind::InvalidName("a-b".into()),
                ErrorKind::InvalidName("_".into()),
            ]
        );
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

    #[test]
    fn snippet_points_at_the_span() {
        let src = "answer: {questoin}";
        let s = snippet(src, Span { start: 8, end: 18 });
        assert_eq!(s, "answer: {questoin}\n        ^^^^^^^^^^");
    }

    #[test]
    fn snippet_uses_the_right_line_of_multiline_templates() {
        let src = "line one\n  line {two\nline three";
        let s = snippet(src, Span { start: 16, end: 20 });
        assert_eq!(s, "  line {two\n       ^^^^");
    }

    #[test]
    fn snippet_cuts_long_lines() {
        let src = format!("{}{{x{}", "a".repeat(100), "b".repeat(100));
        let s = snippet(
            &src,
            Span {
                start: 100,
                end: 101,
            },
        );
        let (line, carets) = s.split_once('\n').unwrap();
        assert!(line.starts_with("...") && line.ends_with("..."));
        let caret_col = carets.find('^').unwrap();
        assert_eq!(&line[caret_col..caret_col + 1], "{");
    }

    mod properties {
        use super::super::*;
        use proptest::prelude::*;

        /// Rebuilds a template's source from its segments (escaping text braces).
        fn unparse(t: &Template) -> String {
            t.segments
                .iter()
                .map(|s| match s {
                    Segment::Text(t) => t.replace('{', "{{").replace('}', "}}"),
                    Segment::Ref { name, .. } => format!("{{{name}}}"),
                })
                .collect()
        }

        fn piece() -> impl Strategy<Value = String> {
            prop_oneof![
                "[a-z ,.!?é]{0,8}",
                "[a-z][a-z0-9_]{0,6}".prop_map(|n| format!("{{{n}}}")),
                Just("{{".to_owned()),
                Just("}}".to_owned()),
            ]
        }

        proptest! {
            #[test]
            fn never_panics_and_spans_are_in_bounds(src in "[{}%a-z \n]{0,40}") {
                match parse(&src) {
                    Ok(t) => for (_, span) in t.references() {
                        prop_assert!(span.start < span.end && span.end <= src.len());
                        prop_assert_eq!(&src[span.start..span.start + 1], "{");
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
                // Reference spans cover exactly `{name}` in the source.
                for (name, span) in t.references() {
                    prop_assert_eq!(&src[span.start..span.end], format!("{{{name}}}"));
                }
            }

            #[test]
            fn adjacent_segments_are_never_both_text(pieces in prop::collection::vec(piece(), 0..8)) {
                let t = parse(&pieces.concat()).unwrap();
                for w in t.segments.windows(2) {
                    let both_text = matches!(w, [Segment::Text(_), Segment::Text(_)]);
                    prop_assert!(!both_text);
                }
            }
        }
    }
}
