//! Shards written to object storage: an S3-compatible server (moto, from PyPI, started
//! by the test) receives three shards' parts as multipart uploads of their row groups,
//! their manifests and the card; `verify_shards_remote` finds the dataset complete and
//! the parts, read back from the bucket, are the unsharded run row for row. Then a
//! shard that lost rows runs again on "another machine" (no local state) and resumes
//! from the checkpoint segments in the bucket.
//!
//! Needs moto's server: `CHATAN_MOTO_SERVER` names its `moto_server` (`.ci/run`
//! installs it), else `moto_server` on the PATH. A plain `cargo test`
//! ignores the test; `.ci/run` runs it with `--ignored`, where a missing server is a
//! failure.

use tests_data::remote::{Server, a_shard_resumes_on_another_machine, or_fail, shards_round_trip};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs moto_server (pip install 'moto[server]', or CHATAN_MOTO_SERVER): .ci/run installs it"]
async fn shards_go_to_an_s3_bucket_verify_and_resume_elsewhere() {
    let program = std::env::var("CHATAN_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
    let moto = Server::start(&program, |port| {
        vec![
            "-H".into(),
            "127.0.0.1".into(),
            "-p".into(),
            port.to_string(),
        ]
    });
    let moto = or_fail(moto);
    // The bucket, made over moto's S3 API (it takes any credentials).
    let created = reqwest::Client::new()
        .put(format!("{}/chatan-data", moto.url))
        .send()
        .await
        .unwrap();
    assert!(created.status().is_success(), "{}", created.status());
    // SAFETY: this binary's only test; nothing else reads the environment meanwhile.
    unsafe {
        std::env::set_var("AWS_ENDPOINT", &moto.url);
        std::env::set_var("AWS_ALLOW_HTTP", "true");
        std::env::set_var("AWS_ACCESS_KEY_ID", "test");
        std::env::set_var("AWS_SECRET_ACCESS_KEY", "test");
        std::env::set_var("AWS_REGION", "us-east-1");
    }
    let state = tests_data::scratch("object-store-s3");
    shards_round_trip("s3://chatan-data/datasets/facts", &state).await;
    // The same store: a shard run again elsewhere resumes from the checkpoint in it.
    let scratch = tests_data::scratch("object-store-s3-resume");
    a_shard_resumes_on_another_machine("s3://chatan-data/datasets/resumed", &scratch).await;
}
