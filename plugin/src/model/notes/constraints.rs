//! Musical constraints on what the notes model may play, applied as masks while sampling: key
//! and scale lock, pitch range and note density. A masked token can never be sampled, so the
//! constraint holds for every note, not on average. Worker thread.

/// Scale degrees of the major scale, in semitones above the tonic.
const MAJOR: [u8; 7] = [0, 2, 4, 5, 7, 9, 11];
/// Natural minor, plus the raised seventh: the leading tone is part of minor-key writing in the
/// chorales and tunes the model learned from.
const MINOR: [u8; 8] = [0, 2, 3, 5, 7, 8, 10, 11];

/// Lowest and highest pitch the vocabulary has (piano range, TOKENS.md).
pub const LOWEST_PITCH: u8 = 21;
pub const HIGHEST_PITCH: u8 = 108;

/// What the sampler must respect.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Constraints {
    /// Only notes of this key's scale: tonic pitch class (0 = C) and minor.
    pub key_lock: Option<(u8, bool)>,
    /// Inclusive pitch range.
    pub lowest_pitch: u8,
    pub highest_pitch: u8,
    /// At most this many notes start in one bar (None: no limit).
    pub max_notes_per_bar: Option<u32>,
}

impl Default for Constraints {
    fn default() -> Self {
        Self {
            key_lock: None,
            lowest_pitch: LOWEST_PITCH,
            highest_pitch: HIGHEST_PITCH,
            max_notes_per_bar: None,
        }
    }
}

/// Which of the 12 pitch classes belong to a key's scale.
pub fn scale_pitch_classes(tonic: u8, minor: bool) -> [bool; 12] {
    let mut classes = [false; 12];
    let degrees: &[u8] = if minor { &MINOR } else { &MAJOR };
    for degree in degrees {
        classes[((tonic % 12) + degree) as usize % 12] = true;
    }
    classes
}

impl Constraints {
    /// Whether a note of this pitch may be played.
    pub fn allows_pitch(&self, pitch: u8) -> bool {
        if pitch < self.lowest_pitch || pitch > self.highest_pitch {
            return false;
        }
        match self.key_lock {
            Some((tonic, minor)) => scale_pitch_classes(tonic, minor)[pitch as usize % 12],
            None => true,
        }
    }

    /// Whether any pitch at all is allowed (an empty range or a range without a scale note
    /// would leave the model nothing to play).
    pub fn allows_any_pitch(&self) -> bool {
        (self.lowest_pitch..=self.highest_pitch).any(|p| self.allows_pitch(p))
    }

    /// Keeps the range ordered and inside the vocabulary.
    pub fn normalized(mut self) -> Self {
        self.lowest_pitch = self.lowest_pitch.clamp(LOWEST_PITCH, HIGHEST_PITCH);
        self.highest_pitch = self.highest_pitch.clamp(LOWEST_PITCH, HIGHEST_PITCH);
        if self.lowest_pitch > self.highest_pitch {
            std::mem::swap(&mut self.lowest_pitch, &mut self.highest_pitch);
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod scale_pitch_classes {
        use super::*;

        #[test]
        fn d_minor_and_e_flat_major() {
            let d_minor = scale_pitch_classes(2, true);
            // D E F G A Bb C and the leading tone C#.
            let expected = [0, 1, 2, 4, 5, 7, 9, 10];
            for (pc, &in_scale) in d_minor.iter().enumerate() {
                assert_eq!(in_scale, expected.contains(&pc), "pc {pc}");
            }
            let e_flat = scale_pitch_classes(3, false);
            let expected = [3, 5, 7, 8, 10, 0, 2];
            for (pc, &in_scale) in e_flat.iter().enumerate() {
                assert_eq!(in_scale, expected.contains(&pc), "pc {pc}");
            }
        }
    }

    mod allows_pitch {
        use super::*;

        #[test]
        fn range_and_key_together() {
            let c = Constraints {
                key_lock: Some((0, false)),
                lowest_pitch: 60,
                highest_pitch: 72,
                max_notes_per_bar: None,
            };
            assert!(c.allows_pitch(60) && c.allows_pitch(72) && c.allows_pitch(67));
            assert!(!c.allows_pitch(61) && !c.allows_pitch(59) && !c.allows_pitch(74));
            assert!(c.allows_any_pitch());
            let none = Constraints {
                lowest_pitch: 61,
                highest_pitch: 61,
                ..c
            };
            assert!(!none.allows_any_pitch());
        }

        #[test]
        fn normalized_orders_and_clamps() {
            let c = Constraints {
                lowest_pitch: 120,
                highest_pitch: 10,
                ..Constraints::default()
            }
            .normalized();
            assert_eq!(
                (c.lowest_pitch, c.highest_pitch),
                (LOWEST_PITCH, HIGHEST_PITCH)
            );
        }
    }
}
