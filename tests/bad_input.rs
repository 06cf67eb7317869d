//! Bad input gets a clear error and the audio keeps passing: a missing model file, a truncated
//! graph, a graph with the wrong inputs, a manifest path escaping its folder, a missing folder,
//! and a 1 MB prompt.

mod common;

use common::*;

fn assert_refused(name: &str, must_mention: &[&str]) {
    use_test_runtime();
    let rate = 48_000.0;
    let mut r = renderer(rate, 512);
    let err = load(&mut r, name).expect_err("a bad model must be refused");
    for word in must_mention {
        assert!(
            err.contains(word),
            "error for {name} does not mention {word:?}: {err}"
        );
    }
    // The plugin still passes audio, untouched (no take can play).
    let input = sine(rate, 20_000, 0);
    let out = render(&mut r, &input, 512, Some(1000));
    assert_eq!(out, input);
}

#[test]
fn missing_model_file() {
    assert_refused("missing-file", &["tone.onnx", "missing"]);
}

#[test]
fn truncated_onnx() {
    assert_refused("truncated", &["tone.onnx", "could not open"]);
}

#[test]
fn graph_with_the_wrong_inputs() {
    assert_refused(
        "bad-inputs",
        &["wrong signature", "expected inputs [step: int64]", "tokens"],
    );
}

#[test]
fn manifest_path_escaping_its_folder() {
    assert_refused("escape", &["escapes the model folder", "../tone/tone.onnx"]);
}

#[test]
fn missing_folder() {
    assert_refused("no-such-model", &["does not exist"]);
}

#[test]
fn a_failed_load_keeps_the_previous_model() {
    use_test_runtime();
    let rate = 48_000.0;
    let mut r = renderer(rate, 512);
    load(&mut r, "tone").unwrap();
    assert!(load(&mut r, "bad-inputs")
        .unwrap_err()
        .contains("previous model stays loaded"));
    continuo::params::set_without_host(&r.params.length_bars, 1, rate);
    let bar = r.frames_per_bar().round() as usize;
    let silence = [vec![0.0f32; bar * 2], vec![0.0f32; bar * 2]];
    let out = render(&mut r, &silence, 512, Some(0));
    assert!(
        out[0].iter().any(|&s| s.abs() > 0.1),
        "the previous model no longer plays"
    );
}

#[test]
fn a_one_megabyte_prompt_is_cut_and_the_take_still_plays() {
    use_test_runtime();
    let rate = 48_000.0;
    let mut r = renderer(rate, 512);
    load(&mut r, "tone").unwrap();
    *r.params.prompt.write() = "x".repeat(1 << 20);
    continuo::params::set_without_host(&r.params.length_bars, 1, rate);
    let bar = r.frames_per_bar().round() as usize;
    let silence = [vec![0.0f32; bar * 2], vec![0.0f32; bar * 2]];
    let out = render(&mut r, &silence, 512, Some(0));
    assert!(out[0].iter().any(|&s| s.abs() > 0.1));
}
