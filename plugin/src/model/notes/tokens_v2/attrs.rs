//! Each part's attributes in the header (TOKENS.md "Sequence layout" and "Attributes"), and the
//! attributes as training derives them from notes.

use super::notes::{normalize_part, Note, Role, TimeSig, TICKS_PER_QUARTER};
use super::token::Token;
use super::vocab;
use super::TokenError;

/// `DENS_k` is the first `k` with `notes < DENS_THRESHOLDS[k] * bars`, else 8: notes (drum hits)
/// per bar.
pub const DENS_THRESHOLDS: [u64; 8] = [2, 4, 6, 8, 12, 16, 24, 32];
/// `REG_k` is the first `k` with `mean pitch < REG_THRESHOLDS[k]`, else 4.
pub const REG_THRESHOLDS: [i64; 4] = [40, 52, 64, 76];
/// Highest `POLY` value; it means "this many or more".
pub const MAX_POLY: u8 = 4;

/// `FEEL_*`: whether a part's onsets sit on the straight or the triplet/swung grid. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Feel {
    /// `FEEL_STRAIGHT`
    Straight,
    /// `FEEL_SWING`: swung 8ths or 16ths, or triplets.
    Swing,
}

impl Feel {
    /// Both feels, in id order.
    pub const ALL: [Feel; 2] = [Feel::Straight, Feel::Swing];

    /// Name after `FEEL_`. Real-time safe.
    pub fn name(self) -> &'static str {
        match self {
            Feel::Straight => "STRAIGHT",
            Feel::Swing => "SWING",
        }
    }
}

/// One part's attributes; `None` leaves a category unspecified (training dropped each now and
/// then). Values: `density` 0..=8, `register` 0..=4, `polyphony` 1..=4; a value outside its
/// range is left out of the encoding. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct PartAttrs {
    /// `DENS_k`: notes per bar bucket.
    pub density: Option<u8>,
    /// `REG_k`: mean pitch bucket (pitched parts only).
    pub register: Option<u8>,
    /// `POLY_k`: typical notes sounding at an onset, 4 = 4 or more (pitched parts only).
    pub polyphony: Option<u8>,
    /// `FEEL_*`.
    pub feel: Option<Feel>,
}

impl PartAttrs {
    /// Attributes from token names in any order: the first per category wins; names that are
    /// not attributes are skipped. Worker thread; real-time safe.
    pub fn from_names<S: AsRef<str>>(names: impl IntoIterator<Item = S>) -> Self {
        Self::from_ids(names.into_iter().filter_map(|n| vocab::id(n.as_ref())))
    }

    /// Attributes from token ids in any order: the first per category wins; ids that are not
    /// attributes are skipped. Worker thread; real-time safe.
    pub fn from_ids(ids: impl IntoIterator<Item = u32>) -> Self {
        let mut attrs = Self::default();
        for token in ids.into_iter().filter_map(Token::from_id) {
            match token {
                Token::Dens(k) => set_once(&mut attrs.density, k),
                Token::Reg(k) => set_once(&mut attrs.register, k),
                Token::Poly(k) => set_once(&mut attrs.polyphony, k),
                Token::Feel(f) => set_once(&mut attrs.feel, f),
                _ => {}
            }
        }
        attrs
    }

    /// The ids after `PART_<role>` in the header, in the order DENS, REG, POLY, FEEL; REG and
    /// POLY are never written for drums. Worker thread; allocates.
    pub fn ids(&self, role: Role) -> Vec<u32> {
        let pitched = role.is_pitched();
        [
            self.density.map(Token::Dens),
            self.register.filter(|_| pitched).map(Token::Reg),
            self.polyphony.filter(|_| pitched).map(Token::Poly),
            self.feel.map(Token::Feel),
        ]
        .into_iter()
        .flatten()
        .filter_map(Token::id)
        .collect()
    }

    /// Whether no category is set. Real-time safe.
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// One header entry: a part the model should write, and its attributes. Any thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct HeaderEntry {
    /// The part's role.
    pub role: Role,
    /// Its attributes.
    pub attrs: PartAttrs,
}

impl HeaderEntry {
    /// An entry from a role name and attribute token names (as `vectors.json` and the prompt
    /// parser give them); an unknown role is [`TokenError::UnknownRole`], unknown attribute names
    /// are skipped. Worker thread; allocates only for the error.
    pub fn from_names<S: AsRef<str>>(
        role: &str,
        attrs: impl IntoIterator<Item = S>,
    ) -> Result<Self, TokenError> {
        Ok(Self {
            role: Role::from_name(role)?,
            attrs: PartAttrs::from_names(attrs),
        })
    }
}

/// Sets `slot` unless an earlier token already did: the first tag per category wins.
pub(super) fn set_once<T>(slot: &mut Option<T>, value: T) {
    if slot.is_none() {
        *slot = Some(value);
    }
}

/// A part's attributes as training computes them: over its normalized notes (without binning)
/// that start in the first `num_bars` bars. Drums get DENS and FEEL only; no such notes gives no
/// attributes (an empty [`PartAttrs`]). An error only for an unsupported meter. Worker thread;
/// allocates.
pub fn derive_part_attrs(
    role: Role,
    notes: &[Note],
    ts: TimeSig,
    num_bars: u32,
) -> Result<PartAttrs, TokenError> {
    let bar_len = i64::from(ts.bar_length_ticks()?);
    let end_ticks = i64::from(num_bars) * bar_len;
    let mut notes = normalize_part(role, notes);
    notes.retain(|n| n.start_ticks < end_ticks);
    if notes.is_empty() {
        return Ok(PartAttrs::default());
    }
    let num_notes = notes.len() as u64;
    let num_bars = u64::from(num_bars);
    let density = DENS_THRESHOLDS
        .iter()
        .position(|&t| num_notes < t * num_bars)
        .unwrap_or(DENS_THRESHOLDS.len()) as u8;

    // Normalized notes are sorted by start.
    let starts: Vec<i64> = notes.iter().map(|n| n.start_ticks).collect();
    let mut onsets = starts.clone();
    onsets.dedup();

    let (register, polyphony) = if role.is_pitched() {
        let pitch_sum: i64 = notes.iter().map(|n| i64::from(n.pitch)).sum();
        let register = REG_THRESHOLDS
            .iter()
            .position(|&r| pitch_sum < r * num_notes as i64)
            .unwrap_or(REG_THRESHOLDS.len()) as u8;
        // Notes sounding at t are those started by t minus those ended by t (a note that has
        // ended has also started, durations being >= 1), so two sorted lists answer each onset.
        let mut ends: Vec<i64> = notes
            .iter()
            .map(|n| n.start_ticks.saturating_add(n.duration_ticks))
            .collect();
        ends.sort_unstable();
        let mut counts: Vec<usize> = onsets
            .iter()
            .map(|&t| starts.partition_point(|&s| s <= t) - ends.partition_point(|&e| e <= t))
            .collect();
        counts.sort_unstable();
        let lower_median = counts[(counts.len() - 1) / 2];
        let polyphony = lower_median.min(usize::from(MAX_POLY)) as u8;
        (Some(register), Some(polyphony))
    } else {
        (None, None)
    };

    let (mut num_swung, mut num_straight_16ths, mut num_off_8ths) = (0u64, 0u64, 0u64);
    for &t in &onsets {
        match (t % bar_len) % i64::from(TICKS_PER_QUARTER) {
            2 | 4 | 8 | 10 => num_swung += 1,
            3 | 9 => num_straight_16ths += 1,
            6 => num_off_8ths += 1,
            _ => {}
        }
    }
    // 16th swing keeps the straight off-8th (tick 6), so it only counts against swing when it
    // outnumbers the swung positions two to one.
    let feel = if num_swung > num_straight_16ths && 2 * num_swung > num_off_8ths {
        Feel::Swing
    } else {
        Feel::Straight
    };

    Ok(PartAttrs {
        density: Some(density),
        register,
        polyphony,
        feel: Some(feel),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start: i64, dur: i64, pitch: i32, vel: i32) -> Note {
        Note::new(start, dur, pitch, vel)
    }

    const FOUR_FOUR: TimeSig = TimeSig::FOUR_FOUR;

    mod part_attrs_ids {
        use super::*;

        #[test]
        fn order_first_wins_and_drums_lose_reg_and_poly() {
            let attrs = PartAttrs::from_names(["FEEL_SWING", "REG_2", "BOGUS", "DENS_6", "DENS_1"]);
            let names = |role| -> Vec<&str> {
                attrs
                    .ids(role)
                    .into_iter()
                    .filter_map(vocab::name)
                    .collect()
            };
            assert_eq!(names(Role::Bass), vec!["DENS_6", "REG_2", "FEEL_SWING"]);
            assert_eq!(names(Role::Drums), vec!["DENS_6", "FEEL_SWING"]);
            let out_of_range = PartAttrs {
                density: Some(9),
                polyphony: Some(0),
                ..PartAttrs::default()
            };
            assert!(out_of_range.ids(Role::Lead).is_empty());
            assert!(!attrs.is_empty() && out_of_range != PartAttrs::default());
        }
    }

    mod derive_part_attrs {
        use super::*;

        #[test]
        fn buckets_at_their_edges() {
            // 2 notes over 1 bar: DENS_1 (2 < 2 is false, 2 < 4). Mean pitch 40: REG_1.
            let got = derive_part_attrs(
                Role::Bass,
                &[note(0, 6, 40, 80), note(12, 6, 40, 80)],
                FOUR_FOUR,
                1,
            )
            .unwrap();
            assert_eq!(got.density, Some(1));
            assert_eq!(got.register, Some(1));
            assert_eq!(got.polyphony, Some(1));
            assert_eq!(got.feel, Some(Feel::Straight));
        }

        #[test]
        fn polyphony_counts_held_notes() {
            // A held note under two onsets: 2 sound at each; capped at 4 for a 6-note cluster.
            let held = [note(0, 24, 48, 80), note(0, 6, 72, 80), note(12, 6, 74, 80)];
            let got = derive_part_attrs(Role::Pad, &held, FOUR_FOUR, 1).unwrap();
            assert_eq!(got.polyphony, Some(2));
            let cluster: Vec<Note> = (60..66).map(|p| note(0, 12, p, 80)).collect();
            let got = derive_part_attrs(Role::Pad, &cluster, FOUR_FOUR, 1).unwrap();
            assert_eq!(got.polyphony, Some(4));
        }

        #[test]
        fn feel_swing_versus_straight() {
            let onsets = |ticks: &[i64]| -> Vec<Note> {
                ticks.iter().map(|&t| note(t, 1, 42, 80)).collect()
            };
            let feel = |ticks: &[i64]| {
                derive_part_attrs(Role::Drums, &onsets(ticks), FOUR_FOUR, 1)
                    .unwrap()
                    .feel
            };
            assert_eq!(feel(&[0, 8, 12, 20]), Some(Feel::Swing));
            assert_eq!(feel(&[0, 4, 6, 10]), Some(Feel::Swing));
            // Straight 8ths with a triplet fill: 2 swung onsets against 4 off-8ths.
            assert_eq!(
                feel(&[0, 6, 12, 18, 24, 28, 30, 32, 36, 42]),
                Some(Feel::Straight)
            );
            // One swung onset against two off-8ths: 2 * 1 > 2 fails.
            assert_eq!(feel(&[6, 8, 18]), Some(Feel::Straight));
        }

        #[test]
        fn no_notes_in_the_bars_no_attributes() {
            let late = [note(48, 12, 60, 80)];
            assert!(derive_part_attrs(Role::Lead, &late, FOUR_FOUR, 1)
                .unwrap()
                .is_empty());
            assert!(derive_part_attrs(Role::Lead, &late, FOUR_FOUR, 0)
                .unwrap()
                .is_empty());
            assert_eq!(
                derive_part_attrs(Role::Lead, &late, TimeSig { num: 4, den: 3 }, 2),
                Err(TokenError::UnsupportedTimeSig { num: 4, den: 3 })
            );
        }
    }
}
