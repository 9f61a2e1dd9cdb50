chatan::dataset! {
    #[chatan(crates = "my_chatan")]
    struct Qa {
        question: String = gen("write a question"),
    }
}

fn main() {}
