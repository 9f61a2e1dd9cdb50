//! How `{% if %}` conditions in templates compare a column with a literal, and what
//! a column's truth is. The macros emit calls to these traits, so a column type that
//! cannot be compared with a literal of that kind is a compile error.
//!
//! | column type | compares with | true when |
//! |---|---|---|
//! | `String`, `str`, `Box<str>`, `Arc<str>`, `Cow<str>`, `char` | `"text"` (byte order) | not empty (`char`: always) |
//! | integers | integers, floats (numeric order) | not 0 |
//! | `f32`, `f64` | integers, floats (numeric order) | not 0 |
//! | [`Scale`](crate::structured::Scale) | integers, floats | — |
//! | `bool` | `true`, `false` | true |
//! | `Option<T>` | what `T` does; `None` equals nothing (only `!=` holds) | `Some(v)` with `v` true |
//! | `Vec<T>` | — | not empty |
//!
//! Any other type: compare a derived column (`|row| row.kind.to_string()`).

use std::cmp::Ordering;

/// A string literal in a condition: `"kernelbench"`.
#[derive(Debug, Clone, Copy)]
pub struct StringLiteral(pub &'static str);

/// An integer literal in a condition: `3`.
#[derive(Debug, Clone, Copy)]
pub struct IntegerLiteral(pub i128);

/// A float literal in a condition: `0.5`.
#[derive(Debug, Clone, Copy)]
pub struct FloatLiteral(pub f64);

/// `true` or `false` in a condition.
#[derive(Debug, Clone, Copy)]
pub struct BoolLiteral(pub bool);

/// A column type that a template condition can compare with a literal of type `L`.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` column cannot be compared with `{L}` in a template condition",
    label = "a condition in this template compares a `{Self}` column with `{L}`",
    note = "in conditions, strings compare with \"text\", numbers with 3 or 0.5, bools with true or false; for another type, compare a derived column (`|row| row.field.to_string()`)"
)]
pub trait Compare<L> {
    /// How the column's value orders against the literal (`None`: they do not compare).
    fn compare(&self, literal: &L) -> Option<Ordering>;
}

/// A column type with a truth value, for `{% if column %}`.
#[diagnostic::on_unimplemented(
    message = "a `{Self}` column has no truth value in a template condition",
    label = "a condition in this template tests a `{Self}` column by itself",
    note = "strings, numbers, bools, `Option` and `Vec` have a truth value; compare this column with a literal instead (`{{% if column == \"text\" %}}`)"
)]
pub trait Truthy {
    /// Whether the value counts as true.
    fn truthy(&self) -> bool;
}

macro_rules! text {
    ($($t:ty),*) => {$(
        impl Compare<StringLiteral> for $t {
            fn compare(&self, literal: &StringLiteral) -> Option<Ordering> {
                let s: &str = self.as_ref();
                Some(s.cmp(literal.0))
            }
        }
        impl Truthy for $t {
            fn truthy(&self) -> bool {
                let s: &str = self.as_ref();
                !s.is_empty()
            }
        }
    )*};
}

text!(
    String,
    str,
    Box<str>,
    std::sync::Arc<str>,
    std::borrow::Cow<'_, str>
);

impl Compare<StringLiteral> for char {
    fn compare(&self, literal: &StringLiteral) -> Option<Ordering> {
        let mut buffer = [0; 4];
        let s: &str = self.encode_utf8(&mut buffer);
        Some(s.cmp(literal.0))
    }
}

impl Truthy for char {
    fn truthy(&self) -> bool {
        true
    }
}

macro_rules! integer {
    ($($t:ty),*) => {$(
        impl Compare<IntegerLiteral> for $t {
            fn compare(&self, literal: &IntegerLiteral) -> Option<Ordering> {
                // Every integer type but u128 fits in i128; a u128 that does not is larger.
                Some(i128::try_from(*self).map_or(Ordering::Greater, |v| v.cmp(&literal.0)))
            }
        }
        impl Compare<FloatLiteral> for $t {
            fn compare(&self, literal: &FloatLiteral) -> Option<Ordering> {
                (*self as f64).partial_cmp(&literal.0)
            }
        }
        impl Truthy for $t {
            fn truthy(&self) -> bool {
                *self != 0
            }
        }
    )*};
}

integer!(
    i8, i16, i32, i64, i128, isize, u8, u16, u32, u64, u128, usize
);

macro_rules! float {
    ($($t:ty),*) => {$(
        impl Compare<FloatLiteral> for $t {
            fn compare(&self, literal: &FloatLiteral) -> Option<Ordering> {
                f64::from(*self).partial_cmp(&literal.0)
            }
        }
        impl Compare<IntegerLiteral> for $t {
            fn compare(&self, literal: &IntegerLiteral) -> Option<Ordering> {
                f64::from(*self).partial_cmp(&(literal.0 as f64))
            }
        }
        impl Truthy for $t {
            fn truthy(&self) -> bool {
                *self != 0.0
            }
        }
    )*};
}

float!(f32, f64);

impl Compare<BoolLiteral> for bool {
    fn compare(&self, literal: &BoolLiteral) -> Option<Ordering> {
        Some(self.cmp(&literal.0))
    }
}

impl Truthy for bool {
    fn truthy(&self) -> bool {
        *self
    }
}

impl<const MIN: i64, const MAX: i64> Compare<IntegerLiteral>
    for crate::structured::Scale<MIN, MAX>
{
    fn compare(&self, literal: &IntegerLiteral) -> Option<Ordering> {
        self.get().compare(literal)
    }
}

impl<const MIN: i64, const MAX: i64> Compare<FloatLiteral> for crate::structured::Scale<MIN, MAX> {
    fn compare(&self, literal: &FloatLiteral) -> Option<Ordering> {
        self.get().compare(literal)
    }
}

impl<L, T: Compare<L>> Compare<L> for Option<T> {
    fn compare(&self, literal: &L) -> Option<Ordering> {
        self.as_ref().and_then(|v| v.compare(literal))
    }
}

impl<T: Truthy> Truthy for Option<T> {
    fn truthy(&self) -> bool {
        self.as_ref().is_some_and(T::truthy)
    }
}

impl<T> Truthy for Vec<T> {
    fn truthy(&self) -> bool {
        !self.is_empty()
    }
}

impl<T: Truthy + ?Sized> Truthy for &T {
    fn truthy(&self) -> bool {
        (**self).truthy()
    }
}

impl<L, T: Compare<L> + ?Sized> Compare<L> for &T {
    fn compare(&self, literal: &L) -> Option<Ordering> {
        (**self).compare(literal)
    }
}

/// Whether `value op literal` holds.
#[inline]
pub fn holds<L, T: Compare<L> + ?Sized>(
    value: &T,
    op: chatan_template::CompareOp,
    literal: &L,
) -> bool {
    op.holds(value.compare(literal))
}

/// Whether `left op right` holds, for two columns.
#[inline]
pub fn holds_columns<A: PartialOrd<B> + ?Sized, B: ?Sized>(
    left: &A,
    op: chatan_template::CompareOp,
    right: &B,
) -> bool {
    op.holds(left.partial_cmp(right))
}

/// Whether `value` is true.
#[inline]
pub fn truthy<T: Truthy + ?Sized>(value: &T) -> bool {
    value.truthy()
}

#[cfg(test)]
mod tests {
    use super::*;
    use chatan_template::CompareOp::*;

    #[test]
    fn strings_numbers_and_bools_compare_with_their_literals() {
        assert!(holds("kernelbench", Eq, &StringLiteral("kernelbench")));
        assert!(holds(&String::from("a"), Lt, &StringLiteral("b")));
        assert!(holds(&7u32, Gt, &IntegerLiteral(5)));
        assert!(holds(&7u32, Le, &FloatLiteral(7.0)));
        assert!(holds(&u128::MAX, Gt, &IntegerLiteral(i128::MAX)));
        assert!(holds(&-1i8, Lt, &IntegerLiteral(0)));
        assert!(holds(&0.5f32, Eq, &FloatLiteral(0.5)));
        assert!(holds(&2.0f64, Eq, &IntegerLiteral(2)));
        assert!(holds(&true, Eq, &BoolLiteral(true)));
        assert!(holds(&'x', Eq, &StringLiteral("x")));
        assert!(!holds(&f64::NAN, Eq, &FloatLiteral(0.0)));
        assert!(holds(&f64::NAN, Ne, &FloatLiteral(0.0)));
    }

    #[test]
    fn none_equals_nothing() {
        let none: Option<u32> = None;
        for op in [Eq, Lt, Le, Gt, Ge] {
            assert!(!holds(&none, op, &IntegerLiteral(0)), "{op:?}");
        }
        assert!(holds(&none, Ne, &IntegerLiteral(0)));
        assert!(holds(&Some(3u32), Eq, &IntegerLiteral(3)));
    }

    #[test]
    fn truth_is_pythons() {
        assert!(!truthy(""));
        assert!(truthy("x"));
        assert!(!truthy(&0u8));
        assert!(truthy(&-1i64));
        assert!(!truthy(&0.0f64));
        assert!(!truthy(&None::<bool>));
        assert!(!truthy(&Some(false)));
        assert!(truthy(&Some(1u8)));
        assert!(!truthy(&Vec::<u8>::new()));
        assert!(truthy(&vec![0u8]));
    }
}
