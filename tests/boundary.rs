//! The thread boundary, driven through the offline engine under the allocation guard: failures
//! reach the audio side as values (a NaN context, a model that panics, a model that errors
//! mid-take, a model that writes NaN, a model folder deleted while loaded), no render hangs,
//! the next take works; and capture never
//! loses context offline, so the same long input and seed give the same take every time.
//!
//! Each render runs on its own thread with a deadline: a hang fails the test instead of CI.

mod common;

use common::*;
use continuo::bridge::messages::TakeError;
use continuo::offline::OfflineRenderer;
use continuo::params::set_without_host;
use std::sync::atomic::Ordering;
use std::time::Duration;

const RATE: f32 = 48_000.0;
const BLOCK: usize = 333;

/// Runs `body` on its own thread; fails the test if it takes longer than `limit` (a hang).
fn within<T: Send + 'static>(limit: Duration, body: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(body());
    });
    match rx.recv_timeout(limit) {
        Ok(value) => value,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("the render hung for more than {} s", limit.as_secs())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            panic!("the render panicked (see above)")
        }
    }
}

fn tone_energy(samples: &[f32]) -> f32 {
    samples.iter().map(|s| s * s).sum::<f32>() / samples.len().max(1) as f32
}

/// A renderer with `model` loaded, one-bar takes, take only (the dry path muted).
fn wet_renderer(model_name: &str) -> OfflineRenderer {
    use_test_runtime();
    let mut r = renderer(RATE, BLOCK);
    load(&mut r, model_name).unwrap_or_else(|e| panic!("{model_name} loads: {e}"));
    set_without_host(&r.params.length_bars, 1, RATE);
    set_without_host(&r.params.mix, 1.0, RATE);
    r
}

#[test]
fn a_nan_context_is_captured_as_silence_and_the_next_take_works() {
    let (out, nonfinite, failures) = within(Duration::from_secs(120), || {
        let mut r = wet_renderer("tone");
        let bar = r.frames_per_bar().round() as usize;
        let mut input = sine(RATE, bar * 5, 0);
        for ch in &mut input {
            for (i, s) in ch.iter_mut().enumerate().take(2 * bar) {
                match i % 997 {
                    0 => *s = f32::NAN,
                    1 => *s = f32::INFINITY,
                    2 => *s = f32::NEG_INFINITY,
                    _ => {}
                }
            }
        }
        // Two takes: triggered in bar 2 (plays bar 3), then in bar 4 (plays bar 5).
        let first = render(
            &mut r,
            &[input[0][..3 * bar].to_vec(), input[1][..3 * bar].to_vec()],
            BLOCK,
            Some(bar + 100),
        );
        let second = render(
            &mut r,
            &[input[0][3 * bar..].to_vec(), input[1][3 * bar..].to_vec()],
            BLOCK,
            Some(100),
        );
        let out: Vec<f32> = first[0].iter().chain(&second[0]).copied().collect();
        let failures = r.take_failure();
        (
            out,
            r.shared.num_nonfinite_input_samples.load(Ordering::Relaxed),
            failures,
        )
    });
    let bar = (RATE as f64 * 2.0) as usize; // 120 BPM, 4/4
    assert!(failures.is_none(), "a take failed: {failures:?}");
    assert!(nonfinite > 0, "the NaN input was not counted");
    assert!(
        out.iter().all(|s| s.is_finite()),
        "NaN reached the output although the dry path is muted"
    );
    assert!(
        tone_energy(&out[2 * bar..3 * bar]) > 0.05,
        "no first take in bar 3"
    );
    assert!(
        tone_energy(&out[4 * bar..5 * bar]) > 0.05,
        "no second take in bar 5"
    );
    assert!(
        tone_energy(&out[3 * bar..4 * bar]) == 0.0,
        "sound between the takes"
    );
}

#[test]
fn a_job_that_panics_ends_its_segment_and_the_next_model_plays() {
    let (first, failure, failed_segments, error_text, second) =
        within(Duration::from_secs(120), || {
            let mut r = wet_renderer("tone-panics");
            let bar = r.frames_per_bar().round() as usize;
            let silence = [vec![0.0f32; 3 * bar], vec![0.0f32; 3 * bar]];
            let first = render(&mut r, &silence, BLOCK, Some(bar / 2));
            let failure = r.take_failure();
            let failed_segments = r.shared.num_failed_segments.load(Ordering::Relaxed);
            let error_text = r.shared.text.lock().error.clone().unwrap_or_default();
            load(&mut r, "tone").unwrap();
            let second = render(&mut r, &silence, BLOCK, Some(bar / 2));
            (first, failure, failed_segments, error_text, second)
        });
    let bar = (RATE as f64 * 2.0) as usize;
    assert!(
        first[0].iter().all(|&s| s == 0.0),
        "a failed take made sound"
    );
    assert!(
        matches!(failure, Some((_, TakeError::Panicked))),
        "expected a panicked take, got {failure:?}"
    );
    assert_eq!(failed_segments, 1, "the pending segment was not ended");
    assert!(error_text.contains("internal error"), "{error_text}");
    assert!(
        tone_energy(&second[0][bar..2 * bar]) > 0.05,
        "the next take did not play"
    );
}

#[test]
fn a_model_folder_deleted_while_loaded_keeps_playing_and_a_reload_says_why_it_cannot() {
    let (first, reload_error, message, second) = within(Duration::from_secs(120), || {
        use_test_runtime();
        // A copy of the test tone's folder that this test may delete.
        let dir =
            std::env::temp_dir().join(format!("continuo-deleted-model-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        for entry in std::fs::read_dir(model("tone")).unwrap() {
            let path = entry.unwrap().path();
            std::fs::copy(&path, dir.join(path.file_name().unwrap())).unwrap();
        }
        let mut r = renderer(RATE, BLOCK);
        r.load_model(&dir, Duration::from_secs(30)).unwrap();
        set_without_host(&r.params.length_bars, 1, RATE);
        set_without_host(&r.params.mix, 1.0, RATE);
        std::fs::remove_dir_all(&dir).unwrap();
        let bar = r.frames_per_bar().round() as usize;
        let silence = [vec![0.0f32; 3 * bar], vec![0.0f32; 3 * bar]];
        // The loaded model lives in memory: the next take still plays.
        let first = render(&mut r, &silence, BLOCK, Some(bar / 2));
        // Loading the vanished folder again (a project reopened, the panel's reload) says why it
        // cannot and keeps the model that plays.
        let reload_error = r.load_model(&dir, Duration::from_secs(30)).unwrap_err();
        let message = r.shared.text.lock().error.clone().unwrap_or_default();
        let second = render(&mut r, &silence, BLOCK, Some(bar / 2));
        (first, reload_error, message, second)
    });
    let bar = (RATE as f64 * 2.0) as usize;
    assert!(
        tone_energy(&first[0][bar..2 * bar]) > 0.05,
        "the take after the folder was deleted did not play"
    );
    assert!(
        reload_error.contains("does not exist"),
        "reload error: {reload_error}"
    );
    assert!(message.contains("does not exist"), "panel: {message}");
    assert!(
        tone_energy(&second[0][bar..2 * bar]) > 0.05,
        "the model that was playing was dropped by the failed reload"
    );
}

#[test]
fn an_error_mid_take_is_reported_and_the_audio_goes_on() {
    let (out, failure) = within(Duration::from_secs(120), || {
        let mut r = wet_renderer("tone-fails");
        let bar = r.frames_per_bar().round() as usize;
        let input = sine(RATE, 3 * bar, 0);
        let out = render(&mut r, &input, BLOCK, Some(bar / 2));
        (out, r.take_failure())
    });
    match failure {
        Some((_, TakeError::Step(message))) => {
            assert!(message.contains("error at step 3"), "{message}")
        }
        other => panic!("expected a step error, got {other:?}"),
    }
    assert!(
        out[0].iter().all(|&s| s == 0.0),
        "the failed take made sound"
    );
}

#[test]
fn nan_from_a_model_never_reaches_the_output() {
    let out = within(Duration::from_secs(120), || {
        let mut r = wet_renderer("tone-nan");
        let bar = r.frames_per_bar().round() as usize;
        let silence = [vec![0.0f32; 3 * bar], vec![0.0f32; 3 * bar]];
        render(&mut r, &silence, BLOCK, Some(bar / 2))
    });
    let bar = (RATE as f64 * 2.0) as usize;
    assert!(out[0].iter().chain(&out[1]).all(|s| s.is_finite()));
    assert!(
        tone_energy(&out[0][bar..2 * bar]) > 0.001,
        "the take is missing"
    );
}

/// One offline render of a 16 s input (eight bars of a sine whose pitch steps every beat, so the
/// context's bars differ) with a take after it; returns the output and the frames capture lost.
fn render_long_input(seconds: usize) -> (Vec<f32>, u64) {
    let mut r = renderer(RATE, 512);
    load(&mut r, "tone").unwrap();
    set_without_host(&r.params.length_bars, 1, RATE);
    set_without_host(&r.params.context_bars, 4, RATE);
    let frames = seconds * RATE as usize;
    let bar = r.frames_per_bar().round() as usize;
    let beat = bar / 4;
    let input: Vec<f32> = (0..frames + bar)
        .map(|i| {
            let hz = 110.0 * (1.0 + (i / beat % 7) as f64 / 7.0);
            0.2 * (2.0 * std::f64::consts::PI * hz * i as f64 / RATE as f64).sin() as f32
        })
        .collect();
    let out = render(&mut r, &[input.clone(), input], 512, Some(frames));
    (
        out[0].clone(),
        r.shared.num_capture_dropped_frames.load(Ordering::Relaxed),
    )
}

#[test]
fn a_sixteen_second_input_renders_identically_ten_times() {
    use_test_runtime();
    let runs: Vec<(Vec<f32>, u64)> = within(Duration::from_secs(300), || {
        (0..10).map(|_| render_long_input(16)).collect()
    });
    for (idx, (out, dropped)) in runs.iter().enumerate() {
        assert_eq!(*dropped, 0, "run {idx}: capture dropped {dropped} frames");
        assert_eq!(out, &runs[0].0, "run {idx} differs from run 0");
    }
}

fn notes_model_dir() -> std::path::PathBuf {
    std::env::var_os("CONTINUO_TEST_NOTES_MODEL")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| {
            std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../models/notes"))
        })
}

/// The demo riff (two bars at 120 BPM) played `repeats` times by the plugin's piano, mono.
fn riff_audio(repeats: usize) -> Vec<f32> {
    let font = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/continuo-instruments.sf2"
    );
    let instruments = continuo::instruments::Instruments::load(std::path::Path::new(font)).unwrap();
    let riff = continuo::midi_file::read_notes(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/demo-riff.mid"
    )))
    .unwrap();
    let meter = continuo::timeline::Meter::new(120.0, (4, 4));
    let notes: Vec<_> = (0..repeats)
        .flat_map(|r| {
            riff.iter().map(move |n| {
                let mut n = *n;
                n.start_beats += 8.0 * r as f64;
                n
            })
        })
        .map(|n| meter.to_seconds(&n))
        .collect();
    let frames = repeats * 4 * RATE as usize;
    let stereo = instruments
        .render(
            continuo::instruments::Instrument::Piano,
            &notes,
            RATE as u32,
            frames,
        )
        .unwrap();
    stereo.iter().step_by(2).copied().collect()
}

/// The notes model continues 16 s of riff audio (it listens: the transcriber hears the context);
/// returns the output, the notes it heard and the notes it played.
fn render_heard_take(
    input: &[f32],
) -> (
    Vec<f32>,
    Vec<continuo::timeline::Note>,
    Vec<continuo::timeline::Note>,
) {
    let mut r = renderer(RATE, 512);
    r.load_model(&notes_model_dir(), Duration::from_secs(60))
        .expect("the notes model loads");
    set_without_host(&r.params.length_bars, 2, RATE);
    set_without_host(&r.params.context_bars, 2, RATE);
    set_without_host(&r.params.seed, 7, RATE);
    set_without_host(&r.params.listen, continuo::params::Listen::Audio, RATE);
    let bar = r.frames_per_bar().round() as usize;
    let mut padded = input.to_vec();
    let trigger = padded.len();
    padded.resize(trigger + 2 * bar, 0.0);
    let out = render(&mut r, &[padded.clone(), padded], 512, Some(trigger));
    let take = r.shared.last_take.lock().clone().expect("a take was made");
    assert_eq!(
        r.shared.num_capture_dropped_frames.load(Ordering::Relaxed),
        0
    );
    (out[0].clone(), take.heard_notes, take.notes)
}

#[test]
fn the_same_audio_input_and_seed_give_the_same_notes_every_time() {
    use_test_runtime();
    let input = riff_audio(4);
    let runs = within(Duration::from_secs(600), move || {
        (0..10)
            .map(|_| render_heard_take(&input))
            .collect::<Vec<_>>()
    });
    let (audio0, heard0, notes0) = &runs[0];
    assert!(heard0.len() >= 10, "heard only {} notes", heard0.len());
    assert!(!notes0.is_empty());
    for (idx, (audio, heard, notes)) in runs.iter().enumerate() {
        assert_eq!(heard, heard0, "run {idx} heard other notes");
        assert_eq!(notes, notes0, "run {idx} played other notes");
        assert!(audio == audio0, "run {idx} sounds different");
    }
}

/// Writes mono audio as a 16-bit WAV.
fn write_wav(path: &std::path::Path, samples: &[f32]) {
    let spec = hound::WavSpec {
        channels: 1,
        sample_rate: RATE as u32,
        bits_per_sample: 16,
        sample_format: hound::SampleFormat::Int,
    };
    let mut w = hound::WavWriter::create(path, spec).unwrap();
    for &s in samples {
        w.write_sample((s.clamp(-1.0, 1.0) * 32_000.0) as i16)
            .unwrap();
    }
    w.finalize().unwrap();
}

#[test]
fn the_command_line_continues_a_60_s_input_from_its_last_bars() {
    use_test_runtime();
    let cli = env_path("CONTINUO_TEST_CLI");
    let dir = std::env::temp_dir().join(format!("continuo-cli-60s-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    // 30 bars at 120 BPM: 26 bars of a decoy (C6 on every beat), then the demo riff twice.
    let font = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/continuo-instruments.sf2"
    );
    let instruments = continuo::instruments::Instruments::load(std::path::Path::new(font)).unwrap();
    let decoy: Vec<continuo::timeline::Note> = (0..26 * 4)
        .map(|beat| continuo::timeline::Note {
            start_seconds: beat as f64 * 0.5,
            duration_seconds: 0.3,
            pitch: 84,
            velocity: 100,
            channel: 0,
        })
        .collect();
    let decoy_frames = 26 * 2 * RATE as usize;
    let decoy_audio = instruments
        .render(
            continuo::instruments::Instrument::Piano,
            &decoy,
            RATE as u32,
            decoy_frames,
        )
        .unwrap();
    let mut input: Vec<f32> = decoy_audio.iter().step_by(2).copied().collect();
    input.extend(riff_audio(2));
    assert_eq!(input.len(), 60 * RATE as usize);
    let wav = dir.join("in.wav");
    write_wav(&wav, &input);
    let mid = dir.join("out.mid");
    let output = std::process::Command::new(&cli)
        .args(["continue", "--model"])
        .arg(notes_model_dir())
        .arg("--input")
        .arg(&wav)
        .args([
            "--bpm",
            "120",
            "--bars",
            "2",
            "--context-bars",
            "4",
            "--seed",
            "5",
        ])
        .arg("--out")
        .arg(dir.join("out.wav"))
        .arg("--out-midi")
        .arg(&mid)
        .env(
            continuo::model::runtime::ORT_LIBRARY_ENV,
            env_path("CONTINUO_TEST_ORT_LIBRARY"),
        )
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "the command line failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    let notes = continuo::midi_file::read_notes(&mid).unwrap();
    // The input's notes heard in the context come before beat 120 (the end of bar 30).
    let heard: Vec<_> = notes.iter().filter(|n| n.start_beats < 119.9).collect();
    let riff = continuo::midi_file::read_notes(std::path::Path::new(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../assets/demo-riff.mid"
    )))
    .unwrap();
    let riff_pitches: std::collections::BTreeSet<u8> = riff.iter().map(|n| n.pitch).collect();
    assert!(
        heard.len() >= riff.len(),
        "heard {} notes in the last 4 bars, the riff has {} per 2 bars",
        heard.len(),
        riff.len()
    );
    for n in &heard {
        assert!(
            n.start_beats >= 104.0 - 0.01,
            "a heard note at beat {} lies before the context's bars (27-30)",
            n.start_beats
        );
        assert!(
            n.pitch != 84,
            "the decoy before the context was heard: {n:?}"
        );
    }
    let in_riff = heard
        .iter()
        .filter(|n| riff_pitches.contains(&n.pitch))
        .count();
    assert!(
        in_riff * 10 >= heard.len() * 9,
        "{in_riff} of {} heard notes are the riff's pitches",
        heard.len()
    );
    let _ = std::fs::remove_dir_all(&dir);
}
