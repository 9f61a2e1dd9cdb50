//! Generated columns of types other than `String` are parsed; a reply that does not
//! parse is asked for again, then reported, never replaced by a default.

use chatan::error::{CellError, ReplyError};
use chatan::{Error, FromReply};
use chatan_mock::MockConfig;

chatan::dataset! {
    #[derive(Debug)]
    struct Counted {
        topic: String = sample::choice(["cats"]),
        count: u32 = gen("how many legs do {topic} have? reply with a number"),
        sure: bool = gen("are you sure about {count}?"),
        mood: Mood = gen("mood of {topic}"),
    }
}

#[derive(Debug, PartialEq)]
enum Mood {
    Happy,
    Grumpy,
}

impl FromReply for Mood {
    fn from_reply(reply: String) -> Result<Self, ReplyError> {
        match reply.trim() {
            "happy" => Ok(Mood::Happy),
            "grumpy" => Ok(Mood::Grumpy),
            _ => Err(ReplyError::new::<Mood>(&reply, "expected happy or grumpy")),
        }
    }
}

#[tokio::test]
async fn replies_are_parsed_and_bad_ones_asked_again() {
    let (server, llm) = tests::openai_mock(
        MockConfig::new()
            .reply_for("how many legs", ["four-ish", " 4\n"])
            .reply_for("are you sure", ["yes"])
            .reply_for("mood of", ["grumpy"]),
    )
    .await;
    let rows = Counted::runner(&llm)
        .retry(tests::quick_retries())
        .generate(1)
        .await
        .unwrap();
    assert_eq!(rows[0].count, 4);
    assert!(rows[0].sure);
    assert_eq!(rows[0].mood, Mood::Grumpy);
    assert_eq!(rows[0].topic, "cats");
    // The count was asked twice; the question that reads it saw the parsed number.
    let log = server.exchanges();
    assert_eq!(
        log.iter()
            .filter(|e| e.prompt.contains("how many legs"))
            .count(),
        2
    );
    assert!(log.iter().any(|e| e.prompt == "are you sure about 4?"));
}

#[tokio::test]
async fn a_reply_that_never_parses_is_reported() {
    let (server, llm) = tests::openai_mock(
        MockConfig::new()
            .reply_for("how many legs", ["lots"])
            .reply_for("mood of", ["happy"]),
    )
    .await;
    let failed = Counted::runner(&llm)
        .retry(tests::quick_retries())
        .max_asks(3)
        .generate(1)
        .await
        .unwrap_err();
    match failed.error() {
        Error::Cell {
            row: 0,
            column: "count",
            cause: CellError::Reply { attempts: 3, cause },
        } => {
            assert_eq!(cause.expected, "u32");
            assert_eq!(cause.excerpt, "lots");
        }
        other => panic!("{other:?}"),
    }
    assert!(
        failed
            .to_string()
            .contains("the reply \"lots\" is not a valid `u32`"),
        "{failed}"
    );
    assert_eq!(
        server
            .exchanges()
            .iter()
            .filter(|e| e.prompt.contains("how many legs"))
            .count(),
        3
    );
}
