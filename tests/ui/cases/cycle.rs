chatan::dataset! {
    struct Qa {
        question: String = gen("write a question that {answer} answers"),
        answer: String = gen("answer: {question}"),
    }
}

fn main() {}
