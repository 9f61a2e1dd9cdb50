chatan::dataset! {
    struct Qa<T> {
        question: String = gen("write a question"),
        extra: T = sample::input(),
    }
}

fn main() {}
