//! The notes models, tokens to audio, on one thread: 8 bars at 120 BPM (16 s of music) rendered
//! with the plugin's instruments at 48 kHz.
//!
//! - the shipped v2 model continuing a four-part riff (drums, bass, chords, lead:
//!   tests/riffs/full_band_g.mid) as four parts;
//! - in the same run, v1 continuing the one-part demo riff, the reference the ratio is taken to.
//!
//! Model folders: `models/notes2/continuo-notes-v2` and `models/notes` (or
//! `$CONTINUO_BENCH_NOTES_MODEL` and `$CONTINUO_BENCH_NOTES_V1_MODEL`); ONNX Runtime comes from
//! `$CONTINUO_ORT_LIBRARY` (xtask sets it). Run with `cargo xtask bench`.

use continuo::midi_file;
use continuo::model::{self, GenerationRequest, Generator, Step};
use continuo::params::{ContinuoParams, Density};
use continuo::timeline::{BeatNote, Meter};
use std::path::{Path, PathBuf};
use std::time::Instant;

const RATE: u32 = 48_000;
const BARS: u32 = 8;
const TEMPO_BPM: f64 = 120.0;
const RUNS: usize = 5;

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

fn folder(env: &str, default: &str) -> PathBuf {
    std::env::var_os(env).map_or_else(|| repo(default), PathBuf::from)
}

/// Median and best seconds per take over `RUNS` seeds, and the notes and parts of the last.
fn measure(
    generator: &mut dyn Generator,
    context: &[BeatNote],
    context_bars: u32,
) -> (f64, f64, usize, usize) {
    let mut settings = ContinuoParams::default().job_settings();
    settings.length_bars = BARS;
    settings.context_bars = context_bars;
    settings.density = Density::Any;
    let sampling = generator.info().sampling;
    settings.temperature = sampling.temperature;
    settings.top_k = sampling.top_k;
    settings.top_p = sampling.top_p;
    let seconds = f64::from(BARS) * 4.0 * 60.0 / TEMPO_BPM;
    let num_frames = (seconds * f64::from(RATE)).round() as usize;
    let mut times = Vec::new();
    let mut notes = Vec::new();
    let mut out = Vec::with_capacity(num_frames * 2);
    for run in 0..RUNS {
        let request = GenerationRequest {
            prompt: String::new(),
            settings: settings.controls(),
            seed: run as u64 + 1,
            meter: Meter::new(TEMPO_BPM, (4, 4)),
            num_frames,
            sample_rate_hz: RATE,
            context_audio: Vec::new(),
            context_notes: context.to_vec(),
        };
        out.clear();
        let started = Instant::now();
        generator.begin(&request).unwrap();
        while generator.step(&mut out).unwrap() == Step::Continue {}
        times.push(started.elapsed().as_secs_f64());
        assert_eq!(out.len(), num_frames * 2);
        notes = generator.take_notes();
    }
    times.sort_by(f64::total_cmp);
    let mut channels: Vec<u8> = notes.iter().map(|n| n.channel).collect();
    channels.sort_unstable();
    channels.dedup();
    (
        times[times.len() / 2],
        times[0],
        notes.len(),
        channels.len(),
    )
}

fn main() {
    if std::env::var_os(model::runtime::RESOURCES_ENV).is_none() {
        // The repository's assets hold the instruments a bundle carries beside the plugin.
        std::env::set_var(model::runtime::RESOURCES_ENV, repo("assets"));
    }
    let v2_dir = folder(
        "CONTINUO_BENCH_NOTES_MODEL",
        "models/notes2/continuo-notes-v2",
    );
    let v1_dir = folder("CONTINUO_BENCH_NOTES_V1_MODEL", "models/notes");
    let load = |dir: &Path| {
        model::load(dir).unwrap_or_else(|e| panic!("cannot load {}: {e}", dir.display()))
    };
    let band = midi_file::read_notes(&repo("tests/riffs/full_band_g.mid")).unwrap();
    let riff = midi_file::read_notes(&repo("assets/demo-riff.mid")).unwrap();
    let seconds = f64::from(BARS) * 4.0 * 60.0 / TEMPO_BPM;
    println!("notes models, {BARS} bars at {TEMPO_BPM} BPM ({seconds:.0} s of music), tokens to audio at {} kHz, one thread, median of {RUNS} seeds:", RATE / 1000);
    let (v2, v2_best, v2_notes, v2_parts) = measure(load(&v2_dir).as_mut(), &band, 4);
    println!(
        "  v2, four-part context:  {v2:.3} s (best {v2_best:.3} s), {v2_notes} notes in {v2_parts} parts, {:.1}x real time (target: at most 1 s, 16x)",
        seconds / v2
    );
    let (v1, v1_best, v1_notes, _) = measure(load(&v1_dir).as_mut(), &riff, 2);
    println!(
        "  v1, one part (reference): {v1:.3} s (best {v1_best:.3} s), {v1_notes} notes, {:.1}x real time",
        seconds / v1
    );
    println!("  v2 / v1 time: {:.2}", v2 / v1);
    println!("RESULT v2_s={v2:.4}");
    println!("RESULT v1_s={v1:.4}");
}
