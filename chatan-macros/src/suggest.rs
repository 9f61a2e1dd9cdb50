//! "Did you mean" suggestions for misspelt column and option names.

/// The candidate closest to `name`, if one is close enough to be a likely typo.
pub fn closest<'a>(name: &str, candidates: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (name.chars().count() / 3).max(1);
    candidates
        .into_iter()
        .map(|c| (distance(name, c), c))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, _)| d)
        .map(|(_, c)| c)
}

/// Optimal string alignment distance: Levenshtein plus transposition of neighbours,
/// which is the most common typo (`questoin`).
pub fn distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut d = vec![vec![0usize; b.len() + 1]; a.len() + 1];
    for (i, row) in d.iter_mut().enumerate() {
        row[0] = i;
    }
    for (j, cell) in d[0].iter_mut().enumerate() {
        *cell = j;
    }
    for i in 1..=a.len() {
        for j in 1..=b.len() {
            let cost = usize::from(a[i - 1] != b[j - 1]);
            d[i][j] = (d[i - 1][j] + 1)
                .min(d[i][j - 1] + 1)
                .min(d[i - 1][j - 1] + cost);
            if i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1] {
                d[i][j] = d[i][j].min(d[i - 2][j - 2] + 1);
            }
        }
    }
    d[a.len()][b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distances() {
        assert_eq!(distance("question", "question"), 0);
        assert_eq!(distance("questoin", "question"), 1);
        assert_eq!(distance("anwser", "answer"), 1);
        assert_eq!(distance("topc", "topic"), 1);
        assert_eq!(distance("", "abc"), 3);
        assert_eq!(distance("kitten", "sitting"), 3);
    }

    #[test]
    fn suggests_the_nearest_close_name() {
        let names = ["question", "answer", "topic"];
        assert_eq!(closest("questoin", names), Some("question"));
        assert_eq!(closest("answr", names), Some("answer"));
        assert_eq!(
            closest("temprature", ["temperature", "max_tokens"]),
            Some("temperature")
        );
    }

    #[test]
    fn does_not_suggest_unrelated_names() {
        assert_eq!(closest("colour", ["question", "answer"]), None);
        assert_eq!(closest("x", ["yz"]), None);
    }
}
