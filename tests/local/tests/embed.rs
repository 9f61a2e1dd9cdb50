//! The embedder on tiny random BERT sentence-transformers written by the test: batches
//! give what texts alone give, long texts are cut at `max_seq_length`, pooling and
//! normalisation follow the folder's modules, callers from async and blocking code (and
//! many at once) get the same numbers, and bad folders are errors that say why.

use std::path::{Path, PathBuf};

use chatan::eval::{Embedder, cosine};
use tests_local::scratch;
use tests_local::tiny_bert::{Options, folder};

const TEXTS: [&str; 8] = [
    "the cat sat on the mat.",
    "a dog",
    "some one is playing the guitar, playing music.",
    "paris is the capital of france",
    "what is a good question?",
    "",
    "Café",
    "rust",
];

fn model(test: &str, options: &Options) -> PathBuf {
    let dir = scratch(test);
    folder(&dir, 7, options);
    dir
}

fn close(a: &[f32], b: &[f32], tolerance: f32) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| (x - y).abs() <= tolerance)
}

#[test]
fn a_batch_gives_what_each_text_gives_alone() {
    let embedder = Embedder::open(model("batch", &Options::default())).unwrap();
    assert_eq!(embedder.dimension(), 32);
    assert_eq!(embedder.max_seq_length(), 16);
    let together = embedder.embed_blocking(&TEXTS).unwrap();
    assert_eq!(together.len(), TEXTS.len());
    for (text, batched) in TEXTS.iter().zip(&together) {
        let alone = &embedder.embed_blocking(&[text]).unwrap()[0];
        assert!(
            close(batched, alone, 1e-5),
            "{text:?}: padding changed its embedding"
        );
        let norm: f32 = batched.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "normalised: {norm}");
    }
    // Batches of three texts: the same again.
    let small = embedder
        .clone()
        .max_batch(3)
        .embed_blocking(&TEXTS)
        .unwrap();
    for (a, b) in together.iter().zip(&small) {
        assert!(close(a, b, 1e-5));
    }
    // Different texts, different embeddings.
    assert!(cosine(&together[0], &together[1]) < 0.999);
}

#[test]
fn texts_longer_than_the_window_are_cut() {
    let embedder = Embedder::open(model("window", &Options::default())).unwrap();
    // 16 tokens: [CLS], 14 words, [SEP].
    let words = ["the", "cat", "sat", "on", "a", "mat"];
    let long: Vec<&str> = words.iter().cycle().take(40).copied().collect();
    let cut: Vec<&str> = long[..14].to_vec();
    let other: Vec<&str> = long[..13].to_vec();
    let v = embedder
        .embed_blocking(&[long.join(" "), cut.join(" "), other.join(" ")])
        .unwrap();
    assert!(close(&v[0], &v[1], 1e-5), "cut at 16 tokens");
    assert!(!close(&v[0], &v[2], 1e-3), "one token fewer differs");
}

#[test]
fn pooling_and_normalisation_follow_the_folder() {
    let text = ["the dog sat on a rug."];
    let mean = Embedder::open(model("mean", &Options::default())).unwrap();
    let cls = Embedder::open(model(
        "cls",
        &Options {
            pooling: "pooling_mode_cls_token",
            ..Options::default()
        },
    ))
    .unwrap();
    let raw = Embedder::open(model(
        "raw",
        &Options {
            normalize: false,
            ..Options::default()
        },
    ))
    .unwrap();
    let plain = Embedder::open(model(
        "plain",
        &Options {
            modules: false,
            prefixed: true,
            ..Options::default()
        },
    ))
    .unwrap();
    let mean = &mean.embed_blocking(&text).unwrap()[0];
    let cls = &cls.embed_blocking(&text).unwrap()[0];
    let raw = &raw.embed_blocking(&text).unwrap()[0];
    let plain = &plain.embed_blocking(&text).unwrap()[0];
    assert!(!close(mean, cls, 1e-3), "CLS pooling is not mean pooling");
    let norm: f32 = raw.iter().map(|x| x * x).sum::<f32>().sqrt();
    assert!(
        (norm - 1.0).abs() > 1e-2,
        "without Normalize the length stays: {norm}"
    );
    let normalised: Vec<f32> = raw.iter().map(|x| x / norm).collect();
    assert!(close(&normalised, mean, 1e-5), "the same mean, normalised");
    // A folder without modules.json (tensors under `bert.`) is mean-pooled, not
    // normalised, as sentence-transformers treats a plain checkpoint.
    assert!(close(plain, raw, 1e-5));
}

#[test]
fn async_blocking_and_concurrent_callers_agree() {
    let embedder = Embedder::open(model("callers", &Options::default())).unwrap();
    let expected = embedder.embed_blocking(&TEXTS).unwrap();

    // A current-thread runtime: blocking calls from a task do not deadlock (the model
    // has its own thread), and async calls give the same numbers.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .build()
        .unwrap();
    let (blocking, awaited) = runtime.block_on(async {
        let blocking = embedder.embed_blocking(&TEXTS).unwrap();
        let awaited = embedder.embed(&TEXTS).await.unwrap();
        (blocking, awaited)
    });
    for ((a, b), c) in expected.iter().zip(&blocking).zip(&awaited) {
        assert!(close(a, b, 1e-5) && close(a, c, 1e-5));
    }

    // Many tasks at once on a multi-threaded runtime, half of them blocking: every
    // caller gets its own texts' embeddings back.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .build()
        .unwrap();
    runtime.block_on(async {
        let tasks: Vec<_> = (0..32)
            .map(|i| {
                let embedder = embedder.clone();
                tokio::spawn(async move {
                    let text = TEXTS[i % TEXTS.len()];
                    let v = if i % 2 == 0 {
                        embedder.embed(&[text]).await.unwrap()
                    } else {
                        embedder.embed_blocking(&[text]).unwrap()
                    };
                    (i, v.into_iter().next().unwrap())
                })
            })
            .collect();
        for task in tasks {
            let (i, v) = task.await.unwrap();
            assert!(close(&v, &expected[i % TEXTS.len()], 1e-5), "caller {i}");
        }
    });
}

#[test]
fn similarities_of_pairs() {
    let embedder = Embedder::open(model("pairs", &Options::default())).unwrap();
    let pairs = [
        ("the cat sat on the mat.", "the cat sat on the mat."),
        ("the cat", "paris is the capital of france"),
    ];
    let scores = embedder.similarities_blocking(&pairs).unwrap();
    assert!((scores[0] - 1.0).abs() < 1e-6);
    let v = embedder.embed_blocking(&[pairs[1].0, pairs[1].1]).unwrap();
    assert!((scores[1] - cosine(&v[0], &v[1])).abs() < 1e-6);
    assert!(
        embedder
            .similarities_blocking::<&str, &str>(&[])
            .unwrap()
            .is_empty()
    );
}

fn load_error(dir: &Path) -> String {
    Embedder::open(dir).unwrap_err().to_string()
}

#[test]
fn bad_folders_say_what_is_wrong() {
    let missing = scratch("missing").join("nothing-here");
    assert!(
        load_error(&missing).contains("no such folder"),
        "{}",
        load_error(&missing)
    );

    let dir = model("no-tokenizer", &Options::default());
    std::fs::remove_file(dir.join("tokenizer.json")).unwrap();
    assert!(load_error(&dir).contains("tokenizer.json is missing"));

    let dir = model("not-bert", &Options::default());
    let config = std::fs::read_to_string(dir.join("config.json"))
        .unwrap()
        .replace("\"bert\"", "\"roberta\"");
    std::fs::write(dir.join("config.json"), config).unwrap();
    let message = load_error(&dir);
    assert!(
        message.contains("\"roberta\" is not supported") && message.contains("BERT"),
        "{message}"
    );

    let dir = model(
        "weighted",
        &Options {
            pooling: "pooling_mode_weightedmean_tokens",
            ..Options::default()
        },
    );
    assert!(load_error(&dir).contains("pooling_mode_weightedmean_tokens is not supported"));

    let dir = model("dense", &Options::default());
    std::fs::write(
        dir.join("modules.json"),
        r#"[{"path": "", "type": "sentence_transformers.models.Transformer"},
            {"path": "2_Dense", "type": "sentence_transformers.models.Dense"}]"#,
    )
    .unwrap();
    let message = load_error(&dir);
    assert!(
        message.contains("models.Dense") && message.contains("Transformer, Pooling and Normalize"),
        "{message}"
    );

    let dir = model("no-weights", &Options::default());
    std::fs::remove_file(dir.join("model.safetensors")).unwrap();
    assert!(load_error(&dir).contains("no .safetensors weights"));
}
