//! `{% if %}` templates over real HTTP: the seed's Complex Mixes prompt is rendered
//! exactly as Jinja renders it (the fixture `tests/jinja/fixture.json`
//! was made by the real `jinja2`), every operator works on real column types, columns
//! read only by conditions are dependencies, and values are never read as template
//! syntax.

use chatan::condition::{Compare, StringLiteral};
use chatan_mock::MockConfig;

const SEED_TEMPLATE: &str = "
        {%- if dataset_type == \"kernelbench\" -%}
        write a prompt asking for a Triton kernel for: {operation}
        {%- else -%}
        write a question asking for this code to be written as a Triton kernel: {original_code}
        {%- endif -%}
        ";

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Mixed {
        dataset_type: String = sample::choice(["kernelbench", "kernelbook"]),
        operation: String = sample::choice(["matmul"]),
        original_code: String = sample::choice(["def f(x):\n    return x"]),
        prompt: String = gen("
        {%- if dataset_type == \"kernelbench\" -%}
        write a prompt asking for a Triton kernel for: {operation}
        {%- else -%}
        write a question asking for this code to be written as a Triton kernel: {original_code}
        {%- endif -%}
        "),
        response: String = gen("{prompt}"),
    }
}

/// The prompt jinja2 rendered for the fixture case with this template and
/// `dataset_type`.
fn jinja_rendered(dataset_type: &str) -> String {
    let fixture: serde_json::Value =
        serde_json::from_str(include_str!("../../jinja/fixture.json")).unwrap();
    let case = fixture["cases"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["template"] == SEED_TEMPLATE && c["context"]["dataset_type"] == dataset_type)
        .expect("the fixture holds both branches of the seed's template");
    assert_eq!(case["context"]["operation"], "matmul");
    case["rendered"].as_str().unwrap().to_owned()
}

#[tokio::test]
async fn the_seeds_complex_mix_sends_what_jinja_renders() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Mixed::runner(&llm).seed(5).generate(30).await.unwrap();
    let log = server.exchanges();
    let mut seen = std::collections::HashSet::new();
    for row in &rows {
        let expected = if row.dataset_type == "kernelbench" {
            jinja_rendered("kernelbench")
        } else {
            // The fixture's kernelbook case used this code too.
            jinja_rendered("kernelbook")
        };
        assert!(!row.prompt.is_empty());
        assert!(
            log.iter().any(|e| e.prompt == expected),
            "no request sent {expected:?}"
        );
        seen.insert(row.dataset_type.clone());
    }
    assert_eq!(seen.len(), 2, "both branches ran");
    // Each row's `prompt` request is exactly one of the two renderings.
    let prompts: Vec<&str> = log
        .iter()
        .map(|e| e.prompt.as_str())
        .filter(|p| p.starts_with("write a"))
        .collect();
    assert_eq!(prompts.len(), 30);
    for p in prompts {
        assert!(
            p == jinja_rendered("kernelbench") || p == jinja_rendered("kernelbook"),
            "{p:?}"
        );
    }
}

/// A struct column whose fields conditions read.
#[derive(Debug, Clone)]
pub struct Review {
    pub score: u8,
    pub tags: Vec<String>,
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Every {
        n: u32 = sample::range(0, 20),
        ratio: f64 = sample::range(0.0, 1.0),
        flag: bool = sample::choice([true, false]),
        lang: String = sample::choice(["rust", "go", "c"]),
        maybe: Option<u32> = |row| (row.n % 3 != 0).then_some(row.n),
        review: Review = |row| Review { score: (row.n % 10) as u8, tags: vec![row.lang.clone(); (row.n % 2) as usize] },
        prompt: String = gen("n={n}
{%- if n == 7 %} eq{% endif %}
{%- if n != 7 %} ne{% endif %}
{%- if n < 5 %} lt{% endif %}
{%- if n <= 5 %} le{% endif %}
{%- if n > 15 %} gt{% endif %}
{%- if 15 <= n %} ge{% endif %}
{%- if ratio < 0.5 %} low{% else %} high{% endif %}
{%- if flag %} flag{% endif %}
{%- if not flag and lang == 'c' %} not-flag-c{% endif %}
{%- if lang in [\"rust\", \"go\"] %} in{% endif %}
{%- if lang not in [\"rust\"] %} not-in{% endif %}
{%- if maybe %} some{% elif n == 0 %} zero{% else %} none{% endif %}
{%- if maybe > 10 %} big{% endif %}
{%- if review.score >= 5 or (review.tags and n > 18) %} good{% endif %}
{#- comments render nothing #} end {% if flag -%}   trimmed   {%- endif %}."),
    }
}

fn expected(row: &Every) -> String {
    let mut s = format!("n={}", row.n);
    let n = row.n;
    let mut add = |cond: bool, word: &str| {
        if cond {
            s.push(' ');
            s.push_str(word);
        }
    };
    add(n == 7, "eq");
    add(n != 7, "ne");
    add(n < 5, "lt");
    add(n <= 5, "le");
    add(n > 15, "gt");
    add(n >= 15, "ge");
    add(row.ratio < 0.5, "low");
    add(row.ratio >= 0.5, "high");
    add(row.flag, "flag");
    add(!row.flag && row.lang == "c", "not-flag-c");
    add(["rust", "go"].contains(&row.lang.as_str()), "in");
    add(row.lang != "rust", "not-in");
    add(row.maybe.is_some_and(|m| m != 0), "some");
    add(row.maybe.is_none_or(|m| m == 0) && n == 0, "zero");
    add(row.maybe.is_none_or(|m| m == 0) && n != 0, "none");
    add(row.maybe.is_some_and(|m| m > 10), "big");
    add(
        row.review.score >= 5 || (!row.review.tags.is_empty() && n > 18),
        "good",
    );
    s.push_str(" end ");
    if row.flag {
        s.push_str("trimmed");
    }
    s.push('.');
    s
}

#[tokio::test]
async fn every_operator_on_real_column_types() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Every::runner(&llm).seed(11).generate(200).await.unwrap();
    let log = server.exchanges();
    assert_eq!(log.len(), 200);
    let mut sent: Vec<&str> = log.iter().map(|e| e.prompt.as_str()).collect();
    let mut want: Vec<String> = rows.iter().map(expected).collect();
    sent.sort_unstable();
    want.sort_unstable();
    assert_eq!(sent, want);
    // The sample covered the branches.
    for word in [
        " eq",
        " lt",
        " gt",
        " low",
        " high",
        " flag",
        " not-flag-c",
        " some",
        " none",
        " zero",
        " big",
        " good",
    ] {
        assert!(
            want.iter().any(|p| p.contains(word)),
            "no row took {word:?}"
        );
    }
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct ConditionOnly {
        // Read only by a condition, never written: still awaited first.
        kind: String = gen("pick a kind"),
        prompt: String = gen("{% if kind == \"none\" %}never{% else %}always{% endif %}"),
    }
}

#[tokio::test]
async fn a_column_read_only_by_a_condition_is_a_dependency() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    ConditionOnly::generate(&llm, 3).await.unwrap();
    let log = server.exchanges();
    for row in 0..3 {
        let kind = log
            .iter()
            .filter(|e| e.prompt == "pick a kind")
            .nth(row)
            .unwrap();
        let prompt = log
            .iter()
            .filter(|e| e.prompt == "always")
            .nth(row)
            .unwrap();
        assert!(
            kind.finished <= prompt.received,
            "the condition's column came first"
        );
    }
}

/// An enum column compared with strings, through a `Compare` impl of the user's own.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Level {
    Easy,
    Hard,
}

impl Compare<StringLiteral> for Level {
    fn compare(&self, literal: &StringLiteral) -> Option<std::cmp::Ordering> {
        let name = match self {
            Level::Easy => "easy",
            Level::Hard => "hard",
        };
        (name == literal.0).then_some(std::cmp::Ordering::Equal)
    }
}

chatan::dataset! {
    #[derive(Debug, Clone)]
    struct Levelled {
        level: Level = sample::choice([Level::Easy, Level::Hard]),
        note: String = sample::choice(["{% if level %}{prompt}", "{x} }} {{"]),
        prompt: String = gen("{% if level == \"hard\" %}a hard one{% else %}an easy one{% endif %}: {note}"),
    }
}

#[tokio::test]
async fn user_types_compare_through_their_own_impl_and_values_stay_literal() {
    let (server, llm) = tests::openai_mock(MockConfig::new()).await;
    let rows = Levelled::runner(&llm).seed(2).generate(40).await.unwrap();
    let log = server.exchanges();
    let mut sent: Vec<String> = log.iter().map(|e| e.prompt.clone()).collect();
    let mut want: Vec<String> = rows
        .iter()
        .map(|r| {
            let which = if r.level == Level::Hard {
                "a hard one"
            } else {
                "an easy one"
            };
            format!("{which}: {}", r.note)
        })
        .collect();
    sent.sort();
    want.sort();
    assert_eq!(sent, want);
    assert!(sent.iter().any(|p| p.ends_with(": {% if level %}{prompt}")));
    assert!(sent.iter().any(|p| p.ends_with(": {x} }} {{")));
}
