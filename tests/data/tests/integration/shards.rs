//! Shards: N processes (the `shard` binary), each told its part by a scheduler's
//! variables (generic, Kubernetes Indexed Job, Slurm array), write one Hugging Face
//! folder whose union is the unsharded run, row for row; `verify_shards` says it is
//! complete. A shard that lost rows to failures says so, and run again alone it makes
//! only those rows (its checkpoint has the rest).

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use chatan::Shard;
use chatan::data::{Table, WriteRows, verify_shards};
use chatan_mock::{Fault, MockConfig, MockServer};
use tests_data::sharded::{Fact, SEED};

const ROWS: usize = 103;

/// Every part of split `train` under `dir`, in part order, read back.
fn read_parts(dir: &Path) -> Vec<Fact> {
    let mut parts: Vec<_> = std::fs::read_dir(dir.join("data"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "parquet"))
        .collect();
    parts.sort();
    parts
        .iter()
        .flat_map(|p| Table::read(p).unwrap().rows::<Fact>().unwrap())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_run_as_processes_make_the_unsharded_run() {
    let server = MockServer::start(MockConfig::new().latency(Duration::from_millis(1)))
        .await
        .unwrap();
    let dir = tests_data::scratch("shards").join("dataset");
    let url = server.openai_url();
    let schedulers: [&[(&str, &str)]; 4] = [
        &[("CHATAN_SHARD_INDEX", "0"), ("CHATAN_SHARD_COUNT", "4")],
        &[("JOB_COMPLETION_INDEX", "1"), ("CHATAN_SHARD_COUNT", "4")],
        &[
            ("SLURM_ARRAY_TASK_ID", "12"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ],
        &[
            ("SLURM_ARRAY_TASK_ID", "13"),
            ("SLURM_ARRAY_TASK_MIN", "10"),
            ("SLURM_ARRAY_TASK_COUNT", "4"),
        ],
    ];
    let processes: Vec<_> = schedulers
        .iter()
        .map(|vars| {
            let mut command = std::process::Command::new(env!("CARGO_BIN_EXE_shard"));
            command
                .arg(&dir)
                .arg(ROWS.to_string())
                .env("OPENAI_BASE_URL", &url)
                .env_remove("OPENAI_API_KEY")
                .env_remove("CHATAN_SHARD_INDEX")
                .env_remove("CHATAN_SHARD_COUNT")
                .env_remove("JOB_COMPLETION_INDEX")
                .env_remove("SLURM_ARRAY_TASK_ID")
                .envs(vars.iter().copied());
            command.spawn().expect("the shard process starts")
        })
        .collect();
    let outcomes = tokio::task::spawn_blocking(move || {
        processes
            .into_iter()
            .map(|p| p.wait_with_output().unwrap())
            .collect::<Vec<_>>()
    })
    .await
    .unwrap();
    for (k, output) in outcomes.iter().enumerate() {
        assert!(output.status.success(), "shard {k}: {output:?}");
    }

    let check = verify_shards(&dir, "train").unwrap();
    assert!(check.is_complete(), "{check}");
    assert_eq!(check.parts, 4);
    assert_eq!(check.rows, ROWS);
    assert_eq!(check.expected, 0..ROWS);

    // The union of the parts is the unsharded run, row for row.
    let llm = chatan::OpenAi::compatible(&url).unwrap();
    let whole = Fact::runner(&llm).seed(SEED).generate(ROWS).await.unwrap();
    let parts = read_parts(&dir);
    assert_eq!(parts.len(), ROWS);
    assert_eq!(parts, whole, "the shards' rows are the whole run's rows");

    // One card for the folder, counting every part.
    let card = std::fs::read_to_string(dir.join("README.md")).unwrap();
    assert!(card.contains(&format!("num_examples: {ROWS}")), "{card}");
    assert!(card.contains("path: data/train-*"), "{card}");
    // For Python's `datasets` in CI (tests/data/python/check_hf_folder.py).
    let first_rows: Vec<BTreeMap<&str, serde_json::Value>> = whole[..3]
        .iter()
        .map(|r| {
            BTreeMap::from([
                ("id", r.id.to_string().into()),
                ("topic", r.topic.clone().into()),
                ("number", r.number.into()),
                ("fact", r.fact.clone().into()),
                ("check", r.check.clone().into()),
            ])
        })
        .collect();
    let expected = serde_json::json!({
        "splits": {"train": ROWS},
        "columns": ["id", "topic", "number", "fact", "check"],
        "features": {"id": "string", "topic": "string", "number": "uint32",
                     "fact": "string", "check": "string"},
        "first_rows": first_rows,
    });
    std::fs::write(dir.join("expected.json"), expected.to_string()).unwrap();
}

#[tokio::test]
async fn a_shard_that_lost_rows_runs_again_alone_and_makes_only_those() {
    let dir = tests_data::scratch("shard-rerun").join("dataset");
    let shard = Shard::new(2, 4).unwrap();
    // Moss rows fail (a provider outage for them) the first time.
    let failing = MockServer::start(MockConfig::new().fail_for("moss", Fault::ServerError))
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&failing.openai_url()).unwrap();
    let first = Fact::runner(&llm)
        .seed(SEED)
        .shard(shard)
        .retry(
            chatan::layer::RetryPolicy::new()
                .max_attempts(2)
                .base_delay(Duration::from_millis(1)),
        )
        .skip_failed()
        .write_shard(&dir, "train", ROWS)
        .await
        .unwrap();
    assert!(!first.failed.is_empty(), "some moss rows in shard 2");
    let check = verify_shards(&dir, "train").unwrap();
    assert!(!check.is_complete());
    assert_eq!(check.missing_parts, [0, 1, 3], "{check}");
    assert_eq!(check.missing_rows, first.failed, "{check}");
    let made = first.rows;

    // Again, with the outage over: only the failed rows are asked for.
    let healthy = MockServer::start(MockConfig::new()).await.unwrap();
    let llm = chatan::OpenAi::compatible(&healthy.openai_url()).unwrap();
    let again = Fact::runner(&llm)
        .seed(SEED)
        .shard(shard)
        .write_shard(&dir, "train", ROWS)
        .await
        .unwrap();
    assert!(again.failed.is_empty());
    assert_eq!(again.rows, made + first.failed.len());
    assert_eq!(
        healthy.stats().requests,
        2 * first.failed.len() as u64,
        "two generated cells per failed row, nothing else"
    );
    let check = verify_shards(&dir, "train").unwrap();
    assert!(check.missing_rows.is_empty(), "{check}");
    assert_eq!(check.rows, again.rows);
    // The part's rows are the whole run's rows 51..77.
    let whole = Fact::runner(&llm).seed(SEED).generate(ROWS).await.unwrap();
    let part = Shard::new(2, 4)
        .unwrap()
        .part_of(chatan::runner::RowSet::first(ROWS));
    let expected: Vec<Fact> = part.iter().map(|i| whole[i].clone()).collect();
    assert_eq!(read_parts(&dir), expected);
}

#[tokio::test]
async fn a_sharded_run_without_a_seed_is_refused() {
    let server = MockServer::start(MockConfig::new()).await.unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    let error = Fact::runner(&llm)
        .shard(Shard::new(0, 2).unwrap())
        .generate(10)
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("without a seed"), "{error}");
    assert_eq!(server.stats().requests, 0);
}
