chatan::dataset! {
    struct Qa {
        question: String = gen("write a question", top_k = 0),
        answer: String = gen("answer: {question}", top_k = 0.5),
        hint: String = gen("hint for {question}", top_k = 40),
    }
}

fn main() {}
