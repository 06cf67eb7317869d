//! The note value tables of vocabulary v2 and the bins that map numbers onto them: drum classes,
//! durations and velocities (TOKENS.md "Vocabulary").
//! Every function here is pure and allocation-free: any thread, real-time safe.

/// One drum class: its token name suffix, the GM note a decoded hit plays, and the GM notes that
/// map to it. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DrumClassInfo {
    /// Token name after `DRUM_` (`"HAT_CLOSED"`).
    pub name: &'static str,
    /// General MIDI drum note (channel 10) a decoded hit of this class plays.
    pub gm_note: i32,
    /// General MIDI drum notes the encoder maps to this class.
    pub gm_notes: &'static [i32],
}

/// The 16 drum classes in id order (`DRUM_KICK` = id 188 first). GM notes in no class are
/// dropped by normalization.
pub const DRUM_CLASSES: [DrumClassInfo; 16] = [
    drum("KICK", 36, &[35, 36]),
    drum("SNARE", 38, &[38, 40]),
    drum("RIM", 37, &[37]),
    drum("CLAP", 39, &[39]),
    drum("HAT_CLOSED", 42, &[42, 44]),
    drum("HAT_OPEN", 46, &[46]),
    drum("TOM_LOW", 45, &[41, 43, 45]),
    drum("TOM_MID", 47, &[47, 48]),
    drum("TOM_HIGH", 50, &[50]),
    drum("CRASH", 49, &[49, 52, 55, 57]),
    drum("RIDE", 51, &[51, 53, 59]),
    drum("SHAKER", 70, &[69, 70, 82]),
    drum("TAMBOURINE", 54, &[54]),
    drum("COWBELL", 56, &[56]),
    // Bongos, congas, timbales, agogo.
    drum("HAND", 63, &[60, 61, 62, 63, 64, 65, 66, 67, 68]),
    drum(
        "PERC",
        75,
        &[
            27, 28, 29, 30, 31, 32, 33, 34, 58, 71, 72, 73, 74, 75, 76, 77, 78, 79, 80, 81, 83, 84,
            85, 86, 87,
        ],
    ),
];

const fn drum(name: &'static str, gm_note: i32, gm_notes: &'static [i32]) -> DrumClassInfo {
    DrumClassInfo {
        name,
        gm_note,
        gm_notes,
    }
}

/// Duration in ticks given to every decoded drum hit (a 16th).
pub const DRUM_HIT_DURATION_TICKS: i64 = 3;

/// A drum class, by its index in [`DRUM_CLASSES`]; ordered as the ids are. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DrumClass(u8);

impl DrumClass {
    /// The class at `idx` in [`DRUM_CLASSES`], or `None` past the table. Real-time safe.
    pub fn from_idx(idx: usize) -> Option<Self> {
        (idx < DRUM_CLASSES.len()).then_some(Self(idx as u8))
    }

    /// The class a General MIDI drum note maps to, or `None` for a note in no class. Real-time
    /// safe.
    pub fn from_gm_note(gm_note: i32) -> Option<Self> {
        DRUM_CLASSES
            .iter()
            .position(|c| c.gm_notes.contains(&gm_note))
            .and_then(Self::from_idx)
    }

    /// Index in [`DRUM_CLASSES`] (0 = kick). Real-time safe.
    pub fn idx(self) -> usize {
        usize::from(self.0)
    }

    /// The GM note a decoded hit of this class plays. Real-time safe.
    pub fn gm_note(self) -> i32 {
        DRUM_CLASSES[self.idx()].gm_note
    }

    /// Token name after `DRUM_`. Real-time safe.
    pub fn name(self) -> &'static str {
        DRUM_CLASSES[self.idx()].name
    }
}

/// The durations `DUR_*` can say, in ticks, in id order.
pub const DUR_VALUES_TICKS: [i64; 26] = [
    1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 16, 18, 21, 24, 30, 36, 42, 48, 60, 72, 84, 96, 120, 144,
    192,
];

/// A duration in ticks as the `DUR` value that says it: below 1 reads as 1, 192 and longer as
/// 192, otherwise the nearest value with ties going to the shorter (7 → 6, 27 → 24). Real-time
/// safe.
pub fn quantize_duration(duration_ticks: i64) -> i64 {
    DUR_VALUES_TICKS[quantized_dur_idx(duration_ticks)]
}

/// Index in [`DUR_VALUES_TICKS`] of [`quantize_duration`]`(duration_ticks)`: the `DUR` token's
/// offset from `DUR_1`. Real-time safe.
pub fn quantized_dur_idx(duration_ticks: i64) -> usize {
    let d = duration_ticks.max(1);
    let last_idx = DUR_VALUES_TICKS.len() - 1;
    if d >= DUR_VALUES_TICKS[last_idx] {
        return last_idx;
    }
    // Values ascend, so keeping the first of equally near values picks the shorter.
    let mut best_idx = 0;
    for (idx, v) in DUR_VALUES_TICKS.iter().enumerate() {
        if (v - d).abs() < (DUR_VALUES_TICKS[best_idx] - d).abs() {
            best_idx = idx;
        }
    }
    best_idx
}

/// Index in [`DUR_VALUES_TICKS`] of an exact `DUR` value, or `None` for a duration without a
/// token (quantize it first). Real-time safe.
pub fn dur_idx(duration_ticks: i64) -> Option<usize> {
    DUR_VALUES_TICKS.iter().position(|&v| v == duration_ticks)
}

/// Velocity the decoder gives each bin (`VEL_1`..`VEL_4`), MIDI 1..127.
pub const VELOCITY_OF_BIN: [i32; 4] = [32, 56, 84, 112];
/// The bin the decoder uses before any `VEL` token in a (bar, part) block (velocity 84).
pub const DEFAULT_VELOCITY_BIN: u8 = 3;

/// The velocity bin (1..=4) of a MIDI velocity: 1–39, 40–69, 70–99, 100–127; values outside
/// 1..=127 are clamped first. Real-time safe.
pub fn velocity_bin(velocity: i32) -> u8 {
    match velocity.clamp(1, 127) {
        ..=39 => 1,
        40..=69 => 2,
        70..=99 => 3,
        _ => 4,
    }
}

/// The velocity the decoder gives bin `bin` (1..=4); other bins read as
/// [`DEFAULT_VELOCITY_BIN`]. Real-time safe.
pub fn velocity_of_bin(bin: u8) -> i32 {
    let default = VELOCITY_OF_BIN[usize::from(DEFAULT_VELOCITY_BIN) - 1];
    let idx = usize::from(bin).wrapping_sub(1);
    VELOCITY_OF_BIN.get(idx).copied().unwrap_or(default)
}

#[cfg(test)]
mod tests {
    use super::*;

    mod drum_class_from_gm_note {
        use super::*;

        #[test]
        fn every_listed_note_maps_to_its_class_and_others_to_none() {
            for (idx, class) in DRUM_CLASSES.iter().enumerate() {
                for &gm in class.gm_notes {
                    assert_eq!(DrumClass::from_gm_note(gm).map(DrumClass::idx), Some(idx));
                }
                // The decoded note is one of the class's own notes, so a decoded hit re-encodes
                // to the same class.
                assert_eq!(
                    DrumClass::from_gm_note(class.gm_note).map(DrumClass::idx),
                    Some(idx)
                );
            }
            for gm in [0, 26, 88, 90, 127, -1] {
                assert_eq!(DrumClass::from_gm_note(gm), None, "{gm}");
            }
            assert_eq!(
                DrumClass::from_gm_note(44).map(DrumClass::name),
                Some("HAT_CLOSED")
            );
            assert_eq!(
                DrumClass::from_gm_note(81).map(DrumClass::gm_note),
                Some(75)
            );
        }
    }

    mod quantize_duration {
        use super::*;

        #[test]
        fn ties_go_shorter_and_ends_clamp() {
            for (d, want) in [
                (-5, 1),
                (0, 1),
                (1, 1),
                (7, 6),
                (11, 10),
                (13, 12),
                (20, 21),
                (27, 24),
                (54, 48),
                (191, 192),
                (192, 192),
                (500, 192),
                (i64::MAX, 192),
            ] {
                assert_eq!(quantize_duration(d), want, "{d}");
            }
            for v in DUR_VALUES_TICKS {
                assert_eq!(quantize_duration(v), v);
                assert!(dur_idx(v).is_some());
            }
            assert_eq!(dur_idx(7), None);
        }
    }

    mod velocity_bin {
        use super::*;

        #[test]
        fn edges_and_decoded_values() {
            for (v, bin) in [
                (-3, 1),
                (1, 1),
                (39, 1),
                (40, 2),
                (69, 2),
                (70, 3),
                (99, 3),
                (100, 4),
                (127, 4),
                (200, 4),
            ] {
                assert_eq!(velocity_bin(v), bin, "{v}");
            }
            assert_eq!(velocity_of_bin(1), 32);
            assert_eq!(velocity_of_bin(4), 112);
            assert_eq!(velocity_of_bin(0), 84);
            assert_eq!(velocity_of_bin(9), 84);
        }
    }
}
