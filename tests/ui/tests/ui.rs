//! Compile-time checks of recipes and of the data layer's derives: one case per
//! diagnostic, each with the compiler's reviewed output beside it (`cases/*.stderr`).
//! (That the macros' output adds no warning is checked by the integration tests'
//! `no_warnings` module: a pass case here would build the dependencies, polars with
//! them, to run it.)

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("cases/*.rs");
}
