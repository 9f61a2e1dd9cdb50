use chatan::Dataset;

#[derive(Dataset)]
enum Qa {
    Question(String),
}

#[derive(Dataset)]
struct Pair(String, String);

fn main() {}
