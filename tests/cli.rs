//! The command line tool as a user runs it: a MIDI input is heard in the output (played by the
//! plugin's instruments before the continuation), the model's suggested sampling applies
//! unless a flag says otherwise, and hostile input (a prompt that is not UTF-8, a MIDI note
//! years into the file, a MIDI file of a hundred thousand notes) is a clear error, never a
//! panic or an allocation sized from the file.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

fn notes_model_dir() -> PathBuf {
    std::env::var_os("CONTINUO_TEST_NOTES_MODEL")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/notes")))
}

fn demo_riff() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/demo-riff.mid"
    ))
}

/// Runs `continuo continue --model <notes> --input <input> <flags> --out dir/out.wav`.
fn run_continue<S: AsRef<std::ffi::OsStr>>(dir: &Path, input: &Path, flags: &[S]) -> Output {
    std::process::Command::new(env_path("CONTINUO_TEST_CLI"))
        .args(["continue", "--model"])
        .arg(notes_model_dir())
        .arg("--input")
        .arg(input)
        .args(flags)
        .arg("--out")
        .arg(dir.join("out.wav"))
        .env(
            continuo::model::runtime::ORT_LIBRARY_ENV,
            env_path("CONTINUO_TEST_ORT_LIBRARY"),
        )
        .output()
        .unwrap()
}

fn continue_riff(dir: &Path, extra: &[&str]) -> Output {
    let mut flags = vec!["--bars", "2", "--seed", "3"];
    flags.extend_from_slice(extra);
    run_continue(dir, &demo_riff(), &flags)
}

/// Runs `continuo continue` on `input` for one bar with the given prompt bytes.
fn continue_input(dir: &Path, input: &Path, prompt: &std::ffi::OsStr) -> Output {
    run_continue(
        dir,
        input,
        &["--bars".as_ref(), "1".as_ref(), "--prompt".as_ref(), prompt],
    )
}

/// A standard MIDI file (format 0, 96 ticks a beat) holding `events`: (delta ticks, bytes).
fn midi_file(events: &[(u32, [u8; 3])]) -> Vec<u8> {
    let mut track = Vec::new();
    for (delta, bytes) in events {
        // Variable-length delta, most significant group first.
        let mut groups = vec![(delta & 0x7f) as u8];
        let mut rest = delta >> 7;
        while rest > 0 {
            groups.push((rest & 0x7f) as u8 | 0x80);
            rest >>= 7;
        }
        track.extend(groups.iter().rev());
        track.extend_from_slice(bytes);
    }
    track.extend_from_slice(&[0x00, 0xff, 0x2f, 0x00]);
    let mut file = b"MThd".to_vec();
    file.extend_from_slice(&[0, 0, 0, 6, 0, 0, 0, 1, 0, 96]);
    file.extend_from_slice(b"MTrk");
    file.extend_from_slice(&(track.len() as u32).to_be_bytes());
    file.extend_from_slice(&track);
    file
}

/// Exit status 1 (a reported error, not a panic's 101) with `expected` in the message.
fn assert_refused(output: &Output, expected: &str) {
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(expected),
        "expected {expected:?} in: {stderr}"
    );
}

#[test]
fn a_prompt_that_is_not_utf8_is_an_error_not_a_panic() {
    use std::os::unix::ffi::OsStrExt;
    let dir = temp_dir("utf8");
    let output = continue_input(
        &dir,
        &demo_riff(),
        std::ffi::OsStr::from_bytes(b"busy \xff\xfe"),
    );
    assert_refused(&output, "--prompt must be UTF-8 text");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_midi_note_years_into_the_file_is_refused_before_anything_is_allocated() {
    let dir = temp_dir("far-note");
    let input = dir.join("far.mid");
    // The largest delta a MIDI file can hold (2^28 - 1 ticks, about 32 days at 120 BPM).
    let far = midi_file(&[(0x0fff_ffff, [0x90, 60, 100]), (96, [0x80, 60, 0])]);
    std::fs::write(&input, far).unwrap();
    let output = continue_input(&dir, &input, "".as_ref());
    assert_refused(&output, "the command line takes at most 600 s");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_midi_file_of_a_hundred_thousand_notes_is_refused() {
    let dir = temp_dir("many-notes");
    let input = dir.join("many.mid");
    let events: Vec<(u32, [u8; 3])> = (0..100_000u32)
        .flat_map(|i| {
            let key = 36 + (i % 48) as u8;
            [(0, [0x90, key, 90]), (1, [0x80, key, 0])]
        })
        .collect();
    std::fs::write(&input, midi_file(&events)).unwrap();
    let output = continue_input(&dir, &input, "".as_ref());
    assert_refused(
        &output,
        "holds 100000 notes; the command line takes at most 12000",
    );
    let _ = std::fs::remove_dir_all(&dir);
}

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("continuo-cli-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn a_midi_input_is_heard_before_the_continuation() {
    let dir = temp_dir("midi");
    let output = continue_riff(&dir, &[]);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let mut reader = hound::WavReader::open(dir.join("out.wav")).unwrap();
    let rate = reader.spec().sample_rate as usize;
    let samples: Vec<f32> = reader.samples::<f32>().map(Result::unwrap).collect();
    // The demo riff is two bars at 120 BPM: 4 s of input before the continuation.
    let input = &samples[..4 * rate * 2];
    let peak = input.iter().fold(0.0f32, |m, s| m.max(s.abs()));
    assert!(
        peak > 0.05,
        "the MIDI input is silent in the output (peak {peak})"
    );
    let continuation = &samples[4 * rate * 2..];
    assert!(
        continuation.iter().any(|s| s.abs() > 0.05),
        "no continuation"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

/// The (temperature, top-k, top-p) the command line says it used.
fn sampling_used(stderr: &str) -> (f64, f64, f64) {
    let line = stderr
        .lines()
        .find_map(|l| l.strip_prefix("sampling: "))
        .unwrap_or_else(|| panic!("no sampling line in:\n{stderr}"));
    let mut numbers = line.split(',').map(|part| {
        part.split_whitespace()
            .last()
            .unwrap()
            .parse::<f64>()
            .unwrap()
    });
    (
        numbers.next().unwrap(),
        numbers.next().unwrap(),
        numbers.next().unwrap(),
    )
}

fn assert_near(got: (f64, f64, f64), want: (f64, f64, f64), context: &str) {
    let close = (got.0 - want.0).abs() < 0.006
        && (got.1 - want.1).abs() < 0.5
        && (got.2 - want.2).abs() < 0.006;
    assert!(close, "{context}: used {got:?}, expected {want:?}");
}

#[test]
fn the_models_sampling_applies_unless_a_flag_says_otherwise() {
    let dir = temp_dir("sampling");
    let manifest = std::fs::read_to_string(notes_model_dir().join("continuo.toml")).unwrap();
    let table = toml_lite::sampling(&manifest);
    let suggested = (
        table.temperature.parse::<f64>().unwrap(),
        table.top_k.parse::<f64>().unwrap(),
        table.top_p.parse::<f64>().unwrap(),
    );
    // The plugin's own defaults differ, so a command line that ignored the manifest shows.
    assert_ne!(suggested.1, 250.0);
    let output = continue_riff(&dir, &[]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert_near(sampling_used(&stderr), suggested, "no flags");
    let output = continue_riff(&dir, &["--temperature", "0.5", "--top-k", "7"]);
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(output.status.success(), "{stderr}");
    assert_near(sampling_used(&stderr), (0.5, 7.0, suggested.2), "flags");
    let _ = std::fs::remove_dir_all(&dir);
}

/// The three `[sampling]` numbers of a manifest, read line by line (the test must not share the
/// plugin's parser, or it could not catch the plugin ignoring them).
mod toml_lite {
    pub struct Sampling {
        pub temperature: String,
        pub top_k: String,
        pub top_p: String,
    }

    pub fn sampling(manifest: &str) -> Sampling {
        let mut in_table = false;
        let mut value = |key: &str| -> String {
            in_table = false;
            for line in manifest.lines() {
                let line = line.trim();
                if line.starts_with('[') {
                    in_table = line == "[sampling]";
                } else if in_table {
                    if let Some((k, v)) = line.split_once('=') {
                        if k.trim() == key {
                            return v.trim().to_string();
                        }
                    }
                }
            }
            panic!("no {key} in [sampling]")
        };
        Sampling {
            temperature: value("temperature"),
            top_k: value("top_k"),
            top_p: value("top_p"),
        }
    }
}
