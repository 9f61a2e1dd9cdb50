use chatan::Dataset;

#[derive(Dataset)]
struct Qa {
    #[generat("write a question")]
    question: String,
    #[sampel(choice(["a", "b"]))]
    topic: String,
}

fn main() {}
