//! The viewer's state fed events by hand: what the page is sent, and what it keeps.

use super::*;
use chatan_core::{CellKind, CellValue, Column};

fn columns() -> Vec<Column> {
    vec![
        Column {
            name: "topic",
            kind: CellKind::Sampled,
        },
        Column {
            name: "answer",
            kind: CellKind::Generated,
        },
    ]
}

fn finish_row(broadcast: &Broadcast, row: usize) {
    broadcast.on_event(&Event::CellFilled {
        row,
        column: "topic",
        value: CellValue::new(&"tides"),
    });
    broadcast.on_event(&Event::CellStarted {
        row,
        column: "answer",
        prompt: "about tides",
        attempt: 1,
    });
    broadcast.on_event(&Event::CellFilled {
        row,
        column: "answer",
        value: CellValue::new(&"<b>waves</b>"),
    });
    broadcast.on_event(&Event::RowDone {
        row,
        usage: Usage::new(10, 5),
    });
}

fn snapshot(broadcast: &Broadcast) -> Value {
    serde_json::from_str(&broadcast.snapshot().json).unwrap()
}

#[test]
fn the_picture_keeps_a_window_of_finished_rows_and_the_failed_ones() {
    let broadcast = Broadcast::new(5, Some((1.0, 2.0)), None);
    broadcast.on_event(&Event::RunStarted {
        rows: 50,
        seed: 7,
        columns: &columns(),
    });
    for row in 0..40 {
        finish_row(&broadcast, row);
    }
    let error = chatan_core::Error::Stopped;
    for row in 40..43 {
        broadcast.on_event(&Event::RowFailed { row, error: &error });
    }
    // Two rows under way.
    broadcast.on_event(&Event::CellStarted {
        row: 43,
        column: "answer",
        prompt: "p",
        attempt: 1,
    });
    broadcast.on_event(&Event::CellStarted {
        row: 44,
        column: "answer",
        prompt: "p",
        attempt: 2,
    });
    let picture = snapshot(&broadcast);
    let rows: Vec<(u64, &str)> = picture["rows"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| (r["row"].as_u64().unwrap(), r["status"].as_str().unwrap()))
        .collect();
    let done: Vec<u64> = rows.iter().filter(|r| r.1 == "done").map(|r| r.0).collect();
    assert_eq!(done, [35, 36, 37, 38, 39], "the latest five finished rows");
    assert_eq!(rows.iter().filter(|r| r.1 == "failed").count(), 3);
    assert_eq!(rows.iter().filter(|r| r.1 == "running").count(), 2);
    let stats = &picture["stats"];
    assert_eq!(stats["done"], 40);
    assert_eq!(stats["failed"], 3);
    assert_eq!(stats["input_tokens"], 400);
    assert_eq!(stats["output_tokens"], 200);
    // 400 * $1 + 200 * $2 per million.
    assert!((stats["cost"].as_f64().unwrap() - 0.0008).abs() < 1e-12);
    let kept = &picture["rows"][0]["cells"];
    assert_eq!(kept[1]["value"], "<b>waves</b>", "values are kept as text");
    assert_eq!(kept[1]["prompt"], "about tides");
}

#[test]
fn messages_after_a_snapshot_are_numbered_after_it() {
    let broadcast = Broadcast::new(10, None, None);
    broadcast.on_event(&Event::RunStarted {
        rows: 3,
        seed: 1,
        columns: &columns(),
    });
    finish_row(&broadcast, 0);
    let (first, receiver) = broadcast.subscribe();
    let mut receiver = receiver.expect("open");
    finish_row(&broadcast, 1);
    let next = receiver.try_recv().unwrap();
    assert_eq!(next.seq, first.seq + 1, "nothing lost, nothing repeated");
    broadcast.close();
    let (_, closed) = broadcast.subscribe();
    assert!(closed.is_none(), "a closed viewer streams nothing more");
    // What was sent before the close is still read, then the end.
    let mut drained = 1;
    while receiver.try_recv().is_ok() {
        drained += 1;
    }
    assert_eq!(drained, 4, "the second row's four messages");
}

#[test]
fn a_cell_is_queued_then_in_flight_then_queued_again_for_its_retry() {
    let broadcast = Broadcast::new(10, None, None);
    broadcast.on_event(&Event::RunStarted {
        rows: 1,
        seed: 7,
        columns: &columns(),
    });
    let state = |broadcast: &Broadcast| {
        let cell = snapshot(broadcast)["rows"][0]["cells"][1].clone();
        (cell["state"].clone(), cell["attempt"].clone())
    };
    broadcast.on_event(&Event::CellStarted {
        row: 0,
        column: "answer",
        prompt: "about tides",
        attempt: 1,
    });
    assert_eq!(state(&broadcast), (json!("pending"), json!(1)));
    let sent = |attempt| Event::RequestSent {
        row: 0,
        column: "answer",
        attempt,
    };
    broadcast.on_event(&sent(1));
    assert_eq!(state(&broadcast), (json!("flight"), json!(1)));
    let error = chatan_core::GeneratorError::Timeout(std::time::Duration::from_secs(30));
    broadcast.on_event(&Event::Retrying {
        row: 0,
        column: "answer",
        attempt: 1,
        error: &error,
        wait: std::time::Duration::from_millis(5),
    });
    assert_eq!(state(&broadcast), (json!("pending"), json!(2)));
    broadcast.on_event(&sent(2));
    assert_eq!(state(&broadcast), (json!("flight"), json!(2)));
    broadcast.on_event(&Event::CellFilled {
        row: 0,
        column: "answer",
        value: CellValue::new(&"waves"),
    });
    assert_eq!(state(&broadcast).0, json!("filled"));
}

#[test]
fn provider_batches_are_sent_and_kept_by_wave() {
    let broadcast = Broadcast::new(10, None, None);
    let (_, receiver) = broadcast.subscribe();
    let mut receiver = receiver.unwrap();
    let wave = |wave, done, ended| Event::BatchProgress {
        wave,
        batch: "batch_1",
        requests: 8,
        done,
        failed: 1,
        ended,
        resumed: false,
    };
    broadcast.on_event(&wave(1, 0, false));
    broadcast.on_event(&wave(1, 7, true));
    broadcast.on_event(&wave(2, 3, false));
    let sent: Value = serde_json::from_str(&receiver.try_recv().unwrap().json).unwrap();
    assert_eq!(sent["type"], "batch");
    assert_eq!(sent["batch"]["wave"], 1);
    assert_eq!(sent["batch"]["ended"], false);
    // A page that connects now sees the latest state of each wave, in order.
    let batches = snapshot(&broadcast)["batches"].clone();
    assert_eq!(batches.as_array().unwrap().len(), 2, "{batches}");
    assert_eq!(
        (
            &batches[0]["done"],
            &batches[0]["ended"],
            &batches[0]["failed"]
        ),
        (&json!(7), &json!(true), &json!(1))
    );
    assert_eq!(
        (&batches[1]["wave"], &batches[1]["done"]),
        (&json!(2), &json!(3))
    );
    // Only the latest waves are kept.
    for n in 3..=(KEEP_BATCHES + 10) {
        broadcast.on_event(&wave(n, 0, false));
    }
    let batches = snapshot(&broadcast)["batches"].clone();
    assert_eq!(batches.as_array().unwrap().len(), KEEP_BATCHES);
    assert_eq!(batches[0]["wave"], 11);
}

#[test]
fn long_values_are_cut_on_a_character_boundary() {
    let long = "é".repeat(MAX_VALUE);
    let cut = bounded(long.clone());
    assert!(cut.len() < long.len());
    assert!(cut.ends_with(&format!("(cut: {} bytes in all)", long.len())));
    assert_eq!(bounded("short".into()), "short");
}
