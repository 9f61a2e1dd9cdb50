chatan::dataset! {
    struct Qa {
        #[generate("write a question")]
        question: String = gen("write a question"),
    }
}

fn main() {}
