chatan::dataset! {
    struct Qa {
        question: String gen("write a question"),
    }
}

fn main() {}
