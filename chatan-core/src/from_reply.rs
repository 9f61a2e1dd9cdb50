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
}

impl FromReply for String {
    fn from_reply(reply: String) -> Result<Self, ReplyError> {
        Ok(reply)
    }
}

macro_rules! parsed {
    ($($t:ty),*) => {$(
        impl FromReply for $t {
            fn from_reply(reply: String) -> Result<Self, ReplyError> {
                reply.trim().parse().map_err(|e| ReplyError::new::<$t>(&reply, e))
            }
        }
    )*};
}

parsed!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize, f32, f64, char
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
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
