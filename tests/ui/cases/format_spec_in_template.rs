chatan::dataset! {
    struct Scored {
        score: f64 = sample::range(0.0, 1.0),
        comment: String = gen("comment on a score of {score:.2}"),
    }
}

fn main() {}
