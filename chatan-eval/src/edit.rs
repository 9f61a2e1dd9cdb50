//! Edit distance and similarity over Unicode scalar values (`char`s).

/// The Levenshtein distance between `a` and `b`: the fewest insertions, deletions and
/// substitutions of `char`s that turn one into the other.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let (a, b) = if a.len() < b.len() { (b, a) } else { (a, b) };
    // One row of the table, over the shorter text.
    let mut row: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.iter().enumerate() {
        let mut diagonal = row[0];
        row[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let above = row[j + 1];
            row[j + 1] = if ca == cb {
                diagonal
            } else {
                1 + diagonal.min(above).min(row[j])
            };
            diagonal = above;
        }
    }
    row[b.len()]
}

/// `1 - edit_distance(a, b) / max(chars in a, chars in b)`: 1.0 for equal texts
/// (including two empty ones), 0.0 when nothing can be kept.
pub fn edit_similarity(a: &str, b: &str) -> f64 {
    let longest = a.chars().count().max(b.chars().count());
    if longest == 0 {
        return 1.0;
    }
    1.0 - edit_distance(a, b) as f64 / longest as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("abc", ""), 3);
        assert_eq!(edit_distance("flaw", "lawn"), 2);
        // Scalar values, not bytes: one substitution.
        assert_eq!(edit_distance("café", "cafe"), 1);
        assert_eq!(edit_distance("🦀🦀", "🦀"), 1);
    }

    #[test]
    fn similarities() {
        assert_eq!(edit_similarity("", ""), 1.0);
        assert_eq!(edit_similarity("abc", "abc"), 1.0);
        assert_eq!(edit_similarity("abc", "xyz"), 0.0);
        assert!((edit_similarity("kitten", "sitting") - 4.0 / 7.0).abs() < 1e-15);
    }
}
