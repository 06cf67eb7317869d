//! The typed view of an id: what each token means ([`Token`]), its category, and its name,
//! from which [`super::vocab`] builds the name table. Any thread; real-time safe except
//! `to_string`.

use super::attrs::{Feel, DENS_THRESHOLDS, MAX_POLY, REG_THRESHOLDS};
use super::bins::{dur_idx, DrumClass, DUR_VALUES_TICKS, VELOCITY_OF_BIN};
use super::globals::{Genre, Key, TempoBin, TS_TAG_METERS};
use super::notes::{Role, TimeSig, MAX_BAR_TICKS, PITCH_MAX, PITCH_MIN};
use super::vocab::{
    BAR, BOS, DENS_BASE, DRUM_BASE, DUR_BASE, EOS, FEEL_BASE, GENRE_BASE, KEY_BASE, PAD, PART_BASE,
    PITCH_BASE, POLY_BASE, POS_BASE, REG_BASE, TEMPO_BASE, TS_BASE, VEL_BASE,
};
use std::fmt;

/// A token's category: its name up to the first `_`. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// `PAD` tokens.
    Pad,
    /// `BOS` tokens.
    Bos,
    /// `EOS` tokens.
    Eos,
    /// `BAR` tokens.
    Bar,
    /// `POS` tokens.
    Pos,
    /// `PITCH` tokens.
    Pitch,
    /// `DRUM` tokens.
    Drum,
    /// `DUR` tokens.
    Dur,
    /// `VEL` tokens.
    Vel,
    /// `PART` tokens.
    Part,
    /// `DENS` tokens.
    Dens,
    /// `REG` tokens.
    Reg,
    /// `POLY` tokens.
    Poly,
    /// `FEEL` tokens.
    Feel,
    /// `GENRE` tokens.
    Genre,
    /// `TS` tokens.
    Ts,
    /// `TEMPO` tokens.
    Tempo,
    /// `KEY` tokens.
    Key,
}

impl Category {
    /// The name prefix (`"PITCH"`). Real-time safe.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Pad => "PAD",
            Category::Bos => "BOS",
            Category::Eos => "EOS",
            Category::Bar => "BAR",
            Category::Pos => "POS",
            Category::Pitch => "PITCH",
            Category::Drum => "DRUM",
            Category::Dur => "DUR",
            Category::Vel => "VEL",
            Category::Part => "PART",
            Category::Dens => "DENS",
            Category::Reg => "REG",
            Category::Poly => "POLY",
            Category::Feel => "FEEL",
            Category::Genre => "GENRE",
            Category::Ts => "TS",
            Category::Tempo => "TEMPO",
            Category::Key => "KEY",
        }
    }
}

/// What an id means, with its value in the units of the grid. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Token {
    /// `PAD`
    Pad,
    /// `BOS`
    Bos,
    /// `EOS`
    Eos,
    /// `BAR`
    Bar,
    /// `POS_p`: onset, ticks from the bar line (0..96).
    Pos(u32),
    /// `PITCH_x`: MIDI pitch (21..=108).
    Pitch(i32),
    /// `DRUM_<class>`.
    Drum(DrumClass),
    /// `DUR_d`: duration in ticks, one of [`DUR_VALUES_TICKS`].
    Dur(i64),
    /// `VEL_v`: velocity bin (1..=4).
    Vel(u8),
    /// `PART_<role>`.
    Part(Role),
    /// `DENS_k` (0..=8).
    Dens(u8),
    /// `REG_k` (0..=4).
    Reg(u8),
    /// `POLY_k` (1..=4).
    Poly(u8),
    /// `FEEL_*`.
    Feel(Feel),
    /// `GENRE_*`.
    Genre(Genre),
    /// `TS_<n>_<d>`: one of [`TS_TAG_METERS`].
    TimeSig(TimeSig),
    /// `TEMPO_<bpm>`.
    Tempo(TempoBin),
    /// `KEY_<pc>_<mode>`.
    Key(Key),
}

impl Token {
    /// The token of `id`, or `None` past the vocabulary. Real-time safe.
    pub fn from_id(id: u32) -> Option<Self> {
        let idx = |base: u32| (id - base) as usize;
        Some(match id {
            PAD => Token::Pad,
            BOS => Token::Bos,
            EOS => Token::Eos,
            BAR => Token::Bar,
            POS_BASE..PITCH_BASE => Token::Pos(id - POS_BASE),
            PITCH_BASE..DRUM_BASE => Token::Pitch(idx(PITCH_BASE) as i32 + PITCH_MIN),
            DRUM_BASE..DUR_BASE => Token::Drum(DrumClass::from_idx(idx(DRUM_BASE))?),
            DUR_BASE..VEL_BASE => Token::Dur(DUR_VALUES_TICKS[idx(DUR_BASE)]),
            VEL_BASE..PART_BASE => Token::Vel(idx(VEL_BASE) as u8 + 1),
            PART_BASE..DENS_BASE => Token::Part(Role::ALL[idx(PART_BASE)]),
            DENS_BASE..REG_BASE => Token::Dens(idx(DENS_BASE) as u8),
            REG_BASE..POLY_BASE => Token::Reg(idx(REG_BASE) as u8),
            POLY_BASE..FEEL_BASE => Token::Poly(idx(POLY_BASE) as u8 + 1),
            FEEL_BASE..GENRE_BASE => Token::Feel(Feel::ALL[idx(FEEL_BASE)]),
            GENRE_BASE..TS_BASE => Token::Genre(Genre::from_idx(idx(GENRE_BASE))?),
            TS_BASE..TEMPO_BASE => {
                let (num, den) = TS_TAG_METERS[idx(TS_BASE)];
                Token::TimeSig(TimeSig { num, den })
            }
            TEMPO_BASE..KEY_BASE => Token::Tempo(TempoBin::from_idx(idx(TEMPO_BASE))?),
            _ => Token::Key(Key::from_offset(id.checked_sub(KEY_BASE)?)?),
        })
    }

    /// This token's id, or `None` when its value has no token (`Pos(96)`, `Dur(7)`, a meter
    /// without a `TS` tag). Real-time safe.
    pub fn id(self) -> Option<u32> {
        let in_table = |idx: usize, len: usize, base: u32| (idx < len).then(|| base + idx as u32);
        match self {
            Token::Pad => Some(PAD),
            Token::Bos => Some(BOS),
            Token::Eos => Some(EOS),
            Token::Bar => Some(BAR),
            Token::Pos(p) => (p < MAX_BAR_TICKS).then(|| POS_BASE + p),
            Token::Pitch(x) => (PITCH_MIN..=PITCH_MAX)
                .contains(&x)
                .then(|| PITCH_BASE + (x - PITCH_MIN) as u32),
            Token::Drum(class) => Some(DRUM_BASE + class.idx() as u32),
            Token::Dur(d) => dur_idx(d).map(|idx| DUR_BASE + idx as u32),
            Token::Vel(bin) => in_table(
                usize::from(bin).wrapping_sub(1),
                VELOCITY_OF_BIN.len(),
                VEL_BASE,
            ),
            Token::Part(role) => Some(PART_BASE + role.idx() as u32),
            Token::Dens(k) => in_table(usize::from(k), DENS_THRESHOLDS.len() + 1, DENS_BASE),
            Token::Reg(k) => in_table(usize::from(k), REG_THRESHOLDS.len() + 1, REG_BASE),
            Token::Poly(k) => in_table(
                usize::from(k).wrapping_sub(1),
                usize::from(MAX_POLY),
                POLY_BASE,
            ),
            Token::Feel(feel) => Some(FEEL_BASE + feel as u32),
            Token::Genre(genre) => Some(GENRE_BASE + genre.idx() as u32),
            Token::TimeSig(ts) => TS_TAG_METERS
                .iter()
                .position(|&m| m == (ts.num, ts.den))
                .map(|idx| TS_BASE + idx as u32),
            Token::Tempo(tempo) => Some(TEMPO_BASE + tempo.idx() as u32),
            Token::Key(key) => Some(KEY_BASE + key.offset()),
        }
    }

    /// The token's category. Real-time safe.
    pub fn category(self) -> Category {
        match self {
            Token::Pad => Category::Pad,
            Token::Bos => Category::Bos,
            Token::Eos => Category::Eos,
            Token::Bar => Category::Bar,
            Token::Pos(_) => Category::Pos,
            Token::Pitch(_) => Category::Pitch,
            Token::Drum(_) => Category::Drum,
            Token::Dur(_) => Category::Dur,
            Token::Vel(_) => Category::Vel,
            Token::Part(_) => Category::Part,
            Token::Dens(_) => Category::Dens,
            Token::Reg(_) => Category::Reg,
            Token::Poly(_) => Category::Poly,
            Token::Feel(_) => Category::Feel,
            Token::Genre(_) => Category::Genre,
            Token::TimeSig(_) => Category::Ts,
            Token::Tempo(_) => Category::Tempo,
            Token::Key(_) => Category::Key,
        }
    }
}

/// Writes the token's name (`PITCH_60`, `KEY_Bb_MINOR`).
impl fmt::Display for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let prefix = self.category().as_str();
        match *self {
            Token::Pad | Token::Bos | Token::Eos | Token::Bar => f.write_str(prefix),
            Token::Pos(p) => write!(f, "{prefix}_{p}"),
            Token::Pitch(x) => write!(f, "{prefix}_{x}"),
            Token::Drum(class) => write!(f, "{prefix}_{}", class.name()),
            Token::Dur(d) => write!(f, "{prefix}_{d}"),
            Token::Vel(bin) => write!(f, "{prefix}_{bin}"),
            Token::Part(role) => write!(f, "{prefix}_{}", role.name()),
            Token::Dens(k) | Token::Reg(k) | Token::Poly(k) => write!(f, "{prefix}_{k}"),
            Token::Feel(feel) => write!(f, "{prefix}_{}", feel.name()),
            Token::Genre(genre) => write!(f, "{prefix}_{}", genre.name()),
            Token::TimeSig(ts) => write!(f, "{prefix}_{}_{}", ts.num, ts.den),
            Token::Tempo(tempo) => write!(f, "{prefix}_{}", tempo.bpm()),
            Token::Key(key) => {
                let mode = if key.minor { "MINOR" } else { "MAJOR" };
                write!(f, "{prefix}_{}_{mode}", key.tonic_name())
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::super::vocab::VOCAB_SIZE;
    use super::*;

    mod token_from_id {
        use super::*;

        #[test]
        fn inverts_id_for_every_token_and_stops_at_the_end() {
            for id in 0..VOCAB_SIZE as u32 {
                let token = Token::from_id(id).unwrap_or_else(|| panic!("id {id} has no token"));
                assert_eq!(token.id(), Some(id), "{token:?}");
            }
            assert_eq!(Token::from_id(VOCAB_SIZE as u32), None);
            assert_eq!(Token::from_id(u32::MAX), None);
        }

        #[test]
        fn values_follow_the_id_formulas() {
            assert_eq!(Token::from_id(4 + 95), Some(Token::Pos(95)));
            assert_eq!(Token::from_id(100 + 60 - 21), Some(Token::Pitch(60)));
            assert_eq!(Token::from_id(204 + 13), Some(Token::Dur(21)));
            assert_eq!(Token::from_id(233), Some(Token::Vel(4)));
            assert_eq!(Token::from_id(236), Some(Token::Part(Role::Chords)));
            assert_eq!(Token::from_id(257), Some(Token::Poly(4)));
            assert_eq!(Token::from_id(259), Some(Token::Feel(Feel::Swing)));
            assert_eq!(
                Token::from_id(312 + 2 * 9 + 1),
                Some(Token::Key(Key {
                    pitch_class: 9,
                    minor: true
                }))
            );
        }
    }

    mod token_id {
        use super::*;

        #[test]
        fn values_without_a_token_have_no_id() {
            for token in [
                Token::Pos(96),
                Token::Pitch(20),
                Token::Pitch(109),
                Token::Dur(7),
                Token::Vel(0),
                Token::Vel(5),
                Token::Dens(9),
                Token::Reg(5),
                Token::Poly(0),
                Token::Poly(5),
                Token::TimeSig(TimeSig { num: 1, den: 4 }),
            ] {
                assert_eq!(token.id(), None, "{token:?}");
            }
        }
    }
}
