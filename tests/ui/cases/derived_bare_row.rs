fn describe<T>(_: T) -> usize {
    0
}

chatan::dataset! {
    struct Qa {
        question: String = gen("write a question"),
        score: usize = |row| describe(row),
    }
}

fn main() {}
