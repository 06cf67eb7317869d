//! The `notes` tokenizer, vocabulary v1: notes on a 1/16-note grid to bar-aware event ids and back.
//!
//! `models/notes/TOKENS.md` is normative and `models/notes/tokens.py` is the reference; both this
//! module and the reference pass `tests/fixtures/tokens/vectors.json`. Everything here runs on the
//! worker thread, never the audio thread. Only [`TokenDecoder::feed`] and the small id helpers
//! are free of allocation.
//!
//! A sequence reads `BOS [tags] BAR <bar 0> BAR <bar 1> ... EOS`; inside a bar each note is
//! `[POS_p] [VEL_v] PITCH_x DUR_d`, where `POS` and `VEL` are written only when they change within
//! the bar, so every bar depends only on its own notes.

use serde::Deserialize;
use std::cmp::Reverse;
use thiserror::Error;

/// Version of the vocabulary this module hard-codes; a model's `vocab.json` must carry it.
pub const VOCAB_VERSION: u32 = 1;
/// Number of token ids in vocabulary v1 (ids `0..VOCAB_SIZE`).
pub const VOCAB_SIZE: usize = 222;

/// Padding; the encoder never produces it and the decoder ignores it.
pub const PAD: u32 = 0;
/// Sequence start.
pub const BOS: u32 = 1;
/// Sequence end; the decoder ignores everything after it.
pub const EOS: u32 = 2;
/// A new bar starts.
pub const BAR: u32 = 3;

/// Longest bar the vocabulary can address, in 16ths (there are `POS_0`..`POS_31`).
pub const MAX_BAR_16THS: u32 = 32;
/// Lowest pitch with a token; lower pitches are folded up by octaves.
pub const PITCH_MIN: i32 = 21;
/// Highest pitch with a token; higher pitches are folded down by octaves.
pub const PITCH_MAX: i32 = 108;
/// The durations `DUR_*` can say, in 16ths, in id order.
pub const DUR_VALUES_16THS: [i64; 24] = [
    1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 20, 24, 28, 32, 40, 48, 56, 64,
];
/// Velocity the decoder gives each bin (`VEL_1`..`VEL_4`), MIDI 1..127.
pub const VELOCITY_OF_BIN: [i32; 4] = [32, 56, 84, 112];
/// The bin the decoder uses before any `VEL` token (decoded velocity 84).
pub const DEFAULT_VELOCITY_BIN: u8 = 3;

/// First `POS_*` id (`POS_0`).
pub const POS_BASE: u32 = 4;
/// First `PITCH_*` id (`PITCH_21`).
pub const PITCH_BASE: u32 = POS_BASE + MAX_BAR_16THS;
/// First `DUR_*` id (`DUR_1`).
pub const DUR_BASE: u32 = PITCH_BASE + (PITCH_MAX - PITCH_MIN + 1) as u32;
/// First `VEL_*` id (`VEL_1`).
pub const VEL_BASE: u32 = DUR_BASE + DUR_VALUES_16THS.len() as u32;
/// First tag id: every id from here to `VOCAB_SIZE` is a tag.
pub const TAG_BASE: u32 = VEL_BASE + VELOCITY_OF_BIN.len() as u32;
/// First `STYLE_*` id.
pub const STYLE_BASE: u32 = TAG_BASE;
/// First `INST_*` id.
pub const INST_BASE: u32 = STYLE_BASE + 9;
/// First `VOICES_*` id.
pub const VOICES_BASE: u32 = INST_BASE + 3;
/// First `DENSITY_*` id.
pub const DENSITY_BASE: u32 = VOICES_BASE + 4;
/// First `REGISTER_*` id.
pub const REGISTER_BASE: u32 = DENSITY_BASE + 3;
/// First `KEY_*` id (`KEY_C_MAJOR`); `id = KEY_BASE + 2 * pc + minor`.
pub const KEY_BASE: u32 = REGISTER_BASE + 3;
/// First `TS_*` id; the meters are [`TS_TAG_METERS`] in order.
pub const TS_BASE: u32 = KEY_BASE + 24;
/// First `TEMPO_*` id.
pub const TEMPO_BASE: u32 = TS_BASE + TS_TAG_METERS.len() as u32;

/// The meters that have a `TS_<n>_<d>` tag, in id order, as `(numerator, denominator)`.
pub const TS_TAG_METERS: [(u32, u32); 16] = [
    (2, 4),
    (3, 4),
    (4, 4),
    (5, 4),
    (6, 4),
    (7, 4),
    (8, 4),
    (2, 2),
    (3, 2),
    (4, 2),
    (3, 8),
    (5, 8),
    (6, 8),
    (7, 8),
    (9, 8),
    (12, 8),
];

/// Most bars one encoding may hold. A bar is at least one token, so this is far beyond any
/// model's context (768 tokens for the shipped model); it only stops a stray far-future note from
/// making the encoder allocate gigabytes of `BAR`s.
pub const MAX_NUM_BARS: u32 = 1 << 16;

/// Every token name, by id: the table a model's `vocab.json` must match.
#[rustfmt::skip]
const TOKEN_NAMES: [&str; VOCAB_SIZE] = [
    "PAD", "BOS", "EOS", "BAR",
    "POS_0", "POS_1", "POS_2", "POS_3", "POS_4", "POS_5", "POS_6", "POS_7", "POS_8", "POS_9",
    "POS_10", "POS_11", "POS_12", "POS_13", "POS_14", "POS_15", "POS_16", "POS_17", "POS_18",
    "POS_19", "POS_20", "POS_21", "POS_22", "POS_23", "POS_24", "POS_25", "POS_26", "POS_27",
    "POS_28", "POS_29", "POS_30", "POS_31",
    "PITCH_21", "PITCH_22", "PITCH_23", "PITCH_24", "PITCH_25", "PITCH_26", "PITCH_27", "PITCH_28",
    "PITCH_29", "PITCH_30", "PITCH_31", "PITCH_32", "PITCH_33", "PITCH_34", "PITCH_35", "PITCH_36",
    "PITCH_37", "PITCH_38", "PITCH_39", "PITCH_40", "PITCH_41", "PITCH_42", "PITCH_43", "PITCH_44",
    "PITCH_45", "PITCH_46", "PITCH_47", "PITCH_48", "PITCH_49", "PITCH_50", "PITCH_51", "PITCH_52",
    "PITCH_53", "PITCH_54", "PITCH_55", "PITCH_56", "PITCH_57", "PITCH_58", "PITCH_59", "PITCH_60",
    "PITCH_61", "PITCH_62", "PITCH_63", "PITCH_64", "PITCH_65", "PITCH_66", "PITCH_67", "PITCH_68",
    "PITCH_69", "PITCH_70", "PITCH_71", "PITCH_72", "PITCH_73", "PITCH_74", "PITCH_75", "PITCH_76",
    "PITCH_77", "PITCH_78", "PITCH_79", "PITCH_80", "PITCH_81", "PITCH_82", "PITCH_83", "PITCH_84",
    "PITCH_85", "PITCH_86", "PITCH_87", "PITCH_88", "PITCH_89", "PITCH_90", "PITCH_91", "PITCH_92",
    "PITCH_93", "PITCH_94", "PITCH_95", "PITCH_96", "PITCH_97", "PITCH_98", "PITCH_99", "PITCH_100",
    "PITCH_101", "PITCH_102", "PITCH_103", "PITCH_104", "PITCH_105", "PITCH_106", "PITCH_107",
    "PITCH_108",
    "DUR_1", "DUR_2", "DUR_3", "DUR_4", "DUR_5", "DUR_6", "DUR_7", "DUR_8", "DUR_9", "DUR_10",
    "DUR_11", "DUR_12", "DUR_13", "DUR_14", "DUR_15", "DUR_16", "DUR_20", "DUR_24", "DUR_28",
    "DUR_32", "DUR_40", "DUR_48", "DUR_56", "DUR_64",
    "VEL_1", "VEL_2", "VEL_3", "VEL_4",
    "STYLE_CHORALE", "STYLE_FOLK", "STYLE_REEL", "STYLE_JIG", "STYLE_HORNPIPE", "STYLE_STRATHSPEY",
    "STYLE_WALTZ", "STYLE_MARCH", "STYLE_AIR",
    "INST_CHOIR", "INST_STRINGS", "INST_WINDS",
    "VOICES_1", "VOICES_2", "VOICES_3", "VOICES_4PLUS",
    "DENSITY_SPARSE", "DENSITY_MEDIUM", "DENSITY_BUSY",
    "REGISTER_LOW", "REGISTER_MID", "REGISTER_HIGH",
    "KEY_C_MAJOR", "KEY_C_MINOR", "KEY_Db_MAJOR", "KEY_Db_MINOR", "KEY_D_MAJOR", "KEY_D_MINOR",
    "KEY_Eb_MAJOR", "KEY_Eb_MINOR", "KEY_E_MAJOR", "KEY_E_MINOR", "KEY_F_MAJOR", "KEY_F_MINOR",
    "KEY_Gb_MAJOR", "KEY_Gb_MINOR", "KEY_G_MAJOR", "KEY_G_MINOR", "KEY_Ab_MAJOR", "KEY_Ab_MINOR",
    "KEY_A_MAJOR", "KEY_A_MINOR", "KEY_Bb_MAJOR", "KEY_Bb_MINOR", "KEY_B_MAJOR", "KEY_B_MINOR",
    "TS_2_4", "TS_3_4", "TS_4_4", "TS_5_4", "TS_6_4", "TS_7_4", "TS_8_4", "TS_2_2", "TS_3_2",
    "TS_4_2", "TS_3_8", "TS_5_8", "TS_6_8", "TS_7_8", "TS_9_8", "TS_12_8",
    "TEMPO_52", "TEMPO_66", "TEMPO_80", "TEMPO_96", "TEMPO_112", "TEMPO_130", "TEMPO_154",
    "TEMPO_180",
];

/// What the tokenizer refuses. Built on the worker thread; the plugin shows the message.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    #[error(
        "time signature {num}/{den} is not supported by the notes model: the denominator must be \
         1, 2, 4, 8 or 16 and a bar must be a whole number of 16ths from 1 to 32 (up to 8/4, 4/2 \
         or 16/8)"
    )]
    UnsupportedTimeSig { num: u32, den: u32 },

    #[error(
        "{num_bars} bars is more than one encoding may hold ({max_bars}); pass fewer bars, or \
         check for notes that start far after the others"
    )]
    TooManyBars { num_bars: u64, max_bars: u32 },

    #[error(
        "vocab.json could not be read as a vocabulary ({reason}); it should read \
         {{\"version\": 1, \"size\": 222, \"tokens\": [{{\"id\": 0, \"name\": \"PAD\"}}, ...]}}"
    )]
    VocabParse { reason: String },

    #[error(
        "vocab.json is version {found}, this build reads version {expected}: use a model \
         exported for vocabulary v{expected}"
    )]
    VocabVersion { expected: u32, found: u32 },

    #[error(
        "vocab.json has {found} tokens, this build's vocabulary has {expected}: the model was \
         trained with another vocabulary"
    )]
    VocabSize { expected: usize, found: usize },

    #[error(
        "vocab.json lists id {found} at position {position}: ids must run 0, 1, 2, ... in order"
    )]
    VocabIdOrder { position: usize, found: u32 },

    #[error(
        "vocab.json names id {id} {found:?}, this build calls it {expected:?}: the model was \
         trained with another vocabulary"
    )]
    VocabName {
        id: u32,
        expected: &'static str,
        found: String,
    },
}

// ---------------------------------------------------------------- vocabulary

/// The name of token `id` (`"PITCH_60"`), or `None` past the vocabulary. Any thread; real-time
/// safe.
pub fn token_name(id: u32) -> Option<&'static str> {
    TOKEN_NAMES.get(id as usize).copied()
}

/// The id of the token called `name` (case-sensitive), or `None`. Any thread; real-time safe
/// (a linear search of 222 names).
pub fn token_id(name: &str) -> Option<u32> {
    TOKEN_NAMES
        .iter()
        .position(|&n| n == name)
        .map(|idx| idx as u32)
}

/// Checks that a model's `vocab.json` text is this build's vocabulary: same version, same size,
/// ids in order, same names. Worker thread, at model load; not real-time safe: allocates.
pub fn check_vocab(json: &str) -> Result<(), TokenError> {
    #[derive(Deserialize)]
    struct VocabFile {
        version: u32,
        size: usize,
        tokens: Vec<VocabEntry>,
    }
    #[derive(Deserialize)]
    struct VocabEntry {
        id: u32,
        name: String,
    }

    let file: VocabFile = serde_json::from_str(json).map_err(|e| TokenError::VocabParse {
        reason: e.to_string(),
    })?;
    if file.version != VOCAB_VERSION {
        return Err(TokenError::VocabVersion {
            expected: VOCAB_VERSION,
            found: file.version,
        });
    }
    for found in [file.size, file.tokens.len()] {
        if found != VOCAB_SIZE {
            return Err(TokenError::VocabSize {
                expected: VOCAB_SIZE,
                found,
            });
        }
    }
    for (position, (entry, &expected)) in file.tokens.into_iter().zip(&TOKEN_NAMES).enumerate() {
        if entry.id as usize != position {
            return Err(TokenError::VocabIdOrder {
                position,
                found: entry.id,
            });
        }
        if entry.name != expected {
            return Err(TokenError::VocabName {
                id: entry.id,
                expected,
                found: entry.name,
            });
        }
    }
    Ok(())
}

/// The `POS_p` id for a position in the bar in 16ths, or `None` past `POS_31`. Any thread;
/// real-time safe.
pub fn pos_id(pos_16ths: u32) -> Option<u32> {
    if pos_16ths < MAX_BAR_16THS {
        Some(POS_BASE + pos_16ths)
    } else {
        None
    }
}

/// The `PITCH_x` id for a MIDI pitch, or `None` outside 21..=108 (fold with [`fold_pitch`]
/// first). Any thread; real-time safe.
pub fn pitch_id(pitch: i32) -> Option<u32> {
    if (PITCH_MIN..=PITCH_MAX).contains(&pitch) {
        Some(PITCH_BASE + (pitch - PITCH_MIN) as u32)
    } else {
        None
    }
}

/// The `DUR_d` id for a duration in 16ths, quantized with [`quantize_duration`]. Any thread;
/// real-time safe.
pub fn dur_id(duration_16ths: i64) -> u32 {
    let quantized = quantize_duration(duration_16ths);
    let idx = DUR_VALUES_16THS
        .iter()
        .position(|&v| v == quantized)
        .unwrap_or(0);
    DUR_BASE + idx as u32
}

/// The `VEL_v` id for a MIDI velocity (binned with [`velocity_bin`]). Any thread; real-time safe.
pub fn vel_id(velocity: i32) -> u32 {
    VEL_BASE + u32::from(velocity_bin(velocity)) - 1
}

/// A duration in 16ths as the `DUR` value that says it: `d <= 16` is kept (below 1 becomes 1),
/// `d >= 64` becomes 64, otherwise the nearest value with ties going to the shorter (18 → 16,
/// 62 → 64). Any thread; real-time safe.
pub fn quantize_duration(duration_16ths: i64) -> i64 {
    let d = duration_16ths;
    if d <= 16 {
        return d.max(1);
    }
    // Values ascend, so keeping the first of equally near values picks the shorter.
    let mut best = DUR_VALUES_16THS[0];
    for v in DUR_VALUES_16THS {
        if (v - d).abs() < (best - d).abs() {
            best = v;
        }
    }
    best
}

/// The velocity bin (1..=4) of a MIDI velocity: 1–39, 40–69, 70–99, 100–127; values outside
/// 1..=127 are clamped first. Any thread; real-time safe.
pub fn velocity_bin(velocity: i32) -> u8 {
    match velocity.clamp(1, 127) {
        ..=39 => 1,
        40..=69 => 2,
        70..=99 => 3,
        _ => 4,
    }
}

/// The velocity the decoder gives bin `bin` (1..=4); other bins read as the default bin 3.
/// Any thread; real-time safe.
pub fn velocity_of_bin(bin: u8) -> i32 {
    let idx = usize::from(bin).wrapping_sub(1);
    let default = VELOCITY_OF_BIN[usize::from(DEFAULT_VELOCITY_BIN) - 1];
    VELOCITY_OF_BIN.get(idx).copied().unwrap_or(default)
}

/// Folds a pitch into 21..=108 by octaves (`+12` while below 21, `-12` while above 108). Any
/// thread; real-time safe.
pub fn fold_pitch(pitch: i32) -> i32 {
    // Arithmetic rather than the spec's loops, so that any i32 takes constant time; i64 keeps the
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

// ---------------------------------------------------------------- notes and meters

/// A note on the 1/16-note grid, as the encoder takes it and the decoder gives it. Worker thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Note {
    /// Onset in 16ths from the start of bar 0 (the prompt's first bar when encoding, the
    /// continuation's first bar when decoding one).
    pub start_16ths: i64,
    /// Length in 16ths; may cross bar lines.
    pub duration_16ths: i64,
    /// MIDI pitch.
    pub pitch: i32,
    /// MIDI velocity.
    pub velocity: i32,
}

impl Note {
    /// A note from its four numbers. Any thread; real-time safe.
    pub const fn new(start_16ths: i64, duration_16ths: i64, pitch: i32, velocity: i32) -> Self {
        Self {
            start_16ths,
            duration_16ths,
            pitch,
            velocity,
        }
    }

    /// A note from beats (quarter notes), quantized as TOKENS.md asks callers to:
    /// `start = round(start * 4)`, `end = round(end * 4)`, `duration = end - start`, rounding half
    /// away from zero. NaN reads as 0 and infinities saturate. Any thread; real-time safe.
    pub fn from_beats(start_beats: f64, duration_beats: f64, pitch: i32, velocity: i32) -> Self {
        let start_16ths = (start_beats * 4.0).round() as i64;
        let end_16ths = ((start_beats + duration_beats) * 4.0).round() as i64;
        Self::new(
            start_16ths,
            end_16ths.saturating_sub(start_16ths),
            pitch,
            velocity,
        )
    }
}

/// A time signature, an input to both the encoder and the decoder (the host knows it). Supported
/// when the denominator is 1, 2, 4, 8 or 16 and a bar is a whole number of 16ths from 1 to 32.
/// Any thread.
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

    /// A supported time signature, or [`TokenError::UnsupportedTimeSig`]. Any thread; real-time
    /// safe.
    pub fn new(num: u32, den: u32) -> Result<Self, TokenError> {
        let ts = Self { num, den };
        ts.bar_length_16ths()?;
        Ok(ts)
    }

    /// The bar length `L = num * 16 / den` in 16ths, or [`TokenError::UnsupportedTimeSig`]. Any
    /// thread; real-time safe.
    pub fn bar_length_16ths(self) -> Result<u32, TokenError> {
        let unsupported = TokenError::UnsupportedTimeSig {
            num: self.num,
            den: self.den,
        };
        if !matches!(self.den, 1 | 2 | 4 | 8 | 16) {
            return Err(unsupported);
        }
        let sixteenths = u64::from(self.num) * 16;
        let length = sixteenths / u64::from(self.den);
        if sixteenths % u64::from(self.den) != 0
            || !(1..=u64::from(MAX_BAR_16THS)).contains(&length)
        {
            return Err(unsupported);
        }
        Ok(length as u32)
    }

    /// The `TS_<n>_<d>` id, or `None` for a meter without a tag (such as 1/4 or 16/8). Any thread;
    /// real-time safe.
    pub fn tag_id(self) -> Option<u32> {
        TS_TAG_METERS
            .iter()
            .position(|&m| m == (self.num, self.den))
            .map(|idx| TS_BASE + idx as u32)
    }

    /// The meter of a `TS_*` id, or `None` for another token. Any thread; real-time safe.
    pub fn from_tag_id(id: u32) -> Option<Self> {
        let idx = id.checked_sub(TS_BASE)? as usize;
        TS_TAG_METERS.get(idx).map(|&(num, den)| Self { num, den })
    }
}

// ---------------------------------------------------------------- tags

/// Declares a tag category as an enum whose variants are its tokens in id order.
macro_rules! tag_enum {
    (
        $(#[$meta:meta])*
        $name:ident, $base:expr, { $( $(#[$vmeta:meta])* $variant:ident ),+ $(,)? }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in id order.
            pub const ALL: &'static [$name] = &[$($name::$variant),+];

            /// This tag's token id. Any thread; real-time safe.
            pub const fn id(self) -> u32 {
                $base + self as u32
            }

            /// The value whose token is `id`, or `None` for another token. Any thread; real-time
            /// safe.
            pub fn from_id(id: u32) -> Option<Self> {
                Self::ALL.get(id.checked_sub($base)? as usize).copied()
            }
        }
    };
}

tag_enum! {
    /// `STYLE_*`: the kind of music.
    Style, STYLE_BASE, {
        /// `STYLE_CHORALE`
        Chorale,
        /// `STYLE_FOLK`
        Folk,
        /// `STYLE_REEL`
        Reel,
        /// `STYLE_JIG`
        Jig,
        /// `STYLE_HORNPIPE`
        Hornpipe,
        /// `STYLE_STRATHSPEY`
        Strathspey,
        /// `STYLE_WALTZ`
        Waltz,
        /// `STYLE_MARCH`
        March,
        /// `STYLE_AIR`
        Air,
    }
}

tag_enum! {
    /// `INST_*`: the ensemble the music was written for.
    Instrument, INST_BASE, {
        /// `INST_CHOIR`
        Choir,
        /// `INST_STRINGS`
        Strings,
        /// `INST_WINDS`
        Winds,
    }
}

tag_enum! {
    /// `VOICES_*`: how many notes usually sound at an onset (derived, see [`derive_tags`]).
    Voices, VOICES_BASE, {
        /// `VOICES_1`
        One,
        /// `VOICES_2`
        Two,
        /// `VOICES_3`
        Three,
        /// `VOICES_4PLUS`
        FourPlus,
    }
}

tag_enum! {
    /// `DENSITY_*`: onsets per quarter note (derived, see [`derive_tags`]).
    Density, DENSITY_BASE, {
        /// `DENSITY_SPARSE`: under 1.
        Sparse,
        /// `DENSITY_MEDIUM`: 1 to under 2.
        Medium,
        /// `DENSITY_BUSY`: 2 or more.
        Busy,
    }
}

tag_enum! {
    /// `REGISTER_*`: mean pitch (derived, see [`derive_tags`]).
    Register, REGISTER_BASE, {
        /// `REGISTER_LOW`: under 60.
        Low,
        /// `REGISTER_MID`: 60 to under 72.
        Mid,
        /// `REGISTER_HIGH`: 72 or more.
        High,
    }
}

tag_enum! {
    /// `TEMPO_*`: the host tempo in quarter notes per minute, binned; the name is the bin's
    /// representative tempo.
    Tempo, TEMPO_BASE, {
        /// `TEMPO_52`: below 60.
        Bpm52,
        /// `TEMPO_66`: 60 to under 72.
        Bpm66,
        /// `TEMPO_80`: 72 to under 88.
        Bpm80,
        /// `TEMPO_96`: 88 to under 104.
        Bpm96,
        /// `TEMPO_112`: 104 to under 120.
        Bpm112,
        /// `TEMPO_130`: 120 to under 140.
        Bpm130,
        /// `TEMPO_154`: 140 to under 168.
        Bpm154,
        /// `TEMPO_180`: 168 and above.
        Bpm180,
    }
}

impl Tempo {
    /// The bin of a tempo in quarter notes per minute. As in tokens.py, a negative tempo reads as
    /// the slowest bin and NaN as the fastest. Any thread; real-time safe.
    pub fn from_quarters_per_minute(qpm: f64) -> Self {
        const UPPER_BOUNDS: [f64; 7] = [60.0, 72.0, 88.0, 104.0, 120.0, 140.0, 168.0];
        let idx = if qpm.is_nan() {
            Self::ALL.len() - 1
        } else {
            UPPER_BOUNDS.iter().take_while(|&&hi| qpm >= hi).count()
        };
        Self::ALL[idx]
    }
}

/// A key: `KEY_<pc>_<MAJOR|MINOR>`. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Key {
    /// Tonic pitch class, 0 = C .. 11 = B; larger values are taken modulo 12.
    pub pitch_class: u8,
    /// Minor mode rather than major.
    pub minor: bool,
}

impl Key {
    /// This key's token id: `174 + 2 * pc + minor`. Any thread; real-time safe.
    pub const fn id(self) -> u32 {
        KEY_BASE + 2 * (self.pitch_class % 12) as u32 + self.minor as u32
    }

    /// The key of a `KEY_*` id, or `None` for another token. Any thread; real-time safe.
    pub fn from_id(id: u32) -> Option<Self> {
        let offset = id.checked_sub(KEY_BASE)?;
        (offset < 24).then_some(Self {
            pitch_class: (offset / 2) as u8,
            minor: offset % 2 == 1,
        })
    }
}

/// The conditioning tags after `BOS`, at most one per category; `None` means "unspecified" (the
/// model was trained with each category dropped now and then). Worker thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Tags {
    /// `STYLE_*`.
    pub style: Option<Style>,
    /// `INST_*`.
    pub instrument: Option<Instrument>,
    /// `VOICES_*`.
    pub voices: Option<Voices>,
    /// `DENSITY_*`.
    pub density: Option<Density>,
    /// `REGISTER_*`.
    pub register: Option<Register>,
    /// `KEY_*`.
    pub key: Option<Key>,
    /// `TS_*`; a meter without a tag (such as 1/4) is left out of the encoding.
    pub time_sig: Option<TimeSig>,
    /// `TEMPO_*`.
    pub tempo: Option<Tempo>,
}

impl Tags {
    /// Tags from token names in any order: the first tag given for a category wins; names that
    /// are not tags are skipped. Worker thread; real-time safe.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        Self::from_ids(names.into_iter().filter_map(|n| token_id(n.as_ref())))
    }

    /// Tags from token ids in any order: the first tag given for a category wins; ids that are
    /// not tags are skipped. Worker thread; real-time safe.
    pub fn from_ids(ids: impl IntoIterator<Item = u32>) -> Self {
        let mut tags = Self::default();
        for id in ids {
            tags.add_if_unset(id);
        }
        tags
    }

    /// Sets the category of tag `id` unless it is already set; ignores ids that are not tags.
    fn add_if_unset(&mut self, id: u32) {
        fn first<T>(slot: &mut Option<T>, value: Option<T>) {
            if slot.is_none() {
                *slot = value;
            }
        }
        first(&mut self.style, Style::from_id(id));
        first(&mut self.instrument, Instrument::from_id(id));
        first(&mut self.voices, Voices::from_id(id));
        first(&mut self.density, Density::from_id(id));
        first(&mut self.register, Register::from_id(id));
        first(&mut self.key, Key::from_id(id));
        first(&mut self.time_sig, TimeSig::from_tag_id(id));
        first(&mut self.tempo, Tempo::from_id(id));
    }

    /// These tags with the derived ones (`VOICES`, `DENSITY`, `REGISTER`) replaced by `derived`;
    /// `None` (no notes) clears them. Any thread; real-time safe.
    pub fn with_derived(self, derived: Option<DerivedTags>) -> Self {
        Self {
            voices: derived.map(|d| d.voices),
            density: derived.map(|d| d.density),
            register: derived.map(|d| d.register),
            ..self
        }
    }

    /// The tag ids in the order they follow `BOS`: STYLE, INST, VOICES, DENSITY, REGISTER, KEY,
    /// TS, TEMPO. Worker thread; not real-time safe: allocates.
    pub fn ids(&self) -> Vec<u32> {
        [
            self.style.map(Style::id),
            self.instrument.map(Instrument::id),
            self.voices.map(Voices::id),
            self.density.map(Density::id),
            self.register.map(Register::id),
            self.key.map(Key::id),
            self.time_sig.and_then(TimeSig::tag_id),
            self.tempo.map(Tempo::id),
        ]
        .into_iter()
        .flatten()
        .collect()
    }
}

/// The tags computed from notes rather than chosen by the user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct DerivedTags {
    /// Lower median of the number of notes sounding at each onset.
    pub voices: Voices,
    /// Distinct onsets per quarter note.
    pub density: Density,
    /// Mean pitch.
    pub register: Register,
}

impl DerivedTags {
    /// The three ids in sequence order (VOICES, DENSITY, REGISTER). Any thread; real-time safe.
    pub fn ids(&self) -> [u32; 3] {
        [self.voices.id(), self.density.id(), self.register.id()]
    }
}

/// `VOICES`, `DENSITY` and `REGISTER` as training computed them: over the normalized notes
/// (without quantization) that start in the first `num_bars` bars (`None`: up to the bar of the
/// last onset). `Ok(None)` when there are no such notes; an error only for an unsupported meter.
/// Worker thread; not real-time safe: allocates.
pub fn derive_tags(
    notes: &[Note],
    ts: TimeSig,
    num_bars: Option<u32>,
) -> Result<Option<DerivedTags>, TokenError> {
    let bar_len = i64::from(ts.bar_length_16ths()?);
    let mut notes = normalize(notes);
    if let Some(num_bars) = num_bars {
        let end_16ths = i64::from(num_bars) * bar_len;
        notes.retain(|n| n.start_16ths < end_16ths);
    }
    let Some(last) = notes.last() else {
        return Ok(None);
    };
    let num_bars = num_bars.map_or(i128::from(last.start_16ths / bar_len) + 1, i128::from);

    // Notes sounding at t are those with start <= t minus those with end <= t (a note that has
    // ended has also started), so two sorted lists answer every onset.
    let starts: Vec<i64> = notes.iter().map(|n| n.start_16ths).collect();
    let mut ends: Vec<i64> = notes
        .iter()
        .map(|n| n.start_16ths.saturating_add(n.duration_16ths))
        .collect();
    ends.sort_unstable();
    let mut onsets = starts.clone();
    onsets.dedup(); // normalized notes are sorted by start
    let mut counts: Vec<usize> = onsets
        .iter()
        .map(|&t| starts.partition_point(|&s| s <= t) - ends.partition_point(|&e| e <= t))
        .collect();
    counts.sort_unstable();
    let voices = match counts[(counts.len() - 1) / 2] {
        0 | 1 => Voices::One,
        2 => Voices::Two,
        3 => Voices::Three,
        _ => Voices::FourPlus,
    };

    // onsets * 4 / (num_bars * L) compared with 1 and 2, in integers.
    let onsets_x4 = onsets.len() as i128 * 4;
    let span_16ths = num_bars * i128::from(bar_len);
    let density = if onsets_x4 < span_16ths {
        Density::Sparse
    } else if onsets_x4 < 2 * span_16ths {
        Density::Medium
    } else {
        Density::Busy
    };

    let pitch_sum: i64 = notes.iter().map(|n| i64::from(n.pitch)).sum();
    let num_notes = notes.len() as i64;
    let register = if pitch_sum < 60 * num_notes {
        Register::Low
    } else if pitch_sum < 72 * num_notes {
        Register::Mid
    } else {
        Register::High
    };

    Ok(Some(DerivedTags {
        voices,
        density,
        register,
    }))
}

// ---------------------------------------------------------------- normalization

/// TOKENS.md "Normalization", steps 1-6: drops notes with a negative start, a pitch outside
/// 0..=127 or a velocity <= 0; folds pitch into 21..=108; caps velocity at 127 and raises
/// durations below 1 to 1; merges notes with the same start and pitch (longest duration, highest
/// velocity); shortens a note still sounding when the next note of its pitch starts; sorts by
/// start, then pitch descending. Worker thread; not real-time safe: allocates.
pub fn normalize(notes: &[Note]) -> Vec<Note> {
    let mut kept: Vec<Note> = notes
        .iter()
        .filter(|n| n.start_16ths >= 0 && (0..=127).contains(&n.pitch) && n.velocity > 0)
        .map(|n| Note {
            start_16ths: n.start_16ths,
            duration_16ths: n.duration_16ths.max(1),
            pitch: fold_pitch(n.pitch),
            velocity: n.velocity.min(127),
        })
        .collect();

    // Sorting by (pitch, start) puts equal (start, pitch) pairs side by side for the merge and
    // each pitch's notes in start order for the trim.
    kept.sort_unstable_by_key(|n| (n.pitch, n.start_16ths));
    kept.dedup_by(|later, earlier| {
        let same = later.pitch == earlier.pitch && later.start_16ths == earlier.start_16ths;
        if same {
            earlier.duration_16ths = earlier.duration_16ths.max(later.duration_16ths);
            earlier.velocity = earlier.velocity.max(later.velocity);
        }
        same
    });
    for idx in 1..kept.len() {
        let next = kept[idx];
        let note = &mut kept[idx - 1];
        if note.pitch == next.pitch
            && note.start_16ths.saturating_add(note.duration_16ths) > next.start_16ths
        {
            note.duration_16ths = next.start_16ths - note.start_16ths;
        }
    }

    kept.sort_unstable_by_key(|n| (n.start_16ths, Reverse(n.pitch)));
    kept
}

// ---------------------------------------------------------------- encode

/// The full sequence `BOS [tags] BAR <bar 0> ... BAR <last bar> EOS`. Notes are normalized,
/// durations and velocities quantized; notes starting at or past `num_bars` bars are dropped.
/// `num_bars = None` covers every note (`floor(max_start / L) + 1` bars, none without notes).
/// Errors: an unsupported meter, or more than [`MAX_NUM_BARS`] bars. Worker thread; not
/// real-time safe: allocates.
pub fn encode(
    notes: &[Note],
    ts: TimeSig,
    tags: &Tags,
    num_bars: Option<u32>,
) -> Result<Vec<u32>, TokenError> {
    let mut ids = encode_body(notes, ts, tags, num_bars)?;
    ids.push(EOS);
    Ok(ids)
}

/// The prompt for a continuation: as [`encode`] with the final `EOS` replaced by a `BAR` that
/// opens the first bar to generate. `num_bars` is the number of context bars, so trailing silence
/// is kept as lone `BAR`s; note starts count from the start of context bar 0. Worker thread; not
/// real-time safe: allocates.
pub fn encode_prompt(
    notes: &[Note],
    ts: TimeSig,
    tags: &Tags,
    num_bars: Option<u32>,
) -> Result<Vec<u32>, TokenError> {
    let mut ids = encode_body(notes, ts, tags, num_bars)?;
    ids.push(BAR);
    Ok(ids)
}

/// `BOS [tags]` and every bar; the caller appends the final token.
fn encode_body(
    notes: &[Note],
    ts: TimeSig,
    tags: &Tags,
    num_bars: Option<u32>,
) -> Result<Vec<u32>, TokenError> {
    let bar_len = i64::from(ts.bar_length_16ths()?);
    let notes = normalize(notes);
    let num_bars = match num_bars {
        Some(n) => u64::from(n),
        // Normalized notes are sorted by start, so the last one starts latest.
        None => notes
            .last()
            .map_or(0, |n| (n.start_16ths / bar_len) as u64 + 1),
    };
    if num_bars > u64::from(MAX_NUM_BARS) {
        return Err(TokenError::TooManyBars {
            num_bars,
            max_bars: MAX_NUM_BARS,
        });
    }

    let tag_ids = tags.ids();
    let mut ids = Vec::with_capacity(2 + tag_ids.len() + num_bars as usize + 4 * notes.len());
    ids.push(BOS);
    ids.extend(tag_ids);

    let mut notes = notes.into_iter().peekable();
    for bar_idx in 0..num_bars as i64 {
        ids.push(BAR);
        let bar_start_16ths = bar_idx * bar_len;
        let mut prev_pos = None;
        let mut prev_vel_bin = None;
        while let Some(note) = notes.next_if(|n| n.start_16ths < bar_start_16ths + bar_len) {
            // pos < L <= 32 and pitch is folded, so both ids exist.
            let pos = (note.start_16ths - bar_start_16ths) as u32;
            if prev_pos != Some(pos) {
                ids.push(POS_BASE + pos);
                prev_pos = Some(pos);
            }
            let vel_bin = velocity_bin(note.velocity);
            if prev_vel_bin != Some(vel_bin) {
                ids.push(VEL_BASE + u32::from(vel_bin) - 1);
                prev_vel_bin = Some(vel_bin);
            }
            ids.push(PITCH_BASE + (note.pitch - PITCH_MIN) as u32);
            ids.push(dur_id(note.duration_16ths));
        }
    }
    Ok(ids)
}

// ---------------------------------------------------------------- decode

/// The streaming decoder: a state machine that turns any sequence of ids into notes and never
/// fails. Feed the prompt, call [`TokenDecoder::set_origin`], then feed generated ids as they come.
/// Notes come out raw (not normalized); [`decode`] and [`decode_continuation`] normalize the
/// list. Worker thread.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TokenDecoder {
    bar_len_16ths: i64,
    /// Bars opened so far minus one (-1 before the first `BAR`).
    bar_idx: i64,
    /// Position in the current bar; `None` before a `POS` or after one past the bar.
    pos_16ths: Option<i64>,
    vel_bin: Option<u8>,
    pending_pitch: Option<i32>,
    ended: bool,
    /// The bar whose start is time 0 for emitted notes.
    origin_bar_idx: i64,
}

impl TokenDecoder {
    /// A decoder for meter `ts`, or [`TokenError::UnsupportedTimeSig`]. Worker thread; real-time
    /// safe.
    pub fn new(ts: TimeSig) -> Result<Self, TokenError> {
        Ok(Self {
            bar_len_16ths: i64::from(ts.bar_length_16ths()?),
            bar_idx: -1,
            pos_16ths: None,
            vel_bin: None,
            pending_pitch: None,
            ended: false,
            origin_bar_idx: 0,
        })
    }

    /// Makes the current bar (the one the prompt's final `BAR` opened) time 0 for the notes that
    /// follow. Call once, after feeding the prompt. Worker thread; real-time safe.
    pub fn set_origin(&mut self) {
        self.origin_bar_idx = self.bar_idx.max(0);
    }

    /// Whether an `EOS` has been fed; every later id is ignored. Worker thread; real-time safe.
    pub fn is_ended(&self) -> bool {
        self.ended
    }

    /// The current bar counted from the origin: 0 for the bar the prompt's final `BAR` opened,
    /// `M` once the `BAR` that opens bar `M` of the continuation has been fed (where generation of
    /// `M` bars stops). -1 before any `BAR` when no prompt was fed. Worker thread; real-time safe.
    pub fn bar_idx(&self) -> i64 {
        self.bar_idx - self.origin_bar_idx
    }

    /// Feeds one id; returns the note it completes, if any. Any id is accepted: `PAD`, `BOS`,
    /// tags, negative ids and ids past the vocabulary are ignored. Worker thread; real-time safe.
    pub fn feed(&mut self, id: impl Into<i64>) -> Option<Note> {
        if self.ended {
            return None;
        }
        let Ok(id) = u32::try_from(id.into()) else {
            return None;
        };
        match id {
            EOS => {
                self.ended = true;
                self.pending_pitch = None;
            }
            BAR => {
                self.bar_idx += 1;
                self.pos_16ths = None;
                self.pending_pitch = None;
            }
            POS_BASE..PITCH_BASE => {
                let pos = i64::from(id - POS_BASE);
                // A position past the bar drops the notes that follow until a valid POS or BAR.
                self.pos_16ths = (pos < self.bar_len_16ths).then_some(pos);
                self.pending_pitch = None;
            }
            PITCH_BASE..DUR_BASE => {
                self.pending_pitch = Some((id - PITCH_BASE) as i32 + PITCH_MIN);
            }
            DUR_BASE..VEL_BASE => {
                let pitch = self.pending_pitch.take()?;
                let pos_16ths = self.pos_16ths?;
                if self.bar_idx < 0 {
                    return None;
                }
                return Some(Note {
                    start_16ths: (self.bar_idx - self.origin_bar_idx) * self.bar_len_16ths
                        + pos_16ths,
                    duration_16ths: DUR_VALUES_16THS[(id - DUR_BASE) as usize],
                    pitch,
                    velocity: velocity_of_bin(self.vel_bin.unwrap_or(DEFAULT_VELOCITY_BIN)),
                });
            }
            VEL_BASE..TAG_BASE => {
                self.vel_bin = Some((id - VEL_BASE + 1) as u8);
            }
            _ => {}
        }
        None
    }
}

/// Decodes a whole sequence (or any ids at all) into normalized notes, starts counted from the
/// first bar. An error only for an unsupported meter. Worker thread; not real-time safe:
/// allocates.
pub fn decode<I: Copy + Into<i64>>(ids: &[I], ts: TimeSig) -> Result<Vec<Note>, TokenError> {
    decode_continuation::<u32, I>(&[], ids, ts)
}

/// Decodes generated ids after a prompt: the prompt only sets state (its notes are discarded,
/// its `VEL` carries over), and starts count from the bar the prompt's final `BAR` opened. The
/// notes are normalized. An error only for an unsupported meter. Worker thread; not real-time
/// safe: allocates.
pub fn decode_continuation<P: Copy + Into<i64>, G: Copy + Into<i64>>(
    prompt: &[P],
    generated: &[G],
    ts: TimeSig,
) -> Result<Vec<Note>, TokenError> {
    let mut decoder = TokenDecoder::new(ts)?;
    for &id in prompt {
        decoder.feed(id);
    }
    decoder.set_origin();
    let raw: Vec<Note> = generated
        .iter()
        .filter_map(|&id| decoder.feed(id))
        .collect();
    Ok(normalize(&raw))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start_16ths: i64, duration_16ths: i64, pitch: i32, velocity: i32) -> Note {
        Note::new(start_16ths, duration_16ths, pitch, velocity)
    }

    fn ts(num: u32, den: u32) -> TimeSig {
        TimeSig::new(num, den).unwrap()
    }

    /// A tiny deterministic generator (Knuth's MMIX LCG), so the property tests need no crate.
    struct Lcg(u64);

    impl Lcg {
        fn next_u32(&mut self) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) as u32
        }

        /// Uniform-ish in `lo..hi`.
        fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + i64::from(self.next_u32()) % (hi - lo)
        }
    }

    /// Every supported meter (that is, every `(num, den)` accepted), for property tests.
    fn supported_meters() -> Vec<TimeSig> {
        let mut meters = Vec::new();
        for den in [1, 2, 4, 8, 16] {
            for num in 1..=40 {
                if let Ok(ts) = TimeSig::new(num, den) {
                    meters.push(ts);
                }
            }
        }
        meters
    }

    mod vectors {
        //! The shared vectors that tokens.py also passes.
        use super::*;
        use serde::Deserialize;

        const VECTORS: &str = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../tests/fixtures/tokens/vectors.json"
        ));

        #[derive(Deserialize)]
        struct Vectors {
            vocab_version: u32,
            vocab_size: usize,
            encode: Vec<EncodeCase>,
            decode: Vec<DecodeCase>,
            derive_tags: Vec<DeriveCase>,
            errors: Vec<ErrorCase>,
        }

        #[derive(Deserialize)]
        struct EncodeCase {
            name: String,
            ts: (u32, u32),
            num_bars: Option<u32>,
            mode: String,
            tags: Vec<String>,
            notes: Vec<[i64; 4]>,
            expected_ids: Vec<u32>,
            expected_names: Vec<String>,
            expected_decoded: Vec<[i64; 4]>,
        }

        #[derive(Deserialize)]
        struct DecodeCase {
            name: String,
            ts: (u32, u32),
            prompt_len: usize,
            ids: Vec<i64>,
            expected_notes: Vec<[i64; 4]>,
        }

        #[derive(Deserialize)]
        struct DeriveCase {
            name: String,
            ts: (u32, u32),
            num_bars: Option<u32>,
            notes: Vec<[i64; 4]>,
            expected_tags: Vec<String>,
        }

        #[derive(Deserialize)]
        struct ErrorCase {
            name: String,
            ts: (u32, u32),
        }

        fn load() -> Vectors {
            serde_json::from_str(VECTORS).expect("vectors.json parses")
        }

        fn to_notes(rows: &[[i64; 4]]) -> Vec<Note> {
            rows.iter()
                .map(|&[s, d, p, v]| note(s, d, p as i32, v as i32))
                .collect()
        }

        /// Collects every mismatch so one run reports all failing cases by name.
        fn check<T: PartialEq + std::fmt::Debug>(
            failures: &mut Vec<String>,
            what: &str,
            got: T,
            want: T,
        ) {
            if got != want {
                failures.push(format!("{what}:\n  got  {got:?}\n  want {want:?}"));
            }
        }

        fn report(failures: Vec<String>, num_cases: usize) {
            assert!(num_cases > 0, "no cases in vectors.json");
            assert!(
                failures.is_empty(),
                "{} failure(s):\n{}",
                failures.len(),
                failures.join("\n")
            );
        }

        #[test]
        fn vocabulary_matches() {
            let v = load();
            assert_eq!(v.vocab_version, VOCAB_VERSION);
            assert_eq!(v.vocab_size, VOCAB_SIZE);
        }

        #[test]
        fn encode_cases() {
            let v = load();
            let mut failures = Vec::new();
            for c in &v.encode {
                let meter = TimeSig {
                    num: c.ts.0,
                    den: c.ts.1,
                };
                let tags = Tags::from_names(&c.tags);
                let notes = to_notes(&c.notes);
                let ids = match c.mode.as_str() {
                    "full" => encode(&notes, meter, &tags, c.num_bars),
                    "prompt" => encode_prompt(&notes, meter, &tags, c.num_bars),
                    other => panic!("{}: unknown mode {other:?}", c.name),
                };
                let ids = match ids {
                    Ok(ids) => ids,
                    Err(e) => {
                        failures.push(format!("encode {}: error {e}", c.name));
                        continue;
                    }
                };
                check(
                    &mut failures,
                    &format!("encode {}", c.name),
                    &ids,
                    &c.expected_ids,
                );
                let names: Vec<String> = c
                    .expected_ids
                    .iter()
                    .map(|&id| token_name(id).unwrap_or("<out of range>").to_string())
                    .collect();
                check(
                    &mut failures,
                    &format!("names {}", c.name),
                    &names,
                    &c.expected_names,
                );
                check(
                    &mut failures,
                    &format!("roundtrip {}", c.name),
                    decode(&c.expected_ids, meter),
                    Ok(to_notes(&c.expected_decoded)),
                );
            }
            report(failures, v.encode.len());
        }

        #[test]
        fn decode_cases() {
            let v = load();
            let mut failures = Vec::new();
            for c in &v.decode {
                let meter = TimeSig {
                    num: c.ts.0,
                    den: c.ts.1,
                };
                let split = c.prompt_len.min(c.ids.len());
                let (prompt, generated) = c.ids.split_at(split);
                check(
                    &mut failures,
                    &format!("decode {}", c.name),
                    decode_continuation(prompt, generated, meter),
                    Ok(to_notes(&c.expected_notes)),
                );
                if c.prompt_len == 0 {
                    check(
                        &mut failures,
                        &format!("decode (no prompt) {}", c.name),
                        decode(&c.ids, meter),
                        Ok(to_notes(&c.expected_notes)),
                    );
                }
            }
            report(failures, v.decode.len());
        }

        #[test]
        fn derive_tags_cases() {
            let v = load();
            let mut failures = Vec::new();
            for c in &v.derive_tags {
                let meter = TimeSig {
                    num: c.ts.0,
                    den: c.ts.1,
                };
                let got = derive_tags(&to_notes(&c.notes), meter, c.num_bars).map(|d| {
                    d.map_or(Vec::new(), |d| {
                        d.ids().iter().filter_map(|&id| token_name(id)).collect()
                    })
                });
                let want: Vec<&str> = c.expected_tags.iter().map(String::as_str).collect();
                check(&mut failures, &format!("derive {}", c.name), got, Ok(want));
            }
            report(failures, v.derive_tags.len());
        }

        #[test]
        fn error_cases() {
            let v = load();
            let mut failures = Vec::new();
            for c in &v.errors {
                let (num, den) = c.ts;
                let meter = TimeSig { num, den };
                let err = TokenError::UnsupportedTimeSig { num, den };
                let name = &c.name;
                check(
                    &mut failures,
                    &format!("new {name}"),
                    TimeSig::new(num, den),
                    Err(err.clone()),
                );
                check(
                    &mut failures,
                    &format!("encode {name}"),
                    encode(&[note(0, 4, 60, 80)], meter, &Tags::default(), None),
                    Err(err.clone()),
                );
                check(
                    &mut failures,
                    &format!("encode_prompt {name}"),
                    encode_prompt(&[], meter, &Tags::default(), Some(1)),
                    Err(err.clone()),
                );
                check(
                    &mut failures,
                    &format!("decode {name}"),
                    decode(&[BAR, POS_BASE, PITCH_BASE, DUR_BASE], meter),
                    Err(err.clone()),
                );
                check(
                    &mut failures,
                    &format!("derive_tags {name}"),
                    derive_tags(&[note(0, 4, 60, 80)], meter, Some(1)),
                    Err(err.clone()),
                );
                check(
                    &mut failures,
                    &format!("TokenDecoder::new {name}"),
                    TokenDecoder::new(meter).map(|_| ()),
                    Err(err.clone()),
                );
            }
            report(failures, v.errors.len());
        }
    }

    mod token_name {
        use super::*;

        #[test]
        fn names_follow_the_id_formulas() {
            assert_eq!(token_name(PAD), Some("PAD"));
            assert_eq!(token_name(BOS), Some("BOS"));
            assert_eq!(token_name(EOS), Some("EOS"));
            assert_eq!(token_name(BAR), Some("BAR"));
            for pos in 0..MAX_BAR_16THS {
                assert_eq!(
                    token_name(pos_id(pos).unwrap()),
                    Some(&*format!("POS_{pos}"))
                );
            }
            for pitch in PITCH_MIN..=PITCH_MAX {
                let name = format!("PITCH_{pitch}");
                assert_eq!(token_name(pitch_id(pitch).unwrap()), Some(&*name));
            }
            for (idx, d) in DUR_VALUES_16THS.iter().enumerate() {
                assert_eq!(
                    token_name(DUR_BASE + idx as u32),
                    Some(&*format!("DUR_{d}"))
                );
                assert_eq!(token_name(dur_id(*d)), Some(&*format!("DUR_{d}")));
            }
            for bin in 1..=4u32 {
                assert_eq!(token_name(VEL_BASE + bin - 1), Some(&*format!("VEL_{bin}")));
            }
            assert_eq!(token_name(Style::Chorale.id()), Some("STYLE_CHORALE"));
            assert_eq!(token_name(Style::Air.id()), Some("STYLE_AIR"));
            assert_eq!(token_name(Instrument::Winds.id()), Some("INST_WINDS"));
            assert_eq!(token_name(Voices::FourPlus.id()), Some("VOICES_4PLUS"));
            assert_eq!(token_name(Density::Busy.id()), Some("DENSITY_BUSY"));
            assert_eq!(token_name(Register::High.id()), Some("REGISTER_HIGH"));
            let b_flat_minor = Key {
                pitch_class: 10,
                minor: true,
            };
            assert_eq!(b_flat_minor.id(), 195);
            assert_eq!(token_name(b_flat_minor.id()), Some("KEY_Bb_MINOR"));
            for (num, den) in TS_TAG_METERS {
                let id = TimeSig { num, den }.tag_id().unwrap();
                assert_eq!(token_name(id), Some(&*format!("TS_{num}_{den}")));
            }
            assert_eq!(token_name(Tempo::Bpm52.id()), Some("TEMPO_52"));
            assert_eq!(token_name(Tempo::Bpm180.id()), Some("TEMPO_180"));
            assert_eq!(Tempo::Bpm180.id() as usize, VOCAB_SIZE - 1);
        }

        #[test]
        fn out_of_range_is_none() {
            assert_eq!(token_name(VOCAB_SIZE as u32 - 1), Some("TEMPO_180"));
            assert_eq!(token_name(VOCAB_SIZE as u32), None);
            assert_eq!(token_name(u32::MAX), None);
        }

        #[test]
        fn token_id_inverts_it() {
            for id in 0..VOCAB_SIZE as u32 {
                assert_eq!(token_id(token_name(id).unwrap()), Some(id));
            }
            assert_eq!(token_id("key_c_major"), None, "names are case-sensitive");
            assert_eq!(token_id("NOT_A_TAG"), None);
        }
    }

    mod check_vocab {
        use super::*;

        const SHIPPED: &str = include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../models/notes/vocab.json"
        ));

        #[test]
        fn accepts_the_reference_vocab_json() {
            assert_eq!(check_vocab(SHIPPED), Ok(()));
        }

        #[test]
        fn refuses_a_renamed_token() {
            let renamed = SHIPPED.replace("\"KEY_Bb_MINOR\"", "\"KEY_A#_MINOR\"");
            assert_eq!(
                check_vocab(&renamed),
                Err(TokenError::VocabName {
                    id: 195,
                    expected: "KEY_Bb_MINOR",
                    found: "KEY_A#_MINOR".to_string(),
                })
            );
        }

        #[test]
        fn refuses_another_size_or_version() {
            let bigger = SHIPPED.replace("\"size\": 222", "\"size\": 223");
            assert_eq!(
                check_vocab(&bigger),
                Err(TokenError::VocabSize {
                    expected: 222,
                    found: 223
                })
            );
            let truncated = r#"{"version": 1, "size": 222, "tokens": [{"id": 0, "name": "PAD"}]}"#;
            assert_eq!(
                check_vocab(truncated),
                Err(TokenError::VocabSize {
                    expected: 222,
                    found: 1
                })
            );
            let v2 = SHIPPED.replace("\"version\": 1", "\"version\": 2");
            assert_eq!(
                check_vocab(&v2),
                Err(TokenError::VocabVersion {
                    expected: 1,
                    found: 2
                })
            );
        }

        #[test]
        fn refuses_ids_out_of_order() {
            let swapped = SHIPPED
                .replace("{\"id\": 1, ", "{\"id\": X, ")
                .replace("{\"id\": 2, ", "{\"id\": 1, ")
                .replace("{\"id\": X, ", "{\"id\": 2, ");
            assert_eq!(
                check_vocab(&swapped),
                Err(TokenError::VocabIdOrder {
                    position: 1,
                    found: 2
                })
            );
        }

        #[test]
        fn messages_show_the_expected_layout() {
            let message = check_vocab("not json").unwrap_err().to_string();
            assert!(
                message.contains(r#"{"version": 1, "size": 222, "tokens": [{"id": 0, "#),
                "{message}"
            );
        }

        #[test]
        fn refuses_text_that_is_not_a_vocabulary() {
            for bad in ["", "[]", "{\"version\": 1}", "not json"] {
                assert!(
                    matches!(check_vocab(bad), Err(TokenError::VocabParse { .. })),
                    "{bad:?} was accepted"
                );
            }
        }
    }

    mod quantize_duration {
        use super::*;

        #[test]
        fn ties_go_to_the_shorter_value() {
            for (d, want) in [(18, 16), (22, 20), (36, 32), (44, 40), (60, 56), (62, 64)] {
                assert_eq!(quantize_duration(d), want, "duration {d}");
            }
        }

        #[test]
        fn nearest_value_between_the_steps() {
            for (d, want) in [(17, 16), (19, 20), (21, 20), (23, 24), (33, 32), (35, 32)] {
                assert_eq!(quantize_duration(d), want, "duration {d}");
            }
            for (d, want) in [(37, 40), (45, 48), (52, 48), (53, 56), (61, 64), (63, 64)] {
                assert_eq!(quantize_duration(d), want, "duration {d}");
            }
        }

        #[test]
        fn short_kept_long_capped_and_below_one_raised() {
            for d in 1..=16 {
                assert_eq!(quantize_duration(d), d);
            }
            assert_eq!(quantize_duration(64), 64);
            assert_eq!(quantize_duration(65), 64);
            assert_eq!(quantize_duration(i64::MAX), 64);
            assert_eq!(quantize_duration(0), 1);
            assert_eq!(quantize_duration(i64::MIN), 1);
        }

        #[test]
        fn every_result_has_a_token() {
            for d in -5..200 {
                assert!(DUR_VALUES_16THS.contains(&quantize_duration(d)), "{d}");
            }
        }
    }

    mod velocity_bin {
        use super::*;

        #[test]
        fn bin_edges() {
            for (velocity, bin) in [
                (1, 1),
                (39, 1),
                (40, 2),
                (69, 2),
                (70, 3),
                (99, 3),
                (100, 4),
                (127, 4),
            ] {
                assert_eq!(velocity_bin(velocity), bin, "velocity {velocity}");
            }
        }

        #[test]
        fn out_of_range_is_clamped() {
            assert_eq!(velocity_bin(0), 1);
            assert_eq!(velocity_bin(i32::MIN), 1);
            assert_eq!(velocity_bin(200), 4);
            assert_eq!(velocity_bin(i32::MAX), 4);
        }

        #[test]
        fn decoded_velocities_fall_in_their_own_bins() {
            for bin in 1..=4u8 {
                assert_eq!(velocity_bin(velocity_of_bin(bin)), bin);
            }
            assert_eq!(
                [1, 2, 3, 4].map(velocity_of_bin),
                [32, 56, 84, 112],
                "TOKENS.md's table"
            );
            assert_eq!(velocity_of_bin(0), 84);
            assert_eq!(velocity_of_bin(9), 84);
            assert_eq!(vel_id(100), 151);
        }
    }

    mod fold_pitch {
        use super::*;

        #[test]
        fn folds_by_octaves_into_the_piano_range() {
            for (pitch, want) in [
                (10, 22),
                (0, 24),
                (9, 21),
                (20, 32),
                (21, 21),
                (108, 108),
                (109, 97),
                (115, 103),
                (120, 108),
                (127, 103),
            ] {
                assert_eq!(fold_pitch(pitch), want, "pitch {pitch}");
            }
        }

        #[test]
        fn matches_the_spec_loops_and_takes_any_i32() {
            let by_loops = |mut p: i64| {
                while p < 21 {
                    p += 12;
                }
                while p > 108 {
                    p -= 12;
                }
                p as i32
            };
            for pitch in -300..300 {
                assert_eq!(
                    fold_pitch(pitch),
                    by_loops(i64::from(pitch)),
                    "pitch {pitch}"
                );
            }
            for pitch in [i32::MIN, i32::MIN + 1, i32::MAX, i32::MAX - 1] {
                let folded = fold_pitch(pitch);
                assert!(
                    (PITCH_MIN..=PITCH_MAX).contains(&folded),
                    "{pitch} -> {folded}"
                );
                assert_eq!((i64::from(pitch) - i64::from(folded)).rem_euclid(12), 0);
            }
        }
    }

    mod time_sig {
        use super::*;

        #[test]
        fn bar_lengths() {
            for (num, den, len) in [
                (4, 4, 16),
                (3, 4, 12),
                (6, 8, 12),
                (5, 8, 10),
                (12, 8, 24),
                (8, 4, 32),
                (4, 2, 32),
                (16, 8, 32),
                (1, 1, 16),
                (2, 1, 32),
                (1, 16, 1),
                (3, 16, 3),
                (32, 16, 32),
            ] {
                assert_eq!(
                    TimeSig { num, den }.bar_length_16ths(),
                    Ok(len),
                    "{num}/{den}"
                );
            }
        }

        #[test]
        fn refuses_what_the_vocabulary_cannot_address() {
            for (num, den) in [
                (9, 4),
                (5, 2),
                (3, 1),
                (17, 8),
                (33, 16),
                (0, 4),
                (3, 3),
                (1, 32),
                (4, 0),
                (0, 0),
                (u32::MAX, 1),
                (u32::MAX, 16),
            ] {
                assert_eq!(
                    TimeSig::new(num, den),
                    Err(TokenError::UnsupportedTimeSig { num, den }),
                    "{num}/{den}"
                );
            }
        }

        #[test]
        fn tag_ids_round_trip() {
            for id in 0..VOCAB_SIZE as u32 + 5 {
                if let Some(meter) = TimeSig::from_tag_id(id) {
                    assert_eq!(meter.tag_id(), Some(id));
                    assert!(meter.bar_length_16ths().is_ok(), "{meter:?}");
                }
            }
            assert_eq!(ts(4, 4).tag_id(), Some(200));
            assert_eq!(ts(1, 4).tag_id(), None);
            assert_eq!(TimeSig::from_tag_id(TS_BASE - 1), None);
            assert_eq!(TimeSig::from_tag_id(TEMPO_BASE), None);
        }
    }

    mod tags {
        use super::*;

        #[test]
        fn every_tag_id_round_trips_alone() {
            for id in 0..VOCAB_SIZE as u32 {
                let tags = Tags::from_ids([id]);
                let want = if id >= TAG_BASE { vec![id] } else { vec![] };
                assert_eq!(tags.ids(), want, "{}", token_name(id).unwrap());
            }
            assert_eq!(
                Tags::from_ids([VOCAB_SIZE as u32, u32::MAX]),
                Tags::default()
            );
        }

        #[test]
        fn canonical_order_and_first_per_category_wins() {
            let tags = Tags::from_names([
                "TEMPO_80",
                "KEY_Bb_MINOR",
                "NOT_A_TAG",
                "STYLE_CHORALE",
                "KEY_C_MAJOR",
                "PITCH_60",
                "TS_6_8",
                "TS_4_4",
            ]);
            assert_eq!(
                tags.key,
                Some(Key {
                    pitch_class: 10,
                    minor: true
                })
            );
            assert_eq!(tags.time_sig, Some(ts(6, 8)));
            assert_eq!(tags.ids(), vec![152, 195, 210, 216]);
        }

        #[test]
        fn time_sig_without_a_tag_is_left_out() {
            let tags = Tags {
                time_sig: Some(ts(1, 4)),
                tempo: Some(Tempo::Bpm96),
                ..Tags::default()
            };
            assert_eq!(tags.ids(), vec![Tempo::Bpm96.id()]);
        }

        #[test]
        fn with_derived_replaces_and_clears() {
            let derived = DerivedTags {
                voices: Voices::Two,
                density: Density::Busy,
                register: Register::Low,
            };
            let tags = Tags::from_names(["STYLE_JIG", "VOICES_4PLUS"]).with_derived(Some(derived));
            assert_eq!(tags.ids(), vec![155, 165, 170, 171]);
            assert_eq!(tags.with_derived(None).ids(), vec![155]);
        }

        #[test]
        fn key_pitch_class_wraps() {
            assert_eq!(
                Key {
                    pitch_class: 14,
                    minor: false
                }
                .id(),
                Key {
                    pitch_class: 2,
                    minor: false
                }
                .id()
            );
            assert_eq!(
                Key::from_id(KEY_BASE + 23),
                Some(Key {
                    pitch_class: 11,
                    minor: true
                })
            );
            assert_eq!(Key::from_id(KEY_BASE + 24), None);
        }

        #[test]
        fn tempo_bins() {
            for (qpm, want) in [
                (0.0, Tempo::Bpm52),
                (59.99, Tempo::Bpm52),
                (60.0, Tempo::Bpm66),
                (71.9, Tempo::Bpm66),
                (72.0, Tempo::Bpm80),
                (100.0, Tempo::Bpm96),
                (119.0, Tempo::Bpm112),
                (120.0, Tempo::Bpm130),
                (167.9, Tempo::Bpm154),
                (168.0, Tempo::Bpm180),
                (1e12, Tempo::Bpm180),
                (f64::INFINITY, Tempo::Bpm180),
                (-1.0, Tempo::Bpm52),
                (f64::NEG_INFINITY, Tempo::Bpm52),
                (f64::NAN, Tempo::Bpm180),
            ] {
                assert_eq!(Tempo::from_quarters_per_minute(qpm), want, "{qpm}");
            }
        }
    }

    mod normalize {
        use super::*;

        #[test]
        fn drops_invalid_folds_and_clamps() {
            let got = normalize(&[
                note(-1, 4, 60, 80),
                note(0, 4, -1, 80),
                note(0, 4, 128, 80),
                note(0, 4, 61, 0),
                note(0, 4, 62, -3),
                note(0, 0, 10, 200),
                note(0, -7, 127, 1),
            ]);
            assert_eq!(got, vec![note(0, 1, 103, 1), note(0, 1, 22, 127)]);
        }

        #[test]
        fn merges_same_start_and_pitch() {
            let got = normalize(&[note(0, 2, 64, 90), note(0, 6, 64, 50), note(0, 3, 64, 70)]);
            assert_eq!(got, vec![note(0, 6, 64, 90)]);
        }

        #[test]
        fn folded_pitches_merge_too() {
            let got = normalize(&[note(0, 2, 12, 90), note(0, 4, 24, 50)]);
            assert_eq!(got, vec![note(0, 4, 24, 90)]);
        }

        #[test]
        fn trims_same_pitch_overlaps_only() {
            let got = normalize(&[
                note(0, 8, 60, 80),
                note(4, 8, 60, 80),
                note(6, 2, 60, 80),
                note(0, 8, 64, 80),
                note(8, 4, 64, 80),
            ]);
            assert_eq!(
                got,
                vec![
                    note(0, 8, 64, 80),
                    note(0, 4, 60, 80),
                    note(4, 2, 60, 80),
                    note(6, 2, 60, 80),
                    note(8, 4, 64, 80),
                ]
            );
        }

        #[test]
        fn huge_values_do_not_overflow() {
            let got = normalize(&[
                note(0, i64::MAX, 60, 80),
                note(i64::MAX, i64::MAX, 60, 80),
                note(i64::MAX - 1, 1, 61, 80),
            ]);
            assert_eq!(
                got,
                vec![
                    note(0, i64::MAX, 60, 80),
                    note(i64::MAX - 1, 1, 61, 80),
                    note(i64::MAX, i64::MAX, 60, 80),
                ]
            );
        }
    }

    mod encode {
        use super::*;

        #[test]
        fn empty_bars_are_lone_bars() {
            let ids = encode(&[note(32, 4, 60, 80)], ts(4, 4), &Tags::default(), None).unwrap();
            assert_eq!(ids, vec![BOS, BAR, BAR, BAR, POS_BASE, 150, 75, 127, EOS]);
            let ids = encode(&[], ts(4, 4), &Tags::default(), Some(3)).unwrap();
            assert_eq!(ids, vec![BOS, BAR, BAR, BAR, EOS]);
        }

        #[test]
        fn prompt_ends_with_the_bar_it_opens() {
            let notes = [note(0, 4, 60, 80), note(16, 4, 62, 80)];
            let tags = Tags::from_names(["STYLE_REEL"]);
            let full = encode(&notes, ts(4, 4), &tags, Some(2)).unwrap();
            let prompt = encode_prompt(&notes, ts(4, 4), &tags, Some(2)).unwrap();
            assert_eq!(full.last(), Some(&EOS));
            assert_eq!(prompt.last(), Some(&BAR));
            assert_eq!(full[..full.len() - 1], prompt[..prompt.len() - 1]);
        }

        #[test]
        fn refuses_too_many_bars() {
            let far = note(i64::from(MAX_NUM_BARS) * 16, 4, 60, 80);
            assert_eq!(
                encode(&[far], ts(4, 4), &Tags::default(), None),
                Err(TokenError::TooManyBars {
                    num_bars: u64::from(MAX_NUM_BARS) + 1,
                    max_bars: MAX_NUM_BARS
                })
            );
            let farthest = note(i64::MAX, 4, 60, 80);
            assert!(encode(&[farthest], ts(1, 16), &Tags::default(), None).is_err());
            // With an explicit bar count the far note is simply dropped.
            assert_eq!(
                encode(&[farthest], ts(4, 4), &Tags::default(), Some(1)),
                Ok(vec![BOS, BAR, EOS])
            );
            assert!(encode(&[], ts(4, 4), &Tags::default(), Some(MAX_NUM_BARS)).is_ok());
            assert!(encode(&[], ts(4, 4), &Tags::default(), Some(MAX_NUM_BARS + 1)).is_err());
        }

        #[test]
        fn decode_of_encode_is_the_quantized_notes() {
            // For any notes: decoding the encoding gives the normalized notes with durations
            // quantized and velocities binned, normalized again (quantizing can lengthen a note
            // into the next one of its pitch).
            let mut rng = Lcg(7);
            let meters = supported_meters();
            for _ in 0..2000 {
                let meter = meters[rng.range(0, meters.len() as i64) as usize];
                let num_notes = rng.range(0, 24);
                let notes: Vec<Note> = (0..num_notes)
                    .map(|_| {
                        note(
                            rng.range(-4, 100),
                            rng.range(-2, 90),
                            rng.range(-5, 133) as i32,
                            rng.range(-5, 140) as i32,
                        )
                    })
                    .collect();
                let num_bars = match rng.range(0, 3) {
                    0 => None,
                    _ => Some(rng.range(0, 6) as u32),
                };
                let ids = encode(&notes, meter, &Tags::default(), num_bars).unwrap();
                let end_16ths = num_bars.map_or(i64::MAX, |n| {
                    i64::from(n) * i64::from(meter.bar_length_16ths().unwrap())
                });
                let expected: Vec<Note> = normalize(&notes)
                    .into_iter()
                    .filter(|n| n.start_16ths < end_16ths)
                    .map(|n| Note {
                        duration_16ths: quantize_duration(n.duration_16ths),
                        velocity: velocity_of_bin(velocity_bin(n.velocity)),
                        ..n
                    })
                    .collect();
                assert_eq!(
                    decode(&ids, meter).unwrap(),
                    normalize(&expected),
                    "{meter:?} {notes:?} {num_bars:?}"
                );
                // Bars are self-contained: exactly one BAR per bar, and every id is in range.
                assert!(ids.iter().all(|&id| (id as usize) < VOCAB_SIZE));
            }
        }
    }

    mod decode {
        use super::*;

        #[test]
        fn random_streams_never_panic_and_give_normalized_notes() {
            let mut rng = Lcg(42);
            let meters = supported_meters();
            for _ in 0..5000 {
                let meter = meters[rng.range(0, meters.len() as i64) as usize];
                let len = rng.range(0, 120) as usize;
                // Mostly ids in 0..300 (past the vocabulary too), a few negative or huge.
                let ids: Vec<i64> = (0..len)
                    .map(|_| match rng.range(0, 40) {
                        0 => -rng.range(1, 1000),
                        1 => i64::MAX - rng.range(0, 3),
                        2 => i64::from(u32::MAX) + rng.range(-2, 3),
                        3 => i64::MIN,
                        _ => rng.range(0, 300),
                    })
                    .collect();
                let split = rng.range(0, len as i64 + 2) as usize;
                let (prompt, generated) = ids.split_at(split.min(len));
                for notes in [
                    decode(&ids, meter).unwrap(),
                    decode_continuation(prompt, generated, meter).unwrap(),
                ] {
                    assert_eq!(normalize(&notes), notes, "decoded notes are normalized");
                    for n in &notes {
                        assert!(n.start_16ths >= 0);
                        assert!(n.duration_16ths >= 1 && n.duration_16ths <= 64);
                        assert!((PITCH_MIN..=PITCH_MAX).contains(&n.pitch));
                        assert!(VELOCITY_OF_BIN.contains(&n.velocity));
                    }
                }
            }
        }

        #[test]
        fn every_id_alone_and_after_a_note_prefix() {
            for id in -3i64..300 {
                for meter in [ts(4, 4), ts(1, 16)] {
                    assert_eq!(decode(&[id], meter), Ok(vec![]));
                    let mut ids = vec![i64::from(BAR), i64::from(POS_BASE), 75, id];
                    let got = decode(&ids, meter).unwrap();
                    let want_dur = (DUR_BASE as i64..VEL_BASE as i64).contains(&id);
                    assert_eq!(got.len(), usize::from(want_dur), "id {id}");
                    ids.push(127);
                    decode(&ids, meter).unwrap();
                }
            }
        }

        #[test]
        fn u32_and_i64_streams_agree() {
            let ids: Vec<u32> = vec![1, 3, 4, 148, 75, 127, 3, 8, 77, 131, 2];
            let wide: Vec<i64> = ids.iter().map(|&id| i64::from(id)).collect();
            assert_eq!(decode(&ids, ts(4, 4)), decode(&wide, ts(4, 4)));
            assert_eq!(
                decode(&ids, ts(4, 4)).unwrap(),
                vec![note(0, 4, 60, 32), note(20, 8, 62, 32)]
            );
        }
    }

    mod token_decoder {
        use super::*;

        #[test]
        fn bar_idx_counts_from_the_prompt_s_last_bar() {
            let mut decoder = TokenDecoder::new(ts(4, 4)).unwrap();
            assert_eq!(decoder.bar_idx(), -1);
            // The raw decoder returns prompt notes too (at absolute starts); decode_continuation
            // is what discards them.
            let prompt_notes: Vec<Note> = [BOS, BAR, POS_BASE, 75, 127, BAR, BAR]
                .into_iter()
                .filter_map(|id| decoder.feed(id))
                .collect();
            assert_eq!(prompt_notes, vec![note(0, 4, 60, 84)]);
            assert_eq!(decoder.bar_idx(), 2);
            decoder.set_origin();
            assert_eq!(decoder.bar_idx(), 0);
            assert_eq!(decoder.feed(POS_BASE + 2), None);
            assert_eq!(decoder.feed(75u32), None);
            assert_eq!(decoder.feed(DUR_BASE), Some(note(2, 1, 60, 84)));
            decoder.feed(BAR);
            assert_eq!(decoder.bar_idx(), 1);
            decoder.feed(EOS);
            assert!(decoder.is_ended());
            decoder.feed(BAR);
            assert_eq!(decoder.bar_idx(), 1, "ids after EOS are ignored");
        }

        #[test]
        fn set_origin_before_any_bar_counts_from_the_first_bar() {
            let mut decoder = TokenDecoder::new(ts(3, 4)).unwrap();
            decoder.set_origin();
            for id in [BAR, BAR, POS_BASE + 1, 75] {
                decoder.feed(id);
            }
            assert_eq!(decoder.feed(DUR_BASE + 1), Some(note(13, 2, 60, 84)));
        }

        #[test]
        fn velocity_carries_from_the_prompt() {
            let prompt = [BOS, BAR, POS_BASE, VEL_BASE + 3, 75, 127, BAR];
            let generated = [POS_BASE, 77, 127];
            assert_eq!(
                decode_continuation(&prompt, &generated, ts(4, 4)),
                Ok(vec![note(0, 4, 62, 112)])
            );
        }
    }

    mod derive_tags {
        use super::*;

        #[test]
        fn no_notes_no_tags() {
            assert_eq!(derive_tags(&[], ts(4, 4), None), Ok(None));
            assert_eq!(derive_tags(&[], ts(4, 4), Some(4)), Ok(None));
            // Notes past the bars asked for, or invalid ones, do not count.
            assert_eq!(
                derive_tags(&[note(16, 4, 60, 80)], ts(4, 4), Some(1)),
                Ok(None)
            );
            assert_eq!(
                derive_tags(&[note(0, 4, 60, 0)], ts(4, 4), Some(1)),
                Ok(None)
            );
        }

        #[test]
        fn density_edges_are_exact() {
            // 4 onsets in a 4/4 bar is exactly 1 per quarter: MEDIUM; 3 is SPARSE; 8 is BUSY.
            let onsets = |n: i64| -> Vec<Note> { (0..n).map(|i| note(i * 2, 1, 60, 80)).collect() };
            let density = |n| {
                derive_tags(&onsets(n), ts(4, 4), Some(1))
                    .unwrap()
                    .unwrap()
                    .density
            };
            assert_eq!(density(3), Density::Sparse);
            assert_eq!(density(4), Density::Medium);
            assert_eq!(density(7), Density::Medium);
            assert_eq!(density(8), Density::Busy);
        }

        #[test]
        fn num_bars_none_spans_to_the_last_onset_bar() {
            // Two onsets, last in bar 1: 2 * 4 / 32 < 1.
            let notes = [note(0, 4, 60, 80), note(17, 4, 60, 80)];
            let got = derive_tags(&notes, ts(4, 4), None).unwrap().unwrap();
            assert_eq!(got.density, Density::Sparse);
            assert_eq!(got.voices, Voices::One);
        }

        #[test]
        fn voices_use_unquantized_trimmed_durations() {
            // The held 17-sixteenth note still sounds at onset 16, so both onsets count 2 voices;
            // quantized to 16 it would not, and the lower median of [1, 2] would be 1.
            let notes = [note(0, 17, 48, 80), note(0, 4, 72, 80), note(16, 4, 76, 80)];
            let got = derive_tags(&notes, ts(4, 4), Some(2)).unwrap().unwrap();
            assert_eq!(got.voices, Voices::Two);
            assert_eq!(got.register, Register::Mid);
        }

        #[test]
        fn extreme_starts_do_not_overflow() {
            let notes = [note(i64::MAX, i64::MAX, 60, 80), note(0, i64::MAX, 61, 80)];
            let got = derive_tags(&notes, ts(1, 16), None).unwrap().unwrap();
            assert_eq!(got.voices, Voices::One);
            assert_eq!(got.density, Density::Sparse);
        }
    }
}
