chatan::dataset! {
    struct Qa {
        question: String = gen("write a question", temperature = 3.5, max_tokens = "100"),
        answer: String = gen("answer: {question}", system = "", temperature = 0.1, temperature = 0.2),
    }
}

fn main() {}
