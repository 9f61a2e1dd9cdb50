//! The data layer's integration tests, one module per concern, in one test binary: a
//! binary per file linked polars nine times over (about 150 MB each). The object-storage
//! tests, which set the process's environment, keep their own binaries beside this one
//! (`object_store.rs`, `object_store_azure.rs`); the compile-time checks are the
//! `tests-ui` package's.

mod evaluate;
mod files;
mod frames;
mod hub;
mod huggingface;
mod shards;
mod sources;
mod streams;
mod structs;
