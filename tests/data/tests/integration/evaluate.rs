//! Evaluation over a saved dataset: a parquet file read back as typed rows (the
//! closures name fields, so a typo is a compile error), scored the same as the rows it
//! was saved from; a file without a field the type needs is an error naming the row and
//! the field.

use chatan::data::Table;
use chatan::eval::{self, Evaluation, Smoothing};
use chatan_mock::MockConfig;

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Answers {
        gold: String = sample::choice(["the cat sat on the mat", "Paris"]),
        answer: String = gen("Say: {gold}"),
        rating: u8 = sample::range(1, 5),
    }
}

/// The columns scored, as read back: other columns of the file are ignored.
#[derive(Debug, serde::Deserialize)]
struct Scored {
    answer: String,
    gold: String,
    rating: u8,
}

fn report<R>(
    rows: &[R],
    pair: impl Fn(&R) -> (&str, &str) + Copy,
    rating: impl Fn(&R) -> u8,
) -> eval::Scores {
    Evaluation::new(rows)
        .exact_match("exact", pair)
        .edit_similarity("edit", pair)
        .bleu("bleu", Smoothing::Method1, pair)
        .judge("rating", rating)
        .run()
        .unwrap()
}

#[tokio::test]
async fn a_saved_dataset_scores_as_the_rows_it_was_saved_from() {
    let config = MockConfig::new().reply_for("Paris", ["Paris"]);
    let server = chatan_mock::MockServer::start(config).await.unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    let rows = Answers::runner(&llm).seed(5).generate(30).await.unwrap();
    let dir = tests_data::scratch("evaluate");
    let path = dir.join("answers.parquet");
    chatan::data::save(&rows, &path).unwrap();

    let read: Vec<Scored> = Table::read(&path).unwrap().rows().unwrap();
    assert_eq!(read.len(), rows.len());
    let from_file = report(&read, |r| (&r.answer, &r.gold), |r| r.rating);
    let from_rows = report(&rows, |r| (&r.answer, &r.gold), |r| r.rating);
    assert_eq!(from_file, from_rows);
    // The mock repeats "Paris" and echoes the rest, so some rows match and some do not.
    let exact = from_file["exact"].mean;
    assert!(exact > 0.0 && exact < 1.0, "{exact}");
    let ratings: usize = from_file["rating"]
        .distribution()
        .iter()
        .map(|(value, count)| {
            assert!((1.0..=5.0).contains(value));
            count
        })
        .sum();
    assert_eq!(ratings, 30);

    #[derive(Debug, serde::Deserialize)]
    #[allow(dead_code)]
    struct WantsMore {
        answer: String,
        reference: String,
    }
    let error = Table::read(&path)
        .unwrap()
        .rows::<WantsMore>()
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("row 0") && error.contains("missing field `reference`"),
        "{error}"
    );
}
