//! Turning a reply's text into a column's value.

use crate::error::ReplyError;

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
/// use chatan::{FromReply, ReplyError};
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
