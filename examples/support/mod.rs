//! What the examples share: choosing a generator. A configured provider if there is one;
//! otherwise chatan's bundled mock server, so the whole pipeline still runs without a key.

use std::error::Error;

use chatan::AnyGenerator;
use chatan_mock::{MockConfig, MockServer};

/// The generator to use, and the mock server behind it when no provider is configured
/// (keep it alive while generating).
pub async fn generator() -> Result<(AnyGenerator, Option<MockServer>), Box<dyn Error>> {
    match AnyGenerator::from_env() {
        Ok(generator) => {
            eprintln!("Generating with {}.", chatan::Generator::name(&generator));
            Ok((generator, None))
        }
        Err(chatan::Error::Config(chatan::ConfigError::NoProvider)) => {
            let server = MockServer::start(MockConfig::new()).await?;
            eprintln!(
                "No OPENAI_API_KEY, ANTHROPIC_API_KEY or OPENAI_BASE_URL is set, so this runs\n\
                 against chatan's bundled mock server at {}.\n\
                 The replies below are PLACEHOLDER TEXT, not model output.\n\
                 For real output, set one of:\n  \
                   OPENAI_API_KEY=sk-...\n  \
                   ANTHROPIC_API_KEY=sk-ant-...\n  \
                   OPENAI_BASE_URL=http://localhost:8000/v1   (vLLM, llama.cpp server, Ollama, ...)\n",
                server.addr()
            );
            let generator = chatan::OpenAi::compatible(&server.openai_url())?.into();
            Ok((generator, Some(server)))
        }
        Err(other) => Err(other.into()),
    }
}

/// The folder an example writes to: its first argument, or `examples-output/NAME` in
/// the target folder the example was built into.
#[allow(dead_code)]
pub fn output_dir(name: &str) -> Result<std::path::PathBuf, Box<dyn Error>> {
    let dir = match std::env::args_os().nth(1) {
        Some(dir) => std::path::PathBuf::from(dir),
        None => {
            // target/<profile>/examples/<binary>
            let exe = std::env::current_exe()?;
            let target = exe
                .ancestors()
                .nth(3)
                .ok_or("the example runs from no target folder")?;
            target.join("examples-output").join(name)
        }
    };
    std::fs::create_dir_all(&dir)?;
    Ok(dir.canonicalize()?)
}

/// Retries for long runs: a provider that fails one request in ten (as the mock server in
/// CI does) still fails a 4-attempt cell once in ten thousand, which a run of thousands of
/// cells will meet; eight attempts make it once in a hundred million.
#[allow(dead_code)]
pub fn patient() -> chatan::RetryPolicy {
    chatan::RetryPolicy::new()
        .max_attempts(8)
        .base_delay(std::time::Duration::from_millis(200))
}
