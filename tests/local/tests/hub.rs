//! A model by hub id, against a local stand-in for the Hugging Face hub
//! (`HF_ENDPOINT`): the first load downloads into `HF_HOME`, later ones work offline
//! from the cache. One test in its own binary, since it sets the process environment.

use chatan::generate::SetOptions;
use chatan::local::Local;
use chatan::{Generator, Request};
use chatan_mock::MockHub;
use tests_local::tiny::{self, Arch, Extras};

// Multi-threaded: `chatan::generator` and `Local::load` block this thread while they
// download from the stand-in hub, which is served by the runtime's other threads.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_id_is_fetched_once_into_the_cache_and_then_read_offline() {
    let scratch = tests_local::scratch("hub");
    let repo = scratch.join("repo");
    tiny::folder(&repo, Arch::Gpt2, 5, &Extras::default());
    let hub = MockHub::builder()
        .model_folder("gpt2", &repo)
        .unwrap()
        .token("hf_secret_token")
        .start()
        .await
        .unwrap();
    let home = scratch.join("hf-home");
    // SAFETY: this binary's only test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("HF_ENDPOINT", hub.url());
        std::env::set_var("HF_HOME", &home);
        std::env::set_var("HF_TOKEN", "hf_secret_token");
        std::env::remove_var("HF_HUB_OFFLINE");
    }
    let request = Request::new("the sea").temperature(0.0).max_tokens(8);

    let first = Local::from_hub("gpt2")
        .await
        .expect("downloaded and loaded");
    assert_eq!(first.model(), Some("gpt2"));
    let reply = first.generate(&request).await.unwrap();
    // config.json, tokenizer.json, model.safetensors: each fetched once.
    assert_eq!(hub.downloads(), 3, "{:?}", hub.hits());
    let snapshots = home.join("hub/models--gpt2/snapshots");
    let commit = std::fs::read_to_string(home.join("hub/models--gpt2/refs/main")).unwrap();
    assert!(snapshots.join(&commit).join("model.safetensors").exists());

    // Again, by the seed's name: from the cache (the files are not fetched again).
    let again = chatan::generator("transformers", "gpt2").unwrap();
    assert_eq!(again.generate(&request).await.unwrap().text, reply.text);
    assert_eq!(hub.downloads(), 3);

    // Offline, with the hub gone: the cache serves.
    drop(hub);
    unsafe { std::env::set_var("HF_HUB_OFFLINE", "1") };
    let offline = Local::load("gpt2").expect("loads from the cache");
    assert_eq!(offline.generate(&request).await.unwrap().text, reply.text);

    // Offline, a model that is not cached: a clear error naming what it needs.
    let error = Local::load("owner/absent").unwrap_err().to_string();
    assert!(error.contains("offline"), "{error}");
    assert!(
        error.contains("config.json") && error.contains("safetensors"),
        "{error}"
    );
    assert!(!error.contains("hf_secret_token"), "{error}");

    // Online but unreachable: the cache still serves a cached model.
    unsafe {
        std::env::remove_var("HF_HUB_OFFLINE");
        std::env::set_var("HF_ENDPOINT", "http://127.0.0.1:9");
    }
    let unreachable = Local::load("gpt2").expect("falls back to the cache");
    assert_eq!(
        unreachable.generate(&request).await.unwrap().text,
        reply.text
    );
}
