//! BLEU and self-BLEU equal to NLTK's on the cases in `eval/bleu_fixture.json`, which
//! `eval/make_bleu_fixture.py` scored with the real NLTK (CI re-scores them).

use chatan_eval::{Smoothing, corpus_bleu, self_bleu, self_bleu_scores, sentence_bleu};
use serde_json::Value;

fn fixture() -> Value {
    let text = include_str!("eval/bleu_fixture.json");
    serde_json::from_str(text).expect("the fixture is JSON")
}

fn tokens(value: &Value) -> Vec<String> {
    value
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t.as_str().unwrap().to_owned())
        .collect()
}

/// Equal within a relative 1e-12: even NLTK's tiny scores (a precision of the smallest
/// float, when a higher order has no match) are reproduced, not just "near zero".
fn same(ours: f64, nltk: f64) -> bool {
    if nltk == 0.0 {
        ours == 0.0
    } else {
        (ours / nltk - 1.0).abs() <= 1e-12
    }
}

fn smoothing(case: &Value) -> Smoothing {
    match case["smoothing"].as_str().unwrap() {
        "none" => Smoothing::None,
        "method1" => Smoothing::Method1,
        other => panic!("unknown smoothing {other}"),
    }
}

#[test]
fn sentence_bleu_equals_nltk() {
    let fixture = fixture();
    let cases = fixture["sentence"].as_array().unwrap();
    assert!(cases.len() >= 100, "{} cases", cases.len());
    let mut zero_by_nltk = 0;
    let mut tiny_by_nltk = 0;
    for case in cases {
        let references: Vec<Vec<String>> = case["references"]
            .as_array()
            .unwrap()
            .iter()
            .map(tokens)
            .collect();
        let hypothesis = tokens(&case["hypothesis"]);
        let expected = case["bleu"].as_f64().unwrap();
        let ours = sentence_bleu(&references, &hypothesis, smoothing(case));
        assert!(
            same(ours, expected),
            "{} ({}): chatan {ours:e}, NLTK {expected:e}",
            case["name"],
            case["smoothing"]
        );
        if expected == 0.0 {
            zero_by_nltk += 1;
        } else if expected < 1e-50 {
            tiny_by_nltk += 1;
        }
    }
    assert!(zero_by_nltk > 0, "the fixture has cases NLTK scores 0");
    assert!(
        tiny_by_nltk > 0,
        "the fixture has cases NLTK scores near the smallest float"
    );
}

#[test]
fn corpus_bleu_equals_nltk() {
    let fixture = fixture();
    for case in fixture["corpus"].as_array().unwrap() {
        let references: Vec<Vec<Vec<String>>> = case["references"]
            .as_array()
            .unwrap()
            .iter()
            .map(|refs| refs.as_array().unwrap().iter().map(tokens).collect())
            .collect();
        let hypotheses: Vec<Vec<String>> = case["hypotheses"]
            .as_array()
            .unwrap()
            .iter()
            .map(tokens)
            .collect();
        let expected = case["bleu"].as_f64().unwrap();
        let ours = corpus_bleu(&references, &hypotheses, smoothing(case));
        assert!(
            same(ours, expected),
            "{} sentences ({}): chatan {ours:e}, NLTK {expected:e}",
            hypotheses.len(),
            case["smoothing"]
        );
    }
}

#[test]
fn self_bleu_equals_nltk() {
    let fixture = fixture();
    let cases = fixture["self_bleu"].as_array().unwrap();
    assert!(cases.len() >= 10, "{} cases", cases.len());
    let mut positive = 0;
    for case in cases {
        let texts: Vec<String> = tokens(&case["texts"]);
        let expected: Vec<f64> = case["scores"]
            .as_array()
            .unwrap()
            .iter()
            .map(|s| s.as_f64().unwrap())
            .collect();
        let ours = self_bleu_scores(&texts, smoothing(case));
        assert_eq!(ours.len(), expected.len());
        for (i, (o, e)) in ours.iter().zip(&expected).enumerate() {
            assert!(
                same(*o, *e),
                "text {i} of {:?} ({}): chatan {o:e}, NLTK {e:e}",
                texts,
                case["smoothing"]
            );
            positive += usize::from(*e > 1e-50);
        }
        let mean = expected.iter().sum::<f64>() / expected.len() as f64;
        assert!((self_bleu(&texts, smoothing(case)) - mean).abs() <= 1e-12 * mean.max(1.0));
    }
    assert!(positive > 10, "the fixture has texts NLTK scores above 0");
}
