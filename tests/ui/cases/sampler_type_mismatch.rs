chatan::dataset! {
    struct Row {
        id: u64 = sample::uuid(),
        topic: String = sample::choice(["a", "b"]),
        question: String = gen("about {topic}"),
    }
}

fn main() {}
