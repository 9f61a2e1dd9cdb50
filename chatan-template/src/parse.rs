//! The parser: `{column}` and `{column.field}` references, `{{` / `}}` literal braces,
//! and every error in a template at once.

use crate::Span;
use crate::condition;
use crate::error::{Error, ErrorKind};
use crate::node::{
    Branch, Condition, Conditional, Literal, LiteralValue, Node, Operand, Reference, Template,
};

/// Parses a template. All errors in the template are returned, not just the first.
///
/// Spaces just inside the braces are ignored: `{ topic }` is `{topic}`.
pub fn parse(src: &str) -> Result<Template, Vec<Error>> {
    let mut errors = Vec::new();
    let mut tokens = lex(src, &mut errors);
    trim_whitespace(&mut tokens);
    let nodes = build(tokens, &mut errors);
    if errors.is_empty() {
        Ok(Template { nodes })
    } else {
        errors.sort_by_key(|e| e.span.start);
        Err(errors)
    }
}

/// A lexed piece of a template.
enum Token {
    Text(String),
    Ref(Reference),
    Tag(Tag),
}

/// A `{% ... %}` block tag or a `{# ... #}` comment.
struct Tag {
    kind: TagKind,
    span: Span,
    /// `{%-`: strip the whitespace before the tag.
    trim_before: bool,
    /// `-%}`: strip the whitespace after the tag.
    trim_after: bool,
}

enum TagKind {
    If(Condition, Span),
    Elif(Condition, Span),
    Else,
    Endif,
    Comment,
    /// A tag whose error was reported; it still trims whitespace.
    Broken,
}

fn lex(src: &str, errors: &mut Vec<Error>) -> Vec<Token> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut text = String::new();
    let mut i = 0;
    let mut text_start = 0;
    let flush = |text: &mut String, tokens: &mut Vec<Token>| {
        if !text.is_empty() {
            tokens.push(Token::Text(std::mem::take(text)));
        }
    };
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
            b'{' if matches!(bytes.get(i + 1), Some(b'%' | b'#')) => {
                text.push_str(&src[text_start..i]);
                flush(&mut text, &mut tokens);
                let comment = bytes[i + 1] == b'#';
                let (tag, end) = tag(src, i, comment, errors);
                tokens.push(Token::Tag(tag));
                i = end;
                text_start = i;
            }
            b'{' => {
                text.push_str(&src[text_start..i]);
                let open = i;
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
                        flush(&mut text, &mut tokens);
                        tokens.push(Token::Ref(Reference { path, span }));
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
    flush(&mut text, &mut tokens);
    tokens
}

/// Reads the tag or comment that opens at `open`; returns it and where it ends.
fn tag(src: &str, open: usize, comment: bool, errors: &mut Vec<Error>) -> (Tag, usize) {
    let close = if comment { "#}" } else { "%}" };
    let body_start = open + 2;
    // Quotes are skipped so a string may hold `%}`; an unclosed quote falls back to the
    // first `%}`, so that the condition's parser can say the string is unclosed.
    let close_at = find_close(src, body_start, close, !comment)
        .or_else(|| find_close(src, body_start, close, false));
    let Some(close_at) = close_at else {
        let end = src[open..].find('\n').map_or(src.len(), |p| open + p);
        errors.push(Error {
            kind: if comment {
                ErrorKind::UnclosedComment
            } else {
                ErrorKind::UnclosedTag
            },
            span: Span { start: open, end },
        });
        let tag = Tag {
            kind: TagKind::Broken,
            span: Span { start: open, end },
            trim_before: false,
            trim_after: false,
        };
        return (tag, src.len());
    };
    let end = close_at + 2;
    let span = Span { start: open, end };
    let mut inner_start = body_start;
    let mut inner_end = close_at;
    let trim_before = src[inner_start..inner_end].starts_with('-');
    if trim_before {
        inner_start += 1;
    }
    let trim_after = inner_end > inner_start && src[inner_start..inner_end].ends_with('-');
    if trim_after {
        inner_end -= 1;
    }
    let kind = if comment {
        TagKind::Comment
    } else {
        block(src, inner_start, inner_end, span, errors)
    };
    let tag = Tag {
        kind,
        span,
        trim_before,
        trim_after,
    };
    (tag, end)
}

/// Where `close` is, from `from` on; with `quotes`, not inside a string literal.
fn find_close(src: &str, from: usize, close: &str, quotes: bool) -> Option<usize> {
    let bytes = src.as_bytes();
    let mut i = from;
    let mut quote: Option<u8> = None;
    while i < bytes.len() {
        match (quote, bytes[i]) {
            (Some(q), b'\\') if q != 0 => i += 1,
            (Some(q), c) if c == q => quote = None,
            (Some(_), _) => {}
            (None, b'"' | b'\'') if quotes => quote = Some(bytes[i]),
            (None, _) if src[i..].starts_with(close) => return Some(i),
            (None, _) => {}
        }
        i += 1;
    }
    None
}

/// Reads a block tag's inside (`src[start..end]`, without `{%`, `%}` or dashes).
fn block(src: &str, start: usize, end: usize, span: Span, errors: &mut Vec<Error>) -> TagKind {
    let inner = &src[start..end];
    let leading = inner.len() - inner.trim_start().len();
    let word_start = start + leading;
    let word_len = src[word_start..end]
        .find(|c: char| !(c.is_alphanumeric() || c == '_'))
        .unwrap_or(end - word_start);
    let word = &src[word_start..word_start + word_len];
    let rest_start = word_start + word_len;
    let rest = src[rest_start..end].trim();
    let condition = |errors: &mut Vec<Error>, keyword: &str| {
        if rest.is_empty() {
            errors.push(Error {
                kind: ErrorKind::Condition(format!(
                    "`{{% {keyword} %}}` needs a condition, such as `{{% {keyword} kind == \"a\" %}}`"
                )),
                span,
            });
            return None;
        }
        let cond_span = Span {
            start: rest_start,
            end,
        };
        match condition::parse(src, rest_start, end) {
            Ok(c) => Some((c, cond_span)),
            Err(e) => {
                errors.push(e);
                None
            }
        }
    };
    let no_argument = |errors: &mut Vec<Error>| {
        if !rest.is_empty() {
            errors.push(Error {
                kind: ErrorKind::Condition(format!(
                    "`{{% {word} %}}` takes nothing after `{word}`; a condition goes in \
                     `{{% if ... %}}` or `{{% elif ... %}}`"
                )),
                span,
            });
        }
    };
    // A condition with an error still opens (or continues) its block, so that its
    // `endif` is not reported as stray too; the template is rejected anyway.
    let placeholder = || {
        let literal = Literal {
            value: LiteralValue::Bool(false),
            span,
        };
        (Condition::Truthy(Operand::Literal(literal)), span)
    };
    match word {
        "if" => {
            let (c, s) = condition(errors, "if").unwrap_or_else(placeholder);
            TagKind::If(c, s)
        }
        "elif" => {
            let (c, s) = condition(errors, "elif").unwrap_or_else(placeholder);
            TagKind::Elif(c, s)
        }
        "else" => {
            no_argument(errors);
            TagKind::Else
        }
        "endif" => {
            no_argument(errors);
            TagKind::Endif
        }
        other => {
            errors.push(Error {
                kind: ErrorKind::UnknownTag(other.to_owned()),
                span,
            });
            TagKind::Broken
        }
    }
}

/// Applies `{%-` and `-%}`: the text before or after the tag loses its whitespace,
/// newlines included, as Jinja does.
fn trim_whitespace(tokens: &mut [Token]) {
    for i in 0..tokens.len() {
        let Token::Tag(tag) = &tokens[i] else {
            continue;
        };
        let (before, after) = (tag.trim_before, tag.trim_after);
        if before
            && i > 0
            && let Token::Text(text) = &mut tokens[i - 1]
        {
            text.truncate(text.trim_end().len());
        }
        if after && let Some(Token::Text(text)) = tokens.get_mut(i + 1) {
            *text = text.trim_start().to_owned();
        }
    }
}

/// An `if` being read: its branches so far.
struct Open {
    span: Span,
    branches: Vec<Branch>,
    /// The body being read (of the last branch, or of `else`).
    body: Vec<Node>,
    in_else: bool,
}

impl Open {
    /// Ends the branch being read: its body is what was read since it began.
    fn end_branch(&mut self) {
        let body = std::mem::take(&mut self.body);
        if let Some(last) = self.branches.last_mut() {
            last.body = body;
        }
    }
}

/// The innermost open `if`, its current branch ended, for an `elif` or `else` (`word`);
/// `None`, with the error reported, if there is none or it is already in its `else`.
fn continue_block<'a>(
    open: &'a mut [Open],
    word: &str,
    span: Span,
    errors: &mut Vec<Error>,
) -> Option<&'a mut Open> {
    let kind = match open.last_mut() {
        None => ErrorKind::Stray(word.to_owned()),
        Some(o) if o.in_else => ErrorKind::AfterElse(word.to_owned()),
        Some(o) => {
            o.end_branch();
            return Some(o);
        }
    };
    errors.push(Error { kind, span });
    None
}

/// Builds the tree, pairing `if` with `endif`.
fn build(tokens: Vec<Token>, errors: &mut Vec<Error>) -> Vec<Node> {
    let mut root = Vec::new();
    let mut open: Vec<Open> = Vec::new();
    let push = |open: &mut Vec<Open>, root: &mut Vec<Node>, node: Node| {
        let body = match open.last_mut() {
            Some(o) => &mut o.body,
            None => root,
        };
        match (body.last_mut(), node) {
            (_, Node::Text(t)) if t.is_empty() => {}
            (Some(Node::Text(last)), Node::Text(t)) => last.push_str(&t),
            (_, node) => body.push(node),
        }
    };
    for token in tokens {
        let tag = match token {
            Token::Text(t) => {
                push(&mut open, &mut root, Node::Text(t));
                continue;
            }
            Token::Ref(r) => {
                push(&mut open, &mut root, Node::Ref(r));
                continue;
            }
            Token::Tag(tag) => tag,
        };
        let stray = |errors: &mut Vec<Error>, word: &str| {
            errors.push(Error {
                kind: ErrorKind::Stray(word.to_owned()),
                span: tag.span,
            })
        };
        match tag.kind {
            TagKind::Comment | TagKind::Broken => {}
            TagKind::If(condition, condition_span) => open.push(Open {
                span: tag.span,
                branches: vec![Branch {
                    condition,
                    condition_span,
                    body: Vec::new(),
                }],
                body: Vec::new(),
                in_else: false,
            }),
            TagKind::Elif(condition, condition_span) => {
                if let Some(o) = continue_block(&mut open, "elif", tag.span, errors) {
                    o.branches.push(Branch {
                        condition,
                        condition_span,
                        body: Vec::new(),
                    });
                }
            }
            TagKind::Else => {
                if let Some(o) = continue_block(&mut open, "else", tag.span, errors) {
                    o.in_else = true;
                }
            }
            TagKind::Endif => match open.pop() {
                None => stray(errors, "endif"),
                Some(mut o) => {
                    let otherwise = if o.in_else {
                        std::mem::take(&mut o.body)
                    } else {
                        o.end_branch();
                        Vec::new()
                    };
                    let conditional = Conditional {
                        branches: o.branches,
                        otherwise,
                        span: Span {
                            start: o.span.start,
                            end: tag.span.end,
                        },
                    };
                    push(&mut open, &mut root, Node::If(conditional));
                }
            },
        }
    }
    for o in open {
        errors.push(Error {
            kind: ErrorKind::UnclosedIf,
            span: o.span,
        });
    }
    root
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

    /// Renders a parsed template the way the runtime does, with `values` for references
    /// and conditions evaluated over them (strings, integers and bools only).
    fn render_with(src: &str, values: &[(&str, &str)]) -> String {
        use crate::node::{CompareOp, Condition, LiteralValue, Operand};
        fn value<'a>(values: &'a [(&str, &str)], path: &[String]) -> &'a str {
            let name = path.join(".");
            values
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
                .unwrap_or_else(|| panic!("no value for {name}"))
        }
        fn operand(values: &[(&str, &str)], o: &Operand) -> String {
            match o {
                Operand::Ref(r) => value(values, &r.path).to_owned(),
                Operand::Literal(l) => match &l.value {
                    LiteralValue::Str(s) | LiteralValue::Int(s) | LiteralValue::Float(s) => {
                        s.clone()
                    }
                    LiteralValue::Bool(b) => b.to_string(),
                },
            }
        }
        fn compare(a: &str, b: &str) -> std::cmp::Ordering {
            match (a.parse::<f64>(), b.parse::<f64>()) {
                (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap(),
                _ => a.cmp(b),
            }
        }
        fn test(values: &[(&str, &str)], c: &Condition) -> bool {
            match c {
                Condition::Truthy(o) => {
                    let v = operand(values, o);
                    !(v.is_empty() || v == "false" || v == "0")
                }
                Condition::Compare {
                    left, op, right, ..
                } => op.holds(Some(compare(
                    &operand(values, left),
                    &operand(values, right),
                ))),
                Condition::In {
                    item,
                    list,
                    negated,
                    ..
                } => {
                    let v = operand(values, item);
                    let found = list
                        .iter()
                        .any(|l| operand(values, &Operand::Literal(l.clone())) == v);
                    found != *negated
                }
                Condition::Not(c) => !test(values, c),
                Condition::And(a, b) => test(values, a) && test(values, b),
                Condition::Or(a, b) => test(values, a) || test(values, b),
            }
        }
        fn walk(values: &[(&str, &str)], nodes: &[Node], out: &mut String) {
            for node in nodes {
                match node {
                    Node::Text(t) => out.push_str(t),
                    Node::Ref(r) => out.push_str(value(values, &r.path)),
                    Node::If(c) => match c.branches.iter().find(|b| test(values, &b.condition)) {
                        Some(b) => walk(values, &b.body, out),
                        None => walk(values, &c.otherwise, out),
                    },
                }
            }
        }
        let _ = CompareOp::Eq;
        let t = parse(src).unwrap_or_else(|e| panic!("{src:?}: {e:?}"));
        let mut out = String::new();
        walk(values, &t.nodes, &mut out);
        out
    }

    #[test]
    fn the_seeds_complex_mix_renders_as_jinja_does() {
        let src = "\n        {%- if dataset_type == \"kernelbench\" -%}\n        write a prompt asking for a Triton kernel for: {operation}\n        {%- else -%}\n        write a question asking for this code to be written as a Triton kernel: {original_code}\n        {%- endif -%}\n        ";
        let values = [
            ("dataset_type", "kernelbench"),
            ("operation", "matmul"),
            ("original_code", "x + y"),
        ];
        assert_eq!(
            render_with(src, &values),
            "write a prompt asking for a Triton kernel for: matmul"
        );
        let values = [
            ("dataset_type", "kernelbook"),
            ("operation", "matmul"),
            ("original_code", "x + y"),
        ];
        assert_eq!(
            render_with(src, &values),
            "write a question asking for this code to be written as a Triton kernel: x + y"
        );
    }

    #[test]
    fn without_dashes_whitespace_stays() {
        let src = "a {% if x %} yes {% else %} no {% endif %} b";
        assert_eq!(render_with(src, &[("x", "1")]), "a  yes  b");
        assert_eq!(render_with(src, &[("x", "")]), "a  no  b");
        let src = "a {%- if x -%} yes {%- endif %} b";
        assert_eq!(render_with(src, &[("x", "1")]), "ayes b");
    }

    #[test]
    fn elif_chains_nest_and_pick_the_first_that_holds() {
        let src = "{% if n > 10 %}big{% elif n > 5 %}mid{% if odd %} odd{% endif %}{% else %}small{% endif %}";
        assert_eq!(render_with(src, &[("n", "11"), ("odd", "1")]), "big");
        assert_eq!(render_with(src, &[("n", "7"), ("odd", "1")]), "mid odd");
        assert_eq!(render_with(src, &[("n", "7"), ("odd", "")]), "mid");
        assert_eq!(render_with(src, &[("n", "1"), ("odd", "1")]), "small");
        let t = parse(src).unwrap();
        assert_eq!(t.conditions().len(), 3);
        let names: Vec<String> = t.references().map(|r| r.path.join(".")).collect();
        assert_eq!(names, ["n", "n", "odd"]);
        assert_eq!(t.rendered_references().count(), 0);
    }

    #[test]
    fn conditions_bind_as_jinja_does() {
        use crate::node::{Condition, Operand};
        let t = parse("{% if not a and b or c == 'x' %}{% endif %}").unwrap();
        let Node::If(c) = &t.nodes[0] else { panic!() };
        let Condition::Or(left, right) = &c.branches[0].condition else {
            panic!("{:?}", c.branches[0].condition)
        };
        assert!(matches!(&**left, Condition::And(not, _) if matches!(**not, Condition::Not(_))));
        assert!(matches!(&**right, Condition::Compare { .. }));
        let t = parse("{% if not (a or b) %}{% endif %}").unwrap();
        let Node::If(c) = &t.nodes[0] else { panic!() };
        assert!(
            matches!(&c.branches[0].condition, Condition::Not(inner) if matches!(**inner, Condition::Or(..)))
        );
        // A literal on the left is kept as written.
        let t = parse("{% if 3 < n %}{% endif %}").unwrap();
        let Node::If(c) = &t.nodes[0] else { panic!() };
        assert!(matches!(
            &c.branches[0].condition,
            Condition::Compare {
                left: Operand::Literal(_),
                ..
            }
        ));
    }

    #[test]
    fn every_operator_and_literal() {
        let v = [
            ("n", "5"),
            ("s", "b"),
            ("f", "0.5"),
            ("flag", "true"),
            ("review.score", "7"),
        ];
        for (cond, want) in [
            ("n == 5", true),
            ("n != 5", false),
            ("n < 6", true),
            ("n <= 5", true),
            ("n > 5", false),
            ("n >= 5", true),
            ("s == \"b\"", true),
            ("s == 'b'", true),
            ("s in [\"a\", \"b\"]", true),
            ("s not in ['a', 'b']", false),
            ("n in [1, 2]", false),
            ("f < 1.0", true),
            ("f >= -1e3", true),
            ("flag == true", true),
            ("flag", true),
            ("not flag", false),
            ("review.score > 5 and s == 'b'", true),
            ("(n == 1 or n == 5) and not (s == 'c')", true),
            ("n == 1 or s == 'c'", false),
        ] {
            let src = format!("{{% if {cond} %}}yes{{% else %}}no{{% endif %}}");
            let got = render_with(&src, &v) == "yes";
            assert_eq!(got, want, "{cond}");
        }
    }

    #[test]
    fn references_in_conditions_carry_their_spans() {
        let src = "{% if kind == \"a\" %}{x}{% endif %}";
        let t = parse(src).unwrap();
        let refs: Vec<_> = t.references().collect();
        assert_eq!(&src[refs[0].span.start..refs[0].span.end], "kind");
        assert_eq!(&src[refs[1].span.start..refs[1].span.end], "{x}");
    }

    #[test]
    fn comments_render_nothing_and_trim_like_tags() {
        assert_eq!(render_with("a {# note {x} #} b", &[]), "a  b");
        assert_eq!(render_with("a {#- note -#} b", &[]), "ab");
    }

    #[test]
    fn values_are_never_template_syntax() {
        // A value that looks like a template is written as it is.
        assert_eq!(
            render_with("[{x}]", &[("x", "{% if y %}{z}")]),
            "[{% if y %}{z}]"
        );
    }

    #[test]
    fn block_errors_say_what_is_wrong() {
        assert_eq!(kinds("{% if a %}x"), vec![ErrorKind::UnclosedIf]);
        assert_eq!(
            kinds("x{% endif %}"),
            vec![ErrorKind::Stray("endif".into())]
        );
        assert_eq!(kinds("{% else %}"), vec![ErrorKind::Stray("else".into())]);
        assert_eq!(kinds("{% elif a %}"), vec![ErrorKind::Stray("elif".into())]);
        assert_eq!(
            kinds("{% if a %}{% else %}{% elif b %}{% else %}{% endif %}"),
            vec![
                ErrorKind::AfterElse("elif".into()),
                ErrorKind::AfterElse("else".into())
            ]
        );
        assert_eq!(
            kinds("{% for x in xs %}{% endfor %}"),
            vec![
                ErrorKind::UnknownTag("for".into()),
                ErrorKind::UnknownTag("endfor".into()),
            ]
        );
        assert_eq!(kinds("{% if a "), vec![ErrorKind::UnclosedTag]);
        assert_eq!(kinds("{# note"), vec![ErrorKind::UnclosedComment]);
        let errors = parse("{% if %}{% endif %}").unwrap_err();
        assert!(
            errors[0].to_string().contains("needs a condition"),
            "{}",
            errors[0]
        );
        let errors = parse("{% if a %}{% endif b %}").unwrap_err();
        assert!(
            errors[0].to_string().contains("takes nothing after"),
            "{}",
            errors[0]
        );
        // The unclosed `if` is spanned on its own tag.
        let src = "x {% if a %} y";
        let errors = parse(src).unwrap_err();
        assert_eq!(&src[errors[0].span.start..errors[0].span.end], "{% if a %}");
    }

    #[test]
    fn condition_errors_point_at_the_token() {
        for (cond, bad, says) in [
            ("a = 1", "=", "compare with `==`"),
            ("a == ", "==", "ends too soon"),
            ("a == 1 b", "b", "unexpected"),
            ("(a == 1", "(", "unclosed `(`"),
            ("a in b", "b", "takes a list"),
            ("a in [b]", "b", "literals, not columns"),
            ("1 == 2", "1 == 2", "two literals"),
            ("a == None", "None", "Option"),
            ("a == 'x", "'x", "unclosed string"),
            ("a ~ b", "~", "`~` in a condition"),
            ("a.", "a.", "not a column"),
        ] {
            let src = format!("{{% if {cond} %}}{{% endif %}}");
            let errors = parse(&src).unwrap_err();
            assert_eq!(errors.len(), 1, "{cond}: {errors:?}");
            let e = &errors[0];
            assert_eq!(&src[e.span.start..e.span.end], bad, "{cond}");
            assert!(e.to_string().contains(says), "{cond}: {e}");
        }
    }

    #[test]
    fn a_percent_sign_inside_a_string_does_not_end_the_tag() {
        assert_eq!(
            render_with("{% if s == '%}' %}yes{% endif %}", &[("s", "%}")]),
            "yes"
        );
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
                    Node::If(_) => unreachable!("the generator makes no conditionals"),
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
            fn never_panics_and_spans_are_in_bounds(src in "[{}%#:.0-9a-z \n=<>\"()\\[\\],-]{0,40}") {
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
