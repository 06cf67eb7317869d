//! TOKENS.md "Quantization from MIDI": notes in a source file's ticks onto the 12-ticks-per-
//! quarter grid, choosing per beat between the straight 16th grid and the triplet grid.

use super::notes::{Note, TICKS_PER_QUARTER};
use std::collections::BTreeMap;
use std::num::NonZeroU32;

/// A note in source MIDI ticks, relative to a bar line. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SourceNote {
    /// Note-on time, source ticks.
    pub start_ticks: i64,
    /// Note-off time, source ticks.
    pub end_ticks: i64,
    /// MIDI pitch (or GM drum note).
    pub pitch: i32,
    /// MIDI velocity.
    pub velocity: i32,
}

/// Step of the straight 16th grid, in grid ticks.
const STRAIGHT_STEP_TICKS: i128 = 3;
/// Step of the triplet grid (16th triplets, and so 8th triplets and swing), in grid ticks.
const TRIPLET_STEP_TICKS: i128 = 2;

/// `round(a / b)` for `b > 0`, halves away from zero, in integers.
fn round_div(a: i128, b: i128) -> i128 {
    if a >= 0 {
        (2 * a + b).div_euclid(2 * b)
    } else {
        -(-2 * a + b).div_euclid(2 * b)
    }
}

/// Grid ticks as an `i64`, saturating (only absurd source times reach the bounds).
fn saturate(ticks: i128) -> i64 {
    ticks.clamp(i128::from(i64::MIN), i128::from(i64::MAX)) as i64
}

/// Source notes at `ppq` ticks per quarter to grid notes, in input order. Each onset belongs to
/// the beat of its nearest grid tick; per beat, all its onsets snap to the straight 16th grid
/// (multiples of 3) unless the triplet grid (multiples of 2) has less than 3/4 of its summed
/// error. Ends snap to the nearest tick; durations are at least 1. Worker thread; allocates.
pub fn quantize_notes(notes: &[SourceNote], ppq: NonZeroU32) -> Vec<Note> {
    let ppq = i128::from(ppq.get());
    let tpq = i128::from(TICKS_PER_QUARTER);
    // Position of each onset in grid ticks times ppq: exact, so errors compare exactly.
    let scaled_start = |n: &SourceNote| i128::from(n.start_ticks) * tpq;

    let mut beats: BTreeMap<i128, Vec<usize>> = BTreeMap::new();
    for (idx, n) in notes.iter().enumerate() {
        let fine = round_div(scaled_start(n), ppq);
        beats.entry(fine.div_euclid(tpq)).or_default().push(idx);
    }

    let mut starts = vec![0i128; notes.len()];
    let snap = |idx: usize, step: i128| round_div(scaled_start(&notes[idx]), step * ppq) * step;
    let error = |indices: &[usize], step: i128| -> i128 {
        indices
            .iter()
            .map(|&idx| (scaled_start(&notes[idx]) - snap(idx, step) * ppq).abs())
            .sum()
    };
    for indices in beats.values() {
        let triplet =
            4 * error(indices, TRIPLET_STEP_TICKS) < 3 * error(indices, STRAIGHT_STEP_TICKS);
        let step = if triplet {
            TRIPLET_STEP_TICKS
        } else {
            STRAIGHT_STEP_TICKS
        };
        for &idx in indices {
            starts[idx] = snap(idx, step);
        }
    }

    notes
        .iter()
        .zip(starts)
        .map(|(n, start)| {
            let end = round_div(i128::from(n.end_ticks) * tpq, ppq);
            Note {
                start_ticks: saturate(start),
                duration_ticks: saturate((end - start).max(1)),
                pitch: n.pitch,
                velocity: n.velocity,
            }
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn src(start: i64, end: i64) -> SourceNote {
        SourceNote {
            start_ticks: start,
            end_ticks: end,
            pitch: 60,
            velocity: 80,
        }
    }

    fn ppq(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    mod round_div {
        use super::*;

        #[test]
        fn halves_away_from_zero() {
            assert_eq!(round_div(5, 2), 3);
            assert_eq!(round_div(-5, 2), -3);
            assert_eq!(round_div(4, 3), 1);
            assert_eq!(round_div(-4, 3), -1);
            assert_eq!(round_div(0, 7), 0);
        }
    }

    mod quantize_notes {
        use super::*;

        fn starts_durs(notes: &[SourceNote], q: u32) -> Vec<(i64, i64)> {
            quantize_notes(notes, ppq(q))
                .iter()
                .map(|n| (n.start_ticks, n.duration_ticks))
                .collect()
        }

        #[test]
        fn grid_is_chosen_per_beat() {
            // Beat 0: 8th triplets at ppq 96 (0, 32, 64). Beat 1: straight 16ths (96, 120, ...).
            let notes = [
                src(0, 32),
                src(32, 64),
                src(64, 96),
                src(96, 120),
                src(120, 144),
                src(144, 168),
            ];
            assert_eq!(
                starts_durs(&notes, 96),
                vec![(0, 4), (4, 4), (8, 4), (12, 3), (15, 3), (18, 3)]
            );
        }

        #[test]
        fn equal_errors_stay_straight() {
            // Source tick 1 at ppq 12 is 1 tick from both straight 0 and triplet 2:
            // 4 * 12 < 3 * 12 fails, so the straight grid wins.
            assert_eq!(starts_durs(&[src(1, 8)], 12), vec![(0, 8)]);
            // Source tick 2 is exactly on the triplet grid.
            assert_eq!(starts_durs(&[src(2, 8)], 12), vec![(2, 6)]);
        }

        #[test]
        fn negative_times_and_short_notes() {
            // An onset just before the bar line rounds to tick 0 of beat 0; a zero-length note
            // lasts one tick.
            assert_eq!(starts_durs(&[src(-1, -1)], 480), vec![(0, 1)]);
            assert_eq!(starts_durs(&[src(-40, 0)], 96), vec![(-6, 6)]);
            assert!(quantize_notes(&[], ppq(480)).is_empty());
        }

        #[test]
        fn huge_times_saturate() {
            let got = quantize_notes(&[src(i64::MAX, i64::MAX)], ppq(1));
            assert_eq!(got[0].start_ticks, i64::MAX);
            assert_eq!(got[0].duration_ticks, 1);
        }
    }
}
