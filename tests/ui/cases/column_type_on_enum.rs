#[derive(chatan::data::ColumnType)]
enum Mood {
    Calm,
    Stormy,
}

fn main() {}
