//! One request to a generator: the prompt, the column's options and where it comes
//! from.

use std::fmt;

use crate::options::{Options, SetOptions};

/// One request to a generator: the rendered prompt, the column's options and where it
/// comes from (row, column, attempt). What the run tells the layers besides (its
/// observers, its checkpoint) travels beside it, as a [`RunContext`](crate::RunContext).
#[derive(Clone, Copy)]
#[non_exhaustive]
pub struct Request<'a> {
    /// The prompt, with every `{column}` filled in.
    pub prompt: &'a str,
    /// The column's options (see [`Options`]), with the generator's defaults where the
    /// column sets none once the engine has [resolved](crate::Generator::resolve) it.
    pub options: Options<'a>,
    /// The JSON Schema the reply must match, for a structured column (see
    /// [`Schema`](crate::structured::Schema)); `None` for text.
    pub schema: Option<&'a crate::structured::Schema>,
    /// What a text column's reply must look like to read as its type (a `bool`, a number
    /// in its type's range, one `char`; see [`FromReply::shape`](crate::FromReply::shape)).
    /// Local models decode under it; providers are not told.
    pub shape: Option<&'a crate::Shape>,
    /// When a question is asked again because its reply could not be used: that reply
    /// and why, so the model can correct itself.
    pub feedback: Option<Feedback<'a>>,
    /// The row being generated.
    pub row: usize,
    /// The column being generated.
    pub column: &'a str,
    /// Which request for this cell this is, from 1: retries (by [`Retry`](crate::Retry)) and questions
    /// asked again after a reply that did not parse count up. A cache must not answer a
    /// request with `attempt > 1` from an earlier reply to the same prompt.
    pub attempt: u32,
}

/// A generator's defaults: the options of columns that set none, and its system
/// prompt, owned (a column's borrowed one wins over it).
#[doc(hidden)]
#[derive(Debug, Clone, Default)]
pub struct Defaults {
    pub options: Options<'static>,
    pub system: Option<String>,
}

impl Defaults {
    /// `request` with these defaults where it sets nothing.
    pub fn apply<'a>(&'a self, request: &Request<'a>) -> Request<'a> {
        let mut request = *request;
        request.options = request.options.or(&self.options);
        request.options.system = request.options.system.or(self.system.as_deref());
        request
    }
}

impl<'a> Request<'a> {
    /// A request for `prompt` with no options (row 0, column `""`, attempt 1): for calling
    /// a generator directly, as in tests of your own generator.
    pub fn new(prompt: &'a str) -> Self {
        Request {
            prompt,
            options: Options::NONE,
            schema: None,
            shape: None,
            feedback: None,
            row: 0,
            column: "",
            attempt: 1,
        }
    }

    /// With a row and column, as the engine sends them.
    pub fn cell(mut self, row: usize, column: &'a str) -> Self {
        self.row = row;
        self.column = column;
        self
    }

    /// As attempt number `attempt` (from 1).
    pub fn attempt(mut self, attempt: u32) -> Self {
        self.attempt = attempt.max(1);
        self
    }

    /// Asking for a reply that matches `schema`.
    pub fn schema(mut self, schema: &'a crate::structured::Schema) -> Self {
        self.schema = Some(schema);
        self
    }

    /// Asking for a reply of this shape, where the generator can hold it to one (see
    /// [`Request::shape`](Request#structfield.shape)).
    pub fn shape(mut self, shape: &'a crate::Shape) -> Self {
        self.shape = Some(shape);
        self
    }
}

impl<'a> SetOptions<'a> for Request<'a> {
    fn options_mut(&mut self) -> &mut Options<'a> {
        &mut self.options
    }
}

/// A reply that could not be used, and why; sent back with the question when it is asked
/// again (see [`Request::feedback`]).
#[derive(Debug, Clone, Copy)]
pub struct Feedback<'a> {
    /// The reply.
    pub reply: &'a str,
    /// Why it could not be used.
    pub problem: &'a str,
}

impl Feedback<'_> {
    /// The follow-up message that asks for a corrected reply.
    pub fn message(&self) -> String {
        let that = if self.reply.trim().is_empty() {
            "Your reply was empty, so it"
        } else {
            "That reply"
        };
        format!(
            "{that} could not be used: {}. Answer the request again, correcting this, \
             and reply with the answer only.",
            self.problem
        )
    }
}

impl fmt::Debug for Request<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Request")
            .field("prompt", &self.prompt)
            .field("options", &self.options)
            .field("schema", &self.schema.is_some())
            .field("shape", &self.shape)
            .field("feedback", &self.feedback)
            .field("row", &self.row)
            .field("column", &self.column)
            .field("attempt", &self.attempt)
            .finish_non_exhaustive()
    }
}
