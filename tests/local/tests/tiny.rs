//! Tiny random-weight GPT-2, Llama and Qwen2 checkpoints written as real model folders
//! (and the Llama as a GGUF file), loaded through the public API.

use chatan::generate::SetOptions;
use chatan::local::Local;
use chatan::{Generator, Request};
use tests_local::tiny::{self, Arch, Extras};

fn model(name: &str, arch: Arch, extras: &Extras) -> Local {
    let dir = tests_local::scratch(name);
    tiny::folder(&dir, arch, 7, extras);
    Local::open(&dir).expect("the tiny model loads")
}

fn cell(prompt: &str, row: usize) -> Request<'_> {
    Request::new(prompt).cell(row, "text").max_tokens(12)
}

const ARCHS: [Arch; 3] = [Arch::Gpt2, Arch::Llama, Arch::Qwen2];

#[tokio::test]
async fn every_architecture_generates_deterministically_within_max_tokens() {
    for arch in ARCHS {
        let llm = model(&format!("deterministic-{arch:?}"), arch, &Extras::default());
        let greedy = cell("the sea at night", 0).temperature(0.0);
        let a = llm.generate(&greedy).await.unwrap();
        let b = llm.generate(&greedy).await.unwrap();
        assert_eq!(a.text, b.text, "{arch:?}: greedy is deterministic");
        // No end-of-sequence token is configured: the reply runs to max_tokens exactly.
        assert_eq!(a.usage.unwrap().output_tokens, 12, "{arch:?}");
        let prompt_tokens = llm.encode("the sea at night").unwrap().len() as u64;
        assert_eq!(
            a.usage.unwrap().input_tokens,
            prompt_tokens,
            "{arch:?}: a base model reads the raw prompt"
        );

        let sampled = |row| cell("the sea at night", row).temperature(1.0);
        let x = llm.generate(&sampled(1)).await.unwrap().text;
        let y = llm.generate(&sampled(1)).await.unwrap().text;
        let z = llm.generate(&sampled(2)).await.unwrap().text;
        assert_eq!(x, y, "{arch:?}: a cell's sampling is reproducible");
        assert_ne!(x, z, "{arch:?}: another row samples another reply");
        let short = llm.generate(&sampled(1).max_tokens(3)).await.unwrap();
        assert_eq!(short.usage.unwrap().output_tokens, 3, "{arch:?}");
        // Stopped by the limit, not by an end of sequence: cut off, and it says so.
        assert_eq!(
            short.finish,
            chatan::generate::Finish::Truncated,
            "{arch:?}"
        );
    }
}

#[tokio::test]
async fn a_local_model_takes_a_timeout_and_ignores_a_model_name_saying_so() {
    let local = model("timeout", Arch::Llama, &Extras::default());
    let name = local.model().map(str::to_owned);
    let any = chatan::AnyGenerator::from(local)
        .model("another-model")
        .timeout(std::time::Duration::from_nanos(1));
    // The model is the one loaded (a warning says `model` was ignored).
    assert_eq!(chatan::Generator::model(&any).map(str::to_owned), name);
    let error = any
        .generate(&cell("the sea", 0).max_tokens(200))
        .await
        .unwrap_err();
    assert!(
        matches!(error, chatan::GeneratorError::Timeout(_)),
        "{error:?}"
    );
}

#[tokio::test]
async fn stop_sequences_cut_the_reply() {
    for arch in ARCHS {
        let llm = model(&format!("stop-{arch:?}"), arch, &Extras::default());
        let request = cell("the cat", 0).temperature(0.0).max_tokens(24);
        let full = llm.generate(&request).await.unwrap().text;
        // Stop at a piece from the middle of the full reply: the reply ends before it.
        let chars: Vec<char> = full.chars().collect();
        assert!(chars.len() >= 6, "{arch:?}: {full:?}");
        let stop: String = chars[chars.len() / 2..chars.len() / 2 + 2].iter().collect();
        let stops = [stop.as_str()];
        let cut = llm.generate(&request.stop(&stops)).await.unwrap();
        let expected = &full[..full.find(&stop).unwrap()];
        assert_eq!(cut.text, expected, "{arch:?}: stop {stop:?} in {full:?}");
        assert!(cut.usage.unwrap().output_tokens < 24);
    }
}

#[tokio::test]
async fn instruct_models_get_their_chat_template_and_stop_at_eos() {
    let extras = Extras {
        chat: true,
        eos: Some(tiny::id("<|im_end|>")),
    };
    let llm = model("chat", Arch::Qwen2, &extras);
    let reply = llm
        .generate(&cell("hello", 0).system("be brief").temperature(0.0))
        .await
        .unwrap();
    let rendered = "<|im_start|>system\nbe brief<|im_end|>\n<|im_start|>user\nhello<|im_end|>\n<|im_start|>assistant\n";
    let expected = llm.encode(rendered).unwrap();
    assert_eq!(
        reply.usage.unwrap().input_tokens,
        expected.len() as u64,
        "the prompt the model read is the rendered template"
    );
    // The control tokens encode whole: one id each.
    assert_eq!(
        expected
            .iter()
            .filter(|&&t| t == tiny::id("<|im_start|>"))
            .count(),
        3
    );
    // With end-of-sequence on, some cells end before max_tokens (at temperature 1.0 a
    // random model picks `<|im_end|>` about once in 280 tokens; over 40 cells of 60
    // tokens that is near-certain), and none goes past it.
    let mut ended = 0;
    for row in 0..40 {
        let r = llm
            .generate(&cell("hello", row).temperature(1.0).max_tokens(60))
            .await
            .unwrap();
        let n = r.usage.unwrap().output_tokens;
        assert!(n <= 60);
        if n < 60 {
            ended += 1;
            assert!(!r.text.contains("<|im_end|>"), "{:?}", r.text);
        }
    }
    assert!(ended > 0, "no cell ended at the end-of-sequence token");
}

#[tokio::test]
async fn batched_generation_gives_the_tokens_of_one_at_a_time() {
    let dir = tests_local::scratch("batched-gguf");
    let gguf = dir.join("tiny-q8.gguf");
    tiny::llama_gguf(&gguf, 11, candle_core::quantized::GgmlDType::Q8_0);
    // Q4_1 (SmolLM2's file) runs on chatan's 4-bit kernel.
    let q4 = dir.join("tiny-q4.gguf");
    tiny::llama_gguf(&q4, 11, candle_core::quantized::GgmlDType::Q4_1);
    let models = ARCHS
        .iter()
        .map(|&arch| {
            (
                format!("{arch:?}"),
                model(&format!("batched-{arch:?}"), arch, &Extras::default()),
            )
        })
        // Quantized, with dense copies for prompts of 16 tokens or more (its chat
        // template makes every prompt that long).
        .chain([
            ("GGUF Q8_0".to_owned(), Local::open(&gguf).unwrap()),
            ("GGUF Q4_1".to_owned(), Local::open(&q4).unwrap()),
        ]);
    for (arch, llm) in models {
        // Prompts of one to four 32-token blocks, more rows than the batch takes: rows
        // still reading their prompts share steps with rows decoding, and a finished
        // row's place goes to a waiting one.
        let prompts: Vec<String> = (0..12)
            .map(|i| format!("{} the sea {}", "a ".repeat((i * 5) % 8 * 13), i * 7))
            .collect();
        let request = |i: usize| {
            cell(&prompts[i], i)
                .temperature(if i.is_multiple_of(2) { 0.0 } else { 0.9 })
                .max_tokens(10 + i as u32)
        };
        let one = llm.clone().max_batch(1);
        let mut alone = Vec::new();
        for i in 0..12 {
            alone.push(one.generate(&request(i)).await.unwrap().text);
        }
        let batched = llm.max_batch(5);
        let together: Vec<String> = futures::future::join_all((0..12).map(|i| {
            let batched = &batched;
            let request = request(i);
            async move { batched.generate(&request).await.unwrap().text }
        }))
        .await;
        assert_eq!(alone, together, "{arch:?}");
    }
}

#[tokio::test]
async fn a_gguf_builds_its_tokenizer_from_metadata_and_matches_the_checkpoint() {
    let dir = tests_local::scratch("gguf");
    let gguf = dir.join("tiny-llama.gguf");
    tiny::llama_gguf(&gguf, 7, candle_core::quantized::GgmlDType::F32);
    assert!(!dir.join("tokenizer.json").exists());
    let from_gguf = Local::open(&gguf).unwrap();
    let extras = Extras {
        chat: true,
        eos: Some(tiny::id("<|im_end|>")),
    };
    let checkpoint = model("gguf-twin", Arch::Llama, &extras);
    for text in [
        "the sea",
        "Hello, world!",
        "  spaces\tand\nlines  ",
        "<|im_start|>user\nhi<|im_end|>",
        "émoji 🦀 and ümlaut",
    ] {
        let ids = from_gguf.encode(text).unwrap();
        assert_eq!(ids, checkpoint.encode(text).unwrap(), "{text:?}");
        assert_eq!(
            from_gguf.decode(&ids).unwrap(),
            checkpoint.decode(&ids).unwrap()
        );
    }
    assert_eq!(
        from_gguf
            .decode(&from_gguf.encode("the sea").unwrap())
            .unwrap(),
        "the sea"
    );
    // The same weights, stored as llama.cpp stores them (query/key rows permuted for
    // interleaved rotary pairs), continue prompts the same.
    for row in 0..4 {
        let request = cell("the sea", row).temperature(0.0).max_tokens(16);
        let a = from_gguf.generate(&request).await.unwrap();
        let b = checkpoint.generate(&request).await.unwrap();
        assert_eq!(a.text, b.text);
        assert_eq!(a.usage, b.usage);
    }
    // Quantized (Q8_0), the file still loads and generates.
    let q8 = dir.join("tiny-llama-q8.gguf");
    tiny::llama_gguf(&q8, 7, candle_core::quantized::GgmlDType::Q8_0);
    let reply = Local::open(&q8)
        .unwrap()
        .generate(&cell("the sea", 0).temperature(0.0))
        .await
        .unwrap();
    assert!(reply.usage.unwrap().output_tokens > 0);
}

#[test]
fn unsupported_models_are_clear_errors() {
    let dir = tests_local::scratch("unsupported");
    tiny::folder(&dir, Arch::Gpt2, 1, &Extras::default());
    std::fs::write(
        dir.join("config.json"),
        r#"{"model_type": "t5", "d_model": 32}"#,
    )
    .unwrap();
    let error = Local::open(&dir).unwrap_err().to_string();
    assert!(error.contains("\"t5\""), "{error}");
    assert!(
        error.contains("gpt2") && error.contains("llama") && error.contains("qwen2"),
        "{error}"
    );

    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    tiny::folder(
        &dir.join("no-tokenizer"),
        Arch::Llama,
        1,
        &Extras::default(),
    );
    std::fs::remove_file(dir.join("no-tokenizer/tokenizer.json")).unwrap();
    let error = Local::open(dir.join("no-tokenizer"))
        .unwrap_err()
        .to_string();
    assert!(error.contains("tokenizer.json"), "{error}");

    let error = Local::open(dir.join("missing")).unwrap_err().to_string();
    assert!(error.contains("no such file"), "{error}");
}

#[test]
fn by_name_as_the_seed_writes_it() {
    let dir = tests_local::scratch("by-name");
    tiny::folder(&dir, Arch::Gpt2, 3, &Extras::default());
    let path = dir.to_str().unwrap();
    for name in ["transformers", "huggingface", "local"] {
        let llm = chatan::generator(name, path).unwrap();
        assert_eq!(llm.name(), "local");
    }
}

#[tokio::test]
async fn a_prompt_longer_than_the_context_is_a_clear_error_and_the_model_goes_on() {
    let llm = model("too-long", Arch::Llama, &Extras::default());
    // The tiny models read at most 256 positions; "x " is two tokens.
    let long = "x ".repeat(200);
    let error = llm.generate(&cell(&long, 0)).await.unwrap_err().to_string();
    assert!(error.contains("the model reads at most 256"), "{error}");
    let after = llm.generate(&cell("the sea", 1)).await.unwrap();
    assert_eq!(after.usage.unwrap().output_tokens, 12);
}

chatan::dataset! {
    #[derive(Debug, PartialEq)]
    struct Sampled {
        text: String = gen("the sea at night", max_tokens = 12, temperature = 1.0),
    }
}

#[tokio::test]
async fn the_runs_seed_reaches_the_local_sampler() {
    let llm = model("run-seed", Arch::Llama, &Extras::default());
    let run = |seed: Option<u64>| {
        let runner = Sampled::runner(&llm);
        let runner = match seed {
            Some(seed) => runner.seed(seed),
            None => runner,
        };
        runner.generate(4)
    };
    let one = run(Some(1)).await.unwrap();
    assert_eq!(
        one,
        run(Some(1)).await.unwrap(),
        "the same run seed, the same text"
    );
    assert_ne!(
        one,
        run(Some(2)).await.unwrap(),
        "another run seed, other text"
    );
    // A run without a seed draws one: two such runs sample differently.
    assert_ne!(run(None).await.unwrap(), run(None).await.unwrap());
    // Each row still samples its own stream.
    assert_ne!(one[0], one[1]);
}

#[tokio::test]
async fn rows_that_share_a_prompt_prefix_compute_it_once_and_write_what_they_would_alone() {
    let gguf = tests_local::scratch("prefix-gguf").join("tiny-q8.gguf");
    tiny::llama_gguf(&gguf, 13, candle_core::quantized::GgmlDType::Q8_0);
    // A system prompt of several 32-token blocks, then prompts that differ.
    let system = "the sea at night and a cat on the sand. ".repeat(8);
    let prompts: Vec<String> = (0..6)
        .map(|i| format!("{} the cat {i}", "a ".repeat(i)))
        .collect();
    let request = |i: usize| {
        Request::new(&prompts[i])
            .cell(i, "text")
            .system(&system)
            .temperature(0.8)
            .max_tokens(8)
    };
    let shared_tokens = Local::open(&gguf).unwrap().encode(&system).unwrap().len();
    assert!(shared_tokens > 96, "{shared_tokens} tokens: several blocks");

    // Each row on a model of its own: every prompt token computed.
    let mut alone = Vec::new();
    for i in 0..6 {
        let reply = Local::open(&gguf)
            .unwrap()
            .generate(&request(i))
            .await
            .unwrap();
        assert_eq!(reply.usage.unwrap().cache_read_tokens, 0);
        alone.push(reply.text);
    }

    // On one model: the first row computes the shared blocks, the others (one at a time,
    // then batched) copy them, and every row writes what it wrote alone.
    let llm = Local::open(&gguf).unwrap();
    let first = llm.generate(&request(0)).await.unwrap();
    assert_eq!(first.text, alone[0]);
    assert_eq!(first.usage.unwrap().cache_read_tokens, 0);
    let second = llm.generate(&request(1)).await.unwrap();
    assert_eq!(second.text, alone[1]);
    let read = second.usage.unwrap().cache_read_tokens as usize;
    assert!(
        read >= shared_tokens / 32 * 32 - 32 && read.is_multiple_of(32),
        "{read} of {shared_tokens} shared tokens read from the first row's blocks"
    );
    let rest: Vec<_> = futures::future::join_all((2..6).map(|i| {
        let (llm, request) = (&llm, request(i));
        async move { llm.generate(&request).await.unwrap() }
    }))
    .await;
    for (i, reply) in (2..6).zip(rest) {
        assert_eq!(reply.text, alone[i], "row {i}");
        assert!(
            reply.usage.unwrap().cache_read_tokens >= read as u64,
            "row {i}"
        );
    }
}
