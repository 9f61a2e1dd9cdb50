//! The default settings survive a provider that fails about one request in five (10%
//! rate limits with `Retry-After: 0`, 5% server errors, 2% dropped connections, 2%
//! malformed bodies, and 2% of replies slower than the client's timeout): every row
//! comes back, once, and no cell is asked more often than the retry policy allows.

use std::collections::HashMap;
use std::time::Duration;

use chatan_mock::MockConfig;

chatan::dataset! {
    #[derive(Debug)]
    struct Pair {
        id: chatan::Uuid = sample::uuid(),
        question: String = gen("question {id}"),
        answer: String = gen("answer {id}: {question}"),
    }
}

#[tokio::test]
async fn two_thousand_rows_through_a_nineteen_percent_fault_rate_with_defaults() {
    let config = MockConfig::new()
        .fault_rates(0.10, 0.05, 0.02, 0.02)
        .slow_replies(0.02, Duration::from_millis(600))
        .seed(19);
    let (server, llm) = tests::openai_mock(config).await;
    // The runner's defaults; the provider waits 200 ms for a reply (its own setting).
    let llm = llm.timeout(Duration::from_millis(200));
    let generated = Pair::runner(&llm).seed(1).run(2_000).await.unwrap();
    assert_eq!(generated.rows.len(), 2_000);
    let mut ids: Vec<_> = generated.rows.iter().map(|r| r.id).collect();
    ids.sort_unstable();
    ids.dedup();
    assert_eq!(ids.len(), 2_000, "no row twice");

    let log = server.exchanges();
    let mut per_cell: HashMap<&str, (u32, u32)> = HashMap::new();
    for e in &log {
        let entry = per_cell.entry(e.prompt.as_str()).or_default();
        entry.0 += 1;
        if e.fault.is_none() {
            entry.1 += 1;
        }
    }
    assert_eq!(per_cell.len(), 4_000, "every cell asked");
    let max = chatan::layer::RetryPolicy::default().attempts();
    for (prompt, (requests, answered)) in &per_cell {
        assert!(*requests <= max, "{prompt}: {requests} requests");
        assert_eq!(*answered, 1, "{prompt}: answered {answered} times");
    }
    let faults = log.iter().filter(|e| e.fault.is_some()).count();
    // A reply the client stopped waiting for is not in the server's log (the
    // connection closed under it); the retries beyond the logged faults are those.
    let retries = generated.report.retries as usize;
    let timed_out = retries - faults;
    eprintln!(
        "{} requests: {faults} faults, {timed_out} timeouts, {retries} retries; {} rows",
        log.len() + timed_out,
        generated.rows.len()
    );
    assert!(
        faults > 500 && timed_out > 20,
        "{faults} faults, {timed_out} timeouts"
    );
}
