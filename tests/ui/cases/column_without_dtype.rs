// Saving rows whose recipe has a column type with no polars dtype is a compile error
// that names the type and the ways out. (Recipes that are never saved need no mapping:
// turning on the `polars` feature does not break them.)
#[derive(Debug, Clone)]
pub enum Choice {
    A,
}

chatan::dataset! {
    pub struct Row {
        pub pick: Choice = value(Choice::A),
        pub text: String = gen("x"),
    }
}

fn main() {
    let rows: Vec<Row> = Vec::new();
    let _ = chatan::save(&rows, "x.parquet");
}
