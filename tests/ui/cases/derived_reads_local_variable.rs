// A derived closure sees the row and items (functions, constants), never local
// variables: a recipe compiles into items. The way out is a sampled column filled at run
// time (`sample::input()` and `Runner::sampler`).
fn main() {
    let suffix = String::from("!");
    chatan::dataset! {
        struct Shout {
            word: String = gen("a word"),
            loud: String = |row| format!("{}{}", row.word, suffix),
        }
    }
}
