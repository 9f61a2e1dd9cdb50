//! Datasets from the Hugging Face hub, against a local stand-in (`chatan_mock::MockHub`):
//! the parquet listing and files over real HTTP, fetched once into the cache, read from
//! the cache when offline, and clear errors for a missing dataset, a bad token or an
//! empty cache offline.

use chatan::data::polars::prelude::{Column, DataFrame, ParquetWriter};
use chatan::data::{DataError, HubPush, HubTables};
use chatan::hub::Hub;
use chatan::sample;
use chatan_mock::{MockConfig, MockHub};

fn parquet(prompts: &[&str]) -> Vec<u8> {
    let mut frame = DataFrame::new_infer_height(vec![
        Column::new("id".into(), (0..prompts.len() as i64).collect::<Vec<_>>()),
        Column::new("prompt".into(), prompts),
    ])
    .unwrap();
    let mut bytes = Vec::new();
    ParquetWriter::new(&mut bytes).finish(&mut frame).unwrap();
    bytes
}

chatan::dataset! {
    #[derive(Debug)]
    pub struct Variation {
        pub original_prompt: String = sample::input(),
        pub variation: String = gen("rewrite this prompt: {original_prompt}"),
    }
}

#[tokio::test]
async fn a_hub_dataset_is_fetched_once_and_sampled() {
    let cache = tests_data::scratch("hub-cache");
    let hub = MockHub::builder()
        .split(
            "some/dataset",
            "default",
            "train",
            parquet(&["a", "b", "c"]),
        )
        .split("some/dataset", "default", "train", parquet(&["d", "e"]))
        .token("hf_secret")
        .start()
        .await
        .unwrap();
    let client = Hub::from_env()
        .endpoint(&hub.url())
        .cache_dir(&cache)
        .token("hf_secret")
        .offline(false);

    let table = client
        .table("some/dataset", "default", "train")
        .await
        .unwrap();
    assert_eq!(table.len(), 5, "both parquet files of the split");
    assert_eq!(table.columns(), ["id", "prompt"]);
    assert_eq!(hub.downloads(), 2);

    // A second load reads the cache; so does an offline client.
    client
        .table("some/dataset", "default", "train")
        .await
        .unwrap();
    let offline = client.clone().endpoint("http://127.0.0.1:9").offline(true);
    let again = offline
        .table("some/dataset", "default", "train")
        .await
        .unwrap();
    assert_eq!(again.len(), 5);
    assert_eq!(hub.downloads(), 2, "nothing downloaded twice");

    // The seed's augmentation story over it.
    let server = chatan_mock::MockServer::start(MockConfig::new())
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    let rows = Variation::runner(&llm)
        .sampler(
            |c| c.original_prompt,
            sample::from_dataset(&table, "prompt").in_order(),
        )
        .generate(5)
        .await
        .unwrap();
    let originals: Vec<&str> = rows.iter().map(|r| r.original_prompt.as_str()).collect();
    assert_eq!(originals, ["a", "b", "c", "d", "e"]);
}

#[tokio::test]
async fn hub_failures_say_what_to_do() {
    let cache = tests_data::scratch("hub-failures");
    let hub = MockHub::builder()
        .split("private/data", "default", "train", parquet(&["x"]))
        .token("hf_right")
        .start()
        .await
        .unwrap();
    let client = Hub::from_env()
        .endpoint(&hub.url())
        .cache_dir(&cache)
        .offline(false);

    let error = client
        .clone()
        .token("hf_wrong")
        .table("private/data", "default", "train")
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(
        message.contains("401") && message.contains("HF_TOKEN"),
        "{message}"
    );
    assert!(
        !message.contains("hf_wrong"),
        "the token never appears: {message}"
    );

    let error = client
        .clone()
        .token("hf_right")
        .table("private/missing", "default", "train")
        .await
        .unwrap_err();
    assert!(error.to_string().contains("404"), "{error}");

    let error = client
        .clone()
        .offline(true)
        .table("private/data", "default", "test")
        .await
        .unwrap_err();
    assert!(
        matches!(&error, DataError::Hub { repo, message } if repo == "private/data" && message.contains("not in the cache") && message.contains("HF_HUB_OFFLINE")),
        "{error}"
    );
    assert!(!format!("{:?}", client.clone().token("hf_right")).contains("hf_right"));

    let error = client
        .table("no-owner", "default", "train")
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("a dataset id is `owner/name`"),
        "{error}"
    );
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Pushable {
        pub id: u32 = sample::range(0, 1000),
        pub topic: String = sample::choice(["tides", "stars"]),
        pub question: String = gen("a question about {topic}"),
    }
}

#[tokio::test]
async fn push_to_hub_commits_the_folder_and_it_reads_back() {
    let hub = MockHub::builder().token("hf_write").start().await.unwrap();
    let server = chatan_mock::MockServer::start(MockConfig::new())
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    let rows = Pushable::runner(&llm).seed(4).generate(30).await.unwrap();
    let client = Hub::from_env()
        .endpoint(&hub.url())
        .cache_dir(tests_data::scratch("hub-push-cache"))
        .token("hf_write")
        .offline(false);

    let pushed = client.push_to_hub(&rows, "me/pushed").await.unwrap();
    assert_eq!(
        pushed.files,
        ["README.md", "data/train-00000-of-00001.parquet"]
    );
    assert!(pushed.commit_oid.is_some());
    assert_eq!(hub.commits(), 1, "one commit for the whole dataset");
    let files = hub.repo_files("me/pushed").unwrap();
    let card = String::from_utf8(files["README.md"].clone()).unwrap();
    assert!(
        card.contains("  - name: question\n    dtype: string"),
        "{card}"
    );
    assert!(card.contains("    num_examples: 30"), "{card}");

    // What was pushed is what comes back.
    let table = client.table("me/pushed", "default", "train").await.unwrap();
    assert_eq!(table.len(), 30);
    let questions: Vec<String> = table
        .records()
        .map(|r| {
            serde_json::to_value(r).unwrap()["question"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let expected: Vec<String> = rows.iter().map(|r| r.question.clone()).collect();
    assert_eq!(questions, expected);

    // Pushing again to the same repository makes a second commit; the parquet object,
    // unchanged, is not uploaded again.
    let uploads_before = hub
        .hits()
        .iter()
        .filter(|(p, _)| p.starts_with("/lfs-upload/"))
        .map(|(_, n)| n)
        .sum::<u64>();
    client.push_to_hub(&rows, "me/pushed").await.unwrap();
    let uploads_after = hub
        .hits()
        .iter()
        .filter(|(p, _)| p.starts_with("/lfs-upload/"))
        .map(|(_, n)| n)
        .sum::<u64>();
    assert_eq!(hub.commits(), 2);
    assert_eq!(uploads_before, 1);
    assert_eq!(uploads_after, 1);
}

#[tokio::test]
async fn a_push_without_a_token_or_with_a_wrong_one_says_so() {
    let hub = MockHub::builder().token("hf_write").start().await.unwrap();
    let rows: Vec<Pushable> = Vec::new();
    let mut client = Hub::from_env()
        .endpoint(&hub.url())
        .cache_dir(tests_data::scratch("hub-push-cache-2"))
        .offline(false);
    // No token at all (HF_TOKEN may be set where the tests run: drop it by building a
    // client with a wrong one instead, after checking the missing-token message).
    if std::env::var_os("HF_TOKEN").is_none() {
        let err = client.push_to_hub(&rows, "me/x").await.unwrap_err();
        assert!(err.to_string().contains("HF_TOKEN"), "{err}");
    }
    client = client.token("hf_wrong");
    let err = client.push_to_hub(&rows, "me/x").await.unwrap_err();
    let message = err.to_string();
    assert!(
        message.contains("401") && message.contains("HF_TOKEN"),
        "{message}"
    );
    assert!(!message.contains("hf_wrong"), "the token leaked: {message}");
    assert_eq!(hub.commits(), 0);
    assert!(hub.repo_files("me/x").is_none());

    let err = client
        .offline(true)
        .push_to_hub(&rows, "me/x")
        .await
        .unwrap_err();
    assert!(err.to_string().contains("offline"), "{err}");
}
