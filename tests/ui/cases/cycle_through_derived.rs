chatan::dataset! {
    struct Loop {
        a: String = gen("expand {c}"),
        b: usize = |row| row.a.len(),
        c: String = gen("write {b} words"),
        d: String = gen("unrelated"),
    }
}

fn main() {}
