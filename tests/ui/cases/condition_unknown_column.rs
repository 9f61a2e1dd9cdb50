chatan::dataset! {
    struct Mixed {
        kind: String = sample::choice(["kernelbench", "kernelbook"]),
        prompt: String = gen("{% if knd == \"kernelbench\" %}write a kernel{% endif %}"),
    }
}

fn main() {}
