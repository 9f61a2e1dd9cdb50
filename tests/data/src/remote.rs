//! Object stores for the remote-shard tests: a local server standing in for the cloud
//! (moto for S3, Azurite for Azure Blob Storage), started by the test and stopped when
//! dropped, and the round trip every store must pass.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use chatan::Shard;
use chatan::data::{Remote, Table, WriteRows, verify_shards_remote};
use chatan_mock::{MockConfig, MockServer};

use crate::sharded::{Fact, SEED};

/// Rows of the round trip, in three shards.
pub const ROWS: usize = 90;

/// A server process on a free loopback port, stopped when dropped.
pub struct Server {
    child: Child,
    /// `http://127.0.0.1:{port}`.
    pub url: String,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Server {
    /// Starts `program` with `args(port)` and waits until the port takes connections.
    pub fn start(program: &str, args: impl FnOnce(u16) -> Vec<String>) -> Result<Server, String> {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map_err(|e| e.to_string())?
            .port();
        let child = Command::new(program)
            .args(args(port))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .map_err(|e| format!("{program} cannot start: {e}"))?;
        let server = Server {
            child,
            url: format!("http://127.0.0.1:{port}"),
        };
        let mut server = server;
        for _ in 0..300 {
            if std::net::TcpStream::connect(("127.0.0.1", port)).is_ok() {
                return Ok(server);
            }
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!("{program} exited ({status}) before it listened"));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Err(format!("{program} did not start listening"))
    }
}

/// The server a test needs; a test that runs without it fails saying what is missing.
pub fn or_fail(server: Result<Server, String>) -> Server {
    server.unwrap_or_else(|missing| panic!("the object-store test cannot run: {missing}"))
}

/// A 3 MB reply that does not compress, so a part goes up in several pieces.
fn incompressible() -> String {
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    (0..3_000_000)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b"abcdefghijklmnopqrstuvwxyz0123456789"[(state % 36) as usize])
        })
        .collect()
}

/// Three shards written to `url` (configured from the environment, as users do) as
/// multipart uploads of their row groups; the dataset verified complete; the parts read
/// back equal to the unsharded run, row for row, with their card.
pub async fn shards_round_trip(url: &str, state: &Path) {
    let long = incompressible();
    let server = MockServer::start(MockConfig::new().reply_for("glaciers", [long.clone()]))
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    // Small row groups: each part goes up in several pieces of at least 5 MiB.
    let remote = Remote::from_url(url).unwrap().state_dir(state).row_group(5);
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

    // Read the parts back from the store.
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
    assert_eq!(read, whole, "the store holds the whole run, row for row");
    assert!(
        read.iter().any(|r| r.fact == long),
        "long replies made it whole"
    );
    let card = remote.read("README.md").await.unwrap().expect("a card");
    let card = String::from_utf8_lossy(&card);
    assert!(card.contains(&format!("num_examples: {ROWS}")), "{card}");
    assert!(card.contains("path: data/train-*"), "{card}");
}

/// Azurite's well-known development account (public, the same in every install).
pub const AZURITE_ACCOUNT: &str = "devstoreaccount1";
/// Its key.
pub const AZURITE_KEY: &str =
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==";

/// Creates blob container `name` on the Azurite at `url`, with a request signed by the
/// development account's shared key (object_store writes blobs but makes no containers).
pub async fn create_azure_container(url: &str, name: &str) {
    use base64::Engine as _;
    let engine = base64::engine::general_purpose::STANDARD;
    let version = "2021-08-06";
    let date = chrono::Utc::now()
        .format("%a, %d %b %Y %H:%M:%S GMT")
        .to_string();
    // The Blob service's shared-key string to sign: the verb, eleven standard headers
    // (all empty here), the x-ms- headers, then the account and path with the query.
    let to_sign = format!(
        "PUT\n\n\n\n\n\n\n\n\n\n\n\nx-ms-date:{date}\nx-ms-version:{version}\n\
         /{AZURITE_ACCOUNT}/{AZURITE_ACCOUNT}/{name}\nrestype:container"
    );
    let key = ring::hmac::Key::new(
        ring::hmac::HMAC_SHA256,
        &engine.decode(AZURITE_KEY).unwrap(),
    );
    let signature = engine.encode(ring::hmac::sign(&key, to_sign.as_bytes()).as_ref());
    let response = reqwest::Client::new()
        .put(format!("{url}/{AZURITE_ACCOUNT}/{name}?restype=container"))
        .header("x-ms-date", date)
        .header("x-ms-version", version)
        .header(
            "Authorization",
            format!("SharedKey {AZURITE_ACCOUNT}:{signature}"),
        )
        .header("Content-Length", "0")
        .send()
        .await
        .unwrap();
    let status = response.status();
    assert!(
        status.is_success(),
        "the container: {status} {}",
        response.text().await.unwrap_or_default()
    );
}

/// A shard loses some rows to a provider outage; run again on "another machine" (a
/// fresh state folder: no local checkpoint), it fetches its checkpoint from the store
/// and asks only for the rows it lacks; the dataset is then complete and equal to the
/// unsharded run.
pub async fn a_shard_resumes_on_another_machine(url: &str, scratch: &Path) {
    use chatan_mock::Fault;
    let shard = Shard::new(1, 3).unwrap();
    let retry = chatan::layer::RetryPolicy::new()
        .max_attempts(2)
        .base_delay(Duration::from_millis(1));
    // Moss rows fail (an outage for them) on the first machine.
    let failing = MockServer::start(MockConfig::new().fail_for("moss", Fault::ServerError))
        .await
        .unwrap();
    let llm = chatan::OpenAi::compatible(&failing.openai_url()).unwrap();
    let first_machine = Remote::from_url(url)
        .unwrap()
        .state_dir(scratch.join("first-machine"))
        .row_group(4);
    let first = Fact::runner(&llm)
        .seed(SEED)
        .shard(shard)
        .retry(retry)
        .skip_failed()
        .write_shard_remote(&first_machine, "train", ROWS)
        .await
        .unwrap();
    assert!(!first.failed.is_empty(), "some moss rows in shard 1");
    let check = verify_shards_remote(&first_machine, "train").await.unwrap();
    assert_eq!(check.missing_rows, first.failed, "{check}");

    // Another machine, the outage over: only the failed rows are asked for.
    let healthy = MockServer::start(MockConfig::new()).await.unwrap();
    let llm = chatan::OpenAi::compatible(&healthy.openai_url()).unwrap();
    let second_machine = Remote::from_url(url)
        .unwrap()
        .state_dir(scratch.join("second-machine"))
        .row_group(4);
    let again = Fact::runner(&llm)
        .seed(SEED)
        .shard(shard)
        .write_shard_remote(&second_machine, "train", ROWS)
        .await
        .unwrap();
    assert!(again.failed.is_empty());
    assert_eq!(again.rows, ROWS / 3);
    assert_eq!(
        healthy.stats().requests,
        2 * first.failed.len() as u64,
        "two generated cells per failed row, nothing else"
    );
    let check = verify_shards_remote(&second_machine, "train")
        .await
        .unwrap();
    assert!(check.missing_rows.is_empty(), "{check}");
    let whole = Fact::runner(&llm).seed(SEED).generate(ROWS).await.unwrap();
    let bytes = second_machine
        .read("data/train-00001-of-00003.parquet")
        .await
        .unwrap()
        .expect("the part is there");
    let file = scratch.join("part-1.parquet");
    std::fs::write(&file, &bytes).unwrap();
    let read = Table::read(&file).unwrap().rows::<Fact>().unwrap();
    let expected: Vec<Fact> = shard
        .part_of(chatan::runner::RowSet::first(ROWS))
        .iter()
        .map(|i| whole[i].clone())
        .collect();
    assert_eq!(read, expected, "the part is the run's rows 30..60");
}
