use chatan::Dataset;

#[derive(Dataset)]
struct Qa {
    #[generate("write a question")]
    #[sample(choice(["a", "b"]))]
    question: String,
}

fn main() {}
