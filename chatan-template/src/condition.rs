//! Conditions of `{% if %}` and `{% elif %}`, as Jinja reads them: comparisons of columns
//! with literals (`==`, `!=`, `<`, `<=`, `>`, `>=`), `in [..]` / `not in [..]`, `and`,
//! `or`, `not`, parentheses, and a bare column for its truth. Spans are byte ranges of
//! the whole template.

use crate::Span;
use crate::error::{Error, ErrorKind};
use crate::node::{CompareOp, Condition, Literal, LiteralValue, Operand, Reference};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Path(Vec<String>),
    Str(String),
    Int(String),
    Float(String),
    Bool(bool),
    Op(CompareOp),
    And,
    Or,
    Not,
    In,
    Open,
    Close,
    OpenList,
    CloseList,
    Comma,
}

/// Parses `src[start..end]` as a condition.
pub(crate) fn parse(src: &str, start: usize, end: usize) -> Result<Condition, Error> {
    let tokens = lex(src, start, end)?;
    let mut parser = Parser { tokens, at: 0, end };
    let condition = parser.or()?;
    match parser.tokens.get(parser.at) {
        None => Ok(condition),
        Some((tok, span)) => Err(error(
            *span,
            format!(
                "unexpected {} in condition; join conditions with `and` / `or`",
                describe(tok)
            ),
        )),
    }
}

fn error(span: Span, message: String) -> Error {
    Error {
        kind: ErrorKind::Condition(message),
        span,
    }
}

fn describe(tok: &Tok) -> String {
    match tok {
        Tok::Path(p) => format!("`{}`", p.join(".")),
        Tok::Str(s) => format!("string {s:?}"),
        Tok::Int(n) | Tok::Float(n) => format!("`{n}`"),
        Tok::Bool(b) => format!("`{b}`"),
        Tok::Op(op) => format!("`{}`", op.as_str()),
        Tok::And => "`and`".into(),
        Tok::Or => "`or`".into(),
        Tok::Not => "`not`".into(),
        Tok::In => "`in`".into(),
        Tok::Open => "`(`".into(),
        Tok::Close => "`)`".into(),
        Tok::OpenList => "`[`".into(),
        Tok::CloseList => "`]`".into(),
        Tok::Comma => "`,`".into(),
    }
}

fn lex(src: &str, start: usize, end: usize) -> Result<Vec<(Tok, Span)>, Error> {
    let bytes = src.as_bytes();
    let mut tokens = Vec::new();
    let mut i = start;
    while i < end {
        let c = bytes[i];
        let at = i;
        let span = |to: usize| Span { start: at, end: to };
        match c {
            b' ' | b'\t' | b'\n' | b'\r' => i += 1,
            b'(' | b')' | b'[' | b']' | b',' => {
                tokens.push((
                    match c {
                        b'(' => Tok::Open,
                        b')' => Tok::Close,
                        b'[' => Tok::OpenList,
                        b']' => Tok::CloseList,
                        _ => Tok::Comma,
                    },
                    span(i + 1),
                ));
                i += 1;
            }
            b'=' | b'!' | b'<' | b'>' => {
                let two = bytes.get(i + 1) == Some(&b'=') && i + 1 < end;
                let op = match (c, two) {
                    (b'=', true) => CompareOp::Eq,
                    (b'!', true) => CompareOp::Ne,
                    (b'<', true) => CompareOp::Le,
                    (b'>', true) => CompareOp::Ge,
                    (b'<', false) => CompareOp::Lt,
                    (b'>', false) => CompareOp::Gt,
                    (b'=', false) => {
                        return Err(error(
                            span(i + 1),
                            "`=` in a condition; compare with `==`".into(),
                        ));
                    }
                    _ => {
                        return Err(error(
                            span(i + 1),
                            "`!` in a condition; write `not`, or `!=` to compare".into(),
                        ));
                    }
                };
                let to = i + if two { 2 } else { 1 };
                tokens.push((Tok::Op(op), span(to)));
                i = to;
            }
            b'"' | b'\'' => {
                let mut value = String::new();
                let mut j = i + 1;
                let mut closed = false;
                while j < end {
                    match bytes[j] {
                        b'\\' if j + 1 < end => {
                            let escaped = src[j + 1..].chars().next().unwrap_or('\\');
                            value.push(match escaped {
                                'n' => '\n',
                                't' => '\t',
                                other => other,
                            });
                            j += 1 + escaped.len_utf8();
                        }
                        q if q == c => {
                            closed = true;
                            j += 1;
                            break;
                        }
                        _ => {
                            let ch = src[j..].chars().next().unwrap_or_default();
                            value.push(ch);
                            j += ch.len_utf8();
                        }
                    }
                }
                if !closed {
                    return Err(error(
                        span(i + src[i..end].trim_end().len()),
                        "unclosed string in condition; end it with the quote it opened with".into(),
                    ));
                }
                tokens.push((Tok::Str(value), span(j)));
                i = j;
            }
            b'-' | b'0'..=b'9' | b'.' => {
                let mut j = i + 1;
                while j < end
                    && (bytes[j].is_ascii_alphanumeric()
                        || bytes[j] == b'.'
                        || bytes[j] == b'_'
                        || ((bytes[j] == b'-' || bytes[j] == b'+')
                            && matches!(bytes[j - 1], b'e' | b'E')))
                {
                    j += 1;
                }
                let text: String = src[i..j].chars().filter(|&c| c != '_').collect();
                let tok = if text.parse::<i128>().is_ok() {
                    Tok::Int(text)
                } else if text.parse::<f64>().is_ok_and(f64::is_finite)
                    && text.bytes().any(|b| b.is_ascii_digit())
                {
                    Tok::Float(text)
                } else {
                    return Err(error(span(j), format!("`{}` is not a number", &src[i..j])));
                };
                tokens.push((tok, span(j)));
                i = j;
            }
            c if c == b'_' || c.is_ascii_alphabetic() || c >= 0x80 => {
                let mut j = i;
                while j < end {
                    let ch = src[j..].chars().next().unwrap_or_default();
                    if ch.is_alphanumeric() || ch == '_' || ch == '.' || ch == '#' {
                        j += ch.len_utf8();
                    } else {
                        break;
                    }
                }
                let word = &src[i..j];
                let tok = match word {
                    "and" => Tok::And,
                    "or" => Tok::Or,
                    "not" => Tok::Not,
                    "in" => Tok::In,
                    "true" | "True" => Tok::Bool(true),
                    "false" | "False" => Tok::Bool(false),
                    "none" | "None" | "null" => {
                        return Err(error(
                            span(j),
                            format!(
                                "`{word}` in a condition; an `Option` column is tested by \
                                 itself: `{{% if column %}}` holds when it is `Some` (and \
                                 its value is true)"
                            ),
                        ));
                    }
                    _ => {
                        let parts: Vec<&str> = word.split('.').collect();
                        let valid = parts.iter().all(|p| {
                            let p = p.strip_prefix("r#").unwrap_or(p);
                            !p.is_empty()
                                && p != "_"
                                && !p.contains('#')
                                && !p.starts_with(|c: char| c.is_ascii_digit())
                        });
                        if !valid {
                            return Err(error(
                                span(j),
                                format!(
                                    "`{word}` is not a column; name a column, or a field \
                                     inside one as `review.score`"
                                ),
                            ));
                        }
                        Tok::Path(
                            parts
                                .iter()
                                .map(|p| p.strip_prefix("r#").unwrap_or(p).to_owned())
                                .collect(),
                        )
                    }
                };
                tokens.push((tok, span(j)));
                i = j;
            }
            _ => {
                let ch = src[i..].chars().next().unwrap_or_default();
                return Err(error(
                    span(i + ch.len_utf8()),
                    format!(
                        "`{ch}` in a condition; conditions compare columns with literals \
                         (`==`, `!=`, `<`, `<=`, `>`, `>=`, `in [..]`) joined by `and`, `or`, \
                         `not` and parentheses"
                    ),
                ));
            }
        }
    }
    Ok(tokens)
}

struct Parser {
    tokens: Vec<(Tok, Span)>,
    at: usize,
    /// The condition's end, for "expected ... at the end" errors.
    end: usize,
}

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.tokens.get(self.at).map(|(t, _)| t)
    }

    /// The current token's span; past the end, the last token's.
    fn span(&self) -> Span {
        self.tokens.get(self.at).or(self.tokens.last()).map_or(
            Span {
                start: self.end.saturating_sub(1),
                end: self.end,
            },
            |(_, s)| *s,
        )
    }

    fn or(&mut self) -> Result<Condition, Error> {
        let mut left = self.and()?;
        while self.peek() == Some(&Tok::Or) {
            self.at += 1;
            let right = self.and()?;
            left = Condition::Or(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn and(&mut self) -> Result<Condition, Error> {
        let mut left = self.not()?;
        while self.peek() == Some(&Tok::And) {
            self.at += 1;
            let right = self.not()?;
            left = Condition::And(Box::new(left), Box::new(right));
        }
        Ok(left)
    }

    fn not(&mut self) -> Result<Condition, Error> {
        if self.peek() == Some(&Tok::Not) {
            self.at += 1;
            return Ok(Condition::Not(Box::new(self.not()?)));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Condition, Error> {
        if self.peek() == Some(&Tok::Open) {
            let open = self.span();
            self.at += 1;
            let inner = self.or()?;
            if self.peek() != Some(&Tok::Close) {
                return Err(error(
                    open,
                    "unclosed `(` in condition; close it with `)`".into(),
                ));
            }
            self.at += 1;
            return Ok(inner);
        }
        let start = self.span().start;
        let left = self.operand()?;
        match self.peek() {
            Some(Tok::Op(op)) => {
                let op = *op;
                self.at += 1;
                let right = self.operand()?;
                let span = Span {
                    start,
                    end: self.tokens[self.at - 1].1.end,
                };
                if let (Operand::Literal(_), Operand::Literal(_)) = (&left, &right) {
                    return Err(error(
                        span,
                        "this compares two literals; one side of a comparison is a column".into(),
                    ));
                }
                Ok(Condition::Compare {
                    left,
                    op,
                    right,
                    span,
                })
            }
            Some(Tok::In) => self.membership(left, false, start),
            Some(Tok::Not) if matches!(self.tokens.get(self.at + 1), Some((Tok::In, _))) => {
                self.at += 1;
                self.membership(left, true, start)
            }
            _ => Ok(Condition::Truthy(left)),
        }
    }

    /// `item in [..]` after the item; the cursor is on `in`.
    fn membership(
        &mut self,
        item: Operand,
        negated: bool,
        start: usize,
    ) -> Result<Condition, Error> {
        self.at += 1;
        if let Operand::Literal(literal) = &item {
            return Err(error(
                literal.span,
                "`in` tests a column against a list of literals: `column in [\"a\", \"b\"]`".into(),
            ));
        }
        if self.peek() != Some(&Tok::OpenList) {
            return Err(error(
                self.span(),
                "`in` takes a list of literals: `column in [\"a\", \"b\"]`".into(),
            ));
        }
        self.at += 1;
        let mut list = Vec::new();
        loop {
            if self.peek() == Some(&Tok::CloseList) {
                self.at += 1;
                break;
            }
            match self.operand()? {
                Operand::Literal(l) => list.push(l),
                Operand::Ref(r) => {
                    return Err(error(
                        r.span,
                        "the list after `in` holds literals, not columns".into(),
                    ));
                }
            }
            match self.peek() {
                Some(Tok::Comma) => self.at += 1,
                Some(Tok::CloseList) => {}
                _ => {
                    return Err(error(
                        self.span(),
                        "expected `,` or `]` in the list after `in`".into(),
                    ));
                }
            }
        }
        if list.is_empty() {
            return Err(error(
                self.tokens[self.at - 1].1,
                "the list after `in` is empty".into(),
            ));
        }
        Ok(Condition::In {
            item,
            list,
            negated,
            span: Span {
                start,
                end: self.tokens[self.at - 1].1.end,
            },
        })
    }

    fn operand(&mut self) -> Result<Operand, Error> {
        let Some((tok, span)) = self.tokens.get(self.at).cloned() else {
            return Err(error(
                self.span(),
                "the condition ends too soon; expected a column or a literal".into(),
            ));
        };
        self.at += 1;
        let literal = |value| Operand::Literal(Literal { value, span });
        Ok(match tok {
            Tok::Path(path) => Operand::Ref(Reference { path, span }),
            Tok::Str(s) => literal(LiteralValue::Str(s)),
            Tok::Int(n) => literal(LiteralValue::Int(n)),
            Tok::Float(n) => literal(LiteralValue::Float(n)),
            Tok::Bool(b) => literal(LiteralValue::Bool(b)),
            other => {
                return Err(error(
                    span,
                    format!("expected a column or a literal, found {}", describe(&other)),
                ));
            }
        })
    }
}
