//! Row sets: rows `a..b` of a seeded run are the rows `a..b` of the whole run, so runs can
//! be resumed and split.

use chatan::runner::RowSet;
use chatan_mock::MockConfig;

chatan::dataset! {
    #[derive(Debug, Clone, PartialEq)]
    struct Sampled {
        id: chatan::Uuid = sample::uuid(),
        topic: String = sample::choice(["san antonio, tx", "marfa, tx", "paris, fr", "lima, pe"]),
        age: u8 = sample::range(18, 90),
        question: String = gen("a question about {topic} for someone aged {age}"),
        answer: String = gen("answer: {question}"),
    }
}

#[tokio::test]
async fn two_row_ranges_concatenated_equal_one_run() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let whole = Sampled::runner(&llm).seed(9).generate(0..30).await.unwrap();
    let mut parts = Sampled::runner(&llm).seed(9).generate(0..12).await.unwrap();
    let rest = Sampled::runner(&llm)
        .seed(9)
        .concurrency(3)
        .generate(12..30)
        .await
        .unwrap();
    parts.extend(rest);
    assert_eq!(parts.len(), 30);
    assert_eq!(parts, whole);
    // The samples differ between rows, so equality is not a coincidence of constants.
    assert!(whole.iter().any(|r| r.id != whole[0].id));
}

#[tokio::test]
async fn skipped_rows_are_left_out_and_the_rest_keep_their_indices() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let whole = Sampled::runner(&llm).seed(4).generate(10).await.unwrap();
    let generated = Sampled::runner(&llm)
        .seed(4)
        .run(RowSet::range(0..10).skip([0, 3, 9]))
        .await
        .unwrap();
    assert_eq!(generated.indices, [1, 2, 4, 5, 6, 7, 8]);
    let expected: Vec<Sampled> = generated
        .indices
        .iter()
        .map(|&i| whole[i].clone())
        .collect();
    assert_eq!(generated.rows, expected);
}

#[tokio::test]
async fn streams_take_row_sets_too() {
    use futures::StreamExt;
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let whole = Sampled::runner(&llm).seed(5).generate(8).await.unwrap();
    let streamed: Vec<Sampled> = Sampled::runner(&llm)
        .seed(5)
        .stream(5..8)
        .unwrap()
        .map(Result::unwrap)
        .collect()
        .await;
    assert_eq!(streamed, whole[5..8]);
}
