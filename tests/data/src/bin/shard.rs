//! One shard of the sharded test run, as a scheduler would start it: the shard comes
//! from the environment (`CHATAN_SHARD_*`, `JOB_COMPLETION_INDEX` or `SLURM_ARRAY_*`),
//! the model from `OPENAI_BASE_URL`.
//!
//!     shard DATASET_DIR ROWS

use chatan::Shard;
use chatan::data::WriteRows;
use tests_data::sharded::{Fact, SEED};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let (Some(dir), Some(rows)) = (args.next(), args.next()) else {
        return Err("usage: shard DATASET_DIR ROWS".into());
    };
    let rows: usize = rows.parse()?;
    let shard = Shard::from_env()?.ok_or("no scheduler variables are set")?;
    let llm = chatan::OpenAi::from_env()?;
    let part = Fact::runner(&llm)
        .seed(SEED)
        .shard(shard)
        .concurrency(8)
        .progress(false)
        .write_shard(&dir, "train", rows)
        .await?;
    println!(
        "{}: {} rows in {}",
        part.shard,
        part.rows,
        part.path.display()
    );
    Ok(())
}
