//! Exact match.

/// Whether `a` and `b` are the same text.
pub fn exact_match(a: &str, b: &str) -> bool {
    a == b
}

/// Whether `a` and `b` are the same text once each is normalised: Unicode lowercase,
/// leading and trailing whitespace removed, and every run of inner whitespace made one
/// space (`"  Hello\n World "` matches `"hello world"`). Punctuation is kept.
pub fn exact_match_normalized(a: &str, b: &str) -> bool {
    let normal = |s: &str| {
        s.split_whitespace()
            .map(str::to_lowercase)
            .collect::<Vec<_>>()
            .join(" ")
    };
    normal(a) == normal(b)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_folds_case_and_whitespace_only() {
        assert!(exact_match_normalized("  Hello\n World ", "hello world"));
        assert!(exact_match_normalized("ÉCOLE", "école"));
        assert!(!exact_match_normalized("hello, world", "hello world"));
        assert!(!exact_match("Paris", "paris"));
        assert!(exact_match("", ""));
    }
}
