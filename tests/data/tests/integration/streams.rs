//! Streaming a run to disk: rows in row order, at most one batch in memory, jsonl flushed
//! row by row, nothing half-written under a final name, finished rows kept on failure.

use std::fs::File;

use chatan::data::polars::prelude::{ParquetReader, SerReader};
use chatan::data::{Sink, StreamError, WriteRows, write_stream};
use chatan_mock::{Fault, MockConfig};

chatan::dataset! {
    #[derive(Debug, Clone)]
    pub struct Numbered {
        pub index: u32 = sample::from_values(0..100_000u32).in_order(),
        pub topic: String = sample::choice(["tides", "stars"]),
        pub text: String = gen("write about {topic}, number {index}!"),
    }
}

async fn mock(config: MockConfig) -> (chatan_mock::MockServer, chatan::OpenAi) {
    let server = chatan_mock::MockServer::start(config).await.unwrap();
    let llm = chatan::OpenAi::compatible(&server.openai_url()).unwrap();
    (server, llm)
}

fn indices(frame: &chatan::data::polars::prelude::DataFrame) -> Vec<u32> {
    frame
        .column("index")
        .unwrap()
        .u32()
        .unwrap()
        .into_no_null_iter()
        .collect()
}

#[tokio::test]
async fn a_run_streams_to_parquet_in_row_order() {
    let dir = tests_data::scratch("stream-parquet");
    let (_server, llm) = mock(MockConfig::new()).await;
    let path = dir.join("numbered.parquet");
    let rows = Numbered::runner(&llm)
        .concurrency(16)
        .stream(2_500)
        .unwrap();
    let written = write_stream(rows, &path).await.unwrap();
    assert_eq!(written, 2_500);
    let frame = ParquetReader::new(File::open(&path).unwrap())
        .finish()
        .unwrap();
    assert_eq!(indices(&frame), (0..2_500).collect::<Vec<u32>>());
    let texts = frame.column("text").unwrap().str().unwrap();
    assert!(texts.get(1234).unwrap().contains("number 1234!"));
    assert_eq!(
        std::fs::read_dir(&dir).unwrap().count(),
        1,
        "no temporary left"
    );
}

#[tokio::test]
async fn small_batches_become_row_groups_and_csv_streams_too() {
    let dir = tests_data::scratch("stream-batches");
    let (_server, llm) = mock(MockConfig::new()).await;
    let rows = Numbered::generate(&llm, 250).await.unwrap();
    let mut parquet = Sink::create(dir.join("n.parquet")).unwrap().batch_size(100);
    let mut csv = Sink::create(dir.join("n.csv")).unwrap().batch_size(100);
    for row in rows.iter().cloned() {
        parquet.push(row.clone()).unwrap();
        csv.push(row).unwrap();
    }
    // Two full batches are out; the rest waits for `finish`, and the final names do not
    // exist until then.
    assert_eq!((parquet.written(), csv.written()), (200, 200));
    assert!(!dir.join("n.parquet").exists() && !dir.join("n.csv").exists());
    assert_eq!(parquet.finish().unwrap(), 250);
    assert_eq!(csv.finish().unwrap(), 250);
    let frame = ParquetReader::new(File::open(dir.join("n.parquet")).unwrap())
        .finish()
        .unwrap();
    assert_eq!(indices(&frame), (0..250).collect::<Vec<u32>>());
    let text = std::fs::read_to_string(dir.join("n.csv")).unwrap();
    assert_eq!(text.lines().count(), 251);
    assert!(text.starts_with("index,topic,text\n0,"));
}

#[tokio::test]
async fn jsonl_keeps_every_finished_row_as_it_goes() {
    let dir = tests_data::scratch("stream-jsonl");
    let (_server, llm) = mock(MockConfig::new()).await;
    let rows = Numbered::generate(&llm, 3).await.unwrap();
    let path = dir.join("n.jsonl");
    let mut sink = Sink::create(&path).unwrap();
    for (i, row) in rows.into_iter().enumerate() {
        sink.push(row).unwrap();
        // On disk already, before the sink is finished: a crash here loses nothing.
        let lines = std::fs::read_to_string(&path).unwrap();
        assert_eq!(lines.lines().count(), i + 1);
        let last: serde_json::Value = serde_json::from_str(lines.lines().last().unwrap()).unwrap();
        assert_eq!(last["index"], i);
    }
    assert_eq!(sink.finish().unwrap(), 3);
}

#[tokio::test]
async fn a_failed_row_stops_the_run_but_the_finished_rows_are_written() {
    let dir = tests_data::scratch("stream-failure");
    let (_server, llm) = mock(MockConfig::new().fail_for("number 40!", Fault::BadRequest)).await;
    let path = dir.join("n.parquet");
    let rows = Numbered::runner(&llm).concurrency(4).stream(1_000).unwrap();
    let error = write_stream(rows, &path).await.unwrap_err();
    let StreamError::Run { error, written } = error else {
        panic!("expected a run error, got {error}");
    };
    assert!(
        error.to_string().starts_with("row 40, column `text`"),
        "{error}"
    );
    let frame = ParquetReader::new(File::open(&path).unwrap())
        .finish()
        .unwrap();
    // A prefix of the rows: every row before the failed one, none after it (rows 41..
    // may have finished, but a file with a gap would be trusted by a resume or a shard
    // check). The rows before row 40 are not cancelled by its 400: they all finish.
    let got = indices(&frame);
    assert_eq!(written, 40);
    assert_eq!(got, (0..40).collect::<Vec<u32>>());
}

#[test]
fn a_sink_dropped_unfinished_leaves_no_temporary() {
    let dir = tests_data::scratch("stream-dropped");
    let sink = Sink::<Numbered>::create(dir.join("n.parquet")).unwrap();
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
    drop(sink);
    assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 0);
}

#[tokio::test]
async fn under_skip_a_run_written_to_a_file_lists_its_failed_rows_beside_it() {
    let dir = tests_data::scratch("write-to-skip");
    // Rows 7, 17, 27, ... fail for good; the rest are written.
    let (_server, llm) = mock(MockConfig::new().fail_for("7!", Fault::ServerError)).await;
    let path = dir.join("n.parquet");
    let written = Numbered::runner(&llm)
        .retry(
            chatan::layer::RetryPolicy::new()
                .max_attempts(2)
                .base_delay(std::time::Duration::from_millis(1)),
        )
        .skip_failed()
        .write_to(&path, 100)
        .await
        .unwrap();
    assert_eq!(written, 90);
    let frame = ParquetReader::new(File::open(&path).unwrap())
        .finish()
        .unwrap();
    let got = indices(&frame);
    let expected: Vec<u32> = (0..100).filter(|i| i % 10 != 7).collect();
    assert_eq!(got, expected, "in row order, failed rows left out");
    let listed: Vec<serde_json::Value> = std::fs::read_to_string(dir.join("n.failed.jsonl"))
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let mut rows: Vec<u64> = listed.iter().map(|l| l["row"].as_u64().unwrap()).collect();
    rows.sort_unstable();
    assert_eq!(rows, (0..100).filter(|i| i % 10 == 7).collect::<Vec<u64>>());
    assert!(
        listed
            .iter()
            .all(|l| l["column"] == "text" && l["attempts"] == 2)
    );
    assert!(listed[0]["cause"].as_str().unwrap().contains("HTTP 500"));
}
