use chatan::Dataset;

#[derive(Dataset)]
struct Qa
where
    String: Clone,
{
    #[generate("write a question")]
    question: String,
}

fn main() {}
