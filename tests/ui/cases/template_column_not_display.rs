#[derive(Clone)]
struct Topic;

chatan::dataset! {
    struct Row {
        topic: Topic = value(Topic),
        question: String = gen("write a question about {topic}"),
    }
}

fn main() {}
