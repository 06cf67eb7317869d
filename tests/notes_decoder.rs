//! The notes model's decoder in Rust, through ONNX Runtime with its key/value cache, reproduces
//! the greedy continuation that Python's onnxruntime produced at export time
//! (models/notes/greedy_reference.json), token for token.

mod common;

use common::*;
use continuo::model::manifest::Manifest;
use continuo::model::notes::decoder::{DecoderShape, NotesDecoder};
use std::path::PathBuf;

fn model_dir() -> PathBuf {
    std::env::var_os("CONTINUO_TEST_NOTES_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/notes")))
}

#[test]
fn greedy_continuation_matches_the_reference() {
    use_test_runtime();
    let dir = model_dir();
    let manifest = Manifest::load(&dir).expect("the notes model's manifest loads");
    assert_eq!(manifest.family, "notes");
    let shape =
        DecoderShape::from_config(&manifest.family_config, &dir.join("continuo.toml")).unwrap();
    let env = continuo::model::runtime::environment().unwrap();
    let mut decoder = NotesDecoder::open(&env, manifest.file("model").unwrap(), shape).unwrap();

    let reference: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("greedy_reference.json")).unwrap())
            .unwrap();
    let ids = |key: &str| -> Vec<u32> {
        reference[key]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_u64().unwrap() as u32)
            .collect()
    };
    let prompt = ids("prompt_ids");
    let expected = ids("greedy_ids");

    let mut logits = decoder.feed(&prompt).unwrap().to_vec();
    for (pos, want) in reference["first_step_top5"]
        .as_array()
        .unwrap()
        .iter()
        .enumerate()
    {
        let id = want[0].as_u64().unwrap() as usize;
        let logit = want[1].as_f64().unwrap() as f32;
        assert!(
            (logits[id] - logit).abs() < 1e-3,
            "first step, top {pos}: id {id} logit {} vs {logit}",
            logits[id]
        );
    }
    let mut got = Vec::new();
    for _ in 0..expected.len() {
        let next = logits
            .iter()
            .enumerate()
            .max_by(|a, b| a.1.total_cmp(b.1).then(b.0.cmp(&a.0)))
            .map(|(i, _)| i as u32)
            .unwrap();
        got.push(next);
        if got.len() == expected.len() {
            break;
        }
        logits = decoder.feed(&[next]).unwrap().to_vec();
    }
    assert_eq!(got, expected);
    assert_eq!(decoder.num_past(), prompt.len() + expected.len() - 1);
}

#[test]
fn the_context_limit_is_an_error_not_a_crash() {
    use_test_runtime();
    let dir = model_dir();
    let manifest = Manifest::load(&dir).unwrap();
    let shape =
        DecoderShape::from_config(&manifest.family_config, &dir.join("continuo.toml")).unwrap();
    let env = continuo::model::runtime::environment().unwrap();
    let mut decoder = NotesDecoder::open(&env, manifest.file("model").unwrap(), shape).unwrap();
    let too_long = vec![3u32; shape.n_ctx + 1];
    assert!(decoder.feed(&too_long).is_err());
    assert!(
        decoder.feed(&[1, 3]).is_ok(),
        "the decoder still works after refusing"
    );
}
