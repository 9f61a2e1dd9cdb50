//! Samplers built at run time: replacing a recipe's sampler, required inputs, empty
//! sources with and without defaults, and sampling from in-memory datasets.

use chatan::{Error, sample};
use chatan_mock::MockConfig;
use serde_json::json;

chatan::dataset! {
    #[derive(Debug, Clone, serde::Serialize)]
    pub struct Rewrite {
        pub original: String = sample::input(),
        pub style: String = sample::choice(["formal", "casual"]),
        pub rewrite: String = gen("rewrite this prompt in a {style} style: {original}"),
        pub version: u32 = 2,
        pub tag: String = "v2",
    }
}

#[tokio::test]
async fn a_sampler_built_at_run_time_fills_an_input_column() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    // Data that exists only at run time, such as lines read from a file.
    let loaded: Vec<String> = "What is 2 + 2?\nName a prime.\nWhy is the sky blue?"
        .lines()
        .map(str::to_owned)
        .collect();
    let rows = Rewrite::runner(&llm)
        .sampler(|c| c.original, sample::from_values(loaded.clone()))
        .seed(5)
        .generate(30)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| loaded.contains(&r.original)));
    let distinct: std::collections::HashSet<&str> =
        rows.iter().map(|r| r.original.as_str()).collect();
    assert_eq!(distinct.len(), 3);
    assert!(rows.iter().all(|r| r.version == 2 && r.tag == "v2"));
    for r in &rows {
        let prompt = format!("rewrite this prompt in a {} style: {}", r.style, r.original);
        assert!(
            server.exchanges().iter().any(|e| e.prompt == prompt),
            "{prompt}"
        );
    }
}

#[tokio::test]
async fn any_sampled_or_static_column_can_be_replaced() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Rewrite::runner(&llm)
        .sampler(|c| c.original, sample::choice(["only this"]))
        .sampler(|c| c.style, sample::choice(["pirate"]))
        .sampler(|c| c.version, sample::range(7, 7))
        .generate(3)
        .await
        .unwrap();
    assert!(
        rows.iter()
            .all(|r| r.style == "pirate" && r.version == 7 && r.original == "only this")
    );
}

#[tokio::test]
async fn a_missing_input_fails_before_any_request() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let failed = Rewrite::runner(&llm).generate(5).await.unwrap_err();
    match failed.error() {
        Error::Sampler {
            column: "original",
            cause,
        } => {
            assert_eq!(cause.kind, sample::SamplerErrorKind::MissingInput);
            let reason = cause.to_string();
            assert!(
                reason.contains("sample::input()") && reason.contains(".sampler("),
                "{reason}"
            )
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test]
async fn an_empty_source_fails_unless_it_has_a_default() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let failed = Rewrite::runner(&llm)
        .sampler(|c| c.original, sample::from_values(Vec::<String>::new()))
        .generate(5)
        .await
        .unwrap_err();
    assert!(
        matches!(failed.error(), Error::Sampler { column: "original", cause }
            if cause.kind == sample::SamplerErrorKind::Empty && cause.message.contains("no values")),
        "{failed}"
    );
    assert_eq!(server.stats().requests, 0);

    let rows = Rewrite::runner(&llm)
        .sampler(
            |c| c.original,
            sample::from_values(Vec::<String>::new())
                .or_else(sample::choice(["fallback".to_string()])),
        )
        .generate(2)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.original == "fallback"));
}

#[tokio::test]
async fn bad_sampler_arguments_fail_before_any_request_naming_the_column() {
    chatan::dataset! {
        #[derive(Debug)]
        #[allow(dead_code)]
        struct Dated {
            day: String = sample::datetime("2024-13-01", "2024-12-31").format("%Y-%m-%d"),
            note: String = gen("what happened on {day}?"),
        }
    }
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let failed = Dated::generate(&llm, 3).await.unwrap_err();
    assert_eq!(
        failed.error().to_string(),
        "column `day`: the sampler cannot be used: \"2024-13-01\" is not a date; write 2024-01-31, 2024-01-31 08:30:00 or an RFC 3339 time, or give its form with `.parse_format(..)`"
    );
    assert_eq!(server.stats().requests, 0);
}

#[tokio::test]
async fn from_dataset_samples_a_named_column_of_in_memory_rows() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let data = vec![
        json!({"prompt": "What is 2 + 2?", "id": 1}),
        json!({"prompt": "Name a prime.", "id": 2}),
    ];
    let first = Rewrite::runner(&llm)
        .sampler(|c| c.original, sample::from_dataset(&data, "prompt"))
        .generate(10)
        .await
        .unwrap();
    assert!(
        first
            .iter()
            .all(|r| r.original == "What is 2 + 2?" || r.original == "Name a prime.")
    );

    // A previous run's rows are a dataset too: sample their rewrites.
    let second = Rewrite::runner(&llm)
        .sampler(|c| c.original, sample::from_dataset(&first, "rewrite"))
        .generate(5)
        .await
        .unwrap();
    assert!(
        second
            .iter()
            .all(|r| first.iter().any(|f| f.rewrite == r.original))
    );

    // A missing column or a value of the wrong type is reported before any request.
    let failed = Rewrite::runner(&llm)
        .sampler(|c| c.original, sample::from_dataset(&data, "promt"))
        .generate(1)
        .await
        .unwrap_err();
    assert!(
        failed.to_string().contains("has no column \"promt\""),
        "{failed}"
    );
    let failed = Rewrite::runner(&llm)
        .sampler(|c| c.original, sample::from_dataset(&data, "id"))
        .generate(1)
        .await
        .unwrap_err();
    assert!(
        failed
            .to_string()
            .contains("does not fit this column's type"),
        "{failed}"
    );
}

chatan::dataset! {
    #[derive(Debug)]
    struct Followed {
        original: String = sample::input(),
        position: usize = RowIndex,
        rewrite: String = gen("rewrite: {original}"),
    }
}

/// The row's own index, read from the sampler's context.
struct RowIndex;

impl chatan::sample::Sampler for RowIndex {
    type Item = usize;
    fn sample(&self, cx: &mut chatan::sample::SampleContext) -> usize {
        cx.row
    }
}

#[tokio::test]
async fn samplers_see_the_row_so_row_i_takes_input_i() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let inputs: Vec<String> = (0..10).map(|i| format!("prompt number {i}")).collect();
    let rows = Followed::runner(&llm)
        .sampler(
            |c| c.original,
            sample::from_values(inputs.clone()).in_order(),
        )
        .generate(10)
        .await
        .unwrap();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.original, inputs[i]);
        assert_eq!(row.position, i);
        assert!(row.rewrite.contains(&inputs[i]), "{}", row.rewrite);
    }
    // A later part of the run takes the matching part of the input.
    let rows = Followed::runner(&llm)
        .sampler(
            |c| c.original,
            sample::from_dataset(
                inputs.iter().map(|p| serde_json::json!({ "prompt": p })),
                "prompt",
            )
            .in_order(),
        )
        .generate(6..9)
        .await
        .unwrap();
    let got: Vec<(&str, usize)> = rows
        .iter()
        .map(|r| (r.original.as_str(), r.position))
        .collect();
    assert_eq!(
        got,
        [
            ("prompt number 6", 6),
            ("prompt number 7", 7),
            ("prompt number 8", 8)
        ]
    );
}

/// A whole row of an existing dataset.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct Source {
    prompt: String,
    level: u8,
}

chatan::dataset! {
    #[derive(Debug)]
    struct FromRows {
        src: Source = sample::input(),
        rewrite: String = gen("rewrite at level {src.level}: {src.prompt}"),
    }
}

#[tokio::test]
async fn a_struct_column_holds_a_source_row_whose_fields_templates_read() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let sources: Vec<Source> = (0..5)
        .map(|i| Source {
            prompt: format!("prompt {i}"),
            level: i * 2,
        })
        .collect();
    let rows = FromRows::runner(&llm)
        .sampler(
            |c| c.src,
            sample::from_dataset(sources.iter().map(|s| json!({ "row": s })), "row").in_order(),
        )
        .generate(5)
        .await
        .unwrap();
    let mut prompts: Vec<String> = server.exchanges().into_iter().map(|e| e.prompt).collect();
    prompts.sort();
    for (i, row) in rows.iter().enumerate() {
        assert_eq!(row.src, sources[i]);
        // Both fields come from the same source row.
        assert_eq!(
            prompts[i],
            format!("rewrite at level {}: prompt {i}", i * 2)
        );
        assert!(row.rewrite.contains(&prompts[i]), "{}", row.rewrite);
    }
}

#[tokio::test]
async fn from_dataset_takes_columns_as_a_python_dict_of_lists_would_give_them() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let prompts: Vec<String> = (0..4).map(|i| format!("column prompt {i}")).collect();
    let dict: std::collections::HashMap<String, Vec<String>> = [
        ("prompt".to_string(), prompts.clone()),
        ("source".to_string(), vec!["a".into(); 4]),
    ]
    .into();
    let rows = Rewrite::runner(&llm)
        .sampler(
            |c| c.original,
            sample::from_dataset(&dict, "prompt").in_order(),
        )
        .generate(4)
        .await
        .unwrap();
    let got: Vec<&str> = rows.iter().map(|r| r.original.as_str()).collect();
    assert_eq!(got, prompts);

    // A JSON object of arrays, as read from a file.
    let object = json!({"prompt": ["from json"], "id": [1]});
    let rows = Rewrite::runner(&llm)
        .sampler(
            |c| c.original,
            sample::from_dataset(object.as_object().unwrap(), "prompt"),
        )
        .generate(2)
        .await
        .unwrap();
    assert!(rows.iter().all(|r| r.original == "from json"));

    // The wrong column, or the wrong shape, is said plainly before any request.
    let before = server.stats().requests;
    let failed = Rewrite::runner(&llm)
        .sampler(|c| c.original, sample::from_dataset(&dict, "question"))
        .generate(1)
        .await
        .unwrap_err();
    let message = failed.error().to_string();
    assert!(
        message.contains("no column \"question\"") && message.contains("\"prompt\""),
        "{message}"
    );
    let failed = Rewrite::runner(&llm)
        .sampler(|c| c.original, sample::from_dataset([1, 2, 3], "prompt"))
        .generate(1)
        .await
        .unwrap_err();
    let message = failed.error().to_string();
    assert!(
        message.contains("is a number, not a record")
            && message.contains("a map of column name to a list of values"),
        "{message}"
    );
    assert_eq!(server.stats().requests, before);
}
