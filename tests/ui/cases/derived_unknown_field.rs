chatan::dataset! {
    struct Qa {
        question: String = gen("write a question"),
        answer: String = gen("answer: {question}"),
        length: usize = |row| row.answr.len(),
    }
}

fn main() {}
