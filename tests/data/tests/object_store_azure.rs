//! Shards written to Azure Blob Storage: Azurite (Microsoft's emulator, from npm, started
//! by the test) receives three shards' parts as block-blob uploads of their row groups,
//! their manifests and the card; `verify_shards_remote` finds the dataset complete and
//! the parts, read back from the container, are the unsharded run row for row. Then a
//! shard that lost rows runs again on "another machine" (no local state) and resumes
//! from the checkpoint segments in the container. The store is configured as users
//! configure it: `az://` and `AZURE_*` variables.
//!
//! Needs Azurite: `CHATAN_AZURITE` names its `azurite-blob` (`.ci/run` installs it with
//! `npm ci` in `tests/data/azurite`), else `azurite-blob` on the PATH. A plain `cargo test`
//! ignores the test; `.ci/run` runs it with `--ignored`, where a missing server is a
//! failure.

use tests_data::remote::{
    Server, a_shard_resumes_on_another_machine, create_azure_container, or_fail, shards_round_trip,
};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs azurite-blob (npm ci in tests/data/azurite, or CHATAN_AZURITE): .ci/run installs it"]
async fn shards_go_to_an_azure_container_verify_and_resume_elsewhere() {
    let program = std::env::var("CHATAN_AZURITE").unwrap_or_else(|_| "azurite-blob".to_owned());
    let azurite = Server::start(&program, |port| {
        [
            "--blobHost",
            "127.0.0.1",
            "--blobPort",
            &port.to_string(),
            "--inMemoryPersistence",
            "--disableTelemetry",
            "--skipApiVersionCheck",
        ]
        .map(str::to_owned)
        .to_vec()
    });
    let azurite = or_fail(azurite);
    create_azure_container(&azurite.url, "chatan-data").await;
    // SAFETY: this binary's only test; nothing else reads the environment meanwhile.
    unsafe {
        // The emulator's account and key are object_store's defaults; its address:
        std::env::set_var("AZURITE_BLOB_STORAGE_URL", &azurite.url);
        std::env::set_var("AZURE_STORAGE_USE_EMULATOR", "true");
    }
    let state = tests_data::scratch("object-store-azure");
    shards_round_trip("az://chatan-data/datasets/facts", &state).await;
    // The same store: a shard run again elsewhere resumes from the checkpoint in it.
    let scratch = tests_data::scratch("object-store-azure-resume");
    a_shard_resumes_on_another_machine("az://chatan-data/datasets/resumed", &scratch).await;
}
