//! Rows worth keeping, over real HTTP: a generated column's `check` that asks again
//! with the reason until a reply passes (or fails the cell naming it), a `distinct`
//! column that asks again for a value an earlier row has, and `keep_if`, which makes n
//! rows that pass a predicate.

use chatan::Error;
use chatan::error::CellError;
use chatan_mock::MockConfig;

/// A check over the value alone: a plain function.
fn looks_like_rust(code: &str) -> Result<(), String> {
    if code.starts_with("fn ") {
        Ok(())
    } else {
        Err("it is not a Rust function: start with `fn`".into())
    }
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Checked {
        task: String = sample::choice(["add two numbers"]),
        code: String = gen("write code to {task}", check = looks_like_rust),
        keyword: String = sample::choice(["overflow"]),
        note: String = gen("a note on {code}", check = |note: &str, row| {
            if note.contains(&row.keyword) {
                Ok(())
            } else {
                Err(format!("mention {:?}", row.keyword))
            }
        }),
    }
}

#[tokio::test]
async fn a_failing_check_is_asked_again_with_its_reason_until_a_reply_passes() {
    let config = MockConfig::new()
        .reply_for(
            "write code",
            [
                "def add(a, b): return a + b",
                "fn add(a: i32, b: i32) -> i32 { a + b }",
            ],
        )
        .reply_for("a note on", ["It adds.", "It adds; mind overflow."]);
    let (server, llm) = tests::openai_mock(config).await;
    let generated = Checked::runner(&llm).seed(1).run(1).await.unwrap();
    let row = &generated.rows[0];
    assert_eq!(row.code, "fn add(a: i32, b: i32) -> i32 { a + b }");
    assert_eq!(row.note, "It adds; mind overflow.");
    assert_eq!(generated.report.reasks, 2);

    let log = server.exchanges();
    let code: Vec<_> = log
        .iter()
        .filter(|e| e.prompt.starts_with("write code"))
        .collect();
    assert_eq!(code.len(), 2);
    // The second question carries the refused reply and the check's reason.
    let turns = &code[1].turns;
    assert!(
        turns
            .iter()
            .any(|(role, text)| role == "assistant" && text == "def add(a, b): return a + b"),
        "{turns:?}"
    );
    assert!(
        turns.iter().any(|(role, text)| role == "user"
            && text.contains("it is not a Rust function: start with `fn`")),
        "{turns:?}"
    );
    // The row check read another column of the row.
    let notes: Vec<_> = log
        .iter()
        .filter(|e| e.prompt.starts_with("a note on"))
        .collect();
    assert_eq!(notes.len(), 2);
    assert!(
        notes[1]
            .turns
            .iter()
            .any(|(_, text)| text.contains("mention \"overflow\""))
    );
}

#[tokio::test]
async fn a_check_that_never_passes_fails_the_cell_with_its_reason() {
    let config = MockConfig::new().reply_for("write code", ["print('hi')"]);
    let (server, llm) = tests::openai_mock(config).await;
    let failed = Checked::runner(&llm)
        .seed(1)
        .max_asks(3)
        .run(1)
        .await
        .unwrap_err();
    match failed.error() {
        Error::Cell {
            row: 0,
            column: "code",
            cause: CellError::Reply { attempts, cause },
        } => {
            assert_eq!(*attempts, 3);
            assert_eq!(cause.excerpt, "print('hi')");
            assert!(
                cause.reason.contains("it is not a Rust function"),
                "{cause}"
            );
            assert!(
                failed
                    .error()
                    .to_string()
                    .contains("fails the column's check"),
                "{}",
                failed.error()
            );
        }
        other => panic!("expected the check's failure, got {other:?}"),
    }
    let asked = server
        .exchanges()
        .iter()
        .filter(|e| e.prompt.starts_with("write code"))
        .count();
    assert_eq!(asked, 3);
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Questions {
        topic: String = sample::choice(["rust"]),
        question: String = gen("a question about {topic}", distinct = true),
        plain: String = gen("a remark about {topic}"),
    }
}

#[tokio::test]
async fn a_distinct_column_asks_again_for_a_value_an_earlier_row_has() {
    // One request at a time: row 0 claims its value first.
    let config = MockConfig::new()
        .reply_for(
            "a question",
            [
                "What is Rust?",
                "  what is RUST ",
                "Why Rust?",
                "How fast is Rust?",
            ],
        )
        .reply_for("a remark", ["Same remark."]);
    let (server, llm) = tests::openai_mock(config).await;
    let generated = Questions::runner(&llm)
        .seed(1)
        .concurrency(1)
        .run(3)
        .await
        .unwrap();
    let questions: Vec<&str> = generated.rows.iter().map(|r| r.question.as_str()).collect();
    // Row 1's repeat was asked again; row 2 may take the next reply before it does.
    assert_eq!(questions[0], "What is Rust?");
    let mut rest = questions[1..].to_vec();
    rest.sort_unstable();
    assert_eq!(rest, ["How fast is Rust?", "Why Rust?"]);
    // A column that is not distinct keeps its repeats.
    assert!(generated.rows.iter().all(|r| r.plain == "Same remark."));
    assert_eq!(generated.report.reasks, 1);
    assert!(generated.report.repeated.is_empty());
    let again = server
        .exchanges()
        .into_iter()
        .find(|e| {
            e.turns
                .iter()
                .any(|(_, t)| t.contains("repeats the value of another row (row 0)"))
        })
        .expect("the repeat was asked again, naming the row it repeats");
    assert!(
        again
            .turns
            .iter()
            .any(|(role, t)| role == "assistant" && t == "what is RUST")
    );
}

#[tokio::test]
async fn a_repeat_kept_when_asks_run_out_is_reported() {
    let config = MockConfig::new().reply_for("a question", ["What is Rust?"]);
    let (_server, llm) = tests::openai_mock(config).await;
    let generated = Questions::runner(&llm)
        .seed(1)
        .concurrency(1)
        .max_asks(2)
        .run(3)
        .await
        .unwrap();
    assert!(generated.rows.iter().all(|r| r.question == "What is Rust?"));
    // Rows 1 and 2 were each asked twice, then kept their repeat.
    assert_eq!(generated.report.reasks, 2);
    assert_eq!(
        generated.report.repeated,
        [(1, "question"), (2, "question")]
    );
    assert!(
        generated
            .report
            .to_string()
            .contains("2 repeated values kept")
    );
}

chatan::dataset! {
    #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Drafts {
        id: u32 = sample::range(0, 1_000_000_000),
        draft: String = gen("a draft about {id}"),
    }
}

/// Passes about half the drafts: the mock's reply carries a hash of the prompt,
/// `[mock reply 1a2b3c4d] ...`, so which rows pass is fixed by the seed.
fn good(row: &Drafts) -> Result<(), String> {
    let digit = row.draft.as_bytes()["[mock reply ".len()];
    if digit < b'8' {
        Ok(())
    } else {
        Err(format!("hash digit {} is 8 or above", digit as char))
    }
}

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("quality-tests");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    let _ = std::fs::remove_file(&path);
    path
}

#[tokio::test]
async fn keep_if_reaches_n_rows_that_pass_drawing_replacements() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let n = 40;
    let added = std::sync::atomic::AtomicUsize::new(0);
    let kept = Drafts::runner(&llm)
        .seed(3)
        .observe(|event: &chatan::event::Event<'_>| {
            if let chatan::event::Event::RowsAdded { rows } = event {
                added.fetch_add(*rows, std::sync::atomic::Ordering::Relaxed);
            }
        })
        .keep_if(good)
        .max_draws(10)
        .run(n)
        .await
        .unwrap();
    assert_eq!(kept.rows.len(), n);
    assert!(kept.rows.iter().all(|r| good(r).is_ok()));
    let keep = kept.report.keep.as_ref().unwrap();
    assert_eq!((keep.wanted, keep.kept), (n, n));
    assert!(
        keep.dropped.len() >= 5,
        "about half of the first draws fail: {keep}"
    );
    assert_eq!(keep.drawn, keep.kept + keep.dropped.len());
    assert_eq!(server.exchanges().len(), keep.drawn);
    // Each replacement draw is told to the progress bar and the viewer.
    assert_eq!(added.into_inner(), keep.drawn - n);
    // Result row j is the first passing row of j, n + j, 2n + j, ...
    for (j, &index) in kept.indices.iter().enumerate() {
        assert_eq!(index % n, j);
        for earlier in (j..index).step_by(n) {
            assert!(
                keep.dropped.iter().any(|d| d.row == earlier),
                "row {earlier} was drawn and dropped"
            );
        }
    }
    assert!(
        keep.dropped
            .iter()
            .all(|d| d.reason.starts_with("hash digit"))
    );
    let printed = kept.report.to_string();
    assert!(
        printed.contains(&format!("kept {n} of {n} wanted from {} drawn", keep.drawn)),
        "{printed}"
    );
    assert!(printed.contains("× hash digit"), "{printed}");

    // The same seed keeps the same rows, however many requests run at once.
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let again = Drafts::runner(&llm)
        .seed(3)
        .concurrency(1)
        .keep_if(good)
        .max_draws(10)
        .run(n)
        .await
        .unwrap();
    assert_eq!(again.rows, kept.rows);
    assert_eq!(again.indices, kept.indices);
}

#[tokio::test]
async fn keep_if_out_of_draws_fails_with_the_rows_it_kept() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let failed = Drafts::runner(&llm)
        .seed(3)
        .keep_if(good)
        .max_draws(1)
        .run(40)
        .await
        .unwrap_err();
    let keep = failed.report().keep.as_ref().unwrap();
    match failed.error() {
        Error::NotEnoughKept {
            wanted: 40,
            kept,
            unfilled,
            max_draws: 1,
        } => {
            assert_eq!(*kept, keep.kept);
            assert_eq!(*unfilled, keep.unfilled.len());
            assert_eq!(kept + unfilled, 40);
            assert!(*unfilled > 0);
        }
        other => panic!("expected NotEnoughKept, got {other:?}"),
    }
    assert_eq!(failed.completed().len(), keep.kept);
    assert!(failed.completed().iter().all(|(_, r)| good(r).is_ok()));
    // A bool predicate says so when it drops.
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let failed = Drafts::runner(&llm)
        .seed(3)
        .keep_if(|_: &Drafts| false)
        .run(2)
        .await
        .unwrap_err();
    let keep = failed.report().keep.as_ref().unwrap();
    assert_eq!(keep.reasons(), [("the predicate returned false", 8)]);
    assert_eq!(keep.unfilled, [0, 1]);
}

#[tokio::test]
async fn keep_if_resumes_from_a_checkpoint_and_shards_keep_the_whole_runs_rows() {
    let n = 30;
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let whole = Drafts::runner(&llm)
        .seed(5)
        .keep_if(good)
        .max_draws(12)
        .run(n)
        .await
        .unwrap();

    // A first run with too few draws journals what it drew; the resumed run judges those
    // draws again without making them, and keeps exactly the whole run's rows.
    let path = scratch("keep.checkpoint.jsonl");
    let (first_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let short = Drafts::runner(&llm)
        .seed(5)
        .checkpoint(&path)
        .keep_if(good)
        .max_draws(1)
        .run(n)
        .await;
    assert!(matches!(
        short.unwrap_err().error(),
        Error::NotEnoughKept { .. }
    ));
    let made_first = first_server.exchanges().len();
    assert_eq!(made_first, n);
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let resumed = Drafts::runner(&llm)
        .seed(5)
        .checkpoint(&path)
        .keep_if(good)
        .max_draws(12)
        .run(n)
        .await
        .unwrap();
    assert_eq!(resumed.rows, whole.rows);
    assert_eq!(resumed.indices, whole.indices);
    let drawn = resumed.report.keep.as_ref().unwrap().drawn;
    assert_eq!(
        server.exchanges().len(),
        drawn - made_first,
        "only new draws are made"
    );

    // Three shards fill their own result rows with the whole run's rows.
    let mut rows = Vec::new();
    let mut indices = Vec::new();
    for k in 0..3 {
        let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
        let part = Drafts::runner(&llm)
            .seed(5)
            .shard(chatan::Shard::new(k, 3).unwrap())
            .keep_if(good)
            .max_draws(12)
            .run(n)
            .await
            .unwrap();
        assert_eq!(part.report.keep.as_ref().unwrap().wanted, n / 3);
        rows.extend(part.rows);
        indices.extend(part.indices);
    }
    assert_eq!(rows, whole.rows);
    assert_eq!(indices, whole.indices);
}

#[tokio::test]
async fn under_skip_failed_a_failed_draw_is_dropped_with_its_error_and_drawn_again() {
    let config = MockConfig::new()
        .reply_for("write code", ["print('no')", "fn ok() {}"])
        .reply_for("a note on", ["mind overflow"]);
    let (_server, llm) = tests::openai_mock(config).await;
    let kept = Checked::runner(&llm)
        .seed(1)
        .concurrency(1)
        .max_asks(1)
        .skip_failed()
        .keep_if(|_: &Checked| true)
        .run(1)
        .await
        .unwrap();
    assert_eq!(kept.indices, [1]);
    assert_eq!(kept.rows[0].code, "fn ok() {}");
    let keep = kept.report.keep.as_ref().unwrap();
    assert_eq!((keep.drawn, keep.kept), (2, 1));
    assert_eq!(keep.dropped[0].row, 0);
    assert!(
        keep.dropped[0].reason.contains("fails the column's check"),
        "{:?}",
        keep.dropped
    );
    assert_eq!(kept.report.failed.len(), 1);
    assert_eq!(kept.report.failed[0].row, 0);
}

#[tokio::test]
async fn a_dropped_row_gives_up_its_distinct_values() {
    // Every question is the same; each draw is dropped. Were the dropped row's value kept
    // taken, the next draw would be asked again as a repeat of it.
    let config = MockConfig::new().reply_for("a question", ["What is Rust?"]);
    let (_server, llm) = tests::openai_mock(config).await;
    let failed = Questions::runner(&llm)
        .seed(1)
        .concurrency(1)
        .keep_if(|_: &Questions| false)
        .max_draws(3)
        .run(1)
        .await
        .unwrap_err();
    assert!(matches!(
        failed.error(),
        Error::NotEnoughKept { kept: 0, .. }
    ));
    assert_eq!(failed.report().keep.as_ref().unwrap().drawn, 3);
    assert_eq!(failed.report().reasks, 0);
    assert!(failed.report().repeated.is_empty());
}

/// The derive form takes the same options.
#[derive(chatan::Dataset, Debug, Clone)]
struct DerivedChecked {
    #[generate("write code to add", check = looks_like_rust, distinct = true)]
    code: String,
}

#[tokio::test]
async fn the_derive_form_checks_and_refuses_repeats_too() {
    let config = MockConfig::new().reply_for(
        "write code",
        ["x = 1", "fn a() {}", "fn a() {}", "fn b() {}"],
    );
    let (_server, llm) = tests::openai_mock(config).await;
    let generated = DerivedChecked::runner(&llm)
        .concurrency(1)
        .run(2)
        .await
        .unwrap();
    let mut codes: Vec<&str> = generated.rows.iter().map(|r| r.code.as_str()).collect();
    codes.sort_unstable();
    assert_eq!(codes, ["fn a() {}", "fn b() {}"]);
    assert_eq!(generated.report.reasks, 2);
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Stories {
        story: String = gen("a one-line story", distinct = 0.7),
    }
}

#[tokio::test]
async fn a_near_distinct_column_asks_again_for_a_value_like_an_earlier_one() {
    let config = MockConfig::new().reply_for(
        "a one-line story",
        [
            "the quick brown fox jumps over the lazy dog by the river bank today",
            // Jaccard 10/12 of word 3-shingles with the first: asked again.
            "The quick brown fox jumps over the lazy dog by the river bank tonight!",
            "an entirely different sentence about the price of bread in winter",
        ],
    );
    let (server, llm) = tests::openai_mock(config).await;
    let generated = Stories::runner(&llm).concurrency(1).run(2).await.unwrap();
    let stories: Vec<&str> = generated.rows.iter().map(|r| r.story.as_str()).collect();
    assert_eq!(
        stories,
        [
            "the quick brown fox jumps over the lazy dog by the river bank today",
            "an entirely different sentence about the price of bread in winter",
        ]
    );
    assert_eq!(generated.report.reasks, 1);
    assert!(server.exchanges().iter().any(|e| {
        e.turns
            .iter()
            .any(|(_, t)| t.contains("it is nearly the same as the value of another row (row 0)"))
    }));
}

#[tokio::test]
async fn a_predicate_that_panics_drops_the_row_and_says_so() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let failed = Drafts::runner(&llm)
        .seed(2)
        .keep_if(|_: &Drafts| -> bool { panic!("no rows today") })
        .max_draws(2)
        .run(3)
        .await
        .unwrap_err();
    // Nothing unwinds: every draw is dropped with the panic's message.
    assert!(matches!(
        failed.error(),
        Error::NotEnoughKept {
            kept: 0,
            unfilled: 3,
            ..
        }
    ));
    let keep = failed.report().keep.as_ref().unwrap();
    assert_eq!(
        keep.reasons(),
        [("the predicate panicked: no rows today", 6)]
    );
}

#[tokio::test]
async fn under_the_default_policy_a_failed_draw_stops_keep_if_with_the_rows_it_kept() {
    // Row 0's code passes its check; row 1's never does (one ask), which stops the run.
    let config = MockConfig::new()
        .reply_for("write code", ["fn ok() {}", "print('no')"])
        .reply_for("a note on", ["mind overflow"]);
    let (_server, llm) = tests::openai_mock(config).await;
    let failed = Checked::runner(&llm)
        .seed(1)
        .concurrency(1)
        .max_asks(1)
        .keep_if(|_: &Checked| true)
        .run(4)
        .await
        .unwrap_err();
    match failed.error() {
        Error::Cell {
            column: "code",
            cause: CellError::Reply { .. },
            ..
        } => {}
        other => panic!("expected the check's failure to stop the run, got {other:?}"),
    }
    assert!(
        failed
            .completed()
            .iter()
            .any(|(i, r)| *i == 0 && r.code == "fn ok() {}")
    );
    let keep = failed.report().keep.as_ref().unwrap();
    assert_eq!(keep.kept, failed.completed().len());
    // Not a dropped draw: the failure is the run's end, not a reason to draw again.
    assert!(keep.dropped.is_empty());
    assert!(!failed.report().failed.is_empty());
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Panicky {
        text: String = gen("say something", check = |_text| -> Result<(), String> { panic!("the check broke") }),
    }
}

#[tokio::test]
async fn a_check_that_panics_fails_its_cell_and_keeps_the_run() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let failed = Panicky::runner(&llm).run(1).await.unwrap_err();
    match failed.error() {
        Error::Cell {
            row: 0,
            column: "text",
            cause: CellError::Panicked { message },
        } => {
            assert_eq!(message, "the check broke");
        }
        other => panic!("expected the panic as the cell's failure, got {other:?}"),
    }
}
