chatan::dataset! {
    struct Looped {
        topic: String = sample::choice(["a", "b"]),
        prompt: String = gen("{% for t in topic %}{t}{% endfor %}"),
    }
}

fn main() {}
