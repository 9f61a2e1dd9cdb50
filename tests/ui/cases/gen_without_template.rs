chatan::dataset! {
    struct Qa {
        question: String = gen(),
        answer: String = gen(temperature = 0.2),
    }
}

fn main() {}
