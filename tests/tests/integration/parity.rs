//! Behaviour ported from the Python original: generator-level defaults under column
//! options, builder methods on a generator chosen by name, replies stripped of
//! surrounding whitespace unless a column keeps them raw.

use chatan::generate::SetOptions;
use chatan_mock::{Api, MockConfig};

chatan::dataset! {
    #[derive(Debug)]
    struct Layered {
        own: String = gen("own options", temperature = 0.3, max_tokens = 20, system = "column system"),
        inherited: String = gen("inherited options"),
    }
}

#[tokio::test]
async fn column_options_win_over_generator_defaults_which_win_over_the_providers() {
    for api in [Api::OpenAi, Api::Anthropic] {
        let server = chatan_mock::MockServer::start(MockConfig::new())
            .await
            .unwrap();
        let name = match api {
            Api::OpenAi => "openai",
            Api::Anthropic => "anthropic",
        };
        let base = match api {
            Api::OpenAi => server.openai_url(),
            Api::Anthropic => server.anthropic_url(),
        };
        // Chosen by name, as in Python, and adjusted with the builder methods.
        let llm = chatan::generator(name, "k")
            .unwrap()
            .base_url(&base)
            .unwrap()
            .model("by-name-model")
            .temperature(0.7)
            .system("generator system");
        let llm_with_limit = llm.clone().max_tokens(300);
        let rows = Layered::generate(&llm, 1).await.unwrap();
        assert!(rows[0].own.contains("own options") && rows[0].inherited.contains("inherited"));
        Layered::generate(&llm_with_limit, 1).await.unwrap();
        let log = server.exchanges();
        let find = |prompt: &str, nth: usize| {
            log.iter()
                .filter(|e| e.prompt == prompt)
                .nth(nth)
                .unwrap_or_else(|| panic!("no request {prompt:?} #{nth}"))
                .clone()
        };
        for nth in 0..2 {
            let own = find("own options", nth);
            assert_eq!(own.api, api);
            assert_eq!(
                (
                    own.temperature,
                    own.top_p,
                    own.max_tokens,
                    own.system.as_deref()
                ),
                (Some(0.3), None, Some(20), Some("column system")),
                "{name}"
            );
            assert_eq!(own.model, "by-name-model");
        }
        let inherited = find("inherited options", 0);
        assert_eq!(
            (
                inherited.temperature,
                inherited.top_p,
                inherited.system.as_deref()
            ),
            (Some(0.7), None, Some("generator system")),
            "{name}"
        );
        // Without a column or generator limit: nothing for OpenAI, the documented
        // default for Anthropic, whose API requires one.
        let provider_default = match api {
            Api::OpenAi => None,
            Api::Anthropic => Some(u64::from(chatan::provider::anthropic::DEFAULT_MAX_TOKENS)),
        };
        assert_eq!(inherited.max_tokens, provider_default, "{name}");
        assert_eq!(find("inherited options", 1).max_tokens, Some(300), "{name}");
    }
}

chatan::dataset! {
    #[derive(Debug)]
    struct Padded {
        stripped: String = gen("pad me"),
        blank: String = gen("blank me"),
        raw: String = gen("pad me raw", trim = false),
        number: u8 = gen("number me"),
    }
}

#[tokio::test]
async fn replies_lose_surrounding_whitespace_unless_the_column_keeps_them() {
    let (_server, llm) = tests::openai_mock(
        MockConfig::new()
            .reply_for("pad me raw", ["\n  kept as sent \n"])
            .reply_for("pad me", ["\n  padded reply \t\n"])
            .reply_for("blank me", ["   "])
            .reply_for("number me", [" 42\n"]),
    )
    .await;
    let rows = Padded::generate(&llm, 1).await.unwrap();
    assert_eq!(rows[0].stripped, "padded reply");
    assert_eq!(rows[0].blank, "");
    assert_eq!(rows[0].raw, "\n  kept as sent \n");
    assert_eq!(rows[0].number, 42);
}
