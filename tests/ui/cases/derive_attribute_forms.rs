use chatan::Dataset;

#[derive(Dataset)]
struct Qa {
    #[generate]
    question: String,
    #[sample()]
    topic: String,
    #[derived(42)]
    n: usize,
}

fn main() {}
