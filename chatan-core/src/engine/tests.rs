//! The row state machine driven by hand: no HTTP, no runtime, every answer scripted.

use super::row::{Ask, Draws, RowState, Step};
use crate::error::{CellError, GeneratorError};
use crate::recipe::Recipe;
use crate::reply::{Reply, Usage};
use crate::rng::column_key;

/// The run's default handling of replies, with at most `max_asks` questions a cell.
fn asking(max_asks: u32) -> super::row::Asking {
    super::row::Asking {
        max_asks,
        truncated: crate::report::ReplyPolicy::Keep,
        refused: crate::report::ReplyPolicy::Fail,
    }
}

chatan_macros::dataset! {
    #[derive(Debug)]
    struct Diamond {
        topic: String = sample::choice(["rust"]),
        question: String = gen("ask about {topic}"),
        hint: String = gen("hint for {topic}"),
        answer: String = gen("answer {question} using {hint}"),
        length: usize = |row| row.answer.len(),
        score: u8 = gen("score {answer}"),
    }
}

type Cells = <Diamond as crate::Dataset>::__Recipe;

fn draws(samplers: &<Cells as Recipe>::Samplers) -> Draws<'_, Cells> {
    static KEYS: std::sync::OnceLock<Vec<u64>> = std::sync::OnceLock::new();
    let keys = KEYS.get_or_init(|| {
        Cells::SPEC
            .columns
            .iter()
            .map(|c| column_key(c.name))
            .collect()
    });
    Draws {
        samplers,
        seed: 1,
        column_keys: keys,
    }
}

/// No distinct values seen yet (the recipe has no distinct column).
fn seen() -> crate::distinct::Seen {
    crate::distinct::Seen::new::<Cells>()
}

fn roots() -> Vec<usize> {
    (0..Cells::SPEC.columns.len())
        .filter(|&i| Cells::SPEC.columns[i].deps.is_empty())
        .collect()
}

fn columns_of(asks: &[Ask]) -> Vec<&'static str> {
    let mut names: Vec<_> = asks
        .iter()
        .map(|a| Cells::SPEC.columns[a.column].name)
        .collect();
    names.sort_unstable();
    names
}

fn reply(text: &str, tokens: u64) -> Result<Reply, GeneratorError> {
    Ok(Reply::with_usage(text.into(), Usage::new(tokens, 1)))
}

#[test]
fn independent_cells_are_asked_together_and_dependents_wait() {
    let samplers = Cells::samplers();
    let draws = draws(&samplers);
    let mut row = RowState::<Cells>::new(3, &roots());
    let mut asks = Vec::new();

    row.advance(&draws, &mut asks, &mut Vec::new()).unwrap();
    assert_eq!(columns_of(&asks), ["hint", "question"]);
    assert_eq!(asks[0].prompt.split(' ').next_back(), Some("rust"));

    // The answer needs both: one reply is not enough.
    let mut first = std::mem::take(&mut asks);
    let hint = first.remove(
        first
            .iter()
            .position(|a| a.prompt.starts_with("hint"))
            .unwrap(),
    );
    let question = first.pop().unwrap();
    assert!(matches!(
        row.on_answer(hint, reply("H", 2), asking(3), &seen()),
        Step::Filled { attempts: 1, .. }
    ));
    row.advance(&draws, &mut asks, &mut Vec::new()).unwrap();
    assert!(asks.is_empty());
    assert!(matches!(
        row.on_answer(question, reply("Q", 3), asking(3), &seen()),
        Step::Filled { .. }
    ));
    row.advance(&draws, &mut asks, &mut Vec::new()).unwrap();
    assert_eq!(columns_of(&asks), ["answer"]);
    assert_eq!(asks[0].prompt, "answer Q using H");

    // The derived length and the score follow the answer.
    let answer = asks.pop().unwrap();
    row.on_answer(answer, reply("four", 4), asking(3), &seen());
    row.advance(&draws, &mut asks, &mut Vec::new()).unwrap();
    assert_eq!(columns_of(&asks), ["score"]);
    assert_eq!(asks[0].prompt, "score four");
    assert!(!row.is_done());
    let score = asks.pop().unwrap();
    row.on_answer(score, reply("7", 5), asking(3), &seen());
    row.advance(&draws, &mut asks, &mut Vec::new()).unwrap();
    assert!(asks.is_empty() && row.is_done());

    let (done, usage) = row.finish();
    assert_eq!(
        (
            done.topic.as_str(),
            done.question.as_str(),
            done.hint.as_str(),
            done.answer.as_str(),
            done.length,
            done.score
        ),
        ("rust", "Q", "H", "four", 4, 7)
    );
    assert_eq!(usage, Usage::new(2 + 3 + 4 + 5, 4));
}

#[test]
fn unparsable_replies_are_asked_again_then_reported() {
    let samplers = Cells::samplers();
    let draws = draws(&samplers);
    let mut row = RowState::<Cells>::new(0, &roots());
    let mut asks = Vec::new();
    row.advance(&draws, &mut asks, &mut Vec::new()).unwrap();
    for ask in std::mem::take(&mut asks) {
        row.on_answer(ask, reply("x", 0), asking(2), &seen());
    }
    row.advance(&draws, &mut asks, &mut Vec::new()).unwrap();
    let answer = asks.pop().unwrap();
    row.on_answer(answer, reply("x", 0), asking(2), &seen());
    row.advance(&draws, &mut asks, &mut Vec::new()).unwrap();
    let score = asks.pop().unwrap();

    // A reply that a retry layer took two requests to get counts both.
    let mut slow = Reply::from("not a number".to_string());
    slow.attempts = 2;
    let again = match row.on_answer(score, Ok(slow), asking(2), &seen()) {
        Step::Again(ask, cause) => {
            assert_eq!(cause.expected, "u8");
            ask
        }
        other => panic!("expected a re-ask, got {other:?}"),
    };
    assert_eq!((again.attempt, again.prompt.as_str()), (3, "score x"));
    match row.on_answer(
        again,
        Ok(Reply::from("still not".to_string())),
        asking(2),
        &seen(),
    ) {
        Step::Failed(failure) => {
            assert_eq!(Cells::SPEC.columns[failure.column].name, "score");
            assert!(matches!(
                failure.cause,
                CellError::Reply { attempts: 3, .. }
            ));
        }
        other => panic!("expected a failure, got {other:?}"),
    }
    assert!(!row.is_done());
}

#[test]
fn a_generator_failure_fails_the_cell_with_its_attempts() {
    let samplers = Cells::samplers();
    let draws = draws(&samplers);
    let mut row = RowState::<Cells>::new(0, &roots());
    let mut asks = Vec::new();
    row.advance(&draws, &mut asks, &mut Vec::new()).unwrap();
    let ask = asks.pop().unwrap();
    let error = GeneratorError::Exhausted {
        attempts: 4,
        cause: Box::new(GeneratorError::Timeout(std::time::Duration::from_secs(1))),
    };
    match row.on_answer(ask, Err(error), asking(3), &seen()) {
        Step::Failed(failure) => assert!(matches!(
            failure.cause,
            CellError::Generator {
                attempts: 4,
                cause: GeneratorError::Timeout(_)
            }
        )),
        other => panic!("expected a failure, got {other:?}"),
    }
}
