chatan::dataset! {
    #[derive(Debug)]
    struct Qa {
        question: String = gen("write a question"),
        answer: String = gen("answer: {questoin}"),
    }
}

// The recipe is broken, but code using the type still type-checks: only the recipe's
// error is reported.
async fn use_it(llm: &chatan::OpenAi) -> usize {
    let rows: Vec<Qa> = Qa::runner(llm).seed(1).generate(10).await.unwrap();
    rows.len()
}

fn main() {
    let _ = use_it;
}
