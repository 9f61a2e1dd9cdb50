//! Corners of the recipe language and the engine.

use chatan_mock::MockConfig;

chatan::dataset! {
    #[derive(Debug)]
    struct Forward {
        // `answer` is declared first but reads `question`, declared after it.
        answer: String = gen("answer: {question}"),
        question: String = gen("json: {{\"topic\": \"{r#type}\"}}"),
        r#type: String = sample::choice(["maths"]),
    }
}

#[tokio::test]
async fn declaration_order_braces_and_raw_identifiers() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Forward::generate(&llm, 1).await.unwrap();
    let log = server.exchanges();
    assert_eq!(log[0].prompt, "json: {\"topic\": \"maths\"}");
    assert_eq!(log[1].prompt, format!("answer: {}", rows[0].question));
    assert_eq!(rows[0].r#type, "maths");
    assert_eq!(rows[0].answer, log[1].reply.clone().unwrap());
}

chatan::dataset! {
    #[derive(Debug, Clone, PartialEq)]
    struct OnlySampled {
        n: i64 = sample::range(-5, 5),
        label: String = "x",
        twice: i64 = |row| row.n * 2,
        flag: bool = |row| row.n > 0 && row.label == "x",
    }
}

#[tokio::test]
async fn a_recipe_without_generated_columns_sends_nothing() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = OnlySampled::runner(&llm)
        .seed(1)
        .generate(50)
        .await
        .unwrap();
    assert_eq!(rows.len(), 50);
    for r in &rows {
        assert!((-5..=5).contains(&r.n));
        assert_eq!(r.twice, 2 * r.n);
        assert_eq!(r.flag, r.n > 0);
        assert_eq!(r.label, "x");
    }
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test]
async fn zero_rows_is_an_empty_dataset() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    assert!(Forward::generate(&llm, 0).await.unwrap().is_empty());
    assert_eq!(server.stats().requests, 0);
}
