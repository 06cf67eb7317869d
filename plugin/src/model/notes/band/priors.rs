//! What the sampler leans to besides the model: the take's key and the context's tonal
//! hierarchy, each part's register and pace, and its feel. Each prior is a bias in nats added to
//! the model's logits, a lean and not a lock: the model can still play what it is sure of. The
//! static priors are one vector per role, built once per take; the pace prior reads the bar
//! being written. Worker thread; the builders allocate, [`lean_to_pace`] does not.

use super::super::constraints::scale_pitch_classes;
use super::super::tokens_v2::{Feel, HeaderEntry, Key, Role, Token, TICKS_PER_QUARTER, VOCAB_SIZE};
use super::context::{as_parts, ContextPart};
use super::key::{estimate_key, pitch_class_histogram, profile};

/// A part's register and pace, from its context notes moved by the words and controls; the
/// sampler leans to them as it leans to the key: a bass line keeps to its range, a sparse part
/// stays sparse, unless the model is sure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PartTarget {
    pub role: Role,
    /// Inclusive pitch range (pitched parts).
    pub range: Option<(i32, i32)>,
    /// Mean pitch the part keeps to (pitched parts).
    pub center: Option<f64>,
    /// Onsets per bar (pitched parts: a chord is one onset) or hits per bar (drums).
    pub onsets_per_bar: Option<f64>,
    /// Pitches sounding together at an onset, on average (pitched parts): 1 for a line, 3 for
    /// block triads.
    pub notes_per_onset: Option<f64>,
}

/// Log-probability taken from a pitch outside the take's scale at full key follow: e^-4, about
/// 1/55.
pub const KEY_FOLLOW_NATS: f32 = 4.0;

/// Weight of the tonal hierarchy at full key follow: each pitch class's log share of the
/// context's (or, in a key the context is not in, the Krumhansl-Kessler profile's) pitch-class
/// weights, times this. At the default follow of 0.5 the model's pitch choices are weighted by
/// how often the context plays each pitch class (to the power 1.5), so the tonic and fifth stay where the riff put
/// them and the continuation reads in the riff's key.
pub const TONAL_NATS: f32 = 3.0;

/// Share of the part's own pitch-class weights in its tonal prior; the rest is the whole
/// context's. A part with few notes leans on the context.
const PART_TONAL_SHARE: f64 = 0.5;

/// Share of the key's profile mixed into the context's weights, so a pitch class the riff never
/// played is not ruled out.
const PROFILE_SHARE: f64 = 0.25;

/// A pitch outside a part's target range loses this, plus [`RANGE_NATS_PER_SEMITONE`] for each
/// semitone further out.
pub const RANGE_NATS: f32 = 5.0;
const RANGE_NATS_PER_SEMITONE: f32 = 1.0;

/// A pitch an octave from the part's center loses this (linear in the distance); a chord part's
/// top note decides where the whole chord sits, so chords lean harder.
const CENTER_NATS_PER_OCTAVE: f32 = 2.0;
const CHORD_CENTER_NATS_PER_OCTAVE: f32 = 4.0;

/// A part stacking at least this many pitches per onset on average is voiced as chords.
const CHORD_NOTES_PER_ONSET: f64 = 1.5;

/// An onset against the part's feel (a straight off-beat in a swung part, a triplet in a
/// straight one) loses this.
const FEEL_NATS: f32 = 3.0;

/// A block (one part in one bar) may hold this share of its target onsets (rounded down) before
/// another is discouraged, and must hold the reciprocal before leaving it is.
const PACE_SLACK: f64 = 1.25;

/// The pace penalty: this at the edge of the slack, plus [`PACE_NATS_PER_NOTE`] per note past it.
const PACE_NATS: f32 = 4.0;
const PACE_NATS_PER_NOTE: f32 = 2.0;

/// An onset may hold this share of the part's usual pitches before another is discouraged, and
/// must hold the reciprocal before moving on is: a line stays a line, chords stay chords.
const VOICING_SLACK: f64 = 1.3;

/// The voicing penalty: this at the edge of the slack, plus [`VOICING_NATS_PER_NOTE`] per pitch
/// past it.
const VOICING_NATS: f32 = 4.0;
const VOICING_NATS_PER_NOTE: f32 = 2.0;

/// A part whose context never stacks notes (at most this many pitches per onset on average)
/// is a single line: a second pitch at an onset costs [`MONO_NATS`], in effect never.
const MONO_NOTES_PER_ONSET: f64 = 1.05;
const MONO_NATS: f32 = 20.0;

/// The take's key as a bias per token id: pitches outside its scale (major, or minor with its
/// raised 7th, as the key lock has it) lose `key_follow * KEY_FOLLOW_NATS`. No key, a key lock
/// (the mask already holds) or 0 follow leaves all at 0.
pub fn scale_bias(key: Option<Key>, key_follow: f32, key_locked: bool) -> Vec<f32> {
    let mut bias = vec![0.0; VOCAB_SIZE];
    let follow = key_follow.clamp(0.0, 1.0);
    let Some(key) = key.filter(|_| follow > 0.0 && !key_locked) else {
        return bias;
    };
    let in_scale = scale_pitch_classes(key.pitch_class, key.minor);
    for (id, b) in bias.iter_mut().enumerate() {
        if let Some(Token::Pitch(pitch)) = Token::from_id(id as u32) {
            if !in_scale[pitch.rem_euclid(12) as usize] {
                *b = -follow * KEY_FOLLOW_NATS;
            }
        }
    }
    bias
}

/// The pitch classes one part leans to, as shares summing to 1: in the context's own key, the
/// part's duration-weighted pitch classes mixed with the whole context's and a little of the
/// key's profile; in another key (a word or the key lock chose it) the key's profile alone.
/// `None` without a key.
pub fn tonal_weights(context: &[ContextPart], role: Role, key: Option<Key>) -> Option<[f64; 12]> {
    let key = key?;
    let key_profile = normalized(&profile(key));
    let all = as_parts(context);
    if estimate_key(&all) != Some(key) {
        return Some(key_profile);
    }
    let whole = normalized(&pitch_class_histogram(&all));
    let own = context
        .iter()
        .filter(|p| p.role == role)
        .map(|p| normalized(&pitch_class_histogram(&as_parts(std::slice::from_ref(p)))))
        .next()
        .filter(|h| h.iter().sum::<f64>() > 0.0);
    let heard: [f64; 12] = match own {
        Some(own) => {
            std::array::from_fn(|i| PART_TONAL_SHARE * own[i] + (1.0 - PART_TONAL_SHARE) * whole[i])
        }
        None => whole,
    };
    Some(std::array::from_fn(|i| {
        (1.0 - PROFILE_SHARE) * heard[i] + PROFILE_SHARE * key_profile[i]
    }))
}

/// The tonal hierarchy as a bias per pitch class: `key_follow * TONAL_NATS` times each class's
/// log share relative to the strongest (0 for it, below 0 for the rest). All 0 without weights
/// or at 0 follow.
pub fn tonal_bias(weights: Option<&[f64; 12]>, key_follow: f32) -> [f32; 12] {
    let follow = key_follow.clamp(0.0, 1.0);
    let Some(weights) = weights.filter(|_| follow > 0.0) else {
        return [0.0; 12];
    };
    let top = weights.iter().copied().fold(f64::MIN, f64::max);
    std::array::from_fn(|i| follow * TONAL_NATS * (weights[i] / top).ln() as f32)
}

/// Notes of pseudo-count the balance prior starts from (as if the part had already played this
/// many notes in its target shares), so the first notes of a take are not pushed around.
const BALANCE_PRIOR_NOTES: f64 = 6.0;

/// Weight of the balance prior at full key follow: a pitch class played e times its target
/// share so far loses `BALANCE_NATS` nats (one under).
pub const BALANCE_NATS: f32 = 6.0;

/// The balance prior, per pitch class of the part being written: a class the part has played
/// more than its share of [`tonal_weights`] so far loses (log of the excess, times
/// `key_follow * BALANCE_NATS`), one it has played less gains as much. It keeps a continuation
/// from droning on one note and keeps its pitch classes, and so its key, where the riff's are.
/// Real-time safe.
pub fn balance_bias(counts: &[u32; 12], weights: &[f64; 12], key_follow: f32) -> [f32; 12] {
    let follow = key_follow.clamp(0.0, 1.0);
    let played: f64 = counts.iter().map(|&c| f64::from(c)).sum();
    std::array::from_fn(|i| {
        let target = weights[i].max(1e-3);
        let share =
            (f64::from(counts[i]) + BALANCE_PRIOR_NOTES * target) / (played + BALANCE_PRIOR_NOTES);
        -follow * BALANCE_NATS * (share / target).ln() as f32
    })
}

/// `values` scaled to sum 1 (all 0 when they sum to 0).
fn normalized(values: &[f64; 12]) -> [f64; 12] {
    let sum: f64 = values.iter().sum();
    if sum > 0.0 {
        std::array::from_fn(|i| values[i] / sum)
    } else {
        [0.0; 12]
    }
}

/// Everything one part leans to while it writes, as a bias per token id: its tonal hierarchy on
/// pitches, its range (graded: further out costs more) and center, and its feel on onsets.
pub fn part_bias(
    role: Role,
    target: Option<&PartTarget>,
    tonal: &[f32; 12],
    feel: Option<Feel>,
) -> Vec<f32> {
    let mut bias = vec![0.0; VOCAB_SIZE];
    let range = target.and_then(|t| t.range);
    let center = target.and_then(|t| t.center);
    for (id, b) in bias.iter_mut().enumerate() {
        match Token::from_id(id as u32) {
            Some(Token::Pitch(pitch)) if role.is_pitched() => {
                *b += tonal[pitch.rem_euclid(12) as usize];
                if let Some((lo, hi)) = range {
                    let out = (lo - pitch).max(pitch - hi);
                    if out > 0 {
                        *b -= RANGE_NATS + RANGE_NATS_PER_SEMITONE * (out - 1) as f32;
                    }
                }
                if let Some(center) = center {
                    let chords = target
                        .and_then(|t| t.notes_per_onset)
                        .is_some_and(|n| n >= CHORD_NOTES_PER_ONSET);
                    let per_octave = if chords {
                        CHORD_CENTER_NATS_PER_OCTAVE
                    } else {
                        CENTER_NATS_PER_OCTAVE
                    };
                    *b -= per_octave * ((f64::from(pitch) - center).abs() / 12.0) as f32;
                }
            }
            Some(Token::Pos(pos)) if against_feel(pos, feel) => *b -= FEEL_NATS,
            _ => {}
        }
    }
    bias
}

/// Whether an onset at `pos` (grid ticks into the bar) goes against `feel`: a straight 8th
/// off-beat in a swung part, a triplet position in a straight one.
fn against_feel(pos: u32, feel: Option<Feel>) -> bool {
    let in_beat = pos % TICKS_PER_QUARTER;
    match feel {
        Some(Feel::Swing) => in_beat == TICKS_PER_QUARTER / 2,
        Some(Feel::Straight) => {
            in_beat == TICKS_PER_QUARTER / 3 || in_beat == 2 * TICKS_PER_QUARTER / 3
        }
        None => false,
    }
}

/// The feel a part keeps: its header entry's (the context's, or a word's).
pub fn feel_of(header: &[HeaderEntry], role: Role) -> Option<Feel> {
    header
        .iter()
        .find(|e| e.role == role)
        .and_then(|e| e.attrs.feel)
}

/// The pace prior: with its share of the bar's onsets (hits, for drums) written, a part is
/// discouraged from starting another, more for each one further; short of it, from leaving the
/// bar or handing over to the next part. Real-time safe.
pub fn lean_to_pace(logits: &mut [f32], written: u32, per_bar: f64) {
    let written = f64::from(written);
    let most = (per_bar * PACE_SLACK).floor();
    let least = per_bar / PACE_SLACK;
    let (penalty, onsets) = if written >= most {
        (
            PACE_NATS + PACE_NATS_PER_NOTE * (written - most) as f32,
            true,
        )
    } else if written + 0.5 < least {
        (
            PACE_NATS + PACE_NATS_PER_NOTE * (least - written - 0.5) as f32,
            false,
        )
    } else {
        return;
    };
    penalize(logits, penalty, |token| match token {
        Token::Pos(_) => onsets,
        Token::Bar | Token::Part(_) => !onsets,
        _ => false,
    });
}

/// Takes `penalty` from the logit of every token `chosen` picks. Real-time safe.
fn penalize(logits: &mut [f32], penalty: f32, chosen: impl Fn(Token) -> bool) {
    for (id, logit) in logits.iter_mut().enumerate() {
        if Token::from_id(id as u32).is_some_and(&chosen) {
            *logit -= penalty;
        }
    }
}

/// The voicing prior, while an onset of a pitched part is being written (`onset_notes` pitches
/// so far): past the part's usual pitches per onset another pitch is discouraged, more for each
/// one further (a single line stays single); short of them, moving on (the next onset, part or
/// bar) is.
/// Real-time safe.
pub fn lean_to_voicing(logits: &mut [f32], onset_notes: u32, per_onset: f64) {
    let written = f64::from(onset_notes);
    let most = (per_onset * VOICING_SLACK).floor().max(1.0);
    let least = per_onset / VOICING_SLACK;
    let (penalty, more) = if written >= 1.0 && per_onset <= MONO_NOTES_PER_ONSET {
        (MONO_NATS, true)
    } else if written >= most {
        (
            VOICING_NATS + VOICING_NATS_PER_NOTE * (written - most) as f32,
            true,
        )
    } else if written + 0.5 < least {
        (VOICING_NATS, false)
    } else {
        return;
    };
    penalize(logits, penalty, |token| match token {
        // A velocity after a note at this onset opens another pitch at the same onset.
        Token::Pitch(_) | Token::Vel(_) => more,
        Token::Pos(_) | Token::Part(_) | Token::Bar => !more,
        _ => false,
    });
}

#[cfg(test)]
mod tests {
    use super::super::super::tokens_v2::vocab::id;
    use super::super::super::tokens_v2::Note;
    use super::*;

    fn at(bias: &[f32], name: &str) -> f32 {
        bias[id(name).unwrap() as usize]
    }

    fn part(role: Role, pitches: &[i32]) -> ContextPart {
        ContextPart {
            role,
            channel: 0,
            notes: pitches
                .iter()
                .enumerate()
                .map(|(i, &p)| Note::new(i as i64 * 12, 12, p, 90))
                .collect(),
        }
    }

    const C_MAJOR: Key = Key {
        pitch_class: 0,
        minor: false,
    };

    #[test]
    fn the_scale_bias_leans_away_from_pitches_outside_the_key_unless_locked() {
        let bias = scale_bias(Some(C_MAJOR), 1.0, false);
        assert_eq!(at(&bias, "PITCH_61"), -KEY_FOLLOW_NATS);
        assert_eq!(at(&bias, "PITCH_60"), 0.0);
        assert_eq!(
            at(&scale_bias(Some(C_MAJOR), 0.5, false), "PITCH_70"),
            -0.5 * KEY_FOLLOW_NATS
        );
        assert!(scale_bias(Some(C_MAJOR), 1.0, true)
            .iter()
            .all(|&b| b == 0.0));
        assert!(scale_bias(None, 1.0, false).iter().all(|&b| b == 0.0));
    }

    #[test]
    fn the_tonal_prior_favours_what_the_context_plays_in_its_own_key() {
        // A C major riff that dwells on C and G.
        let ctx = [part(
            Role::Lead,
            &[60, 67, 60, 64, 67, 60, 65, 67, 60, 62, 59, 60],
        )];
        let key = estimate_key(&as_parts(&ctx));
        assert_eq!(key, Some(C_MAJOR));
        let weights = tonal_weights(&ctx, Role::Lead, key);
        assert!((weights.unwrap().iter().sum::<f64>() - 1.0).abs() < 1e-9);
        let bias = tonal_bias(weights.as_ref(), 1.0);
        assert_eq!(bias[0], 0.0, "the most played class is the reference");
        assert!(bias[7] > bias[2], "G (played 3 times) over D (once)");
        assert!(bias[2] > bias[1], "a played class over one never played");
        assert!(bias.iter().all(|b| b.is_finite() && *b <= 0.0));
        let half = tonal_bias(weights.as_ref(), 0.5);
        assert!((half[2] - 0.5 * bias[2]).abs() < 1e-6);
        assert!(tonal_bias(weights.as_ref(), 0.0).iter().all(|&b| b == 0.0));
        assert!(tonal_bias(None, 1.0).iter().all(|&b| b == 0.0));
    }

    #[test]
    fn in_a_key_the_context_is_not_in_the_prior_is_the_keys_profile() {
        let ctx = [part(Role::Lead, &[60, 67, 60, 64, 67, 60])];
        let e_minor = Key {
            pitch_class: 4,
            minor: true,
        };
        let bias = tonal_bias(tonal_weights(&ctx, Role::Bass, Some(e_minor)).as_ref(), 1.0);
        assert_eq!(bias[4], 0.0, "the tonic leads");
        assert!(bias[11] > bias[5], "the fifth over the flat second");
    }

    #[test]
    fn the_balance_prior_pushes_back_a_class_played_too_often() {
        let weights = normalized(&profile(C_MAJOR));
        let fresh = balance_bias(&[0; 12], &weights, 1.0);
        assert!(
            fresh.iter().all(|b| b.abs() < 1e-5),
            "no notes yet: no push"
        );
        let mut counts = [0u32; 12];
        counts[2] = 12; // a drone on D
        let bias = balance_bias(&counts, &weights, 1.0);
        assert!(bias[2] < -2.0, "the drone's class loses: {}", bias[2]);
        assert!(bias[0] > 0.0 && bias[7] > 0.0, "the tonic and fifth gain");
        let half = balance_bias(&counts, &weights, 0.5);
        assert!((half[2] - 0.5 * bias[2]).abs() < 1e-5);
    }

    #[test]
    fn a_part_leans_to_its_range_center_and_feel() {
        let target = PartTarget {
            role: Role::Bass,
            range: Some((40, 52)),
            center: Some(46.0),
            onsets_per_bar: None,
            notes_per_onset: None,
        };
        let bias = part_bias(Role::Bass, Some(&target), &[0.0; 12], Some(Feel::Swing));
        assert!(at(&bias, "PITCH_46") > at(&bias, "PITCH_50"));
        assert!(at(&bias, "PITCH_53") < at(&bias, "PITCH_52") - RANGE_NATS + 0.01);
        assert!(
            at(&bias, "PITCH_60") < at(&bias, "PITCH_53") - 3.0,
            "further out costs more"
        );
        assert_eq!(
            at(&bias, "POS_6"),
            -FEEL_NATS,
            "a straight off-beat in a swung part"
        );
        assert_eq!(at(&bias, "POS_8"), 0.0);
        let straight = part_bias(Role::Bass, None, &[0.0; 12], Some(Feel::Straight));
        assert_eq!(at(&straight, "POS_4"), -FEEL_NATS);
        assert_eq!(at(&straight, "POS_6"), 0.0);
        let drums = part_bias(Role::Drums, Some(&target), &[-1.0; 12], None);
        assert!(
            drums.iter().all(|&b| b == 0.0),
            "drums have no pitches or feel to keep"
        );
    }

    #[test]
    fn the_pace_prior_grows_with_each_note_past_the_target() {
        let mut near = vec![0.0f32; VOCAB_SIZE];
        lean_to_pace(&mut near, 5, 4.0);
        let mut far = vec![0.0f32; VOCAB_SIZE];
        lean_to_pace(&mut far, 8, 4.0);
        assert!(at(&near, "POS_12") < 0.0);
        assert!(at(&far, "POS_12") < at(&near, "POS_12"));
        assert_eq!(at(&far, "BAR"), 0.0);
        let mut short = vec![0.0f32; VOCAB_SIZE];
        lean_to_pace(&mut short, 1, 4.0);
        assert!(at(&short, "BAR") < 0.0 && at(&short, "PART_LEAD") < 0.0);
        assert_eq!(at(&short, "POS_12"), 0.0);
        let mut on_pace = vec![0.0f32; VOCAB_SIZE];
        lean_to_pace(&mut on_pace, 4, 4.0);
        assert!(on_pace.iter().all(|&b| b == 0.0));
        let mut one_chord = vec![0.0f32; VOCAB_SIZE];
        lean_to_pace(&mut one_chord, 1, 1.0);
        assert!(
            at(&one_chord, "POS_24") < 0.0,
            "a second chord in a one-chord bar"
        );
    }

    #[test]
    fn a_line_stays_a_line_and_chords_stay_chords() {
        let mut line = vec![0.0f32; VOCAB_SIZE];
        lean_to_voicing(&mut line, 1, 1.0);
        assert_eq!(
            at(&line, "PITCH_50"),
            -MONO_NATS,
            "a second pitch at a line's onset"
        );
        assert_eq!(
            at(&line, "VEL_4"),
            -MONO_NATS,
            "a velocity for a second pitch"
        );
        assert_eq!(at(&line, "POS_12"), 0.0);
        let mut triad = vec![0.0f32; VOCAB_SIZE];
        lean_to_voicing(&mut triad, 1, 3.0);
        assert!(
            at(&triad, "POS_12") < 0.0 && at(&triad, "BAR") < 0.0,
            "a chord left at one pitch"
        );
        assert_eq!(at(&triad, "PITCH_50"), 0.0);
        let mut full = vec![0.0f32; VOCAB_SIZE];
        lean_to_voicing(&mut full, 3, 3.0);
        assert_eq!(at(&full, "POS_12"), 0.0, "a full triad moves on freely");
        assert!(at(&full, "PITCH_50") < 0.0, "a fourth pitch on triads");
        let mut crowded = vec![0.0f32; VOCAB_SIZE];
        lean_to_voicing(&mut crowded, 5, 3.0);
        assert!(at(&crowded, "PITCH_50") < -VOICING_NATS);
    }
}
