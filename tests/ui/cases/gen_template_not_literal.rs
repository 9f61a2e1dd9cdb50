const PROMPT: &str = "write a question";

chatan::dataset! {
    struct Qa {
        question: String = gen(PROMPT),
        answer: String = gen("answer: {question}", "be brief"),
    }
}

fn main() {}
