// A check must take the column's value and return `Result<(), E>`.
fn is_short(text: &str) -> bool {
    text.len() < 80
}

chatan::dataset! {
    struct Qa {
        question: String = gen("write a question", check = is_short),
        score: u8 = gen("score {question}", check = |score: &String| Ok::<(), String>(())),
    }
}

fn main() {}
