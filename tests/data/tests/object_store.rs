//! Shards written to object storage: an S3-compatible server (moto, from PyPI, started
//! by the test) receives three shards' parts as multipart uploads of their row groups,
//! their manifests and the card; `verify_shards_remote` finds the dataset complete and
//! the parts, read back from the bucket, are the unsharded run row for row.
//!
//! Needs moto's server: `CHATAN_MOTO_SERVER` names its `moto_server` (`.ci/run`
//! installs it), else `moto_server` on the PATH. Without it the test says so and
//! passes, unless `CHATAN_REQUIRE_S3=1` (set by `.ci/run`), where it fails.

use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chatan::Shard;
use chatan::data::{Remote, Table, verify_shards_remote};
use chatan_mock::{MockConfig, MockServer};
use tests_data::sharded::{Fact, SEED};

const ROWS: usize = 90;

/// A moto server on a free port, stopped when dropped.
struct Moto {
    child: Child,
    url: String,
}

impl Drop for Moto {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn moto() -> Result<Moto, String> {
    let program = std::env::var("CHATAN_MOTO_SERVER").unwrap_or_else(|_| "moto_server".to_owned());
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map_err(|e| e.to_string())?
        .port();
    let child = Command::new(&program)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .map_err(|e| format!("{program} cannot start: {e}"))?;
    let moto = Moto {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    for _ in 0..200 {
        if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
            return Ok(moto);
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    Err(format!("{program} did not start listening"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shards_go_to_an_s3_bucket_as_multipart_uploads_and_verify() {
    let moto = match moto() {
        Ok(moto) => moto,
        Err(missing) if std::env::var_os("CHATAN_REQUIRE_S3").is_some() => {
            panic!("the S3 test cannot run: {missing}")
        }
        Err(missing) => {
            eprintln!("skipped: {missing} (CHATAN_REQUIRE_S3=1 makes this a failure)");
            return;
        }
    };
    // The bucket, made over moto's S3 API (it takes any credentials).
    let client = reqwest::Client::new();
    let created = client
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
    let state = tests_data::scratch("object-store");
    // Long replies that do not compress, and small row groups: each part goes up in
    // several pieces of at least 5 MiB, as S3 wants.
    let mut state_rng: u64 = 0x2545_f491_4f6c_dd1d;
    let long: String = (0..3_000_000)
        .map(|_| {
            state_rng ^= state_rng << 13;
            state_rng ^= state_rng >> 7;
            state_rng ^= state_rng << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(state_rng % 36) as usize])
        })
        .collect();
    let server = MockServer::start(MockConfig::new().reply_for("glaciers", [long.clone()]))
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    let remote = Remote::from_url("s3://chatan-data/datasets/facts")
        .unwrap()
        .state_dir(&state)
        .row_group(5);
    let mut uploads = 0;
    for k in 0..3 {
        let part = Fact::runner(&llm)
            .seed(SEED)
            .shard(Shard::new(k, 3).unwrap())
            .write_shard_remote(&remote, "train", ROWS)
            .await
            .unwrap();
        assert_eq!(part.rows, ROWS / 3);
        assert!(
            part.path.to_string_lossy().ends_with(&format!(
                "datasets/facts/data/train-0000{k}-of-00003.parquet"
            )),
            "{}",
            part.path.display()
        );
        uploads += part.uploads;
    }
    assert!(
        uploads > 3,
        "row groups went up in several parts: {uploads}"
    );

    let check = verify_shards_remote(&remote, "train").await.unwrap();
    assert!(check.is_complete(), "{check}");
    assert_eq!((check.parts, check.rows), (3, ROWS));

    // Read the parts back from the bucket.
    let whole = Fact::runner(&llm).seed(SEED).generate(ROWS).await.unwrap();
    let mut read = Vec::new();
    for k in 0..3 {
        let bytes = remote
            .read(&format!("data/train-0000{k}-of-00003.parquet"))
            .await
            .unwrap()
            .expect("the part is there");
        let file = state.join(format!("part-{k}.parquet"));
        std::fs::write(&file, &bytes).unwrap();
        read.extend(Table::read(&file).unwrap().rows::<Fact>().unwrap());
    }
    assert_eq!(read, whole, "the bucket holds the whole run, row for row");
    assert!(
        read.iter().any(|r| r.fact == long),
        "long replies made it whole"
    );
    let card = remote.read("README.md").await.unwrap().expect("a card");
    let card = String::from_utf8_lossy(&card);
    assert!(card.contains(&format!("num_examples: {ROWS}")), "{card}");
    assert!(card.contains("path: data/train-*"), "{card}");
}
