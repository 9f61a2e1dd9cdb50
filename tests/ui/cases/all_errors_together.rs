chatan::dataset! {
    struct Qa {
        question: String = gen("write a question about {topc}"),
        answer: String = gen("answer: {question", temprature = 0.2),
        length: usize = |row| row.anser.len(),
    }
}

fn main() {}
