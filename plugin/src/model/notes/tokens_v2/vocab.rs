//! Vocabulary v2: 336 ids in rows of one category each, the first id of every row, the names
//! (built from [`Token`]'s names, never typed out) and the check of a model's `vocab.json`.

use super::attrs::{Feel, DENS_THRESHOLDS, MAX_POLY, REG_THRESHOLDS};
use super::bins::{DRUM_CLASSES, DUR_VALUES_TICKS, VELOCITY_OF_BIN};
use super::globals::{GENRE_NAMES, TEMPO_BIN_BPM, TS_TAG_METERS};
use super::notes::{Role, MAX_BAR_TICKS, PITCH_MAX, PITCH_MIN, TICKS_PER_QUARTER};
use super::token::{Category, Token};
use super::TokenError;
use serde::Deserialize;
use std::sync::OnceLock;

/// Version of the vocabulary this module implements; a model's `vocab.json` must carry it.
pub const VOCAB_VERSION: u32 = 2;

/// Padding; the encoder never produces it and the decoder ignores it.
pub const PAD: u32 = 0;
/// Sequence start.
pub const BOS: u32 = 1;
/// Sequence end; the decoder ignores everything after it.
pub const EOS: u32 = 2;
/// A new bar starts.
pub const BAR: u32 = 3;
/// `POS_0`; `POS_p` is `POS_BASE + p` ticks into the bar.
pub const POS_BASE: u32 = 4;
/// `PITCH_21`; `PITCH_x` is `PITCH_BASE + x - 21`.
pub const PITCH_BASE: u32 = POS_BASE + MAX_BAR_TICKS;
/// `DRUM_KICK`, the first of [`DRUM_CLASSES`].
pub const DRUM_BASE: u32 = PITCH_BASE + (PITCH_MAX - PITCH_MIN + 1) as u32;
/// `DUR_1`, the first of [`DUR_VALUES_TICKS`].
pub const DUR_BASE: u32 = DRUM_BASE + DRUM_CLASSES.len() as u32;
/// `VEL_1`.
pub const VEL_BASE: u32 = DUR_BASE + DUR_VALUES_TICKS.len() as u32;
/// `PART_DRUMS`, then the other roles in role order.
pub const PART_BASE: u32 = VEL_BASE + VELOCITY_OF_BIN.len() as u32;
/// `DENS_0`.
pub const DENS_BASE: u32 = PART_BASE + Role::ALL.len() as u32;
/// `REG_0`.
pub const REG_BASE: u32 = DENS_BASE + DENS_THRESHOLDS.len() as u32 + 1;
/// `POLY_1`.
pub const POLY_BASE: u32 = REG_BASE + REG_THRESHOLDS.len() as u32 + 1;
/// `FEEL_STRAIGHT`, then `FEEL_SWING`.
pub const FEEL_BASE: u32 = POLY_BASE + MAX_POLY as u32;
/// `GENRE_POP`, the first of [`GENRE_NAMES`].
pub const GENRE_BASE: u32 = FEEL_BASE + Feel::ALL.len() as u32;
/// `TS_2_4`, the first of [`TS_TAG_METERS`].
pub const TS_BASE: u32 = GENRE_BASE + GENRE_NAMES.len() as u32;
/// `TEMPO_60`, the first of [`TEMPO_BIN_BPM`].
pub const TEMPO_BASE: u32 = TS_BASE + TS_TAG_METERS.len() as u32;
/// `KEY_C_MAJOR`; `KEY_<pc>_<mode>` is `KEY_BASE + 2 * pc + minor`.
pub const KEY_BASE: u32 = TEMPO_BASE + TEMPO_BIN_BPM.len() as u32;
/// Number of ids (`0..VOCAB_SIZE`): 336.
pub const VOCAB_SIZE: usize = KEY_BASE as usize + 24;

/// Every name, by id, built once from [`Token`]'s names.
fn names() -> &'static [String] {
    static NAMES: OnceLock<Vec<String>> = OnceLock::new();
    NAMES.get_or_init(|| {
        (0..VOCAB_SIZE as u32)
            .map(|id| Token::from_id(id).map_or_else(String::new, |t| t.to_string()))
            .collect()
    })
}

/// The name of token `id` (`"PITCH_60"`), or `None` past the vocabulary. Worker thread; the
/// first call of the process builds the table (allocates), later calls are real-time safe.
pub fn name(id: u32) -> Option<&'static str> {
    names().get(id as usize).map(String::as_str)
}

/// The id of the token called `name` (case-sensitive), or `None`. Worker thread; the first call
/// of the process builds the table (allocates), later calls are a linear search of 336 names.
pub fn id(name: &str) -> Option<u32> {
    names().iter().position(|n| n == name).map(|idx| idx as u32)
}

/// The category of token `id`, or `None` past the vocabulary. Real-time safe.
pub fn category(id: u32) -> Option<Category> {
    Token::from_id(id).map(Token::category)
}

/// Checks that a model's `vocab.json` text is vocabulary v2: same version, size, grid, ids in
/// order and names. Worker thread, at model load; allocates.
pub fn check_vocab(json: &str) -> Result<(), TokenError> {
    #[derive(Deserialize)]
    struct VocabFile {
        version: u32,
        size: usize,
        ticks_per_quarter: u32,
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
    if file.ticks_per_quarter != TICKS_PER_QUARTER {
        return Err(TokenError::VocabTicks {
            expected: TICKS_PER_QUARTER,
            found: file.ticks_per_quarter,
        });
    }
    for (position, (entry, expected)) in file.tokens.into_iter().zip(names()).enumerate() {
        if entry.id as usize != position {
            return Err(TokenError::VocabIdOrder {
                position,
                found: entry.id,
            });
        }
        if entry.name != *expected {
            return Err(TokenError::VocabName {
                id: entry.id,
                expected: expected.clone(),
                found: entry.name,
            });
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VOCAB_JSON: &str = include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../models/notes2/vocab.json"
    ));

    mod bases {
        use super::*;

        #[test]
        fn match_the_spec_table() {
            let got = [
                POS_BASE, PITCH_BASE, DRUM_BASE, DUR_BASE, VEL_BASE, PART_BASE, DENS_BASE,
                REG_BASE, POLY_BASE, FEEL_BASE, GENRE_BASE, TS_BASE, TEMPO_BASE, KEY_BASE,
            ];
            let spec = [
                4, 100, 188, 204, 230, 234, 240, 249, 254, 258, 260, 288, 302, 312,
            ];
            assert_eq!(got, spec);
            assert_eq!(VOCAB_SIZE, 336);
        }
    }

    mod name {
        use super::*;

        #[test]
        fn names_match_vocab_json_and_spot_checks() {
            assert_eq!(check_vocab(VOCAB_JSON), Ok(()));
            assert_eq!(name(0), Some("PAD"));
            assert_eq!(name(187), Some("PITCH_108"));
            assert_eq!(name(203), Some("DRUM_PERC"));
            assert_eq!(name(229), Some("DUR_192"));
            assert_eq!(name(301), Some("TS_12_8"));
            assert_eq!(name(311), Some("TEMPO_174"));
            assert_eq!(name(335), Some("KEY_B_MINOR"));
            assert_eq!(name(336), None);
        }
    }

    mod id {
        use super::*;

        #[test]
        fn inverts_name() {
            for i in 0..VOCAB_SIZE as u32 {
                assert_eq!(id(name(i).unwrap()), Some(i));
            }
            assert_eq!(id("key_c_major"), None, "names are case-sensitive");
            assert_eq!(id("NOPE"), None);
        }
    }

    mod category {
        use super::*;

        #[test]
        fn is_the_name_up_to_the_first_underscore() {
            for i in 0..VOCAB_SIZE as u32 {
                let n = name(i).unwrap();
                let prefix = n.split('_').next().unwrap();
                assert_eq!(category(i).map(Category::as_str), Some(prefix), "{n}");
            }
            assert_eq!(category(336), None);
        }
    }

    mod check_vocab {
        use super::*;

        #[test]
        fn rejects_another_vocabulary() {
            let edit = |from: &str, to: &str| check_vocab(&VOCAB_JSON.replacen(from, to, 1));
            assert!(matches!(
                edit("\"version\": 2", "\"version\": 1"),
                Err(TokenError::VocabVersion { found: 1, .. })
            ));
            assert!(matches!(
                edit("\"size\": 336", "\"size\": 222"),
                Err(TokenError::VocabSize { found: 222, .. })
            ));
            assert!(matches!(
                edit("\"ticks_per_quarter\": 12", "\"ticks_per_quarter\": 4"),
                Err(TokenError::VocabTicks { found: 4, .. })
            ));
            assert!(matches!(
                edit("\"POS_5\"", "\"POS_FIVE\""),
                Err(TokenError::VocabName { id: 9, .. })
            ));
            assert!(matches!(
                edit("\"id\": 7,", "\"id\": 8,"),
                Err(TokenError::VocabIdOrder {
                    position: 7,
                    found: 8
                })
            ));
            assert!(matches!(
                check_vocab("{"),
                Err(TokenError::VocabParse { .. })
            ));
        }
    }
}
