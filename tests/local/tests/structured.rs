//! Structured columns on a real small local model: decoding held to the column's JSON
//! schema, so every reply parses and fits its constraints on the first ask.

use chatan::generate::SetOptions;
use chatan::local::Local;

#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
pub struct Verdict {
    /// How good the answer is.
    pub score: chatan::structured::Scale<1, 10>,
    /// Why, in a few words.
    #[schemars(length(max = 48))]
    pub reason: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Tone {
    Formal,
    Casual,
    Rude,
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Judged {
        pub city: String = sample::choice(["Paris", "Rome", "Madrid", "Berlin", "Lisbon"]),
        pub answer: String = sample::choice(["It is {city}.", "I think it's Lyon.", "no idea lol"]),
        pub verdict: Verdict = gen(
            "Judge this answer to the question 'What is the capital of the country whose \
             capital is {city}?': {answer}",
        ),
    }
}

/// 200 rows of a judge column on SmolLM2-135M: no failures, and no re-asks (every first
/// reply parsed and fit the schema), with the rows batched together.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_judge_column_on_smollm2_always_parses_at_the_first_ask() {
    let llm = Local::gguf(tests_local::smollm2())
        .expect("the model loads")
        .temperature(0.8)
        .max_batch(64);
    let generated = Judged::runner(&llm)
        .seed(7)
        .concurrency(64)
        .run(200)
        .await
        .expect("every row is made");
    let report = &generated.report;
    assert_eq!(report.done, 200);
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(report.reasks, 0, "every reply parsed at the first ask");
    assert_eq!(report.requests, 200, "{report:?}");
    let mut scores = std::collections::BTreeSet::new();
    for row in &generated.rows {
        let score = row.verdict.score.get();
        assert!((1..=10).contains(&score), "{score}");
        assert!(
            row.verdict.reason.chars().count() <= 48,
            "{:?}",
            row.verdict.reason
        );
        scores.insert(score);
    }
    // Sampled, not stuck on one reply.
    assert!(scores.len() >= 3, "{scores:?}");
    eprintln!(
        "200 judged rows in {:.1?}: scores {scores:?}, {} tokens out",
        report.elapsed, report.usage.output_tokens
    );
}

#[derive(Debug, Clone, serde::Deserialize, schemars::JsonSchema)]
pub struct Review {
    /// Unbounded free text.
    pub summary: String,
    pub stars: chatan::structured::Scale<1, 5>,
    pub recommended: bool,
    pub tone: Tone,
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Reviewed {
        pub product: String = sample::choice(["a kettle", "hiking boots", "a desk lamp"]),
        pub review: Review = gen("Review {product} at length, in detail.", max_tokens = 128),
    }
}

/// A free-text property with no `maxLength` would run to the column's `max_tokens` and be
/// cut; near the end of its budget the reply closes its string and object instead.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_reply_closes_its_open_string_before_its_budget_ends() {
    let llm = Local::gguf(tests_local::smollm2())
        .expect("the model loads")
        .temperature(0.8);
    let generated = Reviewed::runner(&llm)
        .seed(3)
        .run(16)
        .await
        .expect("every row is made");
    assert_eq!(generated.report.reasks, 0);
    assert!(
        generated.report.truncated.is_empty(),
        "{:?}",
        generated.report.truncated
    );
    let mut tones = std::collections::BTreeSet::new();
    for row in &generated.rows {
        assert!((1..=5).contains(&row.review.stars.get()));
        tones.insert(row.review.tone as u8);
    }
    assert!(tones.len() >= 2, "{tones:?}");
    // The budget, not the model, ended most summaries: they are long.
    let long = generated
        .rows
        .iter()
        .filter(|r| r.review.summary.split_whitespace().count() >= 8)
        .count();
    assert!(long >= 8, "{:?}", generated.rows);
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Quiz {
        pub city: String = sample::choice(["Paris", "Rome", "Madrid", "Berlin"]),
        pub capital: bool = gen("Is {city} a capital city?"),
        pub letters: u8 = gen("How many letters are in the word {city}?"),
        pub initial: char = gen("What is the first letter of {city}?"),
        pub fame: chatan::structured::Scale<1, 5> = gen("How famous is {city}, from 1 to 5?"),
        pub temperature: f32 = gen("What is the average temperature of {city} in Celsius?"),
    }
}

/// Text columns of types that parse (`bool`, numbers, `char`, `Scale`) decode under
/// their type's shape on a local model: a small model's chatty answers ("Yes, Paris is
/// the capital of France.") would not parse, and be asked again, then reported.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bool_number_and_char_columns_parse_at_the_first_ask() {
    let llm = Local::gguf(tests_local::smollm2())
        .expect("the model loads")
        .temperature(0.8)
        .max_tokens(16);
    let generated = Quiz::runner(&llm)
        .seed(5)
        .run(16)
        .await
        .expect("every row is made");
    let report = &generated.report;
    assert!(report.failed.is_empty(), "{:?}", report.failed);
    assert_eq!(
        report.reasks, 0,
        "every reply parsed at the first ask: {report:?}"
    );
    assert_eq!(report.requests, 16 * 5, "{report:?}");
    for row in &generated.rows {
        assert!(!row.initial.is_whitespace(), "{row:?}");
        assert!((1..=5).contains(&row.fame.get()), "{row:?}");
        assert!(row.temperature.is_finite(), "{row:?}");
    }
    eprintln!("{:#?}", &generated.rows[..3]);
}
