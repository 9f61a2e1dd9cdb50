//! With a seed, every sampled value of row `i` is a pure function of `(seed, i)`.

use chatan_mock::MockConfig;

chatan::dataset! {
    #[derive(Debug, Clone, PartialEq)]
    struct Sampled {
        id: chatan::Uuid = sample::uuid(),
        topic: String = sample::choice(["san antonio, tx", "marfa, tx", "paris, fr"]),
        level: String = sample::weighted([("easy", 3.0), ("hard", 1.0)]),
        age: u8 = sample::range(18, 90),
        score: f64 = sample::range(0.0, 1.0),
        day: String = sample::datetime("2024-01-01", "2024-12-31").format("%Y-%m-%d"),
        question: String = gen("a question about {topic}"),
    }
}

fn samples(rows: &[Sampled]) -> Vec<(chatan::Uuid, String, String, u8, u64, String)> {
    rows.iter()
        .map(|r| {
            (
                r.id,
                r.topic.clone(),
                r.level.clone(),
                r.age,
                r.score.to_bits(),
                r.day.clone(),
            )
        })
        .collect()
}

async fn run(seed: u64, n: usize, concurrency: usize) -> Vec<Sampled> {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    Sampled::runner(&llm)
        .seed(seed)
        .concurrency(concurrency)
        .generate(n)
        .await
        .unwrap()
}

#[tokio::test]
async fn same_seed_gives_identical_samples() {
    let a = run(42, 30, 8).await;
    let b = run(42, 30, 8).await;
    assert_eq!(samples(&a), samples(&b));
    // The mock replies are derived from the prompt, so the whole rows match too.
    assert_eq!(a, b);
}

#[tokio::test]
async fn different_seed_gives_different_samples() {
    let a = run(1, 30, 8).await;
    let b = run(2, 30, 8).await;
    let (sa, sb) = (samples(&a), samples(&b));
    assert_ne!(sa, sb);
    // Not just one column: the ids all differ, and the topics differ somewhere.
    assert!(sa.iter().zip(&sb).all(|(x, y)| x.0 != y.0));
    assert!(sa.iter().zip(&sb).any(|(x, y)| x.1 != y.1));
}

#[tokio::test]
async fn samples_do_not_depend_on_concurrency_or_n() {
    let wide = run(9, 20, 16).await;
    let narrow = run(9, 5, 1).await;
    assert_eq!(samples(&wide[..5]), samples(&narrow));
}

#[tokio::test]
async fn samples_are_spread() {
    let rows = run(3, 200, 32).await;
    let topics: std::collections::BTreeSet<&str> = rows.iter().map(|r| r.topic.as_str()).collect();
    assert_eq!(topics.len(), 3);
    let hard = rows.iter().filter(|r| r.level == "hard").count();
    assert!((20..80).contains(&hard), "{hard} of 200 hard at weight 1/4");
    assert!(
        rows.iter()
            .all(|r| (18..=90).contains(&r.age) && (0.0..1.0).contains(&r.score))
    );
    assert!(
        rows.iter()
            .all(|r| r.day.starts_with("2024-") && r.day.len() == 10)
    );
    let ids: std::collections::HashSet<_> = rows.iter().map(|r| r.id).collect();
    assert_eq!(ids.len(), 200);
}

chatan::dataset! {
    #[derive(Debug)]
    struct Leveled {
        level: String = sample::input(),
        question: String = gen("a {level} question"),
    }
}

#[tokio::test]
async fn weights_from_a_hash_map_are_reproducible_across_rebuilds() {
    let (_server, llm) = tests::openai_mock(MockConfig::new()).await;
    let mut runs = Vec::new();
    for _ in 0..6 {
        // A new map each time: a new random hasher, a new iteration order.
        let weights: std::collections::HashMap<String, f64> = ["easy", "medium", "hard", "expert"]
            .iter()
            .zip([4.0, 3.0, 2.0, 1.0])
            .map(|(level, weight)| (level.to_string(), weight))
            .collect();
        let rows = Leveled::runner(&llm)
            .seed(11)
            .sampler(|c| c.level, chatan::sample::weighted(weights))
            .generate(40)
            .await
            .unwrap();
        assert!(rows.iter().all(|r| r.question.contains(&r.level)));
        runs.push(rows.into_iter().map(|r| r.level).collect::<Vec<_>>());
    }
    assert!(runs.iter().all(|run| *run == runs[0]), "{runs:?}");
    assert!(runs[0].iter().any(|l| l != &runs[0][0]));
}
