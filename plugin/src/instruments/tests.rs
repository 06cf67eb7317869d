//! Tests for loading and rendering, against the committed `assets/continuo-instruments.sf2`.

use super::*;
use std::sync::OnceLock;

const FONT_PATH: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../assets/continuo-instruments.sf2"
);

fn font() -> &'static Instruments {
    static FONT: OnceLock<Instruments> = OnceLock::new();
    FONT.get_or_init(|| Instruments::load(Path::new(FONT_PATH)).expect("the committed font loads"))
}

fn font_bytes() -> Vec<u8> {
    std::fs::read(FONT_PATH).expect("the committed font is readable")
}

fn note(start_seconds: f64, duration_seconds: f64, pitch: u8, velocity: u8) -> Note {
    Note {
        start_seconds,
        duration_seconds,
        pitch,
        velocity,
        channel: 0,
    }
}

fn frames_for(seconds: f64, sample_rate_hz: u32) -> usize {
    (seconds * f64::from(sample_rate_hz)).round() as usize
}

fn mono(stereo: &[f32]) -> Vec<f32> {
    stereo
        .chunks_exact(2)
        .map(|f| 0.5 * (f[0] + f[1]))
        .collect()
}

fn rms(x: &[f32]) -> f64 {
    (x.iter().map(|v| f64::from(*v) * f64::from(*v)).sum::<f64>() / x.len().max(1) as f64).sqrt()
}

fn db(x: f64) -> f64 {
    20.0 * x.max(1e-12).log10()
}

fn midi_hz(pitch: u8) -> f64 {
    440.0 * 2f64.powf((f64::from(pitch) - 69.0) / 12.0)
}

fn cents(a: f64, b: f64) -> f64 {
    1200.0 * (a / b).log2()
}

/// Fundamental frequency of a window of `x` starting at `start`, by YIN (de Cheveigné and
/// Kawahara 2002): the first lag whose cumulative-mean-normalised difference dips under 0.15,
/// refined by a parabola. Looks for 40 to 2000 Hz.
fn yin_hz(x: &[f32], start: usize, sample_rate_hz: u32) -> Option<f64> {
    let rate = f64::from(sample_rate_hz);
    let max_lag = (rate / 40.0) as usize;
    let min_lag = (rate / 2000.0) as usize;
    let window = (rate * 0.05) as usize;
    if start + window + max_lag + 2 > x.len() {
        return None;
    }
    let seg = &x[start..start + window + max_lag + 2];
    let mut d = vec![0.0f64; max_lag + 2];
    for (lag, dl) in d.iter_mut().enumerate().skip(1) {
        *dl = (0..window)
            .map(|j| {
                let e = f64::from(seg[j]) - f64::from(seg[j + lag]);
                e * e
            })
            .sum();
    }
    let mut cmnd = vec![1.0f64; max_lag + 2];
    let mut running = 0.0;
    for lag in 1..=max_lag + 1 {
        running += d[lag];
        cmnd[lag] = if running > 0.0 {
            d[lag] * lag as f64 / running
        } else {
            1.0
        };
    }
    let mut lag = min_lag.max(2);
    let found = loop {
        if lag > max_lag {
            break None;
        }
        if cmnd[lag] < 0.15 {
            while lag < max_lag && cmnd[lag + 1] < cmnd[lag] {
                lag += 1;
            }
            break Some(lag);
        }
        lag += 1;
    };
    let lag = found.unwrap_or_else(|| {
        (min_lag.max(2)..=max_lag)
            .min_by(|a, b| cmnd[*a].total_cmp(&cmnd[*b]))
            .expect("non-empty lag range")
    });
    let (a, b, c) = (cmnd[lag - 1], cmnd[lag], cmnd[lag + 1]);
    let denom = a - 2.0 * b + c;
    let shift = if denom.abs() > 1e-12 {
        0.5 * (a - c) / denom
    } else {
        0.0
    };
    Some(rate / (lag as f64 + shift.clamp(-0.5, 0.5)))
}

/// Median YIN estimate over windows 0.15 s to 0.55 s after `onset_seconds`.
fn pitch_hz(x: &[f32], onset_seconds: f64, sample_rate_hz: u32) -> f64 {
    let mut estimates: Vec<f64> = (0..9)
        .filter_map(|k| {
            let t = onset_seconds + 0.15 + 0.05 * k as f64;
            yin_hz(x, frames_for(t, sample_rate_hz), sample_rate_hz)
        })
        .collect();
    assert!(!estimates.is_empty(), "no pitch windows");
    estimates.sort_by(f64::total_cmp);
    estimates[estimates.len() / 2]
}

fn first_sound(x: &[f32]) -> Option<usize> {
    x.iter().position(|v| *v != 0.0)
}

fn peak(x: &[f32]) -> f32 {
    x.iter().fold(0.0f32, |m, v| m.max(v.abs()))
}

/// The instruments that play pitches (every one but the drum kits).
fn pitched() -> impl Iterator<Item = Instrument> {
    Instrument::ALL.into_iter().filter(|i| !i.is_drum_kit())
}

/// The drum kits.
fn kits() -> impl Iterator<Item = Instrument> {
    Instrument::ALL.into_iter().filter(|i| i.is_drum_kit())
}

/// General MIDI drum notes.
const KICK: u8 = 36;
const SNARE: u8 = 38;
const CLOSED_HAT: u8 = 42;
const OPEN_HAT: u8 = 46;
const CRASH: u8 = 49;

/// The drum notes the notes model v2 decodes (one per drum class of its tokenizer, in
/// `model::notes::tokens_v2::bins`): kick, snare, rim, clap, closed and open hi-hat, three toms,
/// crash, ride, shaker, tambourine, cowbell, hand drum, other percussion.
const DECODED_DRUM_NOTES: [u8; 16] = [
    36, 38, 37, 39, 42, 46, 45, 47, 50, 49, 51, 70, 54, 56, 63, 75,
];

/// A bar of 4/4 at 120 BPM from `start_seconds`: kick on 1 and 3, snare on 2 and 4, closed
/// hi-hat on every eighth; each hit a 16th long, as the notes tokenizer writes drum hits.
fn beat(start_seconds: f64, velocity: u8) -> Vec<Note> {
    let eighth = 0.25;
    let mut notes = Vec::new();
    for k in 0..8 {
        let t = start_seconds + k as f64 * eighth;
        notes.push(note(t, eighth / 2.0, CLOSED_HAT, velocity));
        match k {
            0 | 4 => notes.push(note(t, eighth / 2.0, KICK, velocity)),
            2 | 6 => notes.push(note(t, eighth / 2.0, SNARE, velocity)),
            _ => {}
        }
    }
    notes
}

/// Share of a signal's energy that a one-pole low-pass at `cutoff_hz` keeps: near 1 for a
/// kick's thump, small for a hi-hat's hiss.
fn low_share(x: &[f32], cutoff_hz: f64, sample_rate_hz: u32) -> f64 {
    let a = (-2.0 * std::f64::consts::PI * cutoff_hz / f64::from(sample_rate_hz)).exp();
    let mut y = 0.0f64;
    let mut low = 0.0;
    let mut total = 0.0;
    for v in x {
        let v = f64::from(*v);
        y = (1.0 - a) * v + a * y;
        low += y * y;
        total += v * v;
    }
    low / total.max(1e-30)
}

mod load {
    use super::*;

    #[test]
    fn committed_font_has_every_instrument() {
        let font = font();
        for instrument in Instrument::ALL {
            assert!(
                font.font
                    .get_presets()
                    .iter()
                    .any(|p| p.get_bank_number() == i32::from(instrument.bank())
                        && p.get_patch_number() == i32::from(instrument.program())),
                "{instrument}"
            );
        }

        assert!(font.origin().ends_with(SOUND_FONT_FILE_NAME));
    }

    #[test]
    fn missing_file_is_a_read_error() {
        let err =
            Instruments::load(Path::new("/nonexistent/continuo-instruments.sf2")).unwrap_err();
        assert!(matches!(err, InstrumentError::Read { .. }), "{err}");
        assert!(err
            .to_string()
            .contains("/nonexistent/continuo-instruments.sf2"));
    }

    #[test]
    fn truncated_or_garbage_bytes_are_errors_not_panics() {
        let bytes = font_bytes();
        let smpl_at = bytes
            .windows(4)
            .position(|w| w == b"smpl")
            .expect("smpl chunk");
        let pdta_at = bytes
            .windows(4)
            .position(|w| w == b"pdta")
            .expect("pdta list");
        let cuts = [
            0,
            4,
            11,
            12,
            100,
            smpl_at + 6,
            bytes.len() / 2,
            pdta_at + 4,
            pdta_at + 200,
            bytes.len() - 47,
            bytes.len() - 1,
        ];
        for cut in cuts {
            let result = Instruments::from_bytes(&bytes[..cut], "truncated");
            match result {
                Err(InstrumentError::Corrupt { origin, .. }) => assert_eq!(origin, "truncated"),
                other => panic!("cut at {cut}: expected Corrupt, got {other:?}"),
            }
        }
        let garbage: Vec<u8> = (0..4096u32)
            .map(|i| (i.wrapping_mul(2_654_435_761) >> 13) as u8)
            .collect();
        assert!(matches!(
            Instruments::from_bytes(&garbage, "garbage"),
            Err(InstrumentError::Corrupt { .. })
        ));
    }

    #[test]
    fn damaged_tables_are_errors_not_panics() {
        // Point every sample header past the end of the sample data: rustysynth's own check, or
        // our panic guard, must turn it into an error.
        let mut bytes = font_bytes();
        let shdr_at = bytes
            .windows(4)
            .position(|w| w == b"shdr")
            .expect("shdr chunk")
            + 8;
        for rec in bytes[shdr_at..].chunks_exact_mut(46).take(3) {
            rec[20..24].copy_from_slice(&u32::MAX.to_le_bytes());
            rec[24..28].copy_from_slice(&u32::MAX.to_le_bytes());
        }
        assert!(matches!(
            Instruments::from_bytes(&bytes, "damaged"),
            Err(InstrumentError::Corrupt { .. })
        ));
    }

    #[test]
    fn a_font_without_a_kit_is_refused() {
        // The eighth preset header is the Standard kit (bank 128); move it to bank 129.
        let mut bytes = font_bytes();
        let phdr_at = bytes
            .windows(4)
            .position(|w| w == b"phdr")
            .expect("phdr chunk")
            + 8;
        let kit_at = phdr_at + 7 * 38;
        assert_eq!(&bytes[kit_at..kit_at + 8], b"Standard");
        assert_eq!(
            u16::from_le_bytes([bytes[kit_at + 22], bytes[kit_at + 23]]),
            128
        );
        bytes[kit_at + 22] = 129;
        match Instruments::from_bytes(&bytes, "no kit") {
            Err(InstrumentError::MissingPreset {
                instrument,
                bank,
                program,
                ..
            }) => {
                assert_eq!((instrument, bank, program), (Instrument::DrumKit, 128, 0));
            }
            other => panic!("expected MissingPreset, got {other:?}"),
        }
    }

    #[test]
    fn a_font_without_a_needed_preset_is_refused() {
        // The first preset header is the piano (the script writes them in the Rust enum's
        // order); move it to bank 1 and the piano is gone.
        let mut bytes = font_bytes();
        let phdr_at = bytes
            .windows(4)
            .position(|w| w == b"phdr")
            .expect("phdr chunk")
            + 8;
        assert_eq!(
            u16::from_le_bytes([bytes[phdr_at + 20], bytes[phdr_at + 21]]),
            0
        );
        bytes[phdr_at + 22] = 1;
        match Instruments::from_bytes(&bytes, "no piano") {
            Err(InstrumentError::MissingPreset {
                instrument,
                program,
                ..
            }) => {
                assert_eq!((instrument, program), (Instrument::Piano, 0));
            }
            other => panic!("expected MissingPreset, got {other:?}"),
        }
    }

    #[test]
    fn instruments_are_shareable_between_threads() {
        fn assert_send_sync<T: Send + Sync>() {}
        assert_send_sync::<Instruments>();
    }
}

mod render {
    use super::*;

    /// Each instrument's test pitches: middle C, and for the basses the C one and two octaves
    /// down.
    fn test_pitches(instrument: Instrument) -> &'static [u8] {
        match instrument {
            Instrument::Bass | Instrument::SynthBass => &[36, 48],
            Instrument::Piano => &[48, 60, 72],
            Instrument::SynthLead => &[60, 72],
            _ => &[60],
        }
    }

    #[test]
    fn every_instrument_plays_middle_c_in_tune_and_audibly() {
        let rate = 44_100;
        for instrument in pitched() {
            for &pitch in test_pitches(instrument) {
                let out = font()
                    .render(
                        instrument,
                        &[note(0.1, 1.2, pitch, 100)],
                        rate,
                        frames_for(1.6, rate),
                    )
                    .unwrap();
                assert_eq!(out.len(), 2 * frames_for(1.6, rate));
                assert!(out.iter().all(|v| v.is_finite()), "{instrument}");
                let x = mono(&out);
                let held = &x[frames_for(0.2, rate)..frames_for(1.2, rate)];
                let level_db = db(rms(held));
                assert!(
                    level_db > -40.0,
                    "{instrument} pitch {pitch}: {level_db:.1} dB RMS"
                );
                let hz = pitch_hz(&x, 0.1, rate);
                let off = cents(hz, midi_hz(pitch));
                assert!(
                    off.abs() < 25.0,
                    "{instrument} pitch {pitch}: heard {hz:.1} Hz, expected {:.1} Hz ({off:+.0} cents)",
                    midi_hz(pitch)
                );
            }
        }
    }

    #[test]
    fn silence_until_the_note_starts() {
        for rate in [22_050, 48_000] {
            for instrument in Instrument::ALL {
                let pitch = if instrument.is_drum_kit() { SNARE } else { 64 };
                let render = |start: f64| {
                    let out = font()
                        .render(
                            instrument,
                            &[note(start, 0.3, pitch, 90)],
                            rate,
                            frames_for(0.8, rate),
                        )
                        .unwrap();
                    mono(&out)
                };
                // Where the instrument's own sound begins after a note-on: the first sample
                // points, or (for the pad's half-second attack) the envelope's first audible
                // block.
                let lead = first_sound(&render(0.0)).expect("the note sounds");
                if instrument != Instrument::Pad {
                    assert!(
                        lead <= frames_for(0.0005, rate),
                        "{instrument} at {rate} Hz: sound begins {lead} frames after its note-on"
                    );
                }
                // 0.3001 s is not on the 8-frame event grid at either rate.
                let start = 0.3001;
                let x = render(start);
                let start_frame = frames_for(start, rate);
                let first = first_sound(&x).expect("the note sounds");
                assert!(
                    (first - lead).abs_diff(start_frame) <= EVENT_GRID_FRAMES / 2,
                    "{instrument} at {rate} Hz: first sound at frame {first} ({lead} after its note-on), note at {start_frame}"
                );
            }
        }
    }

    #[test]
    fn later_notes_start_at_their_own_frames() {
        let rate = 48_000;
        let starts = [0.05, 0.41, 0.777];
        for (k, &start) in starts.iter().enumerate() {
            let out = font()
                .render(
                    Instrument::Pluck,
                    &[note(start, 0.1, 60 + k as u8, 100)],
                    rate,
                    frames_for(1.0, rate),
                )
                .unwrap();
            let first = first_sound(&mono(&out)).expect("sounds");
            let start_frame = frames_for(start, rate);
            assert!(
                first.abs_diff(start_frame) <= EVENT_GRID_FRAMES / 2 + 2,
                "{first} vs {start_frame}"
            );
        }
    }

    #[test]
    fn same_seconds_at_every_rate() {
        // Onset, pitch, level and the end of the release must not depend on the rate.
        let notes = [note(0.25, 0.5, 60, 100)];
        let mut seen = Vec::new();
        for rate in [44_100, 48_000, 96_000] {
            let num_frames = frames_for(2.0, rate);
            let out = font()
                .render(Instrument::Piano, &notes, rate, num_frames)
                .unwrap();
            assert_eq!(out.len(), 2 * num_frames, "{rate} Hz");
            let x = mono(&out);
            let onset = first_sound(&x).unwrap() as f64 / f64::from(rate);
            let hz = pitch_hz(&x, 0.25, rate);
            let level = db(rms(&x[frames_for(0.3, rate)..frames_for(0.7, rate)]));
            // The end of the release: the last 10 ms window above -50 dB of the loudest one.
            let win = frames_for(0.01, rate);
            let levels: Vec<f64> = x.chunks(win).map(rms).collect();
            let loudest = levels.iter().cloned().fold(0.0, f64::max);
            let last = levels
                .iter()
                .rposition(|l| db(*l) > db(loudest) - 50.0)
                .unwrap();
            let release_end = (last + 1) as f64 * 0.01;
            seen.push((rate, onset, hz, level, release_end));
        }
        let (_, onset0, hz0, level0, end0) = seen[0];
        for &(rate, onset, hz, level, end) in &seen[1..] {
            assert!(
                (onset - onset0).abs() < 0.0002,
                "{rate} Hz: onset {onset} vs {onset0}"
            );
            assert!(cents(hz, hz0).abs() < 5.0, "{rate} Hz: pitch {hz} vs {hz0}");
            assert!(
                (level - level0).abs() < 1.0,
                "{rate} Hz: level {level:.2} vs {level0:.2} dB"
            );
            assert!(
                (end - end0).abs() <= 0.03,
                "{rate} Hz: release ends {end} vs {end0}"
            );
        }
    }

    #[test]
    fn deterministic() {
        let notes = [
            note(0.0, 0.4, 60, 100),
            note(0.2, 0.5, 64, 80),
            note(0.45, 0.3, 67, 120),
        ];
        let a = font()
            .render(Instrument::Pad, &notes, 48_000, 48_000)
            .unwrap();
        let b = font()
            .render(Instrument::Pad, &notes, 48_000, 48_000)
            .unwrap();
        let fresh = Instruments::from_bytes(&font_bytes(), "again").unwrap();
        let c = fresh
            .render(Instrument::Pad, &notes, 48_000, 48_000)
            .unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(bits(&a), bits(&c));
        assert!(rms(&a) > 0.0);
    }

    #[test]
    fn releases_ring_and_held_notes_are_cut_at_the_end() {
        let rate = 44_100;
        // Released at 0.3 s: the piano's release still sounds a little later.
        let out = font()
            .render(
                Instrument::Piano,
                &[note(0.0, 0.3, 60, 100)],
                rate,
                frames_for(0.6, rate),
            )
            .unwrap();
        let x = mono(&out);
        assert!(rms(&x[frames_for(0.32, rate)..frames_for(0.36, rate)]) > 1e-4);
        // Held past the end: still loud in the last frames.
        let out = font()
            .render(
                Instrument::Strings,
                &[note(0.0, 5.0, 60, 100)],
                rate,
                frames_for(1.0, rate),
            )
            .unwrap();
        let x = mono(&out);
        assert!(db(rms(&x[x.len() - 441..])) > -40.0);
    }

    #[test]
    fn overlapping_same_pitch_notes_restrike_like_trimmed_ones() {
        let overlapping = [note(0.0, 1.0, 60, 100), note(0.5, 0.2, 60, 90)];
        let trimmed = [note(0.0, 0.5, 60, 100), note(0.5, 0.2, 60, 90)];
        let a = font()
            .render(Instrument::Pluck, &overlapping, 44_100, 66_150)
            .unwrap();
        let b = font()
            .render(Instrument::Pluck, &trimmed, 44_100, 66_150)
            .unwrap();
        assert_eq!(a, b);
    }

    #[test]
    fn silent_and_out_of_range_notes_play_nothing() {
        let notes = [note(0.1, 0.5, 60, 0), note(2.0, 0.5, 60, 100)];
        let out = font()
            .render(Instrument::Piano, &notes, 44_100, 44_100)
            .unwrap();
        assert!(out.iter().all(|v| *v == 0.0));
        let empty = font().render(Instrument::Piano, &[], 44_100, 0).unwrap();
        assert!(empty.is_empty());
    }

    #[test]
    fn a_note_held_over_the_start_starts_at_frame_zero() {
        let held = [note(-0.5, 1.0, 60, 100)];
        let out = font()
            .render(Instrument::Piano, &held, 44_100, 22_050)
            .unwrap();
        assert!(first_sound(&mono(&out)).unwrap() < EVENT_GRID_FRAMES);
        let ended = [note(-0.5, 0.5, 60, 100)];
        let out = font()
            .render(Instrument::Piano, &ended, 44_100, 22_050)
            .unwrap();
        assert!(out.iter().all(|v| *v == 0.0));
    }

    #[test]
    fn bad_requests_are_errors() {
        let ok = [note(0.0, 0.1, 60, 100)];
        for rate in [0, 8_000, 15_999, 192_001] {
            assert!(matches!(
                font().render(Instrument::Piano, &ok, rate, 100),
                Err(InstrumentError::UnsupportedSampleRate { .. })
            ));
        }
        assert!(matches!(
            font().render(
                Instrument::Piano,
                &ok,
                48_000,
                48_000 * (MAX_RENDER_SECONDS as usize + 1)
            ),
            Err(InstrumentError::TooLong { .. })
        ));
        let bad = [
            note(f64::NAN, 0.1, 60, 100),
            note(0.0, f64::INFINITY, 60, 100),
            note(0.0, 0.1, 128, 100),
            note(0.0, 0.1, 60, 128),
        ];
        for (k, b) in bad.iter().enumerate() {
            match font().render(Instrument::Piano, &[ok[0], *b], 48_000, 1000) {
                Err(InstrumentError::InvalidNote {
                    part_idx, note_idx, ..
                }) => {
                    assert_eq!((part_idx, note_idx), (0, 1), "case {k}")
                }
                other => panic!("case {k}: expected InvalidNote, got {other:?}"),
            }
        }
    }
}

mod level {
    use super::*;

    fn chord_rms_db(instrument: Instrument, velocity: u8) -> (f64, f32) {
        let rate = 44_100;
        let root = if matches!(instrument, Instrument::Bass | Instrument::SynthBass) {
            36
        } else {
            60
        };
        let notes: Vec<Note> = [0u8, 4, 7, 12]
            .iter()
            .map(|i| note(0.0, 1.5, root + i, velocity))
            .collect();
        let out = font()
            .render(instrument, &notes, rate, frames_for(2.0, rate))
            .unwrap();
        let x = mono(&out);
        (db(rms(&x[..frames_for(1.5, rate)])), peak(&out))
    }

    /// A kit's level: a bar of `beat`, RMS over the bar.
    fn beat_rms_db(kit: Instrument, velocity: u8) -> (f64, f32) {
        let rate = 44_100;
        let out = font()
            .render(kit, &beat(0.0, velocity), rate, frames_for(2.0, rate))
            .unwrap();
        (db(rms(&mono(&out))), peak(&out))
    }

    #[test]
    fn instruments_are_about_equally_loud_and_do_not_clip() {
        let measure = |i: Instrument, velocity| {
            if i.is_drum_kit() {
                beat_rms_db(i, velocity)
            } else {
                chord_rms_db(i, velocity)
            }
        };
        let levels: Vec<(Instrument, f64, f32)> = Instrument::ALL
            .iter()
            .map(|&i| {
                let (level, _) = measure(i, 100);
                let (_, peak) = measure(i, 127);
                (i, level, peak)
            })
            .collect();
        let mean = levels.iter().map(|l| l.1).sum::<f64>() / levels.len() as f64;
        for (instrument, level, peak) in &levels {
            assert!(
                (level - mean).abs() < 3.0,
                "{instrument}: {level:.1} dB vs mean {mean:.1} dB ({levels:?})"
            );
            assert!(
                *peak < 1.0,
                "{instrument}: peak {peak} at velocity 127 ({levels:?})"
            );
        }
    }
}

mod drums {
    use super::*;

    #[test]
    fn every_decoded_drum_note_sounds_on_both_kits() {
        let rate = 44_100;
        for kit in kits() {
            for pitch in DECODED_DRUM_NOTES {
                let out = font()
                    .render(
                        kit,
                        &[note(0.0, 0.125, pitch, 100)],
                        rate,
                        frames_for(0.5, rate),
                    )
                    .unwrap();
                assert!(out.iter().all(|v| v.is_finite()), "{kit} note {pitch}");
                let level_db = db(rms(&mono(&out)));
                // Short, quiet hits (the 808's maracas) sit near -46 dB over the window.
                assert!(level_db > -55.0, "{kit} note {pitch}: {level_db:.1} dB RMS");
            }
        }
    }

    #[test]
    fn a_kick_is_low_and_a_closed_hat_is_high() {
        let rate = 44_100;
        for kit in kits() {
            let hit = |pitch| {
                let out = font()
                    .render(
                        kit,
                        &[note(0.0, 0.125, pitch, 100)],
                        rate,
                        frames_for(0.5, rate),
                    )
                    .unwrap();
                low_share(&mono(&out), 500.0, rate)
            };
            let kick = hit(KICK);
            let hat = hit(CLOSED_HAT);
            assert!(kick > 0.7, "{kit}: kick keeps {kick:.3} below 500 Hz");
            assert!(hat < 0.05, "{kit}: closed hat keeps {hat:.3} below 500 Hz");
        }
    }

    #[test]
    fn hits_ring_out_whatever_their_duration() {
        let rate = 48_000;
        for kit in kits() {
            for pitch in [KICK, SNARE, CRASH] {
                let render = |duration: f64| {
                    font()
                        .render(
                            kit,
                            &[note(0.1, duration, pitch, 100)],
                            rate,
                            frames_for(1.5, rate),
                        )
                        .unwrap()
                };
                let short = render(0.01);
                assert_eq!(short, render(0.125), "{kit} note {pitch}");
                assert_eq!(short, render(5.0), "{kit} note {pitch}");
            }
            // A crash still rings a second after its 16th-note "end".
            let out = font()
                .render(
                    kit,
                    &[note(0.0, 0.125, CRASH, 100)],
                    rate,
                    frames_for(1.5, rate),
                )
                .unwrap();
            let x = mono(&out);
            let tail_db = db(rms(&x[frames_for(1.2, rate)..]));
            assert!(tail_db > -50.0, "{kit}: crash tail at {tail_db:.1} dB");
        }
    }

    #[test]
    fn repeated_hits_of_one_drum_overlap() {
        // A second kick does not cut the first: the two sound together, so the band is the
        // first alone plus the second alone.
        let rate = 44_100;
        let num_frames = frames_for(1.0, rate);
        for kit in kits() {
            let first = font()
                .render(kit, &[note(0.0, 0.125, KICK, 100)], rate, num_frames)
                .unwrap();
            let second = font()
                .render(kit, &[note(0.125, 0.125, KICK, 100)], rate, num_frames)
                .unwrap();
            let both = font()
                .render(
                    kit,
                    &[note(0.0, 0.125, KICK, 100), note(0.125, 0.125, KICK, 100)],
                    rate,
                    num_frames,
                )
                .unwrap();
            let sum: Vec<f32> = first.iter().zip(&second).map(|(a, b)| a + b).collect();
            let err = both
                .iter()
                .zip(&sum)
                .fold(0.0f32, |m, (a, b)| m.max((a - b).abs()));
            assert!(
                err <= 1e-3 * peak(&sum),
                "{kit}: {err} vs peak {}",
                peak(&sum)
            );
        }
    }

    #[test]
    fn a_closed_hat_chokes_the_open_hat_in_the_standard_kit() {
        let rate = 44_100;
        let num_frames = frames_for(1.5, rate);
        let open = font()
            .render(
                Instrument::DrumKit,
                &[note(0.0, 0.125, OPEN_HAT, 100)],
                rate,
                num_frames,
            )
            .unwrap();
        let choked = font()
            .render(
                Instrument::DrumKit,
                &[
                    note(0.0, 0.125, OPEN_HAT, 100),
                    note(0.5, 0.125, CLOSED_HAT, 100),
                ],
                rate,
                num_frames,
            )
            .unwrap();
        let after = |x: &[f32]| db(rms(&mono(x)[frames_for(1.0, rate)..]));
        assert!(
            after(&choked) < after(&open) - 10.0,
            "open hat alone {:.1} dB, choked {:.1} dB",
            after(&open),
            after(&choked)
        );
    }

    #[test]
    fn the_808_kit_differs_from_the_acoustic_kit() {
        let rate = 44_100;
        let num_frames = frames_for(2.0, rate);
        let acoustic = font()
            .render(Instrument::DrumKit, &beat(0.0, 100), rate, num_frames)
            .unwrap();
        let electronic = font()
            .render(
                Instrument::ElectronicDrums,
                &beat(0.0, 100),
                rate,
                num_frames,
            )
            .unwrap();
        let diff: Vec<f32> = acoustic
            .iter()
            .zip(&electronic)
            .map(|(a, b)| a - b)
            .collect();
        assert!(
            rms(&diff) > 0.5 * rms(&acoustic).max(rms(&electronic)),
            "difference {:.4} vs {:.4} and {:.4}",
            rms(&diff),
            rms(&acoustic),
            rms(&electronic)
        );
    }

    #[test]
    fn a_hit_before_the_start_is_not_replayed() {
        let out = font()
            .render(
                Instrument::DrumKit,
                &[note(-0.05, 0.125, SNARE, 100)],
                44_100,
                22_050,
            )
            .unwrap();
        assert!(out.iter().all(|v| *v == 0.0));
    }
}

mod band {
    use super::*;

    fn part(instrument: Instrument, notes: &[Note]) -> BandPart<'_> {
        BandPart { instrument, notes }
    }

    /// Checks that a band holds each of its parts: it is close to the sum of the parts rendered
    /// alone, each turned down by the band's headroom (10 log10 of its number of parts). Not
    /// equal: the parts share one reverb, and rustysynth's reverb is not linear (it drops a
    /// voice's send below a fixed gain, and flushes tiny values), so the band's reverb differs a
    /// little from the sum of the parts' own. With the reverb off the two agree to about 0.1 %
    /// of the peak.
    fn assert_band_holds_its_parts(parts: &[BandPart<'_>], rate: u32, num_frames: usize) {
        let band = font().render_band(parts, rate, num_frames).unwrap();
        let headroom = 10f32.powf(-10.0 * (parts.len() as f32).log10() / 20.0);
        let alone: Vec<Vec<f32>> = parts
            .iter()
            .map(|p| {
                let out = font()
                    .render(p.instrument, p.notes, rate, num_frames)
                    .unwrap();
                out.iter().map(|v| headroom * v).collect()
            })
            .collect();
        let mut sum = vec![0.0f32; 2 * num_frames];
        for a in &alone {
            for (s, v) in sum.iter_mut().zip(a) {
                *s += v;
            }
        }
        let residual: Vec<f32> = band.iter().zip(&sum).map(|(b, s)| b - s).collect();
        let residual_db = db(rms(&residual));
        assert!(
            residual_db < db(rms(&sum)) - 20.0,
            "band differs from its parts by {residual_db:.1} dB RMS, the parts sum to {:.1} dB",
            db(rms(&sum))
        );
        assert!(
            (db(rms(&band)) - db(rms(&sum))).abs() < 0.5,
            "band at {:.2} dB, its parts at {:.2} dB",
            db(rms(&band)),
            db(rms(&sum))
        );
        // Every part is there: each is far louder than what the band and the sum disagree on.
        for (p, a) in parts.iter().zip(&alone) {
            assert!(
                db(rms(a)) > residual_db + 10.0,
                "{}: {:.1} dB, residual {residual_db:.1} dB",
                p.instrument,
                db(rms(a))
            );
        }
    }

    #[test]
    fn a_band_of_one_part_is_a_render() {
        let pad = [note(0.0, 0.6, 60, 100), note(0.3, 0.5, 64, 90)];
        let drums = beat(0.0, 100);
        for (instrument, notes) in [
            (Instrument::Pad, &pad[..]),
            (Instrument::SynthLead, &pad[..]),
            (Instrument::ElectronicDrums, &drums[..]),
        ] {
            let single = font().render(instrument, notes, 44_100, 44_100).unwrap();
            let band = font()
                .render_band(&[part(instrument, notes)], 44_100, 44_100)
                .unwrap();
            assert_eq!(single, band, "{instrument}");
        }
    }

    #[test]
    fn two_parts_play_as_each_alone() {
        // The same pitch in both parts, overlapping: each part has its own channel, so the
        // piano's short note neither re-strikes nor ends the strings' long one.
        let strings = [note(0.0, 1.0, 60, 100)];
        let piano = [note(0.4, 0.1, 60, 110), note(0.6, 0.3, 67, 90)];
        assert_band_holds_its_parts(
            &[
                part(Instrument::Strings, &strings),
                part(Instrument::Piano, &piano),
            ],
            44_100,
            frames_for(1.5, 44_100),
        );
    }

    #[test]
    fn drums_and_bass_play_as_each_alone() {
        let drums = beat(0.0, 100);
        let bass = [note(0.0, 0.45, 36, 100), note(0.5, 0.45, 43, 100)];
        assert_band_holds_its_parts(
            &[
                part(Instrument::SynthBass, &bass),
                part(Instrument::DrumKit, &drums),
            ],
            48_000,
            frames_for(2.0, 48_000),
        );
    }

    #[test]
    fn two_kits_in_one_band_both_play() {
        // The second kit cannot have the percussion channel; it plays on a melodic one.
        let drums = beat(0.0, 100);
        assert_band_holds_its_parts(
            &[
                part(Instrument::DrumKit, &drums),
                part(Instrument::ElectronicDrums, &drums),
            ],
            44_100,
            frames_for(2.0, 44_100),
        );
    }

    /// Four bars of a six-part band at 120 BPM, every note at `velocity`: the roles of the notes
    /// model v2 (DRUMS, BASS, CHORDS, PAD, ARP, LEAD).
    fn six_parts(velocity: u8) -> Vec<(Instrument, Vec<Note>)> {
        let bar = 2.0;
        let mut drums = Vec::new();
        let mut bass = Vec::new();
        let mut chords = Vec::new();
        let mut pad = Vec::new();
        let mut arp = Vec::new();
        let mut lead = Vec::new();
        // i - vi - iv - v in A minor: roots A, F, D, E.
        let roots = [45u8, 41, 38, 40];
        for (b, &root) in roots.iter().enumerate() {
            let t = b as f64 * bar;
            drums.extend(beat(t, velocity));
            if b == 0 {
                drums.push(note(t, 0.125, CRASH, velocity));
            }
            for k in 0..4 {
                bass.push(note(t + k as f64 * 0.5, 0.45, root - 12, velocity));
            }
            for i in [12u8, 15, 19] {
                chords.push(note(t, 0.9, root + i, velocity));
                chords.push(note(t + 1.0, 0.9, root + i, velocity));
                pad.push(note(t, bar, root + i + 12, velocity));
            }
            for k in 0..16 {
                let i = [12u8, 15, 19, 24][k % 4];
                arp.push(note(t + k as f64 * 0.125, 0.1, root + i + 12, velocity));
            }
            for k in 0..4 {
                lead.push(note(
                    t + k as f64 * 0.5,
                    0.4,
                    root + 24 + [0u8, 3, 7, 5][k],
                    velocity,
                ));
            }
        }
        vec![
            (Instrument::ElectronicDrums, drums),
            (Instrument::SynthBass, bass),
            (Instrument::ElectricPiano, chords),
            (Instrument::Pad, pad),
            (Instrument::Pluck, arp),
            (Instrument::SynthLead, lead),
        ]
    }

    fn render_parts(parts: &[(Instrument, Vec<Note>)], rate: u32) -> Vec<f32> {
        let band: Vec<BandPart<'_>> = parts.iter().map(|(i, n)| part(*i, n)).collect();
        font()
            .render_band(&band, rate, frames_for(9.0, rate))
            .unwrap()
    }

    #[test]
    fn a_band_does_not_clip() {
        let rate = 44_100;
        for velocity in [100, 127] {
            let all = six_parts(velocity);
            // Drums, bass, chords and lead: the usual four; then all six.
            let four: Vec<_> = all
                .iter()
                .filter(|(i, _)| !matches!(i, Instrument::Pad | Instrument::Pluck))
                .cloned()
                .collect();
            for parts in [&four, &all] {
                let out = render_parts(parts, rate);
                assert!(out.iter().all(|v| v.is_finite()));
                let p = peak(&out);
                assert!(
                    p < 1.0,
                    "{} parts at velocity {velocity}: peak {p}",
                    parts.len()
                );
                let level_db = db(rms(&mono(&out)));
                assert!(
                    level_db > -30.0,
                    "{} parts at velocity {velocity}: {level_db:.1} dB RMS",
                    parts.len()
                );
            }
        }
    }

    #[test]
    fn deterministic() {
        let parts = six_parts(100);
        let a = render_parts(&parts, 48_000);
        let b = render_parts(&parts, 48_000);
        let fresh = Instruments::from_bytes(&font_bytes(), "again").unwrap();
        let band: Vec<BandPart<'_>> = parts.iter().map(|(i, n)| part(*i, n)).collect();
        let c = fresh
            .render_band(&band, 48_000, frames_for(9.0, 48_000))
            .unwrap();
        let bits = |v: &[f32]| v.iter().map(|x| x.to_bits()).collect::<Vec<_>>();
        assert_eq!(bits(&a), bits(&b));
        assert_eq!(bits(&a), bits(&c));
        assert!(rms(&a) > 0.0);
    }

    #[test]
    fn bad_bands_are_errors() {
        let ok = [note(0.0, 0.1, 60, 100)];
        let bad = [note(0.0, 0.1, 60, 100), note(0.1, 0.1, 200, 100)];
        match font().render_band(
            &[part(Instrument::Piano, &ok), part(Instrument::Bass, &bad)],
            44_100,
            1000,
        ) {
            Err(InstrumentError::InvalidNote {
                part_idx,
                instrument,
                note_idx,
                ..
            }) => assert_eq!((part_idx, instrument, note_idx), (1, Instrument::Bass, 1)),
            other => panic!("expected InvalidNote, got {other:?}"),
        }
        let many: Vec<BandPart<'_>> = (0..MAX_BAND_PARTS)
            .map(|_| part(Instrument::Piano, &ok))
            .collect();
        assert!(matches!(
            font().render_band(&many, 44_100, 1000),
            Err(InstrumentError::TooManyParts { num_parts }) if num_parts == MAX_BAND_PARTS
        ));
        assert!(font()
            .render_band(&many[..MAX_BAND_PARTS - 1], 44_100, 1000)
            .is_ok());
        // The percussion channel takes a kit, so with one the band may have one part more.
        let drums = [note(0.0, 0.1, KICK, 100)];
        let mut with_kit = many[..MAX_BAND_PARTS - 1].to_vec();
        with_kit.push(part(Instrument::DrumKit, &drums));
        assert!(font().render_band(&with_kit, 44_100, 1000).is_ok());
        with_kit.push(part(Instrument::ElectronicDrums, &drums));
        assert!(matches!(
            font().render_band(&with_kit, 44_100, 1000),
            Err(InstrumentError::TooManyParts { num_parts }) if num_parts == MAX_BAND_PARTS + 1
        ));
        let empty = font().render_band(&[], 44_100, 100).unwrap();
        assert_eq!(empty, vec![0.0; 200]);
    }
}
