//! A generator written by the user plugs into the same engine: retries, parsing and
//! scheduling apply to it as to the built-in providers.

use std::sync::atomic::{AtomicU32, Ordering};

use chatan::{Generator, GeneratorError, Reply, Request};

/// Upper-cases the prompt; fails with a rate limit on its first `flaky` calls.
struct Shout {
    calls: AtomicU32,
    flaky: u32,
}

impl Generator for Shout {
    async fn generate(&self, request: &Request<'_>) -> Result<Reply, GeneratorError> {
        let call = self.calls.fetch_add(1, Ordering::SeqCst);
        if call < self.flaky {
            return Err(GeneratorError::RateLimited {
                retry_after: None,
                message: "slow down".into(),
            });
        }
        Ok(format!("{}!", request.prompt.to_uppercase()).into())
    }

    fn name(&self) -> &str {
        "shout"
    }
}

chatan::dataset! {
    #[derive(Debug)]
    struct Loud {
        word: String = sample::choice(["hi", "bye"]),
        loud: String = gen("{word}"),
        louder: String = gen("{loud} again"),
    }
}

#[tokio::test]
async fn a_custom_generator_is_retried_and_chained() {
    let shout = Shout {
        calls: AtomicU32::new(0),
        flaky: 2,
    };
    let rows = Loud::runner(&shout)
        .concurrency(1)
        .retry(tests::quick_retries())
        .generate(3)
        .await
        .unwrap();
    for row in &rows {
        assert_eq!(row.loud, format!("{}!", row.word.to_uppercase()));
        assert_eq!(row.louder, format!("{} AGAIN!", row.loud));
    }
    assert_eq!(shout.calls.load(Ordering::SeqCst), 6 + 2);
}

#[tokio::test]
async fn a_custom_error_is_not_retried() {
    struct Broken;
    impl Generator for Broken {
        async fn generate(&self, _: &Request<'_>) -> Result<Reply, GeneratorError> {
            Err(GeneratorError::other("model file missing"))
        }
    }
    let failed = Loud::generate(&Broken, 2).await.unwrap_err();
    assert!(
        failed.to_string().starts_with("row ")
            && failed
                .to_string()
                .contains("model file missing (gave up after 1 attempt)"),
        "{failed}"
    );
}
