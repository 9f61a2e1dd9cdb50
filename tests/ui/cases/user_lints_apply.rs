// The user's own code inside a recipe keeps its lints: the macro adds no `allow` over it.
#![deny(unused_mut)]

chatan::dataset! {
    struct Row {
        answer: String = gen("an answer"),
        words: usize = |row| {
            let mut count = row.answer.split_whitespace().count();
            count
        },
    }
}

fn main() {}
