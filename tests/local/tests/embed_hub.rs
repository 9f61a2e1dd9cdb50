//! An embedding model by hub id, against a local stand-in for the Hugging Face hub: the
//! sentence-transformers files (`modules.json`, `sentence_bert_config.json`,
//! `1_Pooling/config.json` in its subfolder) come down with the checkpoint, and the
//! cached model loads offline. Its own binary, since it sets the process environment.

use chatan::eval::Embedder;
use chatan_mock::MockHub;
use tests_local::tiny_bert::{Options, folder};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_sentence_transformer_by_hub_id_is_fetched_with_its_pipeline() {
    let scratch = tests_local::scratch("embed-hub");
    let repo = scratch.join("repo");
    // CLS pooling, not normalised: if the pipeline files did not come down, the
    // embedder would mean-pool (a plain checkpoint) and the numbers would differ.
    let options = Options {
        pooling: "pooling_mode_cls_token",
        normalize: false,
        ..Options::default()
    };
    folder(&repo, 11, &options);
    let hub = MockHub::builder()
        .model_folder("owner/tiny-minilm", &repo)
        .unwrap()
        .start()
        .await
        .unwrap();
    let home = scratch.join("hf-home");
    // SAFETY: this binary's only test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("HF_ENDPOINT", hub.url());
        std::env::set_var("HF_HOME", &home);
        std::env::remove_var("HF_TOKEN");
        std::env::remove_var("HF_HUB_OFFLINE");
    }
    let texts = ["the cat sat on the mat.", "paris is the capital of france"];
    let direct = Embedder::open(&repo).unwrap().embed(&texts).await.unwrap();

    let fetched = Embedder::from_hub("owner/tiny-minilm").await.unwrap();
    assert_eq!(fetched.name(), "owner/tiny-minilm");
    assert_eq!(fetched.embed(&texts).await.unwrap(), direct);
    let snapshot = home.join("hub/models--owner--tiny-minilm/snapshots");
    let commit =
        std::fs::read_to_string(home.join("hub/models--owner--tiny-minilm/refs/main")).unwrap();
    assert!(
        snapshot
            .join(&commit)
            .join("1_Pooling/config.json")
            .exists()
    );
    // config, tokenizer, modules, sentence_bert_config, pooling config, weights.
    assert_eq!(hub.downloads(), 6, "{:?}", hub.hits());

    drop(hub);
    unsafe { std::env::set_var("HF_HUB_OFFLINE", "1") };
    let offline = Embedder::load("owner/tiny-minilm").expect("loads from the cache");
    assert_eq!(offline.embed_blocking(&texts).unwrap(), direct);
}
