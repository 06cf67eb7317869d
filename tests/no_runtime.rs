//! Without the ONNX Runtime library the plugin says so and keeps passing audio. Its own test
//! binary: the runtime is loaded once per process, so no other test may have loaded it first.

mod common;

use common::*;

#[test]
fn a_missing_runtime_library_is_a_clear_error() {
    let missing = std::env::temp_dir()
        .join("continuo-no-such-dir")
        .join("libonnxruntime.so.1.31.1");
    // SAFETY (edition 2021): this binary's only test sets it before any engine thread starts.
    std::env::set_var(continuo::model::runtime::ORT_LIBRARY_ENV, &missing);
    let rate = 44_100.0;
    let mut r = renderer(rate, 333);
    let err = load(&mut r, "tone").expect_err("no runtime, no model");
    assert!(err.contains("ONNX Runtime library was not found"), "{err}");
    assert!(
        err.contains("continuo-no-such-dir"),
        "the message names where it looked: {err}"
    );

    // A file that is not a library is refused too.
    let fake = std::env::temp_dir().join(format!("continuo-fake-ort-{}.so", std::process::id()));
    std::fs::write(&fake, b"not a library").unwrap();
    std::env::set_var(continuo::model::runtime::ORT_LIBRARY_ENV, &fake);
    let err = load(&mut r, "tone").expect_err("a broken runtime is refused");
    assert!(err.contains("could not be loaded"), "{err}");

    let input = sine(rate, 30_000, 0);
    let out = render(&mut r, &input, 333, Some(500));
    assert_eq!(out, input, "audio passes untouched without a runtime");
}
