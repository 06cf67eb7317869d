//! The global tags after `BOS` (TOKENS.md "Sequence layout"): genre, time signature, tempo and
//! key, each optional, and the tables their tokens come from. Everything here is any thread and,
//! except where it says it allocates, real-time safe.

use super::attrs::set_once;
use super::notes::TimeSig;
use super::token::Token;
use super::vocab;

/// The representative tempo of each `TEMPO_*` bin (its name), in quarter notes per minute, in
/// id order.
pub const TEMPO_BIN_BPM: [u32; 10] = [60, 72, 84, 96, 108, 120, 132, 144, 160, 174];
/// Where each bin but the last ends (exclusive), in quarter notes per minute; bin `i` is
/// `[bound[i-1], bound[i])`, the first from 0 and the last to infinity.
pub const TEMPO_BIN_UPPER_BOUNDS_BPM: [f64; 9] =
    [66.0, 78.0, 90.0, 102.0, 114.0, 126.0, 138.0, 152.0, 166.0];

/// A `TEMPO_*` bin, by index in [`TEMPO_BIN_BPM`]. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct TempoBin(u8);

impl TempoBin {
    /// The bin at `idx`, or `None` past the table. Real-time safe.
    pub fn from_idx(idx: usize) -> Option<Self> {
        (idx < TEMPO_BIN_BPM.len()).then_some(Self(idx as u8))
    }

    /// The bin of a tempo in quarter notes per minute. As in tokens.py, a negative tempo reads
    /// as the slowest bin and NaN as the fastest. Real-time safe.
    pub fn from_quarters_per_minute(qpm: f64) -> Self {
        let idx = if qpm.is_nan() {
            TEMPO_BIN_BPM.len() - 1
        } else {
            TEMPO_BIN_UPPER_BOUNDS_BPM
                .iter()
                .take_while(|&&hi| qpm >= hi)
                .count()
        };
        Self(idx as u8)
    }

    /// Index in [`TEMPO_BIN_BPM`]. Real-time safe.
    pub fn idx(self) -> usize {
        usize::from(self.0)
    }

    /// The bin's representative tempo (its token name), quarter notes per minute. Real-time
    /// safe.
    pub fn bpm(self) -> u32 {
        TEMPO_BIN_BPM[self.idx()]
    }
}

/// The `GENRE_*` names after the prefix, in id order.
pub const GENRE_NAMES: [&str; 28] = [
    "POP",
    "ROCK",
    "METAL",
    "FUNK",
    "RNB",
    "DISCO",
    "JAZZ",
    "SWING",
    "BLUES",
    "RAGTIME",
    "LATIN",
    "BOSSA",
    "REGGAE",
    "COUNTRY",
    "BALLAD",
    "HOUSE",
    "TECHNO",
    "TRANCE",
    "DNB",
    "HIPHOP",
    "TRAP",
    "REGGAETON",
    "LOFI",
    "AMBIENT",
    "ELECTRONIC",
    "GAME",
    "FOLK",
    "CHORALE",
];

/// A `GENRE_*` tag, by index in [`GENRE_NAMES`]. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Genre(u8);

impl Genre {
    /// The genre at `idx`, or `None` past the table. Real-time safe.
    pub fn from_idx(idx: usize) -> Option<Self> {
        (idx < GENRE_NAMES.len()).then_some(Self(idx as u8))
    }

    /// The genre called `name` without the prefix (`"LOFI"`, case-sensitive). Real-time safe.
    pub fn from_name(name: &str) -> Option<Self> {
        GENRE_NAMES
            .iter()
            .position(|&n| n == name)
            .and_then(Self::from_idx)
    }

    /// Index in [`GENRE_NAMES`]. Real-time safe.
    pub fn idx(self) -> usize {
        usize::from(self.0)
    }

    /// Name without the prefix. Real-time safe.
    pub fn name(self) -> &'static str {
        GENRE_NAMES[self.idx()]
    }
}

/// The meters that have a `TS_<n>_<d>` tag, in id order, as `(numerator, denominator)`. Other
/// supported meters are encoded without a tag.
pub const TS_TAG_METERS: [(u32, u32); 14] = [
    (2, 4),
    (3, 4),
    (4, 4),
    (5, 4),
    (6, 4),
    (7, 4),
    (2, 2),
    (3, 2),
    (3, 8),
    (5, 8),
    (6, 8),
    (7, 8),
    (9, 8),
    (12, 8),
];

/// Pitch-class names in `KEY_*` tokens, C = 0 .. B = 11.
pub const KEY_PC_NAMES: [&str; 12] = [
    "C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B",
];

/// A key: `KEY_<pc>_<MAJOR|MINOR>`. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// Tonic pitch class, 0 = C .. 11 = B; larger values are taken modulo 12.
    pub pitch_class: u8,
    /// Minor mode rather than major.
    pub minor: bool,
}

impl Key {
    /// Offset of this key's id from `KEY_C_MAJOR`: `2 * pc + minor`. Real-time safe.
    pub fn offset(self) -> u32 {
        2 * u32::from(self.pitch_class % 12) + u32::from(self.minor)
    }

    /// The key at `offset` from `KEY_C_MAJOR` (0..24), or `None` past the table. Real-time safe.
    pub fn from_offset(offset: u32) -> Option<Self> {
        (offset < 24).then_some(Self {
            pitch_class: (offset / 2) as u8,
            minor: offset % 2 == 1,
        })
    }

    /// Pitch-class name of the tonic (`"Bb"`). Real-time safe.
    pub fn tonic_name(self) -> &'static str {
        KEY_PC_NAMES[usize::from(self.pitch_class % 12)]
    }
}

/// The global tags after `BOS`, at most one per category; `None` means "unspecified". Any
/// thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Globals {
    /// `GENRE_*`.
    pub genre: Option<Genre>,
    /// `TS_*`; a meter without a tag (such as 1/4) is left out of the encoding.
    pub time_sig: Option<TimeSig>,
    /// `TEMPO_*`.
    pub tempo: Option<TempoBin>,
    /// `KEY_*`.
    pub key: Option<Key>,
}

impl Globals {
    /// Globals from token names in any order: the first tag per category wins; names that are
    /// not global tags are skipped. Worker thread; real-time safe.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        Self::from_ids(names.into_iter().filter_map(|n| vocab::id(n.as_ref())))
    }

    /// Globals from token ids in any order: the first tag per category wins; ids that are not
    /// global tags are skipped. Worker thread; real-time safe.
    pub fn from_ids(ids: impl IntoIterator<Item = u32>) -> Self {
        let mut globals = Self::default();
        for token in ids.into_iter().filter_map(Token::from_id) {
            match token {
                Token::Genre(g) => set_once(&mut globals.genre, g),
                Token::TimeSig(ts) => set_once(&mut globals.time_sig, ts),
                Token::Tempo(t) => set_once(&mut globals.tempo, t),
                Token::Key(k) => set_once(&mut globals.key, k),
                _ => {}
            }
        }
        globals
    }

    /// The ids after `BOS`, in the order GENRE, TS, TEMPO, KEY. Worker thread; allocates.
    pub fn ids(&self) -> Vec<u32> {
        [
            self.genre.map(Token::Genre),
            self.time_sig.map(Token::TimeSig),
            self.tempo.map(Token::Tempo),
            self.key.map(Token::Key),
        ]
        .into_iter()
        .flatten()
        .filter_map(Token::id)
        .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod tempo_bin_from_quarters_per_minute {
        use super::*;

        #[test]
        fn bins_are_half_open() {
            for (qpm, want) in [
                (-1.0, 60),
                (0.0, 60),
                (65.99, 60),
                (66.0, 72),
                (120.0, 120),
                (151.9, 144),
                (152.0, 160),
                (166.0, 174),
                (1e9, 174),
                (f64::INFINITY, 174),
                (f64::NAN, 174),
            ] {
                assert_eq!(TempoBin::from_quarters_per_minute(qpm).bpm(), want, "{qpm}");
            }
        }
    }

    mod genre_from_name {
        use super::*;

        #[test]
        fn names_round_trip() {
            for idx in 0..GENRE_NAMES.len() {
                let genre = Genre::from_idx(idx).unwrap();
                assert_eq!(Genre::from_name(genre.name()), Some(genre));
            }
            assert_eq!(Genre::from_name("lofi"), None);
            assert_eq!(Genre::from_idx(GENRE_NAMES.len()), None);
        }
    }

    mod key_offset {
        use super::*;

        #[test]
        fn offset_formula_and_wrap() {
            let b_flat_minor = Key {
                pitch_class: 10,
                minor: true,
            };
            assert_eq!(b_flat_minor.offset(), 21);
            assert_eq!(b_flat_minor.tonic_name(), "Bb");
            let wrapped = Key {
                pitch_class: 14,
                minor: false,
            };
            assert_eq!(wrapped.offset(), 4);
            assert_eq!(Key::from_offset(21), Some(b_flat_minor));
            assert_eq!(Key::from_offset(24), None);
        }
    }

    mod globals_ids {
        use super::*;

        #[test]
        fn order_first_wins_and_untagged_meter_is_left_out() {
            let globals =
                Globals::from_names(["TEMPO_96", "NOPE", "GENRE_LOFI", "GENRE_TRAP", "POS_3"]);
            let names: Vec<&str> = globals.ids().into_iter().filter_map(vocab::name).collect();
            assert_eq!(names, vec!["GENRE_LOFI", "TEMPO_96"]);
            let untagged = Globals {
                time_sig: Some(TimeSig { num: 1, den: 4 }),
                ..Globals::default()
            };
            assert!(untagged.ids().is_empty());
        }
    }
}
