//! Turning a reply's text into a column's value.

use std::fmt;

/// A type a generated column reads from the reply's text. `String` takes the reply as
/// the column gets it (stripped of leading and trailing whitespace unless the column
/// says `trim = false`); numbers, `bool` and `char` parse the trimmed reply (a reply that
/// does not parse is requested again, then reported; it is never replaced by a default).
///
/// A column of any other type that is `serde::Deserialize + schemars::JsonSchema` (a
/// struct, an enum, a `Vec`) is a structured column instead: see [`crate::structured`].
///
/// Implement it for your own types, to read the text yourself:
///
/// ```
/// use chatan::FromReply;
/// use chatan::error::ReplyError;
///
/// enum Sentiment { Positive, Negative }
///
/// impl FromReply for Sentiment {
///     fn from_reply(reply: String) -> Result<Self, ReplyError> {
///         match reply.trim().to_lowercase().as_str() {
///             "positive" => Ok(Sentiment::Positive),
///             "negative" => Ok(Sentiment::Negative),
///             _ => Err(ReplyError::new::<Self>(&reply, "expected positive or negative")),
///         }
///     }
/// }
/// ```
#[diagnostic::on_unimplemented(
    message = "a generated column cannot have type `{Self}`",
    label = "this column's reply cannot be turned into a `{Self}`",
    note = "generated columns can be `String`, a number, `bool` or `char`; derive `serde::Deserialize` and `schemars::JsonSchema` for a structured (JSON) column, or implement `chatan::FromReply` to read the text yourself"
)]
pub trait FromReply: Sized {
    /// Reads the reply.
    fn from_reply(reply: String) -> Result<Self, ReplyError>;

    /// The text that reads as a value, where a generator can hold its decoding to it
    /// (local models do; providers are not told, and their replies are read as they
    /// come). None by default: any text.
    fn shape() -> Option<Shape> {
        None
    }
}

/// What a column's reply must look like to read as its type (see [`FromReply::shape`]).
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub enum Shape {
    /// A JSON value matching this JSON Schema: `true`, `-3`, `2.5`.
    Json(serde_json::Value),
    /// Text matching this regular expression, whole.
    Regex(String),
}

impl Shape {
    /// An integer from `min` to `max`, inclusive.
    pub fn integer(min: impl Into<serde_json::Number>, max: impl Into<serde_json::Number>) -> Self {
        Shape::Json(serde_json::json!({
            "type": "integer",
            "minimum": min.into(),
            "maximum": max.into(),
        }))
    }
}

impl FromReply for String {
    fn from_reply(reply: String) -> Result<Self, ReplyError> {
        Ok(reply)
    }
}

macro_rules! parsed {
    ($($t:ty => $shape:expr),* $(,)?) => {$(
        impl FromReply for $t {
            fn from_reply(reply: String) -> Result<Self, ReplyError> {
                reply.trim().parse().map_err(|e| ReplyError::new::<$t>(&reply, e))
            }

            fn shape() -> Option<Shape> {
                $shape
            }
        }
    )*};
}

parsed!(
    i8 => Some(Shape::integer(i8::MIN, i8::MAX)),
    i16 => Some(Shape::integer(i16::MIN, i16::MAX)),
    i32 => Some(Shape::integer(i32::MIN, i32::MAX)),
    i64 => Some(Shape::integer(i64::MIN, i64::MAX)),
    isize => Some(Shape::integer(isize::MIN as i64, isize::MAX as i64)),
    u8 => Some(Shape::integer(u8::MIN, u8::MAX)),
    u16 => Some(Shape::integer(u16::MIN, u16::MAX)),
    u32 => Some(Shape::integer(u32::MIN, u32::MAX)),
    u64 => Some(Shape::integer(u64::MIN, u64::MAX)),
    usize => Some(Shape::integer(usize::MIN as u64, usize::MAX as u64)),
    // Beyond 64 bits JSON Schema bounds lose precision: any integer.
    i128 => Some(Shape::Json(serde_json::json!({"type": "integer"}))),
    u128 => Some(Shape::Json(serde_json::json!({"type": "integer", "minimum": 0}))),
    // Decimal digits bounded (6 after the point for f32, 12 for f64), or a small model
    // held to "any number" goes on writing digits until its token budget ends.
    f32 => Some(Shape::Regex(r"-?(0|[1-9][0-9]{0,37})(\.[0-9]{1,6})?".into())),
    f64 => Some(Shape::Regex(r"-?(0|[1-9][0-9]{0,307})(\.[0-9]{1,12})?".into())),
    // One character that is not whitespace (the reply is trimmed before parsing).
    char => Some(Shape::Regex(r"[^\s]".into())),
);

impl FromReply for bool {
    fn from_reply(reply: String) -> Result<Self, ReplyError> {
        match reply.trim().to_ascii_lowercase().as_str() {
            "true" | "yes" => Ok(true),
            "false" | "no" => Ok(false),
            _ => Err(ReplyError::new::<bool>(
                &reply,
                "expected true/false or yes/no",
            )),
        }
    }

    fn shape() -> Option<Shape> {
        Some(Shape::Json(serde_json::json!({"type": "boolean"})))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_bools_and_chars_say_their_shape_and_text_any() {
        assert_eq!(String::shape(), None);
        assert_eq!(
            bool::shape(),
            Some(Shape::Json(serde_json::json!({"type": "boolean"})))
        );
        assert_eq!(
            u8::shape(),
            Some(Shape::Json(
                serde_json::json!({"type": "integer", "minimum": 0, "maximum": 255})
            ))
        );
        assert_eq!(i64::shape(), Some(Shape::integer(i64::MIN, i64::MAX)));
        let Some(Shape::Regex(decimal)) = f32::shape() else {
            panic!("f32 is a decimal number")
        };
        assert!(decimal.contains(r"\.[0-9]{1,6}"));
        assert_eq!(char::shape(), Some(Shape::Regex(r"[^\s]".into())));
        // What the shapes allow reads back.
        assert!(bool::from_reply("false".into()).is_ok());
        assert_eq!(u8::from_reply("255".into()).unwrap(), 255);
        assert_eq!(char::from_reply("x".into()).unwrap(), 'x');
        assert_eq!(f32::from_reply("-12.125".into()).unwrap(), -12.125);
    }

    #[test]
    fn strings_are_kept_as_they_are() {
        assert_eq!(String::from_reply("  hi \n".into()).unwrap(), "  hi \n");
    }

    #[test]
    fn numbers_and_bools_parse_trimmed() {
        assert_eq!(u8::from_reply(" 42\n".into()).unwrap(), 42);
        assert_eq!(f64::from_reply("0.5".into()).unwrap(), 0.5);
        assert!(bool::from_reply("Yes".into()).unwrap());
    }

    #[test]
    fn bad_replies_say_what_was_expected() {
        let e = u8::from_reply("forty-two".into()).unwrap_err();
        assert_eq!(e.expected, "u8");
        assert_eq!(e.excerpt, "forty-two");
        let long = "x".repeat(200);
        let e = i32::from_reply(long).unwrap_err();
        assert!(e.excerpt.ends_with("...") && e.excerpt.len() == 83);
    }
}

/// A reply that does not parse into its column's type (see [`FromReply`](crate::FromReply)).
#[derive(Debug, Clone, thiserror::Error)]
#[error("the reply {excerpt:?} is not a valid `{expected}`: {reason}")]
pub struct ReplyError {
    /// The column's type.
    pub expected: &'static str,
    /// The start of the reply.
    pub excerpt: String,
    /// Why it did not parse.
    pub reason: String,
    reply: Option<String>,
}

impl ReplyError {
    /// A reply `reply` that is not a valid `T`, because of `reason`.
    pub fn new<T>(reply: &str, reason: impl fmt::Display) -> Self {
        const MAX: usize = 80;
        let excerpt = match reply.char_indices().nth(MAX) {
            Some((cut, _)) => format!("{}...", &reply[..cut]),
            None => reply.to_owned(),
        };
        ReplyError {
            expected: std::any::type_name::<T>(),
            excerpt,
            reason: reason.to_string(),
            reply: None,
        }
    }

    /// Like [`new`](ReplyError::new), naming the type by name and keeping the whole
    /// reply, so that it can be shown to the model when the question is asked again.
    pub fn with_reply(expected: &'static str, reply: &str, reason: impl fmt::Display) -> Self {
        let mut error = ReplyError::new::<()>(reply, reason);
        error.expected = expected;
        error.reply = Some(reply.to_owned());
        error
    }

    /// The whole reply, when the parser kept it ([`with_reply`](ReplyError::with_reply)).
    pub fn reply(&self) -> Option<&str> {
        self.reply.as_deref()
    }

    /// A value of type `T` that a column's `check` refused, because of `reason` (the
    /// reply is added by [`about`](ReplyError::about)).
    pub(crate) fn failed_check<T: ?Sized>(reason: impl fmt::Display) -> Self {
        ReplyError {
            expected: std::any::type_name::<T>(),
            excerpt: String::new(),
            reason: format!("it fails the column's check: {reason}"),
            reply: None,
        }
    }

    /// A value of a distinct column that another row has already, or one like it.
    pub(crate) fn repeated(repeat: crate::distinct::Repeat) -> Self {
        let how = if repeat.near {
            "it is nearly the same as"
        } else {
            "it repeats"
        };
        ReplyError {
            expected: "value no other row has",
            excerpt: String::new(),
            reason: format!(
                "{how} the value of another row (row {}); write something different \
                 from it",
                repeat.row
            ),
            reply: None,
        }
    }

    /// The error, knowing the whole reply it is about (kept unless the parser kept its
    /// own), so that the reply can be shown to the model when the question is asked
    /// again.
    pub(crate) fn about(mut self, reply: String) -> Self {
        if self.excerpt.is_empty() && !reply.is_empty() {
            self.excerpt = ReplyError::new::<()>(&reply, "").excerpt;
        }
        self.reply.get_or_insert(reply);
        self
    }
}
