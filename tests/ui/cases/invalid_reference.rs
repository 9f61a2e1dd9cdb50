chatan::dataset! {
    struct Qa {
        question: String = gen("write a question"),
        answer: String = gen("reply as JSON: {\"answer\": ...} to {question}"),
    }
}

fn main() {}
