//! Semantic similarity on the real all-MiniLM-L6-v2 equals Python's sentence-transformers
//! on the same model: 32 pairs' cosines and 5 whole embeddings (one longer than the
//! model's 256-token window) within 1e-4, from the fixture
//! `chatan-eval/tests/eval/make_semantic_fixture.py` wrote with sentence-transformers 6.2.

use chatan::eval::{Embedder, Evaluation};
use serde_json::Value;

const TOLERANCE: f64 = 1e-4;

fn fixture() -> Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../chatan-eval/tests/eval/semantic_fixture.json"
    );
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn text(v: &Value) -> &str {
    v.as_str().unwrap()
}

#[test]
fn cosines_and_embeddings_equal_sentence_transformers() {
    let fixture = fixture();
    let embedder = Embedder::open(tests_local::minilm()).unwrap();
    assert_eq!(embedder.dimension(), 384);
    assert_eq!(
        embedder.max_seq_length() as u64,
        fixture["max_seq_length"].as_u64().unwrap()
    );

    let pairs: Vec<(&str, &str)> = fixture["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| (text(&p["a"]), text(&p["b"])))
        .collect();
    assert!(pairs.len() >= 30);
    let ours = embedder.similarities_blocking(&pairs).unwrap();
    let mut worst = 0f64;
    for (pair, score) in fixture["pairs"].as_array().unwrap().iter().zip(&ours) {
        let expected = pair["cosine"].as_f64().unwrap();
        let difference = (score - expected).abs();
        worst = worst.max(difference);
        assert!(
            difference < TOLERANCE,
            "{}: chatan {score}, sentence-transformers {expected}",
            pair["name"]
        );
    }

    let texts: Vec<&str> = fixture["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| text(&e["text"]))
        .collect();
    let vectors = embedder.embed_blocking(&texts).unwrap();
    for (expected, ours) in fixture["embeddings"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&vectors)
    {
        let expected: Vec<f64> = expected["embedding"]
            .as_array()
            .unwrap()
            .iter()
            .map(|x| x.as_f64().unwrap())
            .collect();
        assert_eq!(ours.len(), expected.len());
        for (i, (&x, y)) in ours.iter().zip(&expected).enumerate() {
            let difference = (f64::from(x) - y).abs();
            worst = worst.max(difference);
            assert!(
                difference < TOLERANCE,
                "dimension {i}: chatan {x}, python {y}"
            );
        }
        let norm: f64 = ours
            .iter()
            .map(|&x| f64::from(x).powi(2))
            .sum::<f64>()
            .sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "normalised: {norm}");
    }
    eprintln!("worst difference from sentence-transformers: {worst:.2e}");
}

#[derive(Debug)]
struct Pair {
    answer: String,
    reference: String,
}

#[test]
fn evaluation_scores_each_row_with_the_model() {
    let fixture = fixture();
    let rows: Vec<Pair> = fixture["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| Pair {
            answer: text(&p["a"]).to_owned(),
            reference: text(&p["b"]).to_owned(),
        })
        .collect();
    let embedder = Embedder::open(tests_local::minilm()).unwrap().max_batch(8);
    let report = Evaluation::new(&rows)
        .semantic_similarity("semantic", &embedder, |r| (&r.answer, &r.reference))
        .exact_match("exact", |r| (&r.answer, &r.reference))
        .run()
        .unwrap();
    let semantic = &report["semantic"];
    assert_eq!(semantic.scores.len(), rows.len());
    for (pair, score) in fixture["pairs"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&semantic.scores)
    {
        let expected = pair["cosine"].as_f64().unwrap();
        assert!((score - expected).abs() < TOLERANCE, "{}", pair["name"]);
    }
    // Identical texts are the most similar pair there is.
    let identical = rows.iter().position(|r| r.answer == r.reference).unwrap();
    assert!((semantic.scores[identical] - 1.0).abs() < 1e-5);
    assert_eq!(
        semantic.max,
        semantic.scores.iter().copied().fold(f64::MIN, f64::max)
    );
}

#[test]
fn a_columns_mean_cosine_is_sentence_transformers_cosine_of_its_rows() {
    // A column of two texts: each row's mean cosine to the other is the pair's cosine,
    // which sentence-transformers computed for the fixture.
    let fixture = fixture();
    let embedder = Embedder::open(tests_local::minilm()).unwrap();
    for pair in fixture["pairs"].as_array().unwrap().iter().take(6) {
        let column = [text(&pair["a"]), text(&pair["b"])];
        let report = Evaluation::new(&column)
            .mean_cosine("cosine", &embedder, |r| r)
            .run()
            .unwrap();
        let expected = pair["cosine"].as_f64().unwrap();
        for score in &report["cosine"].scores {
            assert!((score - expected).abs() < TOLERANCE, "{}", pair["name"]);
        }
    }
}

#[test]
fn duplicates_by_meaning_on_the_model_are_the_pairs_whose_cosine_reaches_the_threshold() {
    use chatan::eval::{SemanticSimilarity, cosine, semantic_duplicates_of};
    let texts = [
        "A man is playing a guitar.",
        "The stock market fell sharply today.",
        "A man plays the guitar.",
        "A cat sleeps on the sofa.",
        "A man is playing the guitar.",
        "Bread prices rose in winter.",
    ];
    let embedder = Embedder::open(tests_local::minilm()).unwrap();
    let duplicates = semantic_duplicates_of(&embedder, &texts, 0.8).unwrap();
    // Against every pair's exact cosine on the same model.
    let e = embedder.embed_texts(&texts).unwrap();
    for i in 0..texts.len() {
        for j in i + 1..texts.len() {
            let together = duplicates
                .groups()
                .iter()
                .any(|g| g.contains(&i) && g.contains(&j));
            if cosine(&e[i], &e[j]) >= 0.8 {
                assert!(together, "{:?} and {:?}", texts[i], texts[j]);
            }
        }
    }
    assert_eq!(duplicates.groups(), [vec![0, 2, 4]]);
    assert_eq!(duplicates.dedup(texts.to_vec()).len(), 4);
}

#[tokio::test]
async fn the_async_path_gives_the_same_numbers() {
    let embedder = Embedder::open(tests_local::minilm()).unwrap();
    let a = embedder
        .similarity(
            "A man is playing a guitar.",
            "Someone is playing an instrument.",
        )
        .await
        .unwrap();
    let b = embedder
        .similarity_blocking(
            "A man is playing a guitar.",
            "Someone is playing an instrument.",
        )
        .unwrap();
    assert!((a - b).abs() < 1e-6, "{a} vs {b}");
    let expected = fixture()["pairs"][0]["cosine"].as_f64().unwrap();
    assert!((a - expected).abs() < TOLERANCE);
}
