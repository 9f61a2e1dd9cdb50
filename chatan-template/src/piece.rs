//! The compiled form of a template that a recipe carries at run time, and rendering it.

/// A piece of a compiled template: `&'static` data a macro can emit as a constant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Piece {
    /// Literal text.
    Text(&'static str),
    /// The value of the recipe's reference number `n` (a column, or a field inside one).
    Ref(usize),
}

/// Renders `pieces` into `out`; `write_ref(n, out)` writes reference `n`'s value.
///
/// ```
/// use chatan_template::{Piece, render};
///
/// let pieces = [Piece::Text("answer: "), Piece::Ref(0), Piece::Text("!")];
/// let mut out = String::new();
/// render(&pieces, &mut out, |n, out| out.push_str(["forty-two"][n]));
/// assert_eq!(out, "answer: forty-two!");
/// ```
pub fn render(pieces: &[Piece], out: &mut String, mut write_ref: impl FnMut(usize, &mut String)) {
    for piece in pieces {
        match *piece {
            Piece::Text(text) => out.push_str(text),
            Piece::Ref(n) => write_ref(n, out),
        }
    }
}
