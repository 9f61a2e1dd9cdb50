//! The runtime's integration tests, one module per concern, in one test binary: a binary
//! per file linked chatan and tokio 33 times over (gigabytes of target directory and a
//! minute of linking in CI). Tests that change the process's environment, install a
//! tracing subscriber, or check the macros' output at the crate root keep their own
//! binaries beside this one (`from_env.rs`, `secrets.rs`, `hygiene.rs`); the compile-time
//! checks are the `tests-ui` package's.

mod batches;
mod cache;
mod checkpoint;
mod concurrency;
mod conditionals;
mod conformance;
mod custom_generator;
mod derive_form;
mod derived;
mod edge_cases;
mod evaluate;
mod fail_fast;
mod failures;
mod fault_matrix;
mod fleet;
// Written by tests/jinja/make_fixture.py, which CI reruns with --check.
#[rustfmt::skip]
mod jinja;
mod governor;
mod layers;
mod mock_batches;
mod no_warnings;
mod parity;
mod preview;
mod provider_rules;
mod providers;
mod quality;
mod requests_sent;
mod row_sets;
mod samplers;
mod scheduling;
mod seed;
mod skip_failed;
mod stream;
mod structured;
mod typed;
mod usage;
mod viewer;
mod viewer_browser;
