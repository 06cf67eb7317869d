//! The musicgen family against transformers' own `generate()`: tiny random-weight models exported
//! by models/musicgen/export.py, and the codes and audio `generate(do_sample=False)` made with
//! them (tests/fixtures/musicgen, written by models/musicgen/make_fixtures.py). Greedy decoding
//! must reproduce every code, and the audio must match within 1e-4 of its peak, for mono and
//! stereo, with text only and with an audio prompt, with and without guidance.

mod common;

use continuo::model::manifest::Manifest;
use continuo::model::musicgen::MusicgenGenerator;
use continuo::model::{runtime, GenerationRequest, Generator, Step};
use continuo::params::ContinuoParams;
use serde_json::Value;
use std::path::{Path, PathBuf};

fn fixture(layout: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("fixtures/musicgen")
        .join(layout)
}

fn read_f32(path: &Path) -> Vec<f32> {
    std::fs::read(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .chunks_exact(4)
        .map(|b| f32::from_le_bytes(b.try_into().unwrap()))
        .collect()
}

fn load(layout: &str) -> MusicgenGenerator {
    common::use_test_runtime();
    let env = runtime::environment().expect("runtime loads");
    let manifest = Manifest::load(&fixture(layout).join("model")).expect("the fixture's manifest");
    MusicgenGenerator::load(&manifest, &env).expect("the fixture model loads")
}

fn check_layout(layout: &str) {
    let dir = fixture(layout);
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("reference.json")).unwrap())
            .unwrap();
    let rate = reference["sample_rate_hz"].as_u64().unwrap() as u32;
    let channels = reference["num_channels"].as_u64().unwrap() as usize;
    let hop = 640;
    let mut model = load(layout);
    // (codes, audio) of every case, to check the audio follows the codes.
    let mut takes: Vec<(Vec<Vec<i64>>, Vec<f32>)> = Vec::new();
    for case in reference["cases"].as_array().unwrap() {
        let name = format!("{layout} {}", case["name"].as_str().unwrap());
        let prompt = case["prompt"].as_str().unwrap();
        let ids: Vec<i64> = case["input_ids"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| v.as_i64().unwrap())
            .collect();
        assert_eq!(model.tokenize(prompt).unwrap(), ids, "{name}: tokenizer");
        let expected: Vec<Vec<i64>> = case["codes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|row| {
                row.as_array()
                    .unwrap()
                    .iter()
                    .map(|v| v.as_i64().unwrap())
                    .collect()
            })
            .collect();
        let audio_prompt = case["audio_prompt"]
            .as_str()
            .map(|file| read_f32(&dir.join(file)))
            .unwrap_or_default();
        let prompt_frames = audio_prompt.len() / channels / hop;
        let new_frames = expected[0].len() - prompt_frames;
        let mut settings = ContinuoParams::default().job_settings();
        settings.temperature = 0.0; // greedy, as generate(do_sample=False)
        settings.guidance = case["guidance"].as_f64().unwrap() as f32;
        let request = GenerationRequest {
            prompt: prompt.to_string(),
            settings: settings.controls(),
            seed: 1,
            meter: continuo::timeline::Meter::new(120.0, (4, 4)),
            num_frames: new_frames * hop,
            sample_rate_hz: rate,
            context_audio: audio_prompt,
            context_notes: Vec::new(),
        };
        model.begin(&request).unwrap();
        let mut audio = Vec::new();
        let mut steps = 0;
        // Audio handed out before the last step: decoded in chunks as frames complete.
        let mut early = 0;
        while model.step(&mut audio).unwrap() == Step::Continue {
            steps += 1;
            early = audio.len();
            assert!(steps < 10_000, "{name}: never finished");
        }
        assert!(early > 0, "{name}: no audio before the take was finished");
        assert_eq!(
            model.codes(),
            expected,
            "{name}: codes differ from generate()'s"
        );
        assert_eq!(
            audio.len(),
            new_frames * hop * channels,
            "{name}: audio length"
        );
        // generate() decodes the prompt's frames too; the take is what follows them.
        let want = read_f32(&dir.join(case["audio"].as_str().unwrap()));
        let want = &want[prompt_frames * hop * channels..];
        let peak = want.iter().fold(0.0f32, |m, x| m.max(x.abs()));
        let worst = audio
            .iter()
            .zip(want)
            .map(|(a, b)| (a - b).abs())
            .fold(0.0f32, f32::max);
        eprintln!(
            "{name}: {} codes equal, audio error {:.2e} of peak {peak:.3}",
            expected.len() * expected[0].len(),
            worst / peak
        );
        assert!(
            worst <= 1e-4 * peak,
            "{name}: audio differs by {worst} (peak {peak})"
        );
        takes.push((expected, audio));
    }
    // The fixture's codec is only a check if different codes make different audio.
    for (i, a) in takes.iter().enumerate() {
        for b in &takes[i + 1..] {
            if a.0 != b.0 && a.1.len() == b.1.len() {
                assert!(
                    a.1 != b.1,
                    "{layout}: different codes decoded to the same audio"
                );
            }
        }
    }
}

#[test]
fn mono_matches_transformers_generate() {
    check_layout("mono");
}

#[test]
fn stereo_matches_transformers_generate() {
    check_layout("stereo");
}

/// Greedy codes of `prompt` (with `weights`) for 20 new frames, text only, guidance 3.
fn greedy_codes(model: &mut MusicgenGenerator, prompt: &str, weights: [f32; 4]) -> Vec<Vec<i64>> {
    let mut settings = ContinuoParams::default().job_settings();
    settings.temperature = 0.0;
    settings.guidance = 3.0;
    settings.prompt_weights = weights;
    let request = GenerationRequest {
        prompt: prompt.to_string(),
        settings: settings.controls(),
        seed: 1,
        meter: continuo::timeline::Meter::new(120.0, (4, 4)),
        num_frames: 20 * 640,
        sample_rate_hz: 32_000,
        context_audio: Vec::new(),
        context_notes: Vec::new(),
    };
    model.begin(&request).unwrap();
    let mut audio = Vec::new();
    while model.step(&mut audio).unwrap() == Step::Continue {}
    model.codes()
}

#[test]
fn blended_prompts_follow_their_weights() {
    let mut model = load("mono");
    let a = "warm lofi piano with dusty drums";
    let b = "epic orchestral strings";
    let alone_a = greedy_codes(&mut model, a, [1.0; 4]);
    let alone_b = greedy_codes(&mut model, b, [1.0; 4]);
    assert_ne!(
        alone_a, alone_b,
        "the two prompts should lead to different codes"
    );
    // A weight of 0 leaves a prompt out of the guidance; the other alone remains.
    assert_eq!(
        greedy_codes(&mut model, &format!("{a} | {b}"), [1.0, 0.0, 1.0, 1.0]),
        alone_a
    );
    assert_eq!(
        greedy_codes(&mut model, &format!("{a} | {b}"), [0.0, 0.7, 1.0, 1.0]),
        alone_b
    );
    // The same prompt twice is the prompt once (weights are normalised).
    assert_eq!(
        greedy_codes(&mut model, &format!("{a}\n{a}"), [0.3, 0.9, 1.0, 1.0]),
        alone_a
    );
    // An even blend is neither.
    let blend = greedy_codes(&mut model, &format!("{a} | {b}"), [1.0, 1.0, 1.0, 1.0]);
    assert!(
        blend != alone_a && blend != alone_b,
        "an even blend equals one of its prompts"
    );
}
