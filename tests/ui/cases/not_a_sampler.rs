chatan::dataset! {
    struct Row {
        label: String = String::from("fixed"),
        question: String = gen("write a question about {label}"),
    }
}

fn main() {}
