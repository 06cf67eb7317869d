//! The `notes` tokenizer, vocabulary v2: a multi-part band (drums, bass, chords, pad, arpeggio,
//! lead) on a grid of 12 ticks per quarter note, to bar-major, role-aware event ids and back.
//!
//! `models/notes2/TOKENS.md` is normative and `models/notes2/tokens.py` is the reference; this
//! module and the reference both pass `models/notes2/vectors.json`. v2 is a clean break from v1
//! ([`super::tokens`]): the ids are not compatible, and a model's `vocab.json` says which one it
//! speaks (see [`check_vocab`]).
//!
//! A sequence reads
//!
//! ```text
//! BOS [GENRE] [TS] [TEMPO] [KEY]                  globals, each optional
//! PART_<r> [DENS] [REG] [POLY] [FEEL] ...         header: the parts to write, role order
//! BAR PART_<r> <events> PART_<r'> <events> ...    every bar, empty bars as a lone BAR
//! EOS                                             (a prompt ends with the BAR it opens instead)
//! ```
//!
//! and inside a (bar, part) block each onset is `POS_p` followed by its notes, each
//! `[VEL_v] PITCH_x [DUR_d]` (pitched) or `[VEL_v] DRUM_<class>` (drums), where `VEL` and `DUR`
//! are written only when they change within the block.
//!
//! Files, one idea each: [`vocab`] (ids, names, `vocab.json`), [`token`] (the typed view of an
//! id), [`bins`] (drum classes, durations, velocities), [`notes`] (roles, notes, meters,
//! normalization), [`globals`] (genre, time signature, tempo, key), [`attrs`] (per-part
//! attributes), [`quantize`] (source MIDI ticks to the grid), [`encode`](mod@encode) and
//! [`decode`](mod@decode).
//!
//! Nothing here runs on the audio thread: the encoder and the whole-sequence decoder run on the
//! worker thread and allocate; [`Decoder::feed`] and the [`Token`] conversions do not allocate.

pub mod attrs;
pub mod bins;
pub mod decode;
pub mod encode;
pub mod globals;
pub mod notes;
pub mod quantize;
pub mod token;
pub mod vocab;

#[cfg(test)]
mod vectors;

pub use attrs::{derive_part_attrs, Feel, HeaderEntry, PartAttrs};
pub use bins::DrumClass;
pub use decode::{decode, decode_continuation, DecodedNote, Decoder};
pub use encode::{encode, encode_bars, encode_header, encode_prompt, quantized, MAX_NUM_BARS};
pub use globals::{Genre, Globals, Key, TempoBin};
pub use notes::{normalize_part, normalize_piece, Note, Parts, Role, TimeSig, TICKS_PER_QUARTER};
pub use quantize::{quantize_notes, SourceNote};
pub use token::{Category, Token};
pub use vocab::{check_vocab, id, name, VOCAB_SIZE, VOCAB_VERSION};

use thiserror::Error;

/// What the v2 tokenizer refuses. Built on the worker thread; the plugin shows the message.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
pub enum TokenError {
    #[error(
        "time signature {num}/{den} is not supported by the notes model: the denominator must be \
         1, 2, 4, 8 or 16 and a bar must be a whole number of ticks (12 per quarter note) from 1 \
         to 96 (up to 8/4 or 16/8)"
    )]
    UnsupportedTimeSig { num: u32, den: u32 },

    #[error(
        "unknown part role {name:?}: the roles are DRUMS, BASS, CHORDS, PAD, ARP and LEAD \
         (upper case)"
    )]
    UnknownRole { name: String },

    #[error(
        "{num_bars} bars is more than one encoding may hold ({max_bars}); pass fewer bars, or \
         check for notes that start far after the others"
    )]
    TooManyBars { num_bars: u64, max_bars: u32 },

    #[error(
        "vocab.json could not be read as a vocabulary ({reason}); it should read \
         {{\"version\": 2, \"size\": 336, \"ticks_per_quarter\": 12, \"tokens\": \
         [{{\"id\": 0, \"name\": \"PAD\"}}, ...]}}"
    )]
    VocabParse { reason: String },

    #[error(
        "vocab.json is version {found}, this tokenizer reads version {expected}: use a model \
         exported for vocabulary v{expected}"
    )]
    VocabVersion { expected: u32, found: u32 },

    #[error(
        "vocab.json has {found} tokens, vocabulary v2 has {expected}: the model was trained with \
         another vocabulary"
    )]
    VocabSize { expected: usize, found: usize },

    #[error(
        "vocab.json says {found} ticks per quarter note, vocabulary v2 uses {expected}: the model \
         was trained with another grid"
    )]
    VocabTicks { expected: u32, found: u32 },

    #[error(
        "vocab.json lists id {found} at position {position}: ids must run 0, 1, 2, ... in order"
    )]
    VocabIdOrder { position: usize, found: u32 },

    #[error(
        "vocab.json names id {id} {found:?}, vocabulary v2 calls it {expected:?}: the model was \
         trained with another vocabulary"
    )]
    VocabName {
        id: u32,
        expected: String,
        found: String,
    },
}

/// Deterministic random pieces for the property tests, so they need no crate.
#[cfg(test)]
mod testing {
    use super::bins::DRUM_CLASSES;
    use super::{Note, Parts, Role, TimeSig};

    /// Knuth's MMIX linear congruential generator.
    pub struct Lcg(pub u64);

    impl Lcg {
        fn next_u32(&mut self) -> u32 {
            self.0 = self
                .0
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            (self.0 >> 33) as u32
        }

        /// Uniform-ish in `lo..hi` (`lo < hi`).
        pub fn range(&mut self, lo: i64, hi: i64) -> i64 {
            lo + i64::from(self.next_u32()) % (hi - lo)
        }
    }

    /// The meters test_tokens.py round-trips.
    pub const METERS: [TimeSig; 7] = [
        TimeSig { num: 4, den: 4 },
        TimeSig { num: 3, den: 4 },
        TimeSig { num: 6, den: 8 },
        TimeSig { num: 7, den: 8 },
        TimeSig { num: 5, den: 4 },
        TimeSig { num: 12, den: 8 },
        TimeSig { num: 2, den: 2 },
    ];

    /// A random piece over `num_bars` bars (plus a few ticks past them), as test_tokens.py
    /// draws them: some roles, invalid and unmapped notes included.
    pub fn random_parts(rng: &mut Lcg, ts: TimeSig, num_bars: i64) -> Parts {
        let bar_len = i64::from(ts.bar_length_ticks().unwrap());
        let mut parts = Parts::new();
        for role in Role::ALL {
            if rng.range(0, 3) == 0 {
                continue;
            }
            let num_notes = rng.range(0, 12 * num_bars + 1);
            let notes = (0..num_notes)
                .map(|_| {
                    let start = rng.range(0, num_bars * bar_len + 6);
                    if role == Role::Drums {
                        let class = &DRUM_CLASSES[rng.range(0, 16) as usize];
                        let gm_idx = rng.range(0, class.gm_notes.len() as i64 + 1) as usize;
                        let gm = class.gm_notes.get(gm_idx).copied().unwrap_or(90);
                        Note::new(start, 1, gm, rng.range(0, 128) as i32)
                    } else {
                        let pitch = rng.range(0, 128) as i32;
                        Note::new(start, rng.range(0, 251), pitch, rng.range(0, 141) as i32)
                    }
                })
                .collect();
            parts.insert(role, notes);
        }
        parts
    }
}
