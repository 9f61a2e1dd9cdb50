chatan::dataset! {
    struct Qa {
        question: String = gen("write a question", temperature = 3.5, max_tokens = "100"),
        answer: String = gen("answer: {question}", system = "", temperature = 0.1, temperature = 0.2),
        hint: String = gen("a hint for {question}", top_p = 1.5, trim = "no"),
    }
}

fn main() {}
