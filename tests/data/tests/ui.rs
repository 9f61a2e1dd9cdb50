//! Compile-time checks of the data layer, with the compiler's reviewed output.

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
}
