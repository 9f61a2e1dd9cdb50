chatan::dataset! {
    struct Qa {
        question: String = gen("write a question"),
        a: usize = |row: &Qa| row.question.len(),
        b: usize = |x, y| 0,
        c: usize = || 0,
    }
}

fn main() {}
