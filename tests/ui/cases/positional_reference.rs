chatan::dataset! {
    struct Qa {
        question: String = gen("write a question"),
        answer: String = gen("answer {0}"),
    }
}

fn main() {}
