//! Support for the code the macros emit. Not public API: it may change in any release.

use std::fmt::{Display, Write};
use std::marker::PhantomData;

pub use crate::dataset::{NotSampled, SampledColumn};
pub use crate::from_reply::{ReplyError, Shape};
pub use crate::generator::Generators;
pub use crate::options::Options;
pub use crate::recipe::{
    Arm, ColumnKind, ColumnSpec, CompareOp, DeriveError, Distinct, GenSpec, Piece, Recipe, Spec,
};
pub use crate::sample::BoxedSampler;
pub use crate::sample::{SampleContext, Sampler};
pub use serde;

use crate::dataset::{Dataset, SamplersOf};
use crate::sample::FromSampled;

/// A column as the data layer sees it: a getter for the field, in a type-level list
/// (`(Col<Row, A>, (Col<Row, B>, ()))`) whose element types carry the column types, so
/// `ToFrame` holds exactly when every column type has a polars dtype.
pub struct Col<R, T: ?Sized>(pub fn(&R) -> &T);

/// A column stored as JSON text (`#[chatan(json)]`).
pub struct Json<R, T: ?Sized>(pub fn(&R) -> &T);

/// The value of a cell the scheduler has filled.
#[inline]
pub fn filled<T>(cell: &Option<T>) -> &T {
    match cell {
        Some(value) => value,
        None => unfilled(),
    }
}

/// The value of a filled cell, moved out.
#[inline]
pub fn take<T>(cell: Option<T>) -> T {
    match cell {
        Some(value) => value,
        None => unfilled(),
    }
}

#[cold]
fn unfilled() -> ! {
    panic!("chatan bug: a cell was read before it was filled; please report this")
}

/// Reached only if the engine asks a recipe for a column of the wrong kind.
#[cold]
pub fn unreachable_column(column: usize) -> ! {
    panic!("chatan bug: column {column} was scheduled as the wrong kind; please report this")
}

/// A value that can be written into a prompt.
#[diagnostic::on_unimplemented(
    message = "column of type `{Self}` cannot be inserted into a prompt template",
    label = "this template refers to a column whose type does not implement `Display`",
    note = "a column named in a template must implement `std::fmt::Display`"
)]
pub trait Render {
    /// Appends the value to `out`.
    fn render(&self, out: &mut String);
}

impl<T: Display + ?Sized> Render for T {
    #[inline]
    fn render(&self, out: &mut String) {
        // Writing to a String cannot fail.
        let _ = write!(out, "{self}");
    }
}

/// Writes a column's value into a prompt.
#[inline]
pub fn write_field<T: Render + ?Sized>(out: &mut String, value: &T) {
    value.render(out);
}

/// How a generated column's type is read from a reply, chosen by method resolution on
/// `(&&&Probe::<T>::new())` (autoref specialization, for the concrete types the macros
/// emit): a [`FromReply`](crate::FromReply) type reads the reply as text; otherwise a
/// `Deserialize + JsonSchema` type is a structured column; otherwise the `FromReply`
/// bound is reported, with its note on both ways out.
pub mod reply {
    use std::marker::PhantomData;
    use std::sync::Arc;

    use schemars::JsonSchema;
    use serde::de::DeserializeOwned;

    use crate::from_reply::FromReply;
    use crate::from_reply::ReplyError;
    use crate::structured::Schema;

    /// The probe.
    pub struct Probe<T>(PhantomData<fn() -> T>);

    impl<T> Probe<T> {
        /// A probe for `T`.
        #[inline]
        pub fn new() -> Self {
            Probe(PhantomData)
        }
    }

    impl<T> Default for Probe<T> {
        fn default() -> Self {
            Probe::new()
        }
    }

    /// A text column.
    pub trait TextReply<T> {
        /// No schema.
        fn schema(&self) -> Option<Arc<Schema>>;
        /// [`FromReply::shape`](crate::FromReply::shape).
        fn shape(&self) -> Option<crate::Shape>;
        /// [`FromReply`](crate::FromReply).
        fn parse(&self, reply: String) -> Result<T, ReplyError>;
    }

    impl<T: FromReply> TextReply<T> for &&Probe<T> {
        #[inline]
        fn schema(&self) -> Option<Arc<Schema>> {
            None
        }
        #[inline]
        fn shape(&self) -> Option<crate::Shape> {
            T::shape()
        }
        #[inline]
        fn parse(&self, reply: String) -> Result<T, ReplyError> {
            T::from_reply(reply)
        }
    }

    /// A structured column.
    pub trait StructuredReply<T> {
        /// The type's schema.
        fn schema(&self) -> Option<Arc<Schema>>;
        /// None: the schema holds the reply.
        fn shape(&self) -> Option<crate::Shape> {
            None
        }
        /// JSON, checked against the schema, deserialized.
        fn parse(&self, reply: String) -> Result<T, ReplyError>;
    }

    impl<T: DeserializeOwned + JsonSchema + 'static> StructuredReply<T> for &Probe<T> {
        fn schema(&self) -> Option<Arc<Schema>> {
            Some(Schema::of::<T>())
        }
        fn parse(&self, reply: String) -> Result<T, ReplyError> {
            Schema::of::<T>().parse(&reply)
        }
    }

    /// Neither: the bound on `parse` is the compile error.
    pub trait NoReply<T> {
        /// None (the column does not compile anyway).
        fn schema(&self) -> Option<Arc<Schema>>;
        /// None (the column does not compile anyway).
        fn shape(&self) -> Option<crate::Shape> {
            None
        }
        /// Unreachable: `T` is not a `FromReply`.
        fn parse(&self, reply: String) -> Result<T, ReplyError>
        where
            T: FromReply;
    }

    impl<T> NoReply<T> for Probe<T> {
        fn schema(&self) -> Option<Arc<Schema>> {
            None
        }
        fn parse(&self, reply: String) -> Result<T, ReplyError>
        where
            T: FromReply,
        {
            T::from_reply(reply)
        }
    }
}

/// The value of a fallible derived column (`|row| -> Result<T, E> { .. }`), its error
/// boxed.
#[inline]
pub fn fallible<T, E>(result: Result<T, E>) -> Result<T, DeriveError>
where
    E: Into<DeriveError>,
{
    result.map_err(Into::into)
}

/// Runs a generated column's `check` on its value: an error's text is why the reply
/// could not be used, sent back to the model when the question is asked again (the
/// engine adds the reply itself). `C` is the column's type, which the error names; `T`
/// is what the check reads (`str` for a `String` column).
#[inline]
pub fn check<C, T: ?Sized, E, F>(value: &T, check: F) -> Result<(), ReplyError>
where
    F: FnOnce(&T) -> Result<(), E>,
    E: std::fmt::Display,
{
    check(value).map_err(|reason| ReplyError::failed_check::<C>(reason))
}

/// A static column's value, as a constant sampler.
#[inline]
pub fn constant<T, V>(value: V) -> BoxedSampler<T>
where
    V: Clone + Send + Sync + 'static,
    T: FromSampled<V> + 'static,
{
    BoxedSampler::new(crate::sample::constant(value))
}

/// A handle to a sampled column.
pub fn column<R: Dataset, T>(
    name: &'static str,
    set: fn(&mut SamplersOf<R>, BoxedSampler<T>),
) -> SampledColumn<R, T> {
    SampledColumn::new(name, set)
}

/// The handle of a column that has no sampler.
pub fn not_sampled(name: &'static str) -> crate::dataset::NotSampled {
    crate::dataset::NotSampled::new(name)
}

/// Cells written for people to read ([`Recipe::show`]). The macro calls
/// `(&&&&Cell(&cells.field)).__chatan_show(f)` with these traits imported as `_`: method
/// lookup takes the first impl that applies, from the most references down (autoref
/// specialization), so a type is shown by `Display` if it has it, else as JSON, else by
/// `Debug`, else by its type's name.
pub mod show {
    use std::fmt::{self, Debug, Display, Formatter};

    /// A cell (empty until filled).
    pub struct Cell<'a, T>(pub &'a Option<T>);

    /// By `Display`.
    pub trait ViaDisplay {
        /// Writes the cell.
        fn __chatan_show(&self, f: &mut Formatter<'_>) -> fmt::Result;
    }
    impl<T: Display> ViaDisplay for &&&Cell<'_, T> {
        fn __chatan_show(&self, f: &mut Formatter<'_>) -> fmt::Result {
            match self.0 {
                Some(value) => Display::fmt(value, f),
                None => Ok(()),
            }
        }
    }

    /// As JSON.
    pub trait ViaSerialize {
        /// Writes the cell.
        fn __chatan_show(&self, f: &mut Formatter<'_>) -> fmt::Result;
    }
    impl<T: serde::Serialize> ViaSerialize for &&Cell<'_, T> {
        fn __chatan_show(&self, f: &mut Formatter<'_>) -> fmt::Result {
            match self.0 {
                Some(value) => match serde_json::to_string(value) {
                    Ok(json) => f.write_str(&json),
                    Err(e) => write!(f, "<not serializable: {e}>"),
                },
                None => Ok(()),
            }
        }
    }

    /// By `Debug`.
    pub trait ViaDebug {
        /// Writes the cell.
        fn __chatan_show(&self, f: &mut Formatter<'_>) -> fmt::Result;
    }
    impl<T: Debug> ViaDebug for &Cell<'_, T> {
        fn __chatan_show(&self, f: &mut Formatter<'_>) -> fmt::Result {
            match self.0 {
                Some(value) => Debug::fmt(value, f),
                None => Ok(()),
            }
        }
    }

    /// By the type's name.
    pub trait ViaName {
        /// Writes the cell.
        fn __chatan_show(&self, f: &mut Formatter<'_>) -> fmt::Result;
    }
    impl<T> ViaName for Cell<'_, T> {
        fn __chatan_show(&self, f: &mut Formatter<'_>) -> fmt::Result {
            match self.0 {
                Some(_) => write!(f, "<{}>", std::any::type_name::<T>()),
                None => Ok(()),
            }
        }
    }
}

/// The recipe of a struct whose recipe did not compile: lets the rest of the user's code
/// type-check while the real errors are shown.
pub struct Unbuildable<R>(PhantomData<fn() -> R>);

impl<R: 'static> Recipe for Unbuildable<R> {
    type Row = R;
    type Samplers = ();
    const SPEC: Spec = Spec {
        name: "",
        columns: &[],
        references: &[],
        conditions: &[],
        definition: 0,
    };
    fn new() -> Self {
        unreachable!("recipe did not compile")
    }
    fn samplers() {}
    fn check_sampler(_: &(), _: usize) -> Result<(), crate::sample::SamplerError> {
        Ok(())
    }
    fn sample(&mut self, _: usize, _: &(), _: &mut SampleContext) {}
    fn derive(&mut self, _: usize) -> Result<(), DeriveError> {
        Ok(())
    }
    fn write_ref(&self, _: usize, _: &mut String) {}
    fn test(&self, _: usize) -> bool {
        false
    }
    fn schema(_: usize) -> Option<std::sync::Arc<crate::structured::Schema>> {
        None
    }
    fn accept(&mut self, _: usize, _: String) -> Result<(), ReplyError> {
        Ok(())
    }
    fn finish(self) -> R {
        unreachable!("recipe did not compile")
    }
}
