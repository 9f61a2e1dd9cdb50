chatan::dataset! {
    struct Qa {
        question: String = gen("write a question", stop = [], seed = -1),
        answer: String = gen("answer: {question}", stop = ["ok", 3], cache_system = "yes"),
        hint: String = gen("hint for {question}", stop = ""),
    }
}

fn main() {}
