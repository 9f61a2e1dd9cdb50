//! Preview: the first rows' prompts without calling any model, equal to what the run
//! with the same seed sends, with placeholders for generated values.

use chatan_mock::MockConfig;

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Mix {
        topic: String = sample::choice(["tides", "stars", "moss"]),
        level: u8 = sample::range(1, 4),
        shout: String = |row| row.topic.to_uppercase(),
        question: String = gen("a level {level} question about {topic} ({shout})", system = "Be brief."),
        verdict: String = gen("is it hard? {question}"),
        answer: String = gen("{% if verdict == \"yes\" %}carefully: {% elif level > 2 %}in depth: {% endif %}{question}"),
        fussy: u32 = |row| -> Result<u32, String> {
            if row.topic == "moss" { Err("no moss".into()) } else { Ok(1) }
        },
    }
}

#[tokio::test]
async fn the_preview_sends_nothing_and_matches_the_run() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let runner = Mix::runner(&llm).seed(9).skip_failed();
    let preview = runner.preview(12).unwrap();
    assert_eq!(server.exchanges().len(), 0, "a preview calls no model");
    assert_eq!(preview.seed, 9);
    assert_eq!(preview.rows.len(), 12);

    let generated = runner.run(12).await.unwrap();
    let log = server.exchanges();
    for row in &preview.rows {
        let Some(problem) = &row.problem else {
            let question = row.prompt("question").unwrap();
            assert!(question.exact);
            assert_eq!(question.system, Some("Be brief."));
            assert!(
                log.iter().any(|e| e.prompt == question.prompt),
                "the run sent {:?}",
                question.prompt
            );
            let verdict = row.prompt("verdict").unwrap();
            assert_eq!(verdict.prompt, "is it hard? ⟨question⟩");
            assert!(!verdict.exact);
            continue;
        };
        // A derived closure that fails shows as the row's problem, as the run reports it.
        assert!(
            problem.contains("column `fussy`") && problem.contains("no moss"),
            "{problem}"
        );
        assert!(generated.report.failed.iter().any(|f| f.row == row.row));
    }
    let shown = preview.rows.iter().filter(|r| r.problem.is_some()).count();
    assert_eq!(shown, generated.report.failed.len());
}

#[test]
fn a_condition_on_a_generated_value_shows_each_branch_it_could_take() {
    let llm = chatan::GeneratorSet::new();
    let preview = Mix::runner(&llm).seed(3).preview(30).unwrap();
    let mut seen_low = false;
    let mut seen_high = false;
    for row in preview.rows.iter().filter(|r| r.problem.is_none()) {
        let answer = &row.prompt("answer").unwrap().prompt;
        // `verdict` is generated, so the first arm is open; `level` is known, so the
        // `elif` is decided and the chain stops there or falls through to nothing.
        if answer.contains("\"in depth: \"") {
            assert_eq!(
                answer,
                "⟨depending on verdict: \"carefully: \" | \"in depth: \"⟩⟨question⟩"
            );
            seen_high = true;
        } else {
            assert_eq!(
                answer,
                "⟨depending on verdict: \"carefully: \" | \"\"⟩⟨question⟩"
            );
            seen_low = true;
        }
    }
    assert!(seen_low && seen_high);
    let table = preview.to_string();
    assert!(
        table.starts_with("preview of 30 rows (seed 3):\nrow 0\n"),
        "{table}"
    );
    assert!(table.contains("│ [system] Be brief."), "{table}");
}

chatan::dataset! {
    #[derive(Debug)]
    struct NeedsInput {
        original: String = sample::input(),
        rewrite: String = gen("rewrite: {original}"),
    }
}

#[test]
fn a_preview_fails_like_a_run_when_a_sampler_is_missing() {
    let llm = chatan::GeneratorSet::new();
    let err = NeedsInput::runner(&llm).preview(1).unwrap_err();
    assert!(err.to_string().contains("original"), "{err}");
    let preview = NeedsInput::runner(&llm)
        .sampler(|c| c.original, chatan::sample::choice(["a {x} b"]))
        .preview(1)
        .unwrap();
    assert_eq!(preview.rows[0].prompts[0].prompt, "rewrite: a {x} b");
}
