chatan::dataset! {
    struct Counted {
        count: u32 = sample::range(1, 10),
        prompt: String = gen("{% if count == \"3\" %}three{% else %}more{% endif %}"),
    }
}

fn main() {}
