chatan::dataset! {
    struct Row {
        checked: bool = "yes",
        question: String = gen("write a question"),
    }
}

fn main() {}
