struct Opaque;

#[derive(chatan::data::ColumnType)]
struct Review {
    score: u8,
    detail: Opaque,
}

fn main() {}
