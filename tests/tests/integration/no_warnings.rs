//! A recipe written the way users write them compiles without a single warning, with
//! every lint on: the macros' output adds none of its own to the user's code. (A module
//! of the integration tests rather than a trybuild case, whose project would build its
//! dependencies again; a warning here fails the build of the tests.)
#![deny(warnings, unused_parens, unused_qualifications)]

#[derive(Debug, Clone)]
pub struct Source {
    pub prompt: String,
    pub level: u8,
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct Row {
        pub src: Source = sample::input(),
        pub id: u32 = sample::range(1, 9),
        pub question: String = gen("rewrite at level {src.level}: {src.prompt}"),
        pub answer: String = gen("answer: {question}", distinct = true, check = |a, row| {
            if a.len() > row.question.len() { Ok(()) } else { Err("answer at length") }
        }),
        pub score: u8 = gen("score: {answer}", check = in_range),
        pub summary: String = gen("summarize: {answer}", distinct = 0.8),
        pub parsed: u32 = |row| -> Result<u32, std::num::ParseIntError> { Ok(row.id) },
        pub words: usize = |row| row.answer.split(' ').filter(|row| !row.is_empty()).count(),
        pub first: char = |row| row.answer.chars().next().unwrap_or(' '),
        pub total: u64 = |row| u64::from(row.id) + row.words as u64,
        pub both: String = |row| format!("{} {}", row.question, row.answer),
    }
}

fn in_range(score: &u8) -> Result<(), String> {
    (1..=10)
        .contains(score)
        .then_some(())
        .ok_or_else(|| format!("{score} is not 1-10"))
}

#[derive(chatan::Dataset, Debug)]
pub struct Derived {
    #[sample(choice(["a", "b"]))]
    pub topic: String,
    #[generate("about {topic}", check = |text: &str| if text.is_empty() { Err("empty") } else { Ok(()) })]
    pub text: String,
    #[derived(|row| row.text.len())]
    pub length: usize,
}

#[test]
fn the_recipes_build_runners() {
    let _ = Row::runner(&chatan::OpenAi::compatible("http://localhost:1/v1").unwrap());
    let _ = Derived::runner(&chatan::OpenAi::compatible("http://localhost:1/v1").unwrap());
}
