//! The notes model writing continuations through the Rust loop: the same seed gives the same
//! notes; key lock keeps every note in the key; a pitch range holds; a density limit holds; the
//! requested number of bars is written; prompt words are read.

mod common;

use common::*;
use continuo::model::manifest::Manifest;
use continuo::model::notes::composer::{self, ComposeRequest};
use continuo::model::notes::constraints::{scale_pitch_classes, Constraints};
use continuo::model::notes::decoder::{DecoderShape, NotesDecoder};
use continuo::model::notes::tokens::{Note, TimeSig};
use continuo::model::sampling::{Sampler, SamplingSettings};
use std::path::PathBuf;

fn model_dir() -> PathBuf {
    std::env::var_os("CONTINUO_TEST_NOTES_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/notes")))
}

fn decoder() -> NotesDecoder {
    use_test_runtime();
    let dir = model_dir();
    let manifest = Manifest::load(&dir).unwrap();
    let shape =
        DecoderShape::from_config(&manifest.family_config, &dir.join("continuo.toml")).unwrap();
    let env = continuo::model::runtime::environment().unwrap();
    NotesDecoder::open(&env, manifest.file("model").unwrap(), shape).unwrap()
}

/// The demo riff's first bar and a half in 16ths: an A minor arpeggio over a bass note.
fn riff() -> Vec<Note> {
    [
        (0, 8, 45),
        (0, 2, 69),
        (2, 2, 72),
        (4, 2, 76),
        (6, 2, 72),
        (8, 8, 41),
        (8, 2, 69),
        (10, 2, 72),
        (12, 2, 77),
        (14, 2, 72),
    ]
    .iter()
    .map(|&(s, d, p)| Note {
        start_16ths: s,
        duration_16ths: d,
        pitch: p,
        velocity: 90,
    })
    .collect()
}

fn request(seed: u64, constraints: Constraints) -> ComposeRequest {
    ComposeRequest {
        prompt: "folk air in A minor".into(),
        context_notes: riff(),
        num_context_bars: 1,
        num_bars: 4,
        time_sig: TimeSig::new(4, 4).unwrap(),
        tempo_bpm: 120.0,
        sampling: SamplingSettings {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
        },
        constraints,
        density_hint: None,
        seed,
    }
}

fn compose(decoder: &mut NotesDecoder, request: &ComposeRequest) -> composer::Composition {
    let mut sampler = Sampler::default();
    let mut comp = composer::start(decoder, request).unwrap();
    while !composer::step(decoder, &mut sampler, &mut comp, 16).unwrap() {}
    comp
}

#[test]
fn the_same_seed_gives_the_same_notes() {
    let mut d = decoder();
    let a = compose(&mut d, &request(7, Constraints::default()));
    let b = compose(&mut d, &request(7, Constraints::default()));
    let c = compose(&mut d, &request(8, Constraints::default()));
    assert!(!a.notes.is_empty(), "no notes were written");
    assert_eq!(a.notes, b.notes);
    assert_ne!(a.notes, c.notes, "another seed should give another take");
    assert!(a
        .notes
        .iter()
        .all(|n| n.start_16ths >= 0 && n.start_16ths < 4 * 16));
    assert_eq!(a.steering.key, Some((9, true)));
    assert_eq!(a.steering.style, Some("AIR"));
}

#[test]
fn key_lock_and_range_hold_for_every_note() {
    let mut d = decoder();
    let constraints = Constraints {
        key_lock: Some((2, false)), // D major: C# and F# in, C and F out
        lowest_pitch: 55,
        highest_pitch: 79,
        max_notes_per_bar: None,
    };
    let scale = scale_pitch_classes(2, false);
    let mut total = 0;
    for seed in 1..=6 {
        let comp = compose(&mut d, &request(seed, constraints));
        for note in &comp.notes {
            assert!(
                scale[note.pitch as usize % 12],
                "seed {seed}: pitch {} is not in D major",
                note.pitch
            );
            assert!(
                (55..=79).contains(&note.pitch),
                "seed {seed}: pitch {} is out of range",
                note.pitch
            );
        }
        total += comp.notes.len();
    }
    assert!(total > 0, "the constraints left no notes at all");
}

#[test]
fn a_density_limit_holds() {
    let mut d = decoder();
    let constraints = Constraints {
        max_notes_per_bar: Some(3),
        ..Constraints::default()
    };
    for seed in 1..=4 {
        let comp = compose(&mut d, &request(seed, constraints));
        let mut per_bar = [0; 4];
        for note in &comp.notes {
            per_bar[(note.start_16ths / 16) as usize] += 1;
        }
        assert!(
            per_bar.iter().all(|&n| n <= 3),
            "seed {seed}: {per_bar:?} notes per bar"
        );
    }
}
