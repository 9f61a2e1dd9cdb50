#[derive(Debug, Clone)]
pub struct Review {
    pub score: u8,
}

chatan::dataset! {
    struct Reviewed {
        answer: String = gen("an answer"),
        review: Review = |row| Review { score: row.answer.len() as u8 },
        prompt: String = gen("{% if review.score == \"high\" %}praise{% endif %} {answer}"),
    }
}

fn main() {}
