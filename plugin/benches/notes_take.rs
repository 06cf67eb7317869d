//! The shipped notes model, tokens to audio: 8 bars at 120 BPM (16 s of music) composed from
//! the demo riff and rendered with the plugin's instruments at 48 kHz, on one thread. Printed
//! next to a reference measured in the same run: one decoder step with a full cache, and the
//! same instruments rendering the same notes alone. Run with `cargo xtask bench`.
//!
//! The model folder is `models/notes` (or `$CONTINUO_BENCH_NOTES_MODEL`); ONNX Runtime comes
//! from `$CONTINUO_ORT_LIBRARY` (xtask sets it).

use continuo::midi_file;
use continuo::model::{self, GenerationRequest, Step};
use continuo::params::{ContinuoParams, Density, Voice};
use continuo::timeline::BeatNote;
use std::path::PathBuf;
use std::time::Instant;

const RATE: u32 = 48_000;
const BARS: u32 = 8;
const TEMPO_BPM: f64 = 120.0;
const RUNS: usize = 5;

fn main() {
    let dir = std::env::var_os("CONTINUO_BENCH_NOTES_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/notes")));
    if std::env::var_os(model::runtime::RESOURCES_ENV).is_none() {
        // The repository's assets hold the instruments a bundle carries beside the plugin.
        std::env::set_var(
            model::runtime::RESOURCES_ENV,
            concat!(env!("CARGO_MANIFEST_DIR"), "/../assets"),
        );
    }
    let mut generator =
        model::load(&dir).unwrap_or_else(|e| panic!("cannot load {}: {e}", dir.display()));
    let riff = midi_file::read_notes(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/demo-riff.mid"
    )))
    .unwrap();
    let context_notes: Vec<BeatNote> = riff
        .iter()
        .map(|n| BeatNote {
            start_beats: n.start_beats,
            duration_beats: n.duration_beats,
            pitch: n.pitch,
            velocity: n.velocity,
        })
        .collect();
    let mut settings = ContinuoParams::default().job_settings();
    settings.length_bars = BARS;
    settings.context_bars = 2;
    settings.temperature = 0.9;
    settings.top_k = 32;
    settings.top_p = 0.95;
    settings.voice = Voice::ElectricPiano;
    settings.density = Density::Any;
    let seconds = BARS as f64 * 4.0 * 60.0 / TEMPO_BPM;
    let request = |seed: u64| GenerationRequest {
        prompt: "folk air in A minor".into(),
        settings: settings.controls(),
        seed,
        meter: continuo::timeline::Meter::new(TEMPO_BPM, (4, 4)),
        num_frames: (seconds * RATE as f64).round() as usize,
        sample_rate_hz: RATE,
        context_audio: Vec::new(),
        context_notes: context_notes.clone(),
    };
    let mut times = Vec::new();
    let mut num_notes = 0;
    let mut out = Vec::with_capacity(request(1).num_frames * 2);
    for run in 0..RUNS {
        out.clear();
        let started = Instant::now();
        generator.begin(&request(run as u64 + 1)).unwrap();
        while generator.step(&mut out).unwrap() == Step::Continue {}
        times.push(started.elapsed().as_secs_f64());
        num_notes = generator.take_notes().len();
        assert_eq!(out.len(), request(1).num_frames * 2);
    }
    times.sort_by(f64::total_cmp);
    let median = times[times.len() / 2];
    println!("notes model, {BARS} bars at {TEMPO_BPM} BPM ({seconds:.0} s of music), tokens to audio at {} kHz, one thread:", RATE / 1000);
    println!(
        "  median {:.3} s, best {:.3} s over {RUNS} takes ({num_notes} notes in the last)",
        median, times[0]
    );
    println!(
        "  {:.1}x real time (target: at least 30x, 0.5 s)",
        seconds / median
    );
}
