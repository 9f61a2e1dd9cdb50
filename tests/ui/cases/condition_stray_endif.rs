chatan::dataset! {
    struct Mixed {
        kind: String = sample::choice(["a", "b"]),
        prompt: String = gen("write about {kind}{% endif %}"),
    }
}

fn main() {}
