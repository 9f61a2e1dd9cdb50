// A check takes the value, and the row if it reads other columns; the row's fields are
// checked like a derived closure's.
chatan::dataset! {
    struct Qa {
        question: String = gen("write a question", check = || Ok::<(), String>(())),
        answer: String = gen("answer {question}", check = |a, row| {
            if a.contains(&row.questoin) { Ok(()) } else { Err("repeat the question".to_string()) }
        }),
        note: String = gen("a note", distinct = "yes"),
    }
}

fn main() {}
