chatan::dataset! {
    struct Qa {
        question: String = gen("write a question"),
        length: usize = |row| row.question.clone(),
    }
}

fn main() {}
