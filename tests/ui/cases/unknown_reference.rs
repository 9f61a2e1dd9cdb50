chatan::dataset! {
    struct Qa {
        question: String = gen("write a question from a 5th grade math test"),
        answer: String = gen("answer: {questoin}"),
    }
}

fn main() {}
