//! A GGUF repository by hub id, against the stand-in hub: the quantization named after a
//! colon, or else Q4_K_M, is the one file fetched; offline, the cache serves it. One test
//! in its own binary, since it sets the process environment.

use candle_core::quantized::GgmlDType;
use chatan::generate::SetOptions;
use chatan::local::Local;
use chatan::{Generator, Request};
use chatan_mock::MockHub;
use tests_local::tiny;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_gguf_repository_gives_the_quantization_asked_for() {
    let scratch = tests_local::scratch("hub-gguf");
    let repo = scratch.join("repo");
    std::fs::create_dir_all(&repo).unwrap();
    // The tiny Llama's sizes take no k-quant, so every file holds the same weights
    // (Q8_0 and F32); what is tested is which file is chosen and fetched.
    tiny::llama_gguf(&repo.join("tiny-Q4_K_M.gguf"), 3, GgmlDType::Q8_0);
    tiny::llama_gguf(&repo.join("tiny-Q8_0.gguf"), 3, GgmlDType::Q8_0);
    tiny::llama_gguf(&repo.join("tiny-F32.gguf"), 3, GgmlDType::F32);
    std::fs::write(repo.join("README.md"), "# tiny").unwrap();
    let hub = MockHub::builder()
        .model_folder("owner/tiny-GGUF", &repo)
        .unwrap()
        .start()
        .await
        .unwrap();
    let home = scratch.join("hf-home");
    // SAFETY: this binary's only test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("HF_ENDPOINT", hub.url());
        std::env::set_var("HF_HOME", &home);
        std::env::remove_var("HF_HUB_OFFLINE");
    }
    let fetched = |file: &str| {
        hub.hits()
            .iter()
            .filter(|(path, _)| path.contains("/resolve/") && path.ends_with(file))
            .map(|(_, n)| *n)
            .sum::<u64>()
    };
    let request = Request::new("the sea").temperature(0.0).max_tokens(6);

    // No quantization named: Q4_K_M, and only that file.
    let default = Local::from_hub("owner/tiny-GGUF").await.expect("loads");
    assert_eq!(default.model(), Some("owner/tiny-GGUF"));
    let text = default.generate(&request).await.unwrap().text;
    assert_eq!((fetched("tiny-Q4_K_M.gguf"), hub.downloads()), (1, 1));

    // Named, in any case: that file.
    let f32 = Local::load("owner/tiny-GGUF:f32").expect("loads");
    assert_eq!(f32.model(), Some("owner/tiny-GGUF:f32"));
    f32.generate(&request).await.unwrap();
    assert_eq!((fetched("tiny-F32.gguf"), hub.downloads()), (1, 2));

    // A quantization the repository lacks: the error lists what it has.
    let error = Local::load("owner/tiny-GGUF:Q5_K_M")
        .unwrap_err()
        .to_string();
    assert!(
        error.contains("no Q5_K_M") && error.contains("tiny-Q8_0.gguf"),
        "{error}"
    );

    // Offline: the cached files serve; one never fetched is a clear error.
    drop(hub);
    unsafe { std::env::set_var("HF_HUB_OFFLINE", "1") };
    let offline = Local::load("owner/tiny-GGUF").expect("from the cache");
    assert_eq!(offline.generate(&request).await.unwrap().text, text);
    let error = Local::load("owner/tiny-GGUF:Q8_0").unwrap_err().to_string();
    assert!(error.contains("offline"), "{error}");
}
