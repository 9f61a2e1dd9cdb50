chatan::dataset! {
    struct Mixed {
        kind: String = sample::choice(["a", "b"]),
        prompt: String = gen("{% if kind = \"a\" %}first{% endif %}"),
    }
}

fn main() {}
