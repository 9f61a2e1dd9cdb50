chatan::dataset! {
    struct Qa {
        question: String = gen("write a question", temprature = 0.7),
        answer: String = gen("answer: {question}", frequency_penalty = 0.5),
    }
}

fn main() {}
