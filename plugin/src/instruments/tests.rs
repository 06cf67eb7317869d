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
                    .any(|p| p.get_bank_number() == 0
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

    /// Each instrument's test pitches: middle C, and for the bass the C one and two octaves down.
    fn test_pitches(instrument: Instrument) -> &'static [u8] {
        match instrument {
            Instrument::Bass => &[36, 48],
            Instrument::Piano => &[48, 60, 72],
            _ => &[60],
        }
    }

    #[test]
    fn every_instrument_plays_middle_c_in_tune_and_audibly() {
        let rate = 44_100;
        for instrument in Instrument::ALL {
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
                let render = |start: f64| {
                    let out = font()
                        .render(
                            instrument,
                            &[note(start, 0.3, 64, 90)],
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
                Err(InstrumentError::InvalidNote { note_idx, .. }) => {
                    assert_eq!(note_idx, 1, "case {k}")
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
        let root = if instrument == Instrument::Bass {
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
        let peak = out.iter().fold(0.0f32, |m, v| m.max(v.abs()));
        (db(rms(&x[..frames_for(1.5, rate)])), peak)
    }

    #[test]
    fn instruments_are_about_equally_loud_and_do_not_clip() {
        let levels: Vec<(Instrument, f64, f32)> = Instrument::ALL
            .iter()
            .map(|&i| {
                let (level, _) = chord_rms_db(i, 100);
                let (_, peak) = chord_rms_db(i, 127);
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
