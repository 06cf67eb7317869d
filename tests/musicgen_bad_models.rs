//! Broken or unsupported MusicGen folders are refused with a message that names the file and what
//! was expected: a layout Continuo does not run, a decoder whose codebooks disagree with the
//! manifest, a missing EnCodec encoder, a tokenizer from another model, half-precision graphs.

mod common;

use continuo::model;
use std::path::{Path, PathBuf};

/// A copy of the tiny mono fixture in a fresh folder, its manifest without checksums (the cases
/// edit files), changed by `edit`.
fn broken(name: &str, edit: impl FnOnce(&Path, &mut String)) -> PathBuf {
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/musicgen/mono/model");
    let dir = std::env::temp_dir().join(format!(
        "continuo-bad-musicgen-{}-{name}",
        std::process::id()
    ));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    for entry in std::fs::read_dir(&from).unwrap() {
        let entry = entry.unwrap();
        std::fs::copy(entry.path(), dir.join(entry.file_name())).unwrap();
    }
    let mut manifest: String = std::fs::read_to_string(dir.join("continuo.toml"))
        .unwrap()
        .lines()
        .filter(|l| !l.starts_with("sha256"))
        .map(|l| format!("{l}\n"))
        .collect();
    edit(&dir, &mut manifest);
    std::fs::write(dir.join("continuo.toml"), manifest).unwrap();
    dir
}

fn refusal(dir: &Path) -> String {
    common::use_test_runtime();
    match model::load(dir) {
        Ok(_) => panic!("{} loaded", dir.display()),
        Err(err) => {
            let message = err.to_string();
            eprintln!("{}: {message}", dir.file_name().unwrap().to_string_lossy());
            message
        }
    }
}

#[test]
fn the_unbroken_copy_loads() {
    common::use_test_runtime();
    let dir = broken("none", |_, _| {});
    let generator = model::load(&dir).expect("an intact copy loads");
    assert_eq!(generator.info().family, "musicgen");
    assert_eq!(generator.info().sample_rate_hz, 32_000);
}

#[test]
fn an_unsupported_codebook_layout_is_refused() {
    let dir = broken("layout", |_, m| {
        *m = m.replace("num_codebooks = 4", "num_codebooks = 6")
    });
    let message = refusal(&dir);
    assert!(
        message.contains("continuo.toml") && message.contains("6 codebooks"),
        "{message}"
    );
    assert!(message.contains("mono with 4 codebooks"), "{message}");
}

#[test]
fn a_decoder_that_disagrees_with_the_manifest_is_refused() {
    let dir = broken("codebook-size", |_, m| {
        *m = m
            .replace("codebook_size = 1024", "codebook_size = 2048")
            .replace("pad_token_id = 1024", "pad_token_id = 2048")
            .replace(
                "decoder_start_token_id = 1024",
                "decoder_start_token_id = 2048",
            )
    });
    let message = refusal(&dir);
    assert!(
        message.contains("decoder_model_merged.onnx") && message.contains("2048"),
        "{message}"
    );
}

#[test]
fn a_missing_audio_encoder_is_refused_by_name() {
    let dir = broken("no-encoder", |d, _| {
        std::fs::remove_file(d.join("encodec_encode.onnx")).unwrap()
    });
    let message = refusal(&dir);
    assert!(message.contains("encodec_encode.onnx"), "{message}");
}

#[test]
fn a_tokenizer_larger_than_the_text_encoder_is_refused() {
    let dir = broken("vocab", |_, m| {
        *m = m.replace("text_vocab_size = 160", "text_vocab_size = 100")
    });
    let message = refusal(&dir);
    assert!(
        message.contains("tokenizer.json") && message.contains("100"),
        "{message}"
    );
}

#[test]
fn half_precision_graphs_are_refused() {
    let fp16 = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/musicgen/decoder_fp16.onnx");
    let dir = broken("fp16", |d, _| {
        std::fs::copy(&fp16, d.join("decoder_model_merged.onnx")).unwrap();
    });
    let message = refusal(&dir);
    assert!(
        message.contains("decoder_model_merged.onnx") && message.contains("half-precision (fp16)"),
        "{message}"
    );
}
