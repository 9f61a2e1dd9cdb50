chatan::dataset! {
    struct Qa {
        question: String = gen("write a question"),
        #[cfg(test)]
        answer: String = gen("answer: {question}"),
    }
}

fn main() {}
