#[derive(Debug)]
pub struct Keywords(Vec<String>);

chatan::dataset! {
    struct Row {
        question: String = gen("write a question"),
        keywords: Keywords = gen("list keywords of {question}"),
    }
}

fn main() {}
