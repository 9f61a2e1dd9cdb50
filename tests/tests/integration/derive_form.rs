//! `#[derive(Dataset)]` on a struct written by hand, with every column kind.

use chatan::Dataset;
use chatan_mock::MockConfig;

#[derive(Dataset, Debug, Clone)]
struct Qa {
    #[sample(choice(["Python", "JavaScript", "Rust"]))]
    topic: String,
    #[generate("write a programming question about {topic}")]
    prompt: String,
    #[generate("answer this question: {prompt}", temperature = 0.2)]
    response: String,
    #[value("v1")]
    version: String,
    #[derived(|row| row.response.split_whitespace().count())]
    words: usize,
    #[sample(sample::uuid())]
    id: chatan::Uuid,
}

#[tokio::test]
async fn the_derive_form_generates_rows() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Qa::generate(&llm, 5).await.unwrap();
    assert_eq!(rows.len(), 5);
    for row in &rows {
        assert!(["Python", "JavaScript", "Rust"].contains(&row.topic.as_str()));
        assert!(row.prompt.contains("write a programming question about"));
        assert_eq!(row.words, row.response.split_whitespace().count());
        assert_eq!(row.version, "v1");
        assert_eq!(row.id.get_version_num(), 4);
    }
    let log = server.exchanges();
    assert!(
        log.iter()
            .filter(|e| e.prompt.starts_with("answer this question"))
            .all(|e| e.temperature == Some(0.2))
    );
    assert_eq!(
        Qa::column_names().collect::<Vec<_>>(),
        ["topic", "prompt", "response", "version", "words", "id"]
    );
}

#[tokio::test]
async fn generic_code_runs_any_dataset_through_a_runner() {
    async fn count<D: Dataset>(llm: &chatan::OpenAi) -> usize {
        chatan::Runner::<D, _>::new(llm)
            .generate(3)
            .await
            .unwrap()
            .len()
    }
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    assert_eq!(count::<Qa>(&llm).await, 3);
}

#[test]
fn generation_futures_are_send_so_they_can_be_spawned() {
    fn assert_send<T: Send>(_: &T) {}
    let llm = chatan::OpenAi::compatible("http://127.0.0.1:9/v1").unwrap();
    let future = Qa::generate(&llm, 1);
    assert_send(&future);
    let set = chatan::GeneratorSet::new().with_default(llm.clone());
    assert_send(&Qa::runner(&set).generate(1));
}
