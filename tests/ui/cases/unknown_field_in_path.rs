#[derive(Debug, Clone, serde::Deserialize)]
struct Source {
    prompt: String,
}

chatan::dataset! {
    struct Rewrite {
        src: Source = sample::input(),
        rewrite: String = gen("rewrite {src.promt}"),
    }
}

fn main() {}
