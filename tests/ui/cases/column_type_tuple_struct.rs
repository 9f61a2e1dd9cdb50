#[derive(chatan::data::ColumnType)]
struct Pair(u8, u8);

fn main() {}
