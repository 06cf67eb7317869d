//! Fuzzing by mutation, as property tests: every parser the plugin and its command line feed
//! from outside (the model manifest, both tokenizers, MIDI files, MIDI input events as the
//! engine captures them, WAV files, ONNX graphs through the model loader) gets mutated and
//! random inputs (the saved-state loader's target is in the CLAP harness, clap_host.rs); each must answer with a
//! value or a clear error, never a panic. `CONTINUO_FUZZ_CASES` sets the cases per target
//! (10,000 by default, as CI runs them; `cargo xtask fuzz` runs 1,000,000) and
//! `CONTINUO_FUZZ_SEED` the seed. An input that panics is written to
//! `target/fuzz-crashes/<target>-<case>.bin` and named in the failure.

use continuo::bridge::CapturedNote;
use continuo::model::manifest::Manifest;
use continuo::model::notes::band::context::{as_parts, split_into_parts};
use continuo::model::notes::{tokens, tokens_v2};
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::time::Instant;

fn num_cases() -> u64 {
    std::env::var("CONTINUO_FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(10_000)
}

fn seed(target: &str) -> u64 {
    let base: u64 = std::env::var("CONTINUO_FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0x5eed);
    target.bytes().fold(base, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x100_0000_01b3)
    })
}

/// SplitMix64: small, fast, and the same on every machine.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    /// Uniform in `lo..hi` (`lo` when the range is empty).
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        if hi <= lo {
            lo
        } else {
            lo + self.next_u64() % (hi - lo)
        }
    }

    fn chance(&mut self, one_in: u64) -> bool {
        self.next_u64().is_multiple_of(one_in)
    }

    /// A number that is usually ordinary and sometimes an edge: 0, ±1, extremes.
    fn wild_i64(&mut self, ordinary: i64) -> i64 {
        match self.range(0, 10) {
            0 => [
                0,
                -1,
                1,
                i64::MIN,
                i64::MAX,
                i32::MAX as i64,
                i32::MIN as i64,
            ][self.range(0, 7) as usize],
            1 => self.next_u64() as i64,
            _ => self.range(0, ordinary.unsigned_abs() * 2 + 1) as i64 - ordinary,
        }
    }
}

/// One mutated copy of a seed input (or of a splice of two): bit flips, byte sets, edge bytes,
/// inserted and deleted runs, duplicated runs, truncation.
fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut data = seeds[rng.range(0, seeds.len() as u64) as usize].clone();
    for _ in 0..rng.range(1, 9) {
        let len = data.len() as u64;
        let at = rng.range(0, len.max(1)) as usize;
        match rng.range(0, 8) {
            0 if !data.is_empty() => data[at] ^= 1 << rng.range(0, 8),
            1 if !data.is_empty() => data[at] = rng.next_u64() as u8,
            2 if !data.is_empty() => {
                data[at] = [0x00, 0x7f, 0x80, 0xff][rng.range(0, 4) as usize];
            }
            3 => {
                let run: Vec<u8> = (0..rng.range(1, 17))
                    .map(|_| rng.next_u64() as u8)
                    .collect();
                let at = at.min(data.len());
                data.splice(at..at, run);
            }
            4 if !data.is_empty() => {
                let end = (at + rng.range(1, 33) as usize).min(data.len());
                data.drain(at..end);
            }
            5 if !data.is_empty() => {
                let end = (at + rng.range(1, 65) as usize).min(data.len());
                let run = data[at..end].to_vec();
                let to = rng.range(0, data.len() as u64 + 1) as usize;
                data.splice(to..to, run);
            }
            6 => data.truncate(at),
            7 => {
                let other = &seeds[rng.range(0, seeds.len() as u64) as usize];
                if !other.is_empty() {
                    let from = rng.range(0, other.len() as u64) as usize;
                    let at = at.min(data.len());
                    data.truncate(at);
                    data.extend_from_slice(&other[from..]);
                }
            }
            _ => {}
        }
    }
    data
}

/// Runs `target` on `num_cases()` inputs made by `make`; a panic fails the test with the input
/// saved. Prints the cases, the rejections and the executions per second.
fn fuzz(name: &str, mut make: impl FnMut(&mut Rng) -> Vec<u8>, target: impl Fn(&[u8]) -> bool) {
    let mut rng = Rng(seed(name));
    let cases = num_cases();
    let started = Instant::now();
    let mut num_rejected = 0u64;
    for case in 0..cases {
        let input = make(&mut rng);
        match catch_unwind(AssertUnwindSafe(|| target(&input))) {
            Ok(accepted) => num_rejected += u64::from(!accepted),
            Err(_) => {
                let dir = crash_dir();
                let path = dir.join(format!("{name}-{case}.bin"));
                std::fs::write(&path, &input).unwrap();
                panic!(
                    "[fuzz {name}] case {case} panicked; input saved to {}",
                    path.display()
                );
            }
        }
    }
    let seconds = started.elapsed().as_secs_f64();
    println!(
        "[fuzz {name}] {cases} cases, {num_rejected} rejected with an error, 0 crashes, {:.0} execs/s",
        cases as f64 / seconds.max(1e-9)
    );
}

fn crash_dir() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/fuzz-crashes");
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

fn repo(path: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(path)
}

/// An error's message must say something.
fn said<E: std::fmt::Display>(err: E) -> bool {
    assert!(
        !err.to_string().trim().is_empty(),
        "an error without a message"
    );
    false
}

#[test]
fn manifest_parser() {
    let seeds: Vec<Vec<u8>> = [
        "models/notes/continuo.toml",
        "models/notes2/continuo-notes-v2/continuo.toml",
        "tests/fixtures/musicgen/mono/model/continuo.toml",
        "tests/fixtures/musicgen/stereo/model/continuo.toml",
    ]
    .iter()
    .map(|p| std::fs::read(repo(p)).unwrap())
    .collect();
    let folder =
        std::env::temp_dir().join(format!("continuo-fuzz-manifest-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    let folder = folder.canonicalize().unwrap();
    fuzz(
        "manifest",
        |rng| mutate(rng, &seeds),
        |bytes| match Manifest::parse(&folder, &String::from_utf8_lossy(bytes)) {
            Ok(_) => true,
            Err(e) => said(e),
        },
    );
    let _ = std::fs::remove_dir_all(&folder);
}

/// Random token ids: mostly in the vocabulary, some far outside it (negative, huge).
fn random_ids(rng: &mut Rng, vocab: u64) -> Vec<u8> {
    let n = rng.range(0, 400);
    let mut bytes = Vec::with_capacity(n as usize * 8);
    for _ in 0..n {
        let id: i64 = if rng.chance(20) {
            rng.wild_i64(1_000)
        } else {
            rng.range(0, vocab) as i64
        };
        bytes.extend_from_slice(&id.to_le_bytes());
    }
    bytes
}

fn ids_of(bytes: &[u8]) -> Vec<i64> {
    bytes
        .chunks_exact(8)
        .map(|c| i64::from_le_bytes(c.try_into().unwrap()))
        .collect()
}

#[test]
fn tokenizer_v1_decodes_anything() {
    fuzz(
        "tokens-v1",
        |rng| random_ids(rng, 160),
        |bytes| {
            let ids = ids_of(bytes);
            let num = (ids.len() % 13) as u32;
            let den = [0, 1, 2, 4, 8, 16, 3][ids.len() % 7];
            match tokens::decode(&ids, tokens::TimeSig { num, den }) {
                Ok(notes) => {
                    assert!(notes.iter().all(|n| n.duration_16ths > 0));
                    true
                }
                Err(e) => said(e),
            }
        },
    );
}

#[test]
fn tokenizer_v2_decodes_anything() {
    fuzz(
        "tokens-v2",
        |rng| random_ids(rng, tokens_v2::VOCAB_SIZE as u64),
        |bytes| {
            let ids = ids_of(bytes);
            let num = (ids.len() % 13) as u32;
            let den = [0, 1, 2, 4, 8, 16, 3][ids.len() % 7];
            match tokens_v2::decode(&ids, tokens_v2::TimeSig { num, den }) {
                Ok(parts) => {
                    assert!(parts.values().flatten().all(|n| n.duration_ticks > 0));
                    true
                }
                Err(e) => said(e),
            }
        },
    );
}

/// Random notes in the engine's capture format, as bytes (so a failing case can be saved).
fn random_events(rng: &mut Rng) -> Vec<u8> {
    let n = rng.range(0, 300);
    let mut bytes = Vec::new();
    let mut frame = rng.range(0, 1 << 20);
    for _ in 0..n {
        frame = if rng.chance(30) {
            rng.next_u64()
        } else {
            frame + rng.range(0, 20_000)
        };
        bytes.extend_from_slice(&frame.to_le_bytes());
        bytes.extend_from_slice(&[
            rng.next_u64() as u8,
            rng.next_u64() as u8,
            rng.next_u64() as u8 & 1,
            if rng.chance(4) {
                9
            } else {
                rng.next_u64() as u8
            },
        ]);
    }
    bytes
}

#[test]
fn midi_input_events_become_a_context_the_tokenizer_takes() {
    fuzz("midi-events", random_events, |bytes| {
        let events: Vec<CapturedNote> = bytes
            .chunks_exact(12)
            .map(|c| CapturedNote {
                pos_beats: None,
                frame_idx: u64::from_le_bytes(c[..8].try_into().unwrap()),
                pitch: c[8],
                velocity: c[9],
                is_on: c[10] == 1,
                channel: c[11],
            })
            .collect();
        let start = events.first().map_or(0, |e| e.frame_idx);
        let end = events.iter().map(|e| e.frame_idx).max().unwrap_or(0);
        let frames_per_beat = [1.0, 441.0, 24_000.0, 1e9][bytes.len() % 4];
        let notes =
            continuo::engine::context::notes_from_events(&events, start, end, frames_per_beat);
        // The context a notes job would see: capped to a window, then split into parts.
        let window: Vec<_> = notes
            .into_iter()
            .filter(|n| n.start_beats < 4096.0)
            .collect();
        let parts = as_parts(&split_into_parts(&window));
        match tokens_v2::encode_bars(&parts, tokens_v2::TimeSig::FOUR_FOUR, Some(16)) {
            Ok(_) => true,
            Err(e) => said(e),
        }
    });
}

#[test]
fn midi_files() {
    let mut seeds: Vec<Vec<u8>> = std::fs::read_dir(repo("tests/riffs"))
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mid"))
        .map(|p| std::fs::read(p).unwrap())
        .collect();
    seeds.push(std::fs::read(repo("assets/demo-riff.mid")).unwrap());
    fuzz(
        "midi-file",
        |rng| mutate(rng, &seeds),
        |bytes| match continuo::midi_file::parse_notes(bytes, "fuzz.mid") {
            Ok(notes) => {
                assert!(notes
                    .iter()
                    .all(|n| n.start_beats.is_finite() && n.duration_beats >= 0.0));
                true
            }
            Err(e) => said(e),
        },
    );
}

/// Small WAV files in the formats a user brings: 16- and 24-bit, float, mono and stereo.
fn wav_seeds() -> Vec<Vec<u8>> {
    let mut seeds = Vec::new();
    for (channels, bits, float) in [
        (1, 16, false),
        (2, 16, false),
        (2, 24, false),
        (2, 32, true),
    ] {
        let spec = hound::WavSpec {
            channels,
            sample_rate: 44_100,
            bits_per_sample: bits,
            sample_format: if float {
                hound::SampleFormat::Float
            } else {
                hound::SampleFormat::Int
            },
        };
        let mut cursor = std::io::Cursor::new(Vec::new());
        let mut writer = hound::WavWriter::new(&mut cursor, spec).unwrap();
        for i in 0..200 * u32::from(channels) {
            let x = (i as f32 * 0.05).sin() * 0.5;
            if float {
                writer.write_sample(x).unwrap();
            } else {
                writer
                    .write_sample((x * ((1 << (bits - 1)) - 1) as f32) as i32)
                    .unwrap();
            }
        }
        writer.finalize().unwrap();
        seeds.push(cursor.into_inner());
    }
    seeds
}

#[test]
fn wav_files() {
    let seeds = wav_seeds();
    fuzz(
        "wav-file",
        |rng| mutate(rng, &seeds),
        |bytes| match continuo::wav_file::decode(bytes, "fuzz.wav") {
            Ok((rate, channels)) => {
                assert!(rate > 0 && channels.len() == 2 && channels[0].len() == channels[1].len());
                true
            }
            Err(e) => said(e),
        },
    );
}

/// A path the test command sets; fails (never skips) without it.
fn test_env(name: &str) -> PathBuf {
    let path = std::env::var_os(name)
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            panic!("{name} is not set: run through `cargo xtask test` or `cargo xtask fuzz`")
        });
    assert!(path.exists(), "{name}={} does not exist", path.display());
    path
}

#[test]
fn onnx_graphs_from_mutated_files() {
    let lib = test_env("CONTINUO_TEST_ORT_LIBRARY");
    // Edition 2021: set before any thread of this binary reads it (the runtime loads once).
    std::env::set_var(continuo::model::runtime::ORT_LIBRARY_ENV, lib);
    let tone = test_env("CONTINUO_TEST_MODELS").join("tone");
    let seeds = vec![std::fs::read(tone.join("tone.onnx")).unwrap()];
    let folder = std::env::temp_dir().join(format!("continuo-fuzz-onnx-{}", std::process::id()));
    std::fs::create_dir_all(&folder).unwrap();
    // The test tone's manifest without its checksum, so each mutated graph reaches ONNX Runtime.
    let manifest = std::fs::read_to_string(tone.join("continuo.toml")).unwrap();
    let manifest: String = manifest
        .lines()
        .filter(|l| !l.starts_with("sha256"))
        .map(|l| format!("{l}\n"))
        .collect();
    std::fs::write(folder.join("continuo.toml"), manifest).unwrap();
    fuzz(
        "onnx-graph",
        |rng| mutate(rng, &seeds),
        |bytes| {
            std::fs::write(folder.join("tone.onnx"), bytes).unwrap();
            match continuo::model::load(&folder) {
                Ok(_) => true,
                Err(e) => said(e),
            }
        },
    );
    let _ = std::fs::remove_dir_all(&folder);
}
