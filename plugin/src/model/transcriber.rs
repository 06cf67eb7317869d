//! Audio to notes, so the notes family can continue a track that sends audio rather than MIDI.
//!
//! The acoustic model is Spotify's Basic Pitch (`nmp.onnx` from the Apache-2.0 PyPI wheel
//! `basic-pitch`, shipped in `models/transcriber/` with its licence notice). It reads mono audio
//! at 22.05 kHz in windows of 43,844 samples and gives, for each of 172 frames (one every 256
//! samples) and each of the 88 piano keys, the likelihood that a note sounds there ("frames")
//! and that one starts there ("onsets"). This module windows the audio, runs the graph one
//! window at a time, stitches the windows into one activation matrix, and turns the matrix into
//! notes: onset peaks followed forward while the key keeps sounding.
//!
//! Worker thread; allocates; not real-time safe.

use crate::model::error::ModelError;
use crate::model::session::{describe_signature, shared_session, SharedSession};
use crate::timeline::Note;
use ort::value::TensorRef;
use std::path::{Path, PathBuf};

/// The rate the acoustic model reads, in Hz.
pub const SAMPLE_RATE_HZ: u32 = 22_050;
/// Samples between two frames of activations.
pub const HOP_SAMPLES: usize = 256;
/// Frames of activations per second of audio.
pub const FRAMES_PER_SECOND: f64 = SAMPLE_RATE_HZ as f64 / HOP_SAMPLES as f64;
/// The graph's input length in samples (two seconds less one hop).
const WINDOW_SAMPLES: usize = 43_844;
/// Frames the graph returns per window: frame `j` is centred on the window's sample `256 j`.
const FRAMES_PER_WINDOW: usize = 172;
/// Frames dropped at each edge of a window, where the model sees only part of its receptive field.
const MARGIN_FRAMES: usize = 15;
/// Frames each window contributes. Windows advance by exactly this many hops, so the kept frames
/// of consecutive windows tile the timeline on one 256-sample grid with no drift.
const KEPT_FRAMES: usize = FRAMES_PER_WINDOW - 2 * MARGIN_FRAMES;
const WINDOW_ADVANCE_SAMPLES: usize = KEPT_FRAMES * HOP_SAMPLES;
/// Piano keys the model covers, from A0.
const NUM_KEYS: usize = 88;
const LOWEST_KEY: u8 = 21;

const INPUT_NAME: &str = "serving_default_input_2:0";
const FRAMES_OUTPUT: &str = "StatefulPartitionedCall:1";
const ONSETS_OUTPUT: &str = "StatefulPartitionedCall:2";

/// File name of the acoustic model inside `models/transcriber/`.
pub const MODEL_FILE_NAME: &str = "nmp.onnx";
/// Environment variable naming the acoustic model file explicitly (tests, the command line).
pub const MODEL_ENV: &str = "CONTINUO_TRANSCRIBER";

/// How activations become notes.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct NoteSettings {
    /// An onset peak at least this likely starts a note.
    pub onset_threshold: f32,
    /// A note continues while its key's frame activation stays at least this high...
    pub frame_threshold: f32,
    /// ...or dips below it for fewer than this many frames.
    pub max_gap_frames: usize,
    /// Shorter notes are dropped (in frames; 6 frames is 70 ms, below a 16th at 200 BPM).
    pub min_note_frames: usize,
}

/// The defaults were chosen on seeded random riffs (single notes and triads, 8th and 16th notes at
/// 60-120 MIDI velocity) played by the piano, electric piano and bass voices: from onset
/// thresholds 0.4-0.7, frame thresholds 0.3-0.4 and minimum lengths 4-11 frames, 0.7 / 0.4 / 6
/// gave the best onset F-measure on every riff (0.90-0.96); Basic Pitch's own 0.5 / 0.3 / 11
/// heard more ghost notes (0.82-0.91).
impl Default for NoteSettings {
    fn default() -> Self {
        Self {
            onset_threshold: 0.7,
            frame_threshold: 0.4,
            max_gap_frames: 11,
            min_note_frames: 6,
        }
    }
}

/// The acoustic model's session. One per process is enough: jobs take turns.
pub struct Transcriber {
    session: SharedSession,
    path: PathBuf,
    window: Vec<f32>,
}

impl Transcriber {
    /// Opens the graph and checks its signature.
    pub fn open(env: &ort::environment::Environment, path: &Path) -> Result<Self, ModelError> {
        let shared = shared_session(env, path)?;
        let session = shared.lock();
        let has_input = session.inputs().iter().any(|i| i.name() == INPUT_NAME);
        let has_outputs = [FRAMES_OUTPUT, ONSETS_OUTPUT]
            .iter()
            .all(|name| session.outputs().iter().any(|o| o.name() == *name));
        if !(has_input && has_outputs) {
            return Err(ModelError::WrongSignature {
                path: path.to_path_buf(),
                expected: format!(
                    "Basic Pitch's nmp.onnx: input {INPUT_NAME} float32[-1, {WINDOW_SAMPLES}, 1], \
                     outputs {FRAMES_OUTPUT} and {ONSETS_OUTPUT} float32[-1, {FRAMES_PER_WINDOW}, {NUM_KEYS}]"
                ),
                found: describe_signature(&session),
            });
        }
        drop(session);
        Ok(Self {
            session: shared,
            path: path.to_path_buf(),
            window: vec![0.0; WINDOW_SAMPLES],
        })
    }

    /// Runs the next window of `job`. Returns true once every window has run. About 80 ms of
    /// one core per window (two seconds of audio).
    pub fn run_window(&mut self, job: &mut Transcription) -> Result<bool, ModelError> {
        if job.is_done() {
            return Ok(true);
        }
        let w = job.next_window;
        // The window's sample 0 sits MARGIN_FRAMES hops before the first frame it contributes.
        let first = (w * WINDOW_ADVANCE_SAMPLES) as i64 - (MARGIN_FRAMES * HOP_SAMPLES) as i64;
        for (i, sample) in self.window.iter_mut().enumerate() {
            let at = first + i as i64;
            *sample = if at >= 0 && (at as usize) < job.audio.len() {
                job.audio[at as usize]
            } else {
                0.0
            };
        }
        let run_err = |err: ort::Error| ModelError::Run(format!("transcriber: {err}"));
        let input = TensorRef::from_array_view(([1usize, WINDOW_SAMPLES, 1], &self.window[..]))
            .map_err(run_err)?;
        let mut session = self.session.lock();
        let outputs = session
            .run(ort::inputs![INPUT_NAME => input])
            .map_err(run_err)?;
        let take = |name: &str, into: &mut [f32]| -> Result<(), ModelError> {
            let (shape, values) = outputs[name].try_extract_tensor::<f32>().map_err(run_err)?;
            if shape.len() != 3
                || shape[1] as usize != FRAMES_PER_WINDOW
                || shape[2] as usize != NUM_KEYS
            {
                return Err(ModelError::WrongSignature {
                    path: self.path.clone(),
                    expected: format!("{name} of shape [1, {FRAMES_PER_WINDOW}, {NUM_KEYS}]"),
                    found: format!("{shape:?}"),
                });
            }
            for j in MARGIN_FRAMES..MARGIN_FRAMES + KEPT_FRAMES {
                let frame = w * KEPT_FRAMES + j - MARGIN_FRAMES;
                if frame >= job.num_frames {
                    break;
                }
                into[frame * NUM_KEYS..(frame + 1) * NUM_KEYS]
                    .copy_from_slice(&values[j * NUM_KEYS..(j + 1) * NUM_KEYS]);
            }
            Ok(())
        };
        take(FRAMES_OUTPUT, &mut job.frames)?;
        take(ONSETS_OUTPUT, &mut job.onsets)?;
        job.next_window += 1;
        Ok(job.is_done())
    }

    /// Transcribes a whole clip at once (the command line, tests).
    pub fn transcribe(
        &mut self,
        audio: Vec<f32>,
        settings: &NoteSettings,
    ) -> Result<Vec<Note>, ModelError> {
        let mut job = Transcription::new(audio);
        while !self.run_window(&mut job)? {}
        Ok(job.notes(settings))
    }
}

/// One clip being transcribed: its audio at [`SAMPLE_RATE_HZ`], mono, and the activations of the
/// windows run so far.
pub struct Transcription {
    audio: Vec<f32>,
    num_frames: usize,
    next_window: usize,
    /// `num_frames` rows of 88 keys each.
    frames: Vec<f32>,
    onsets: Vec<f32>,
}

impl Transcription {
    /// Mono audio at [`SAMPLE_RATE_HZ`].
    pub fn new(audio: Vec<f32>) -> Self {
        let num_frames = audio.len() / HOP_SAMPLES;
        Self {
            audio,
            num_frames,
            next_window: 0,
            frames: vec![0.0; num_frames * NUM_KEYS],
            onsets: vec![0.0; num_frames * NUM_KEYS],
        }
    }

    fn num_windows(&self) -> usize {
        self.num_frames.div_ceil(KEPT_FRAMES)
    }

    pub fn is_done(&self) -> bool {
        self.next_window >= self.num_windows()
    }

    /// Fraction of the windows run, 0 to 1.
    pub fn progress(&self) -> f32 {
        if self.num_windows() == 0 {
            1.0
        } else {
            self.next_window as f32 / self.num_windows() as f32
        }
    }

    /// The notes in the activations, sorted by start then pitch.
    ///
    /// Onsets are the peaks in time of each key's onset activation, strengthened where the frame
    /// activation jumps (a key struck again while it still sounds shows as a jump more than as an
    /// onset). Peaks are followed forward from the latest to the earliest, so an earlier note of a
    /// key ends where a later one begins; the energy a note claims is cleared on its key and both
    /// neighbours so that one sound does not become two notes a semitone apart.
    pub fn notes(&self, settings: &NoteSettings) -> Vec<Note> {
        let n = self.num_frames;
        if n < 3 {
            return Vec::new();
        }
        let at = |t: usize, k: usize| t * NUM_KEYS + k;
        let onset_strength = self.onset_strength();
        let mut peaks = Vec::new();
        // Frame 0 may be a peak (before the audio is silence): a context starts on a bar line,
        // where notes often start too.
        for t in 0..n - 1 {
            for k in 0..NUM_KEYS {
                let v = onset_strength[at(t, k)];
                let before = if t == 0 {
                    0.0
                } else {
                    onset_strength[at(t - 1, k)]
                };
                if v >= settings.onset_threshold && v > before && v > onset_strength[at(t + 1, k)] {
                    peaks.push((t, k));
                }
            }
        }
        let mut energy = self.frames.clone();
        let mut notes = Vec::new();
        for &(start, k) in peaks.iter().rev() {
            let mut t = start + 1;
            let mut gap = 0;
            while t < n - 1 && gap < settings.max_gap_frames {
                if energy[at(t, k)] < settings.frame_threshold {
                    gap += 1;
                } else {
                    gap = 0;
                }
                t += 1;
            }
            let end = t - gap;
            if end - start <= settings.min_note_frames {
                continue;
            }
            let mean =
                (start..end).map(|t| self.frames[at(t, k)]).sum::<f32>() / (end - start) as f32;
            for t in start..end {
                for kk in k.saturating_sub(1)..=(k + 1).min(NUM_KEYS - 1) {
                    energy[at(t, kk)] = 0.0;
                }
            }
            notes.push(Note {
                start_seconds: start as f64 / FRAMES_PER_SECOND,
                duration_seconds: (end - start) as f64 / FRAMES_PER_SECOND,
                pitch: LOWEST_KEY + k as u8,
                velocity: (mean * 127.0).round().clamp(1.0, 127.0) as u8,
                channel: 0,
            });
        }
        notes.sort_by(|a, b| {
            a.start_seconds
                .total_cmp(&b.start_seconds)
                .then(a.pitch.cmp(&b.pitch))
        });
        notes
    }

    /// The onset activation, or the rise of the frame activation over the last two frames scaled
    /// to the onsets' range, whichever is larger.
    fn onset_strength(&self) -> Vec<f32> {
        let n = self.num_frames;
        let mut rise = vec![0.0f32; n * NUM_KEYS];
        for t in 2..n {
            for k in 0..NUM_KEYS {
                let now = self.frames[t * NUM_KEYS + k];
                let d1 = now - self.frames[(t - 1) * NUM_KEYS + k];
                let d2 = now - self.frames[(t - 2) * NUM_KEYS + k];
                rise[t * NUM_KEYS + k] = d1.min(d2).max(0.0);
            }
        }
        let max_rise = rise.iter().copied().fold(0.0f32, f32::max);
        let max_onset = self.onsets.iter().copied().fold(0.0f32, f32::max);
        let scale = if max_rise > 0.0 {
            max_onset / max_rise
        } else {
            0.0
        };
        self.onsets
            .iter()
            .zip(&rise)
            .map(|(&o, &r)| o.max(r * scale))
            .collect()
    }
}

/// Mixes interleaved audio down to mono and resamples it to [`SAMPLE_RATE_HZ`].
pub fn prepare_audio(
    interleaved: &[f32],
    num_channels: usize,
    rate_hz: u32,
) -> Result<Vec<f32>, String> {
    let num_channels = num_channels.max(1);
    let mono: Vec<f32> = interleaved
        .chunks_exact(num_channels)
        .map(|frame| frame.iter().sum::<f32>() / num_channels as f32)
        .collect();
    crate::resample::resample_clip(&mono, rate_hz, SAMPLE_RATE_HZ, 1)
}

/// Onset F-measure of `estimate` against `reference`: a pair matches when the pitches agree and
/// the starts are within `tolerance_seconds`, each note in at most one pair (the largest such
/// matching). 1.0 when both are empty.
pub fn onset_f_measure(reference: &[Note], estimate: &[Note], tolerance_seconds: f64) -> f64 {
    if reference.is_empty() && estimate.is_empty() {
        return 1.0;
    }
    let candidates: Vec<Vec<usize>> = reference
        .iter()
        .map(|r| {
            estimate
                .iter()
                .enumerate()
                .filter(|(_, e)| {
                    e.pitch == r.pitch
                        && (e.start_seconds - r.start_seconds).abs() <= tolerance_seconds
                })
                .map(|(i, _)| i)
                .collect()
        })
        .collect();
    // Maximum bipartite matching by augmenting paths (Kuhn); a few hundred notes at most.
    let mut owner: Vec<Option<usize>> = vec![None; estimate.len()];
    fn augment(
        r: usize,
        candidates: &[Vec<usize>],
        owner: &mut [Option<usize>],
        seen: &mut [bool],
    ) -> bool {
        for &e in &candidates[r] {
            if seen[e] {
                continue;
            }
            seen[e] = true;
            if owner[e].is_none_or(|other| augment(other, candidates, owner, seen)) {
                owner[e] = Some(r);
                return true;
            }
        }
        false
    }
    let mut matched = 0usize;
    for r in 0..reference.len() {
        let mut seen = vec![false; estimate.len()];
        if augment(r, &candidates, &mut owner, &mut seen) {
            matched += 1;
        }
    }
    if matched == 0 {
        return 0.0;
    }
    let precision = matched as f64 / estimate.len() as f64;
    let recall = matched as f64 / reference.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// Where the acoustic model is: [`MODEL_ENV`], else `transcriber/nmp.onnx` in the bundle's model
/// folders, else (development builds) the repository's `models/transcriber/`.
pub fn locate_model() -> Option<PathBuf> {
    if let Some(explicit) = std::env::var_os(MODEL_ENV).filter(|v| !v.is_empty()) {
        return Some(PathBuf::from(explicit));
    }
    let mut candidates: Vec<PathBuf> = crate::model::runtime::bundled_model_roots()
        .into_iter()
        .map(|root| root.join("transcriber").join(MODEL_FILE_NAME))
        .collect();
    if cfg!(debug_assertions) {
        candidates.push(
            Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("..")
                .join("models")
                .join("transcriber")
                .join(MODEL_FILE_NAME),
        );
    }
    candidates.into_iter().find(|p| p.is_file())
}

/// Opens the shipped acoustic model (its session is shared by every instance in the process,
/// like every graph's). Worker threads only.
pub fn open() -> Result<Transcriber, ModelError> {
    let path = locate_model().ok_or_else(|| {
        ModelError::MissingFile(PathBuf::from(format!(
            "models/transcriber/{MODEL_FILE_NAME} (the audio-to-notes model; reinstall the bundle, which carries it)"
        )))
    })?;
    let env = crate::model::runtime::environment()?;
    Transcriber::open(&env, &path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start: f64, pitch: u8) -> Note {
        Note {
            start_seconds: start,
            duration_seconds: 0.25,
            pitch,
            velocity: 100,
            channel: 0,
        }
    }

    mod f_measure {
        use super::*;

        #[test]
        fn perfect_and_empty() {
            let notes = [note(0.0, 60), note(0.5, 64)];
            assert_eq!(onset_f_measure(&notes, &notes, 0.05), 1.0);
            assert_eq!(onset_f_measure(&[], &[], 0.05), 1.0);
            assert_eq!(onset_f_measure(&notes, &[], 0.05), 0.0);
        }

        #[test]
        fn tolerance_and_pitch_are_both_required() {
            let reference = [note(1.0, 60)];
            assert_eq!(onset_f_measure(&reference, &[note(1.049, 60)], 0.05), 1.0);
            assert_eq!(onset_f_measure(&reference, &[note(1.051, 60)], 0.05), 0.0);
            assert_eq!(onset_f_measure(&reference, &[note(1.0, 61)], 0.05), 0.0);
        }

        #[test]
        fn each_note_matches_once_and_the_matching_is_maximal() {
            // Two estimates near one reference: one match, precision 1/2.
            let f = onset_f_measure(&[note(1.0, 60)], &[note(1.0, 60), note(1.01, 60)], 0.05);
            assert!((f - 2.0 / 3.0).abs() < 1e-12, "{f}");
            // Closest-first pairing would take r1-e0 (20 ms) and leave r0 without a partner; the
            // largest matching pairs r0-e0 and r1-e1.
            let reference = [note(1.00, 60), note(1.06, 60)];
            let estimate = [note(1.04, 60), note(1.10, 60)];
            assert_eq!(onset_f_measure(&reference, &estimate, 0.05), 1.0);
        }
    }

    mod activations {
        use super::*;

        /// A transcription with hand-made activations: `(start, end, key, level)` rectangles
        /// of frame activation with an onset spike at each start.
        fn with_rectangles(
            num_frames: usize,
            rects: &[(usize, usize, usize, f32)],
        ) -> Transcription {
            let mut t = Transcription::new(vec![0.0; num_frames * HOP_SAMPLES]);
            for &(start, end, key, level) in rects {
                for f in start..end {
                    t.frames[f * NUM_KEYS + key] = level;
                }
                t.onsets[start * NUM_KEYS + key] = 0.9;
            }
            t.next_window = t.num_windows();
            t
        }

        #[test]
        fn rectangles_become_notes_with_their_times_and_pitches() {
            let t = with_rectangles(
                200,
                &[(10, 50, 39, 0.8), (60, 70, 43, 0.6), (100, 103, 50, 0.9)],
            );
            let notes = t.notes(&NoteSettings::default());
            // The 3-frame blip is shorter than the minimum and is dropped.
            assert_eq!(notes.len(), 2, "{notes:?}");
            assert_eq!(notes[0].pitch, LOWEST_KEY + 39);
            assert!((notes[0].start_seconds - 10.0 / FRAMES_PER_SECOND).abs() < 1e-9);
            assert!((notes[0].duration_seconds - 40.0 / FRAMES_PER_SECOND).abs() < 1e-9);
            assert_eq!(notes[0].velocity, (0.8f32 * 127.0).round() as u8);
            assert_eq!(notes[1].pitch, LOWEST_KEY + 43);
        }

        #[test]
        fn a_restruck_key_gives_two_notes_and_neighbours_are_absorbed() {
            // Key 40 struck at 10 and again at 40 while still sounding; key 41 carries leakage.
            let mut t = with_rectangles(120, &[(10, 80, 40, 0.7)]);
            t.onsets[40 * NUM_KEYS + 40] = 0.8;
            for f in 12..30 {
                t.frames[f * NUM_KEYS + 41] = 0.35;
            }
            let notes = t.notes(&NoteSettings::default());
            assert_eq!(notes.len(), 2, "{notes:?}");
            assert!(notes.iter().all(|n| n.pitch == LOWEST_KEY + 40));
            assert!((notes[0].duration_seconds - 30.0 / FRAMES_PER_SECOND).abs() < 1e-9);
        }
    }

    mod robustness {
        use super::*;
        use crate::model::sampling::Rng;

        #[test]
        fn random_activations_of_any_length_give_sane_notes() {
            let mut rng = Rng::new(42);
            for num_frames in [0usize, 1, 2, 3, 7, 64, 300] {
                let mut t = Transcription::new(vec![0.0; num_frames * HOP_SAMPLES]);
                for v in t.frames.iter_mut().chain(t.onsets.iter_mut()) {
                    *v = rng.next_f64() as f32;
                }
                t.next_window = t.num_windows();
                let settings = NoteSettings::default();
                let notes = t.notes(&settings);
                let length = num_frames as f64 / FRAMES_PER_SECOND;
                for pair in notes.windows(2) {
                    assert!(pair[0].start_seconds <= pair[1].start_seconds);
                }
                for n in &notes {
                    assert!((21..=108).contains(&n.pitch), "{n:?}");
                    assert!((1..=127).contains(&n.velocity), "{n:?}");
                    assert!(
                        n.start_seconds >= 0.0
                            && n.start_seconds + n.duration_seconds <= length + 1e-9,
                        "{n:?}"
                    );
                    assert!(
                        n.duration_seconds * FRAMES_PER_SECOND
                            > settings.min_note_frames as f64 - 1e-9,
                        "{n:?}"
                    );
                }
            }
        }
    }
}
