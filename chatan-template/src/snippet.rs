//! Caret snippets for error messages: the line of a template that holds a span, with
//! `^` under the span.

use crate::Span;

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
}
