//! Evaluation inline (metric columns over a generated column, computed once it exists)
//! and over the finished dataset (a typed report, two datasets compared), against the
//! mock server answering capitals right for France and wrong or right for Japan.

use chatan::eval::{self, Evaluation, Smoothing};
use chatan_mock::MockConfig;

fn capital(country: &str) -> String {
    match country {
        "France" => "Paris",
        _ => "Tokyo",
    }
    .to_owned()
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Capitals {
        country: String = sample::choice(["France", "Japan"]),
        gold: String = |row| capital(&row.country),
        answer: String = gen("What is the capital of {country}? One word."),
        exact: bool = |row| eval::exact_match_normalized(&row.answer, &row.gold),
        similarity: f64 = |row| eval::edit_similarity(&row.answer, &row.gold),
        bleu: f64 = |row| eval::bleu(&row.gold, &row.answer, Smoothing::Method1),
    }
}

async fn dataset(japan: &str) -> Vec<Capitals> {
    let config = MockConfig::new()
        .reply_for("France", ["paris"])
        .reply_for("Japan", [japan]);
    let (_server, llm) = tests::openai_mock(config).await;
    Capitals::runner(&llm).seed(3).generate(40).await.unwrap()
}

#[tokio::test]
async fn metric_columns_score_the_generated_column_and_reports_compare_datasets() {
    let wrong = dataset("Kyoto").await;
    let france = wrong.iter().filter(|r| r.country == "France").count();
    assert!(france > 5 && france < 35, "{france} of 40");
    for row in &wrong {
        // Computed from the model's answer, so after it existed.
        let right = row.country == "France";
        let said = if right { "paris" } else { "Kyoto" };
        assert_eq!(row.answer, said);
        assert_eq!(row.exact, right, "{row:?}");
        assert_eq!(
            row.similarity,
            eval::edit_similarity(said, &row.gold),
            "{row:?}"
        );
        let expected: f64 = if right { 0.8 } else { 0.2 };
        assert!((row.similarity - expected).abs() < 1e-12, "{row:?}");
        // BLEU is case-sensitive: "paris" shares no unigram with "Paris".
        assert_eq!(row.bleu, 0.0, "{row:?}");
    }

    let report = |rows: &[Capitals]| {
        Evaluation::new(rows)
            .exact_match_normalized("exact", |r| (&r.answer, &r.gold))
            .exact_match("exact, case-sensitive", |r| (&r.answer, &r.gold))
            .edit_similarity("edit", |r| (&r.answer, &r.gold))
            .run()
            .expect("pure metrics cannot fail")
    };
    let before = report(&wrong);
    let share = france as f64 / 40.0;
    assert_eq!(before["exact"].mean, share);
    assert_eq!(
        before["exact, case-sensitive"].mean, 0.0,
        "the model said paris"
    );
    assert_eq!(before["exact"].scores.len(), 40);
    assert_eq!(before["exact"].histogram(2), [40 - france, france]);

    let right = dataset("tokyo").await;
    let after = report(&right);
    assert_eq!(after["exact"].mean, 1.0);
    let comparison = after.compare(&before);
    assert_eq!(comparison.len(), 3);
    assert_eq!(comparison[0].name, "exact");
    assert!((comparison[0].difference() - (1.0 - share)).abs() < 1e-12);
    let table = after.to_string();
    assert!(
        table.contains("exact") && table.contains("1.0000"),
        "{table}"
    );
}
