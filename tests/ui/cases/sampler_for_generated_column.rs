chatan::dataset! {
    struct Qa {
        question: String = gen("write a question"),
        answer: String = gen("answer: {question}"),
    }
}

fn main() {
    let llm = chatan::OpenAi::compatible("http://localhost:1/v1").unwrap();
    let _ = Qa::runner(&llm).sampler(|c| c.question, chatan::sample::choice(["q"]));
}
