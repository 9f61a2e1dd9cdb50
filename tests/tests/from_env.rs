//! Providers configured from the environment. One test per binary process, because the
//! environment is shared by every thread of it.

use chatan::{AnyGenerator, Error, Generator, OpenAi, Request};
use chatan_mock::{MockConfig, MockServer};

const VARS: [&str; 6] = [
    "OPENAI_API_KEY",
    "OPENAI_BASE_URL",
    "OPENAI_MODEL",
    "ANTHROPIC_API_KEY",
    "ANTHROPIC_BASE_URL",
    "ANTHROPIC_MODEL",
];

fn set(vars: &[(&str, &str)]) {
    // SAFETY: this binary runs one test, on one thread, and no other thread reads the
    // environment while it changes.
    unsafe {
        for v in VARS {
            std::env::remove_var(v);
        }
        for (k, v) in vars {
            std::env::set_var(k, v);
        }
    }
}

#[tokio::test(flavor = "current_thread")]
async fn the_environment_chooses_and_configures_the_provider() {
    let server = MockServer::start(MockConfig::new().api_key("env-key"))
        .await
        .unwrap();

    set(&[]);
    let err = AnyGenerator::from_env().unwrap_err();
    assert!(matches!(err, Error::Config(_)));
    assert!(
        err.to_string()
            .contains("set OPENAI_API_KEY or ANTHROPIC_API_KEY"),
        "{err}"
    );
    assert!(OpenAi::from_env().is_err());

    set(&[
        ("OPENAI_API_KEY", "env-key"),
        ("OPENAI_BASE_URL", &server.openai_url()),
        ("OPENAI_MODEL", "env-model"),
    ]);
    let any = AnyGenerator::from_env().unwrap();
    assert_eq!(any.name(), "openai");
    any.generate(&Request::new("hi")).await.unwrap();
    assert_eq!(server.exchanges()[0].model, "env-model");

    set(&[
        ("ANTHROPIC_API_KEY", "env-key"),
        ("ANTHROPIC_BASE_URL", &server.anthropic_url()),
    ]);
    let any = AnyGenerator::from_env().unwrap();
    assert_eq!(any.name(), "anthropic");
    any.generate(&Request::new("hi")).await.unwrap();

    // A base URL alone: an OpenAI-compatible server that needs no key.
    let open = MockServer::start(MockConfig::new()).await.unwrap();
    set(&[("OPENAI_BASE_URL", &open.openai_url())]);
    let any = AnyGenerator::from_env().unwrap();
    any.generate(&Request::new("hi")).await.unwrap();
    assert_eq!(
        open.exchanges()[0].model,
        chatan::provider::openai::DEFAULT_MODEL
    );

    // A key variable set to nothing is named as the mistake it is.
    set(&[("OPENAI_API_KEY", "")]);
    let err = AnyGenerator::from_env().unwrap_err();
    assert!(
        matches!(&err, Error::Config(chatan::error::ConfigError::EmptyVariable(v)) if v == "OPENAI_API_KEY"),
        "{err}"
    );
    assert!(
        err.to_string().contains("OPENAI_API_KEY is set but empty"),
        "{err}"
    );
    set(&[("ANTHROPIC_API_KEY", "  ")]);
    let err = chatan::Anthropic::from_env().unwrap_err();
    assert!(
        err.to_string()
            .contains("ANTHROPIC_API_KEY is set but empty"),
        "{err}"
    );

    set(&[("OPENAI_BASE_URL", "not a url")]);
    assert!(
        AnyGenerator::from_env()
            .unwrap_err()
            .to_string()
            .contains("OPENAI_BASE_URL")
    );
    set(&[]);
}
