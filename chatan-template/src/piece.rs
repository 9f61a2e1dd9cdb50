//! The compiled form of a template that a recipe carries at run time, and rendering it.

/// A piece of a compiled template: `&'static` data a macro can emit as a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(&'static str),
    /// The value of the recipe's reference number `n` (a column, or a field inside one).
    Ref(usize),
    /// An `if` / `elif` / `else` chain: the first arm whose condition holds renders.
    If(&'static [Arm]),
}

/// One arm of a [`Piece::If`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Arm {
    /// The recipe's condition number `n`, or `None` for `else`.
    pub condition: Option<usize>,
    /// What the arm renders.
    pub body: &'static [Piece],
}

/// How to fill in a compiled template: the values of references and the truth of
/// conditions.
pub trait Fill {
    /// Writes reference `n`'s value.
    fn write_ref(&mut self, n: usize, out: &mut String);
    /// Whether condition `n` holds.
    fn test(&mut self, n: usize) -> bool;
}

/// Renders `pieces` into `out`.
///
/// ```
/// use chatan_template::{Arm, Fill, Piece, render};
///
/// struct Row { answer: &'static str, short: bool }
/// impl Fill for Row {
///     fn write_ref(&mut self, _: usize, out: &mut String) { out.push_str(self.answer) }
///     fn test(&mut self, _: usize) -> bool { self.short }
/// }
///
/// let pieces = [
///     Piece::Text("answer: "),
///     Piece::Ref(0),
///     Piece::If(&[
///         Arm { condition: Some(0), body: &[Piece::Text(" (briefly)")] },
///         Arm { condition: None, body: &[Piece::Text(" (at length)")] },
///     ]),
/// ];
/// let mut out = String::new();
/// render(&pieces, &mut out, &mut Row { answer: "42", short: true });
/// assert_eq!(out, "answer: 42 (briefly)");
/// ```
pub fn render(pieces: &[Piece], out: &mut String, fill: &mut impl Fill) {
    for piece in pieces {
        match *piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Ref(n) => fill.write_ref(n, out),
            Piece::If(arms) => {
                if let Some(arm) = arms
                    .iter()
                    .find(|arm| arm.condition.is_none_or(|n| fill.test(n)))
                {
                    render(arm.body, out, fill);
                }
            }
        }
    }
}
