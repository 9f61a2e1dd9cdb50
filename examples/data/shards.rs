//! A run cut into shards, each made as a scheduler would run it, into one Hugging Face
//! dataset folder. With a scheduler's variables set (`CHATAN_SHARD_INDEX` and
//! `CHATAN_SHARD_COUNT`, `JOB_COMPLETION_INDEX`, or Slurm's `SLURM_ARRAY_*`), this
//! process makes its shard; with none, it makes all four shards one after another, as
//! four tasks would. Then it checks the folder: every row exactly once.
//!
//! ```sh
//! cargo run -p examples-data --example shards                  # all four, here
//! CHATAN_SHARD_INDEX=2 CHATAN_SHARD_COUNT=4 cargo run -p examples-data --example shards -- /data/facts
//! ```
//!
//! With `CHATAN_DATASET_URL` set (`s3://bucket/datasets/facts`, credentials and endpoint
//! from `AWS_*`), the parts go to that bucket instead, as multipart uploads.
//!
//! `docs/shards.md` has a Kubernetes Indexed Job and a Slurm array script that run it.

#[path = "../support/mod.rs"]
mod support;

use chatan::Shard;
use chatan::data::{Remote, ShardCheck, WriteRows, verify_shards, verify_shards_remote};

chatan::dataset! {
    #[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
    pub struct Fact {
        pub topic: String = sample::choice(["tides", "stars", "moss", "glaciers", "owls"]),
        pub fact: String = gen("State one surprising fact about {topic}."),
        pub source: String = gen("Where could someone check this fact? {fact}"),
    }
}

const ROWS: usize = 200;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (llm, _mock) = support::generator().await?;
    let remote = match std::env::var("CHATAN_DATASET_URL") {
        Ok(url) => Some(Remote::from_url(&url)?.state_dir(support::output_dir("shards-state")?)),
        Err(_) => None,
    };
    // The folder: the first argument, else target/examples-output/shards. A second run
    // into the same folder resumes from the shards' checkpoints.
    let dir = support::output_dir("shards")?;
    let shards = match Shard::from_env()? {
        Some(shard) => vec![shard],
        None => (0..4).map(|k| Shard::new(k, 4)).collect::<Result<_, _>>()?,
    };
    for shard in shards {
        let runner = Fact::runner(&llm)
            .seed(42) // the same in every shard: they sample one dataset
            .shard(shard)
            .skip_failed();
        let part = match &remote {
            Some(remote) => runner.write_shard_remote(remote, "train", ROWS).await?,
            None => runner.write_shard(&dir, "train", ROWS).await?,
        };
        println!(
            "{}: {} rows in {} ({} failed)",
            part.shard,
            part.rows,
            part.path.display(),
            part.failed.len()
        );
    }
    let check: ShardCheck = match &remote {
        Some(remote) => verify_shards_remote(remote, "train").await?,
        None => verify_shards(&dir, "train")?,
    };
    println!("{check}");
    if Shard::from_env()?.is_none() && !check.is_complete() {
        return Err(format!("the dataset is not complete: {check}").into());
    }
    Ok(())
}
