use chatan::Dataset;

#[derive(Dataset)]
struct Qa {
    #[generate("write a question")]
    question: String,
    answer: String,
}

fn main() {}
