//! Continuations made without a model, for `cargo xtask eval-notes` to measure beside the
//! model's: [`looped`] (the riff again: the most faithful and least inventive answer) and
//! [`random_in_key`] (notes of the riff's own density, durations and range, pitches random in its
//! scale: in key but without memory). A model's figures mean something only next to these.
//!
//! As in [`super::metrics`], the context's first bar starts at tick 0 and a continuation's tick 0
//! is the bar after the context's last. Command-line thread; allocates.

use super::metrics::{bar_ticks, clip_to_bars, Scale};
use crate::model::notes::tokens_v2::{Note, Parts, Role, TimeSig};
use std::collections::{BTreeSet, HashSet};

/// The context's `context_bars` bars repeated to fill `num_bars` bars: continuation bar `b` is
/// context bar `b % context_bars`. Notes keep their durations, even past the last bar; notes of
/// the context outside its bars are ignored. Empty when `context_bars` is 0.
///
/// # Panics
/// If the v2 grid cannot hold `ts` ([`bar_ticks`]).
pub fn looped(context: &Parts, ts: TimeSig, context_bars: u32, num_bars: u32) -> Parts {
    let bar = bar_ticks(ts);
    let context_ticks = bar * i64::from(context_bars);
    let span_ticks = bar * i64::from(num_bars);
    if context_ticks == 0 {
        return Parts::new();
    }
    let num_repeats = span_ticks.div_euclid(context_ticks) + 1;
    clip_to_bars(context, ts, context_bars)
        .into_iter()
        .map(|(role, notes)| {
            let mut repeated: Vec<Note> = (0..num_repeats)
                .flat_map(|repeat| {
                    notes.iter().map(move |n| Note {
                        start_ticks: n.start_ticks + repeat * context_ticks,
                        ..*n
                    })
                })
                .filter(|n| n.start_ticks < span_ticks)
                .collect();
            repeated.sort_by_key(|n| (n.start_ticks, n.pitch));
            (role, repeated)
        })
        .filter(|(_, notes)| !notes.is_empty())
        .collect()
}

/// Random notes shaped like the context, part by part. For each context part (its notes in the
/// context's bars):
/// - onsets: as many distinct onsets per bar as the part has (rounded over `num_bars`), each at
///   a uniformly random 16th of the continuation (a multiple of 3 ticks);
/// - notes per onset: drawn from the part's own onsets (a block-chord part stays chords), so the
///   notes per bar match the part's on average;
/// - duration and velocity of each note: those of a uniformly random note of the part;
/// - pitch: distinct at an onset (so at most as many notes as there are pitches to draw);
///   pitched parts uniformly over the pitches of `scale` between the part's lowest and highest
///   (over the part's own pitches if none of those is in scale); drums, the drum notes of the
///   part weighted by how often it plays them.
///
/// When two onsets land on the same 16th, a pitch drawn at both is kept once (the first). Deterministic for a
/// given `seed`; each role draws from its own stream, so adding a part does not change the
/// others.
///
/// # Panics
/// If the v2 grid cannot hold `ts` ([`bar_ticks`]).
pub fn random_in_key(
    context: &Parts,
    ts: TimeSig,
    context_bars: u32,
    num_bars: u32,
    scale: &Scale,
    seed: u64,
) -> Parts {
    let bar = bar_ticks(ts);
    // 16ths per bar: every supported bar is a whole number of 16ths (3 ticks).
    let num_slots = (bar * i64::from(num_bars) / 3) as u64;
    if context_bars == 0 || num_slots == 0 {
        return Parts::new();
    }
    clip_to_bars(context, ts, context_bars)
        .into_iter()
        .map(|(role, notes)| {
            let mut rng =
                SplitMix64::new(seed ^ (role.idx() as u64 + 1).wrapping_mul(GOLDEN_GAMMA));
            let part = random_part(
                role,
                &notes,
                context_bars,
                num_bars,
                num_slots,
                scale,
                &mut rng,
            );
            (role, part)
        })
        .filter(|(_, notes)| !notes.is_empty())
        .collect()
}

/// [`random_in_key`] for one non-empty part.
fn random_part(
    role: Role,
    notes: &[Note],
    context_bars: u32,
    num_bars: u32,
    num_slots: u64,
    scale: &Scale,
    rng: &mut SplitMix64,
) -> Vec<Note> {
    let onsets: BTreeSet<i64> = notes.iter().map(|n| n.start_ticks).collect();
    let notes_per_onset: Vec<usize> = onsets
        .iter()
        .map(|&t| notes.iter().filter(|n| n.start_ticks == t).count())
        .collect();
    let num_onsets =
        (onsets.len() as f64 * f64::from(num_bars) / f64::from(context_bars)).round() as usize;

    // What each note's pitch is drawn from: a list with repeats weighs its entries.
    let pitches: Vec<i32> = if role.is_pitched() {
        let low = notes.iter().map(|n| n.pitch).min().unwrap_or(0);
        let high = notes.iter().map(|n| n.pitch).max().unwrap_or(0);
        let in_scale: Vec<i32> = (low..=high).filter(|&p| scale.contains(p)).collect();
        if in_scale.is_empty() {
            notes
                .iter()
                .map(|n| n.pitch)
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect()
        } else {
            in_scale
        }
    } else {
        notes.iter().map(|n| n.pitch).collect()
    };
    let num_distinct_pitches = pitches.iter().collect::<BTreeSet<_>>().len();

    let mut out = Vec::new();
    let mut taken: HashSet<(i64, i32)> = HashSet::new();
    for _ in 0..num_onsets {
        let start_ticks = 3 * rng.below(num_slots) as i64;
        let num_notes = (*rng.pick(&notes_per_onset)).min(num_distinct_pitches);
        // Distinct pitches at an onset: each draw removes its pitch from what is left.
        let mut left = pitches.clone();
        for _ in 0..num_notes {
            let pitch = *rng.pick(&left);
            left.retain(|&p| p != pitch);
            let model = rng.pick(notes);
            if taken.insert((start_ticks, pitch)) {
                out.push(Note::new(
                    start_ticks,
                    model.duration_ticks,
                    pitch,
                    model.velocity,
                ));
            }
        }
    }
    out.sort_by_key(|n| (n.start_ticks, n.pitch));
    out
}

/// The odd constant of splitmix64's Weyl sequence (2^64 / golden ratio), also used to spread
/// the per-role seeds.
const GOLDEN_GAMMA: u64 = 0x9E37_79B9_7F4A_7C15;

/// splitmix64 (Steele, Lea and Flood, 2014): a tiny, fast, well-mixed generator, plenty for
/// drawing baseline notes. Not for anything that needs unpredictability.
#[derive(Debug, Clone)]
struct SplitMix64 {
    state: u64,
}

impl SplitMix64 {
    fn new(seed: u64) -> Self {
        Self { state: seed }
    }

    fn next_u64(&mut self) -> u64 {
        self.state = self.state.wrapping_add(GOLDEN_GAMMA);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A draw from `0..n` by multiply-shift: uniform up to a bias of at most `n / 2^64`.
    ///
    /// # Panics
    /// In debug builds, if `n` is 0.
    fn below(&mut self, n: u64) -> u64 {
        debug_assert!(n > 0);
        ((u128::from(self.next_u64()) * u128::from(n)) >> 64) as u64
    }

    /// A uniformly chosen item of a non-empty slice.
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len() as u64) as usize]
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::eval::metrics::{copy_ratio, motif_reuse, polyphony, swing};

    const FOUR_FOUR: TimeSig = TimeSig::FOUR_FOUR;
    /// Ticks per 4/4 bar.
    const BAR: i64 = 48;

    fn note(start: i64, dur: i64, pitch: i32, vel: i32) -> Note {
        Note::new(start, dur, pitch, vel)
    }

    /// Two bars: a bass line, block triads on every beat, and a kick-snare-hat beat.
    fn riff() -> Parts {
        let bass = [
            (0, 36),
            (12, 43),
            (24, 40),
            (42, 43),
            (48, 41),
            (60, 45),
            (72, 48),
            (90, 43),
        ]
        .iter()
        .map(|&(t, p)| note(t, 9, p, 100))
        .collect();
        let chords = (0..8)
            .flat_map(|beat| {
                let triad = if beat < 4 { [60, 64, 67] } else { [60, 65, 69] };
                triad.map(|p| note(12 * beat, 10, p, 70 + beat as i32))
            })
            .collect();
        let drums = (0..2)
            .flat_map(|b| {
                let t = b * BAR;
                [(t, 36), (t + 12, 38), (t + 24, 36), (t + 36, 38)]
                    .into_iter()
                    .chain((0..8).map(move |i| (t + 6 * i, 42)))
            })
            .map(|(t, p)| note(t, 3, p, 90))
            .collect();
        [
            (Role::Bass, bass),
            (Role::Chords, chords),
            (Role::Drums, drums),
        ]
        .into_iter()
        .collect()
    }

    mod looped {
        use super::*;

        #[test]
        fn repeats_the_context_bars() {
            let context = riff();
            let got = looped(&context, FOUR_FOUR, 2, 5);
            let bass = &got[&Role::Bass];
            // Bars 0, 2, 4 are context bar 0 (4 notes), bars 1, 3 context bar 1 (4 notes).
            assert_eq!(bass.len(), 20);
            assert_eq!(bass[8], note(96, 9, 36, 100));
            assert_eq!(bass[19], note(4 * BAR + 42, 9, 43, 100));
            assert!(got.values().flatten().all(|n| n.start_ticks < 5 * BAR));
            assert_eq!(copy_ratio(&context, &got, FOUR_FOUR), Some(1.0));
            assert_eq!(
                motif_reuse(&context, &got, FOUR_FOUR).map(|r| r > 0.9),
                Some(true)
            );
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                context.keys().collect::<Vec<_>>()
            );
        }

        #[test]
        fn only_the_context_bars_and_meter_count() {
            let three_four = TimeSig { num: 3, den: 4 };
            let context: Parts = [(
                Role::Lead,
                vec![note(0, 6, 72, 90), note(30, 6, 74, 90), note(36, 6, 76, 90)],
            )]
            .into_iter()
            .collect();
            // One 3/4 bar (36 ticks): the note at 36 is the riff's second bar, left out.
            let got = looped(&context, three_four, 1, 3);
            let starts: Vec<i64> = got[&Role::Lead].iter().map(|n| n.start_ticks).collect();
            assert_eq!(starts, vec![0, 30, 36, 66, 72, 102]);
            assert!(looped(&context, three_four, 0, 3).is_empty());
            assert!(looped(&context, three_four, 1, 0).is_empty());
        }
    }

    mod random_in_key {
        use super::*;

        #[test]
        fn is_deterministic_per_seed() {
            let scale = Scale::major(0);
            let a = random_in_key(&riff(), FOUR_FOUR, 2, 8, &scale, 42);
            assert_eq!(a, random_in_key(&riff(), FOUR_FOUR, 2, 8, &scale, 42));
            assert_ne!(a, random_in_key(&riff(), FOUR_FOUR, 2, 8, &scale, 43));
        }

        #[test]
        fn notes_are_shaped_like_the_part() {
            let context = riff();
            let scale = Scale::major(0);
            let got = random_in_key(&context, FOUR_FOUR, 2, 16, &scale, 7);
            assert_eq!(
                got.keys().collect::<Vec<_>>(),
                context.keys().collect::<Vec<_>>()
            );
            for (role, notes) in &got {
                let own = &context[role];
                let (low, high) = (
                    own.iter().map(|n| n.pitch).min().unwrap(),
                    own.iter().map(|n| n.pitch).max().unwrap(),
                );
                for n in notes {
                    assert_eq!(n.start_ticks % 3, 0, "{role:?} {n:?} off the 16th grid");
                    assert!((0..16 * BAR).contains(&n.start_ticks));
                    assert!(own.iter().any(|o| o.duration_ticks == n.duration_ticks));
                    assert!(own.iter().any(|o| o.velocity == n.velocity));
                    if role.is_pitched() {
                        assert!(scale.contains(n.pitch) && (low..=high).contains(&n.pitch));
                    } else {
                        assert!([36, 38, 42].contains(&n.pitch), "{n:?}");
                    }
                }
                // Notes per bar as the part's, less the odd merged collision.
                let want = own.len() as f64 / 2.0 * 16.0;
                let ratio = notes.len() as f64 / want;
                assert!(
                    (0.85..=1.0).contains(&ratio),
                    "{role:?}: {} of {want}",
                    notes.len()
                );
            }
            // Block triads stay mostly triads; the bass stays single notes.
            let chords_polyphony = polyphony(&got[&Role::Chords]).unwrap();
            assert!(chords_polyphony > 2.5, "{chords_polyphony}");
            assert!(polyphony(&got[&Role::Bass]).unwrap() < 1.2);
        }

        #[test]
        fn random_notes_neither_copy_nor_reuse() {
            let context = riff();
            let got = random_in_key(&context, FOUR_FOUR, 2, 8, &Scale::major(0), 1);
            let melodic: Parts = got
                .iter()
                .filter(|(role, _)| role.is_pitched())
                .map(|(&role, notes)| (role, notes.clone()))
                .collect();
            let reuse = motif_reuse(&context, &melodic, FOUR_FOUR).unwrap();
            assert!(reuse < 0.2, "{reuse}");
            assert_eq!(copy_ratio(&context, &got, FOUR_FOUR), Some(0.0));
            // Onsets on random 16ths: far from swung.
            assert!(swing(&got, FOUR_FOUR).unwrap() < 0.5);
        }

        #[test]
        fn a_part_with_no_in_scale_pitch_keeps_its_own() {
            let context: Parts = [(Role::Lead, vec![note(0, 12, 61, 90), note(24, 12, 61, 90)])]
                .into_iter()
                .collect();
            let got = random_in_key(&context, FOUR_FOUR, 1, 4, &Scale::major(0), 3);
            let lead = &got[&Role::Lead];
            assert!(lead.iter().all(|n| n.pitch == 61));
            // 8 onsets drawn; distinct ones survive.
            assert!((1..=8).contains(&lead.len()));
            assert!(random_in_key(&context, FOUR_FOUR, 0, 4, &Scale::major(0), 3).is_empty());
        }
    }

    mod split_mix_64 {
        use super::*;

        #[test]
        fn known_first_outputs_and_uniform_enough() {
            // splitmix64 seeded with 0 starts 0xE220A8397B1DCDAF, 0x6E789E6AA1B965F4.
            let mut rng = SplitMix64::new(0);
            assert_eq!(rng.next_u64(), 0xE220_A839_7B1D_CDAF);
            assert_eq!(rng.next_u64(), 0x6E78_9E6A_A1B9_65F4);
            let mut counts = [0usize; 6];
            for _ in 0..6000 {
                counts[rng.below(6) as usize] += 1;
            }
            assert!(
                counts.iter().all(|&c| (850..=1150).contains(&c)),
                "{counts:?}"
            );
        }
    }
}
