//! The code the macros emit never captures or hides the user's own names: each case here
//! failed to compile, or silently did the wrong thing, before the paths were qualified.

use chatan::chrono::{DateTime, Utc};
use chatan_mock::MockConfig;

/// A user type named like a chatan sampler type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Choice {
    A,
    B,
}

impl std::fmt::Display for Choice {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{self:?}")
    }
}

/// A user sampler constructor named like chatan's `sample::range`.
fn range(_low: u8, _high: u8) -> chatan::sample::Constant<u8> {
    chatan::sample::constant(42)
}

/// A user function named like a parameter of the emitted methods.
fn column(n: usize) -> usize {
    n * 10
}

chatan::dataset! {
    #[derive(Debug)]
    struct Declared {
        pick: Choice = value(Choice::B),
        created: DateTime<Utc> = value(DateTime::<Utc>::UNIX_EPOCH),
        mine: u8 = range(1, 5),
        theirs: u8 = sample::range(1, 5),
        question: String = gen("about {pick}"),
        scaled: usize = |row| column(row.question.len()),
    }
}

#[derive(chatan::Dataset, Debug)]
struct Derived {
    #[value(Choice::A)]
    pick: Choice,
    #[sample(range(1, 5))]
    theirs: u8,
    #[sample(self::range(1, 5))]
    mine: u8,
    #[generate("about {pick}")]
    question: String,
    #[derived(|row| column(row.question.len()))]
    scaled: usize,
}

#[tokio::test]
async fn user_names_resolve_to_the_users_items() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Declared::generate(&llm, 20).await.unwrap();
    for row in &rows {
        assert_eq!(row.pick, Choice::B);
        assert_eq!(row.created, DateTime::<Utc>::UNIX_EPOCH);
        assert_eq!(row.mine, 42, "the user's own `range`");
        assert!((1..=5).contains(&row.theirs), "chatan's `sample::range`");
        assert_eq!(row.scaled, row.question.len() * 10);
    }

    let rows = Derived::generate(&llm, 20).await.unwrap();
    for row in &rows {
        assert_eq!(row.pick, Choice::A);
        assert!(
            (1..=5).contains(&row.theirs),
            "bare `range` in #[sample] is chatan's"
        );
        assert_eq!(row.mine, 42, "`self::range` is the user's");
        assert!(row.question.contains("about A"));
        assert_eq!(row.scaled, row.question.len() * 10);
    }
}

chatan::dataset! {
    #[derive(Debug)]
    struct Words {
        answer: String = gen("an answer"),
        words: usize = |row| row.answer.split(' ').filter(|row| !row.is_empty()).count(),
        first: usize = |row| {
            let row = row.answer.split(' ').next().unwrap_or_default();
            row.len()
        },
    }
}

#[tokio::test]
async fn a_nested_closure_or_let_may_reuse_the_rows_name() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Words::generate(&llm, 3).await.unwrap();
    for row in &rows {
        assert_eq!(row.words, row.answer.split_whitespace().count());
        assert_eq!(row.first, row.answer.split(' ').next().unwrap().len());
    }
}

#[derive(chatan::Dataset, Debug)]
struct SelfIsTheRow {
    #[sample(Self::topics())]
    topic: String,
    #[value(Self::VERSION)]
    version: u32,
    #[generate("an answer about {topic}")]
    answer: String,
    #[derived(|row| Self::shout(&row.answer))]
    loud: String,
}

impl SelfIsTheRow {
    const VERSION: u32 = 3;

    fn topics() -> chatan::sample::Choice<&'static str> {
        chatan::sample::choice(["rivers"])
    }

    fn shout(text: &str) -> String {
        text.to_uppercase()
    }
}

#[tokio::test]
async fn self_in_recipe_expressions_is_the_row_type() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = SelfIsTheRow::generate(&llm, 2).await.unwrap();
    for row in &rows {
        assert_eq!((row.topic.as_str(), row.version), ("rivers", 3));
        assert_eq!(row.loud, row.answer.to_uppercase());
    }
}
