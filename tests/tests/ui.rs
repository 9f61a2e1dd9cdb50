//! Compile-time checks of recipes: one case per diagnostic, each with the compiler's
//! reviewed output beside it (`ui/*.stderr`); and recipes that must compile cleanly
//! (`ui/pass/`).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("ui/*.rs");
    t.pass("ui/pass/*.rs");
}
