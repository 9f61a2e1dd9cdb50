chatan::dataset! {
    struct Mixed {
        kind: String = sample::choice(["a", "b"]),
        prompt: String = gen("{% if kind == \"a\" %}first{% else %}second"),
    }
}

fn main() {}
