//! Parts, notes and meters on the v2 grid, and TOKENS.md "Normalization" (steps 1-5), which both
//! the encoder's input and the decoder's output go through.

use super::bins::{DrumClass, DRUM_HIT_DURATION_TICKS};
use super::TokenError;
use std::cmp::Reverse;
use std::collections::BTreeMap;

/// Grid resolution: ticks per quarter note. 12 holds straight 16ths (multiples of 3), 8th
/// triplets (4), 16th triplets (2) and so swung 8ths and 16ths.
pub const TICKS_PER_QUARTER: u32 = 12;
/// Longest bar the vocabulary can address, in ticks (`POS_0`..`POS_95`: up to 8/4 or 16/8).
pub const MAX_BAR_TICKS: u32 = 96;
/// Lowest pitch with a token; lower pitches are folded up by octaves.
pub const PITCH_MIN: i32 = 21;
/// Highest pitch with a token; higher pitches are folded down by octaves.
pub const PITCH_MAX: i32 = 108;

/// The job of a part. The declaration order is the order of parts in the header and in every
/// bar, and `Ord` follows it. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    /// Unpitched: notes are General MIDI drum notes (channel 10), written as `DRUM_*` classes.
    Drums,
    /// The bass line.
    Bass,
    /// Comping chords.
    Chords,
    /// Long held chords (pads, strings, organ, choir).
    Pad,
    /// An arpeggio or other regular monophonic figure.
    Arp,
    /// The melody.
    Lead,
}

impl Role {
    /// Every role, in role order.
    pub const ALL: [Role; 6] = [
        Role::Drums,
        Role::Bass,
        Role::Chords,
        Role::Pad,
        Role::Arp,
        Role::Lead,
    ];

    /// Index in [`Role::ALL`]. Real-time safe.
    pub fn idx(self) -> usize {
        self as usize
    }

    /// The name used in `PART_<role>` tokens (`"CHORDS"`). Real-time safe.
    pub fn name(self) -> &'static str {
        match self {
            Role::Drums => "DRUMS",
            Role::Bass => "BASS",
            Role::Chords => "CHORDS",
            Role::Pad => "PAD",
            Role::Arp => "ARP",
            Role::Lead => "LEAD",
        }
    }

    /// The role called `name` (upper case, as in tokens), or [`TokenError::UnknownRole`]. Worker
    /// thread; allocates only for the error.
    pub fn from_name(name: &str) -> Result<Self, TokenError> {
        Role::ALL
            .into_iter()
            .find(|r| r.name() == name)
            .ok_or_else(|| TokenError::UnknownRole {
                name: name.to_string(),
            })
    }

    /// Whether the role's notes are pitched (every role but drums). Real-time safe.
    pub fn is_pitched(self) -> bool {
        self != Role::Drums
    }
}

/// A note on the 12-ticks-per-quarter grid, as the encoder takes it and the decoder gives it.
/// Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Note {
    /// Onset in ticks from the start of bar 0 (the prompt's first bar when encoding, the
    /// continuation's first bar when decoding one).
    pub start_ticks: i64,
    /// Length in ticks; may cross bar lines.
    pub duration_ticks: i64,
    /// MIDI pitch; for drums the General MIDI drum note.
    pub pitch: i32,
    /// MIDI velocity.
    pub velocity: i32,
}

impl Note {
    /// A note from its four numbers. Real-time safe.
    pub const fn new(start_ticks: i64, duration_ticks: i64, pitch: i32, velocity: i32) -> Self {
        Self {
            start_ticks,
            duration_ticks,
            pitch,
            velocity,
        }
    }
}

/// A piece: each role's notes. At most one part per role; iteration is in role order. Worker
/// thread.
pub type Parts = BTreeMap<Role, Vec<Note>>;

/// A time signature, an input to both the encoder and the decoder (the host knows it); the
/// `TS_*` tag is only conditioning. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TimeSig {
    /// Beats per bar.
    pub num: u32,
    /// The beat's note value (4 = quarter).
    pub den: u32,
}

impl TimeSig {
    /// 4/4, the fallback for hosts that report an unsupported meter.
    pub const FOUR_FOUR: TimeSig = TimeSig { num: 4, den: 4 };

    /// A supported time signature, or [`TokenError::UnsupportedTimeSig`]. Real-time safe.
    pub fn new(num: u32, den: u32) -> Result<Self, TokenError> {
        let ts = Self { num, den };
        ts.bar_length_ticks()?;
        Ok(ts)
    }

    /// The bar length `L = num * 48 / den` in ticks. Supported when `den` is 1, 2, 4, 8 or 16,
    /// `num >= 1`, the division is exact and `1 <= L <= 96`; anything else is
    /// [`TokenError::UnsupportedTimeSig`]. Real-time safe.
    pub fn bar_length_ticks(self) -> Result<u32, TokenError> {
        let unsupported = TokenError::UnsupportedTimeSig {
            num: self.num,
            den: self.den,
        };
        if !matches!(self.den, 1 | 2 | 4 | 8 | 16) || self.num < 1 {
            return Err(unsupported);
        }
        let ticks_per_whole = u64::from(self.num) * 4 * u64::from(TICKS_PER_QUARTER);
        let length = ticks_per_whole / u64::from(self.den);
        if ticks_per_whole % u64::from(self.den) != 0
            || !(1..=u64::from(MAX_BAR_TICKS)).contains(&length)
        {
            return Err(unsupported);
        }
        Ok(length as u32)
    }
}

/// Folds a pitch into 21..=108 by octaves. Real-time safe.
pub fn fold_pitch(pitch: i32) -> i32 {
    // Arithmetic rather than the spec's loops, so any i32 takes constant time; i64 keeps the
    // intermediate sums from overflowing.
    let p = i64::from(pitch);
    let (min, max) = (i64::from(PITCH_MIN), i64::from(PITCH_MAX));
    let folded = if p < min {
        p + 12 * (min - p + 11).div_euclid(12)
    } else if p > max {
        p - 12 * (p - max + 11).div_euclid(12)
    } else {
        p
    };
    folded as i32
}

/// TOKENS.md "Normalization" for one part:
/// 1. drops notes with a negative start, a pitch outside 0..=127 or a velocity <= 0; caps
///    velocity at 127 and raises durations below 1 to 1;
/// 2. pitched: folds pitch into 21..=108; drums: maps the GM note to its class (notes in no
///    class are dropped) and plays the class's GM note for 3 ticks;
/// 3. merges notes with the same start and pitch (drums: class): longest, loudest;
/// 4. pitched: a note still sounding when the next note of its pitch starts ends there;
/// 5. sorts by start, then pitch descending (drums: class ascending).
///
/// Worker thread; allocates.
pub fn normalize_part(role: Role, notes: &[Note]) -> Vec<Note> {
    let valid = notes
        .iter()
        .filter(|n| n.start_ticks >= 0 && (0..=127).contains(&n.pitch) && n.velocity > 0)
        .map(|n| Note {
            duration_ticks: n.duration_ticks.max(1),
            velocity: n.velocity.min(127),
            ..*n
        });
    if role.is_pitched() {
        normalize_pitched(valid)
    } else {
        normalize_drums(valid)
    }
}

fn normalize_pitched(valid: impl Iterator<Item = Note>) -> Vec<Note> {
    let mut kept: Vec<Note> = valid
        .map(|n| Note {
            pitch: fold_pitch(n.pitch),
            ..n
        })
        .collect();
    // Sorting by (pitch, start) puts equal (start, pitch) pairs side by side for the merge and
    // each pitch's notes in start order for the trim.
    kept.sort_unstable_by_key(|n| (n.pitch, n.start_ticks));
    kept.dedup_by(|later, earlier| {
        let same = later.pitch == earlier.pitch && later.start_ticks == earlier.start_ticks;
        if same {
            earlier.duration_ticks = earlier.duration_ticks.max(later.duration_ticks);
            earlier.velocity = earlier.velocity.max(later.velocity);
        }
        same
    });
    for idx in 1..kept.len() {
        let next = kept[idx];
        let note = &mut kept[idx - 1];
        if note.pitch == next.pitch
            && note.start_ticks.saturating_add(note.duration_ticks) > next.start_ticks
        {
            note.duration_ticks = next.start_ticks - note.start_ticks;
        }
    }
    kept.sort_unstable_by_key(|n| (n.start_ticks, Reverse(n.pitch)));
    kept
}

fn normalize_drums(valid: impl Iterator<Item = Note>) -> Vec<Note> {
    let mut hits: Vec<(DrumClass, Note)> = valid
        .filter_map(|n| DrumClass::from_gm_note(n.pitch).map(|class| (class, n)))
        .collect();
    hits.sort_unstable_by_key(|&(class, n)| (n.start_ticks, class));
    // Durations merge too but every hit then plays for DRUM_HIT_DURATION_TICKS, so only the
    // velocity survives.
    hits.dedup_by(|later, earlier| {
        let same = later.0 == earlier.0 && later.1.start_ticks == earlier.1.start_ticks;
        if same {
            earlier.1.velocity = earlier.1.velocity.max(later.1.velocity);
        }
        same
    });
    hits.into_iter()
        .map(|(class, n)| Note {
            start_ticks: n.start_ticks,
            duration_ticks: DRUM_HIT_DURATION_TICKS,
            pitch: class.gm_note(),
            velocity: n.velocity,
        })
        .collect()
}

/// [`normalize_part`] for every part; parts left empty are dropped. Worker thread; allocates.
pub fn normalize_piece(parts: &Parts) -> Parts {
    parts
        .iter()
        .map(|(&role, notes)| (role, normalize_part(role, notes)))
        .filter(|(_, notes)| !notes.is_empty())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start: i64, dur: i64, pitch: i32, vel: i32) -> Note {
        Note::new(start, dur, pitch, vel)
    }

    mod role_from_name {
        use super::*;

        #[test]
        fn names_round_trip_and_unknown_is_an_error() {
            for role in Role::ALL {
                assert_eq!(Role::from_name(role.name()), Ok(role));
            }
            assert_eq!(
                Role::from_name("drums"),
                Err(TokenError::UnknownRole {
                    name: "drums".into()
                })
            );
            assert!(
                Role::ALL.windows(2).all(|w| w[0] < w[1]),
                "Ord is role order"
            );
            assert!(!Role::Drums.is_pitched() && Role::Lead.is_pitched());
        }
    }

    mod bar_length_ticks {
        use super::*;

        #[test]
        fn lengths_and_rejections() {
            for (num, den, want) in [(4, 4, 48), (6, 8, 36), (7, 8, 42), (8, 4, 96), (16, 8, 96)] {
                assert_eq!(TimeSig { num, den }.bar_length_ticks(), Ok(want));
            }
            assert_eq!(TimeSig::new(1, 16).map(|t| t.bar_length_ticks()), Ok(Ok(3)));
            for (num, den) in [
                (4, 3),
                (9, 4),
                (0, 4),
                (3, 32),
                (1, 32),
                (17, 8),
                (u32::MAX, 1),
            ] {
                assert_eq!(
                    TimeSig::new(num, den),
                    Err(TokenError::UnsupportedTimeSig { num, den })
                );
            }
        }
    }

    mod fold_pitch {
        use super::*;

        #[test]
        fn folds_by_octaves() {
            for (p, want) in [(0, 24), (12, 24), (20, 32), (21, 21), (108, 108), (109, 97)] {
                assert_eq!(fold_pitch(p), want, "{p}");
            }
            assert_eq!(fold_pitch(127), 103);
            assert!((PITCH_MIN..=PITCH_MAX).contains(&fold_pitch(i32::MIN)));
            assert!((PITCH_MIN..=PITCH_MAX).contains(&fold_pitch(i32::MAX)));
        }
    }

    mod normalize_part {
        use super::*;

        #[test]
        fn pitched_drops_folds_merges_trims_and_sorts() {
            let got = normalize_part(
                Role::Lead,
                &[
                    note(-1, 4, 60, 80),
                    note(0, 4, 128, 80),
                    note(0, 4, 61, 0),
                    note(12, 0, 10, 200),
                    note(0, 6, 60, 50),
                    note(0, 12, 60, 90),
                    note(6, 12, 62, 80),
                    note(12, 12, 62, 80),
                ],
            );
            assert_eq!(
                got,
                vec![
                    note(0, 12, 60, 90),
                    note(6, 6, 62, 80),
                    note(12, 12, 62, 80),
                    note(12, 1, 22, 127),
                ]
            );
        }

        #[test]
        fn drums_map_to_classes_merge_and_sort_by_class() {
            let got = normalize_part(
                Role::Drums,
                &[
                    note(0, 1, 44, 50),
                    note(0, 1, 35, 90),
                    note(0, 9, 36, 120),
                    note(0, 1, 42, 60),
                    note(3, 1, 90, 100),
                    note(6, 1, 81, 40),
                ],
            );
            // Kick (class 0) before closed hat (class 4) although 42 > 36: class order, not
            // pitch order.
            assert_eq!(
                got,
                vec![note(0, 3, 36, 120), note(0, 3, 42, 60), note(6, 3, 75, 40)]
            );
            // A drum part sorts by class ascending: snare (1) before rim (2) though 38 > 37.
            let got = normalize_part(Role::Drums, &[note(0, 1, 37, 80), note(0, 1, 38, 80)]);
            assert_eq!(got, vec![note(0, 3, 38, 80), note(0, 3, 37, 80)]);
        }

        #[test]
        fn is_idempotent() {
            let notes = [note(0, 30, 60, 80), note(6, 6, 60, 70), note(6, 6, 64, 127)];
            let once = normalize_part(Role::Chords, &notes);
            assert_eq!(normalize_part(Role::Chords, &once), once);
            assert_eq!(once[0], note(0, 6, 60, 80));
        }
    }

    mod normalize_piece {
        use super::*;

        #[test]
        fn empty_parts_are_dropped() {
            let mut parts = Parts::new();
            parts.insert(Role::Bass, vec![note(0, 4, 40, 0)]);
            parts.insert(Role::Drums, vec![note(0, 1, 90, 100)]);
            parts.insert(Role::Lead, vec![note(0, 4, 72, 90)]);
            let got = normalize_piece(&parts);
            assert_eq!(got.keys().copied().collect::<Vec<_>>(), vec![Role::Lead]);
        }
    }
}
