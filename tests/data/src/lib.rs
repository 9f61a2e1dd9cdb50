//! Helpers for the data tests: a scratch folder per test, the sharded recipe, and the
//! object stores the remote tests write to.

pub mod remote;

use std::path::PathBuf;

/// A fresh, empty folder under the target directory for one test's files.
pub fn scratch(test: &str) -> PathBuf {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target/test-scratch")
        .join(test);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("scratch folder");
    dir
}

/// The recipe the sharded runs make, shared by the `shard` binary (one process per
/// shard) and the tests that check the parts against one unsharded run.
pub mod sharded {
    chatan::dataset! {
        #[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
        pub struct Fact {
            pub id: chatan::Uuid = sample::uuid(),
            pub topic: String = sample::choice(["tides", "stars", "moss", "glaciers", "owls"]),
            pub number: u32 = sample::range(1, 1000),
            pub fact: String = gen("a fact about {topic}, number {number}"),
            pub check: String = gen("is this true? {fact}"),
        }
    }

    /// The seed every shard shares.
    pub const SEED: u64 = 9;
}
