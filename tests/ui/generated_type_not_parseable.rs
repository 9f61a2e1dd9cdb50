chatan::dataset! {
    struct Row {
        question: String = gen("write a question"),
        keywords: Vec<String> = gen("list keywords of {question}"),
    }
}

fn main() {}
