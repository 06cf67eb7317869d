//! The context as a band: the notes a track played, split into parts with roles, on the v2 grid.
//! A host's MIDI channel 10 is drums; every other channel is read as one part whose role comes
//! from how it plays (register, polyphony, length, regularity), the rules `build_data.py`
//! applies to source tracks (models/notes2/TOKENS.md "Roles"). A channel that holds a bass line
//! under its chords (a pianist's left hand, a transcribed mix) is split at the bottom. Worker
//! thread; allocates.

use super::super::tokens_v2::{quantize_notes, Note, Parts, Role, SourceNote, TICKS_PER_QUARTER};
use crate::timeline::{BeatNote, DRUM_CHANNEL};
use std::collections::BTreeMap;
use std::num::NonZeroU32;

/// Source resolution the context is quantized from: fine enough for any host timing.
const SOURCE_PPQ: u32 = 960;

/// Below this pitch (C3) a channel's lowest notes may be its bass line.
const BASS_SPLIT_PITCH: u8 = 48;

/// A channel's notes split into a bass line and the rest only when each side has at least this
/// share of the onsets (a stray low note is not a bass part).
const MIN_SPLIT_SHARE: f64 = 0.2;

/// One context part: the role the model continues it as, and the channel it came from.
#[derive(Debug, Clone, PartialEq)]
pub struct ContextPart {
    pub role: Role,
    pub channel: u8,
    pub notes: Vec<Note>,
}

/// The context notes (in quarter-note beats from the first context bar line) as parts on the v2
/// grid. Two channels read as the same role are merged, as the training data merges them.
pub fn split_into_parts(notes: &[BeatNote]) -> Vec<ContextPart> {
    let mut by_channel: BTreeMap<u8, Vec<BeatNote>> = BTreeMap::new();
    for note in notes
        .iter()
        .filter(|n| n.duration_beats.is_finite() && n.start_beats.is_finite())
    {
        by_channel.entry(note.channel).or_default().push(*note);
    }
    let mut parts: Vec<ContextPart> = Vec::new();
    for (channel, notes) in by_channel {
        if channel == DRUM_CHANNEL {
            push_part(&mut parts, Role::Drums, channel, to_grid(&notes));
            continue;
        }
        for group in split_bass(&notes) {
            let grid = to_grid(&group);
            if grid.is_empty() {
                continue;
            }
            let role = pitched_role(&grid);
            push_part(&mut parts, role, channel, grid);
        }
    }
    parts.sort_by_key(|p| p.role);
    parts
}

/// The parts as the tokenizer takes them.
pub fn as_parts(parts: &[ContextPart]) -> Parts {
    parts.iter().map(|p| (p.role, p.notes.clone())).collect()
}

fn push_part(parts: &mut Vec<ContextPart>, role: Role, channel: u8, notes: Vec<Note>) {
    if notes.is_empty() {
        return;
    }
    match parts.iter_mut().find(|p| p.role == role) {
        Some(part) => {
            part.notes.extend(notes);
            part.notes.sort_by_key(|n| (n.start_ticks, -n.pitch));
        }
        None => parts.push(ContextPart {
            role,
            channel,
            notes,
        }),
    }
}

/// Beats to grid ticks, snapping each beat's onsets to straight 16ths or triplets
/// (TOKENS.md "Quantization from MIDI").
pub fn to_grid(notes: &[BeatNote]) -> Vec<Note> {
    let ppq = f64::from(SOURCE_PPQ);
    let source: Vec<SourceNote> = notes
        .iter()
        .filter(|n| n.start_beats >= -1e-6)
        .map(|n| {
            let start = (n.start_beats.max(0.0) * ppq).round() as i64;
            let end = ((n.start_beats + n.duration_beats.max(0.0)) * ppq).round() as i64;
            SourceNote {
                start_ticks: start,
                end_ticks: end.max(start + 1),
                pitch: i32::from(n.pitch),
                velocity: i32::from(n.velocity),
            }
        })
        .collect();
    let mut grid = quantize_notes(&source, NonZeroU32::new(SOURCE_PPQ).expect("non-zero"));
    grid.sort_by_key(|n| (n.start_ticks, -n.pitch));
    grid
}

/// A channel's notes as one group, or as its bass line and the rest when it plays both: at
/// onsets whose lowest note is below C3 and at least a fifth under the next note up, that
/// lowest note is the bass.
fn split_bass(notes: &[BeatNote]) -> Vec<Vec<BeatNote>> {
    let mut onsets: BTreeMap<i64, Vec<usize>> = BTreeMap::new();
    for (idx, n) in notes.iter().enumerate() {
        onsets
            .entry((n.start_beats * 48.0).round() as i64)
            .or_default()
            .push(idx);
    }
    let mut is_bass = vec![false; notes.len()];
    let mut num_bass_onsets = 0usize;
    let mut num_upper_onsets = 0usize;
    for indices in onsets.values() {
        let mut sorted = indices.clone();
        sorted.sort_by_key(|&i| notes[i].pitch);
        let lowest = notes[sorted[0]].pitch;
        let next = sorted.get(1).map(|&i| notes[i].pitch);
        let bass_here = lowest < BASS_SPLIT_PITCH && next.is_none_or(|p| p >= lowest + 7);
        if bass_here {
            is_bass[sorted[0]] = true;
            num_bass_onsets += 1;
        }
        if sorted.len() > usize::from(bass_here) {
            num_upper_onsets += 1;
        }
    }
    let total = onsets.len().max(1) as f64;
    let split = num_bass_onsets as f64 / total >= MIN_SPLIT_SHARE
        && num_upper_onsets as f64 / total >= MIN_SPLIT_SHARE
        // Upper notes must mostly sit above the bass register, or this is one low line.
        && notes.iter().zip(&is_bass).filter(|(_, b)| !**b).all(|(n, _)| n.pitch >= BASS_SPLIT_PITCH - 5);
    if !split {
        return vec![notes.to_vec()];
    }
    let (bass, upper): (Vec<_>, Vec<_>) = notes.iter().zip(&is_bass).partition(|(_, b)| **b);
    vec![
        bass.into_iter().map(|(n, _)| *n).collect(),
        upper.into_iter().map(|(n, _)| *n).collect(),
    ]
}

/// The role of a pitched part from how it plays (TOKENS.md "Roles", without GM programs: a
/// host's track carries none).
pub fn pitched_role(notes: &[Note]) -> Role {
    let tpq = i64::from(TICKS_PER_QUARTER);
    let n = notes.len().max(1) as f64;
    let mean_pitch = notes.iter().map(|n| f64::from(n.pitch)).sum::<f64>() / n;
    let mean_beats = notes.iter().map(|n| n.duration_ticks as f64).sum::<f64>() / n / tpq as f64;
    let polyphony = lower_median_polyphony(notes);
    if polyphony >= 2 {
        return if mean_beats >= 4.0 {
            Role::Pad
        } else {
            Role::Chords
        };
    }
    if mean_pitch < 50.0 || (mean_pitch < 55.0 && notes.iter().all(|n| n.pitch < 60)) {
        return Role::Bass;
    }
    let mut onsets: Vec<i64> = notes.iter().map(|n| n.start_ticks).collect();
    onsets.dedup();
    let span_beats = (onsets.last().copied().unwrap_or(0) - onsets[0]) as f64 / tpq as f64 + 1.0;
    let iois: Vec<i64> = onsets.windows(2).map(|w| w[1] - w[0]).collect();
    let mut distinct: Vec<i32> = notes.iter().map(|n| n.pitch).collect();
    distinct.sort_unstable();
    distinct.dedup();
    let regular = iois
        .iter()
        .filter(|&&d| iois.first() == Some(&d) && d <= tpq / 2)
        .count();
    let is_arp = onsets.len() >= 16
        && onsets.len() as f64 / span_beats >= 1.5
        && regular as f64 >= 0.7 * iois.len() as f64
        && mean_beats <= 0.5
        && distinct.len() >= 3;
    if is_arp {
        Role::Arp
    } else {
        Role::Lead
    }
}

/// Notes sounding at each distinct onset, lower median (TOKENS.md `POLY`).
fn lower_median_polyphony(notes: &[Note]) -> usize {
    let mut onsets: Vec<i64> = notes.iter().map(|n| n.start_ticks).collect();
    onsets.sort_unstable();
    onsets.dedup();
    let mut counts: Vec<usize> = onsets
        .iter()
        .map(|&t| {
            notes
                .iter()
                .filter(|n| n.start_ticks <= t && t < n.start_ticks + n.duration_ticks.max(1))
                .count()
        })
        .collect();
    counts.sort_unstable();
    counts
        .get(counts.len().saturating_sub(1) / 2)
        .copied()
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start: f64, dur: f64, pitch: u8, channel: u8) -> BeatNote {
        BeatNote {
            start_beats: start,
            duration_beats: dur,
            pitch,
            velocity: 90,
            channel,
        }
    }

    fn roles(parts: &[ContextPart]) -> Vec<Role> {
        parts.iter().map(|p| p.role).collect()
    }

    #[test]
    fn channel_ten_is_drums_and_a_low_line_is_bass() {
        let mut notes = Vec::new();
        for beat in 0..8 {
            notes.push(note(beat as f64, 0.1, 36, DRUM_CHANNEL));
            notes.push(note(beat as f64 + 0.5, 0.1, 42, DRUM_CHANNEL));
            notes.push(note(beat as f64, 0.9, 36 + (beat % 3) as u8, 0));
        }
        let parts = split_into_parts(&notes);
        assert_eq!(roles(&parts), vec![Role::Drums, Role::Bass]);
        assert_eq!(parts[0].notes.len(), 16);
        // Offbeat hats land on tick 6 of the beat.
        assert!(parts[0]
            .notes
            .iter()
            .any(|n| n.start_ticks == 6 && n.pitch == 42));
    }

    #[test]
    fn held_triads_are_chords_and_whole_bar_ones_pads() {
        let triad = |start: f64, dur: f64| [60, 64, 67].map(|p| note(start, dur, p, 0));
        let chords: Vec<_> = (0..8).flat_map(|i| triad(i as f64 * 2.0, 1.5)).collect();
        assert_eq!(roles(&split_into_parts(&chords)), vec![Role::Chords]);
        let pads: Vec<_> = (0..4).flat_map(|i| triad(i as f64 * 4.0, 4.0)).collect();
        assert_eq!(roles(&split_into_parts(&pads)), vec![Role::Pad]);
    }

    #[test]
    fn a_left_hand_bass_under_chords_is_split_off() {
        let mut notes = Vec::new();
        for bar in 0..4 {
            let t = bar as f64 * 4.0;
            notes.push(note(t, 4.0, 36 + bar as u8, 0));
            for p in [60, 64, 67] {
                notes.push(note(t, 2.0, p, 0));
                notes.push(note(t + 2.0, 2.0, p, 0));
            }
        }
        let parts = split_into_parts(&notes);
        assert_eq!(roles(&parts), vec![Role::Bass, Role::Chords]);
        assert_eq!(parts[0].notes.len(), 4);
    }

    #[test]
    fn a_fast_regular_broken_chord_is_an_arpeggio_and_a_tune_a_lead() {
        let arp: Vec<_> = (0..32)
            .map(|i| note(i as f64 * 0.25, 0.2, [60, 64, 67, 72][i % 4], 0))
            .collect();
        assert_eq!(roles(&split_into_parts(&arp)), vec![Role::Arp]);
        let tune: Vec<_> = [
            (0.0, 1.0, 67),
            (1.0, 0.5, 69),
            (1.5, 0.5, 71),
            (2.0, 2.0, 72),
        ]
        .iter()
        .map(|&(s, d, p)| note(s, d, p, 0))
        .collect();
        assert_eq!(roles(&split_into_parts(&tune)), vec![Role::Lead]);
    }

    #[test]
    fn swung_eighths_land_on_the_triplet_grid() {
        let notes: Vec<_> = (0..8)
            .flat_map(|b| {
                [
                    note(b as f64, 0.6, 70, 0),
                    note(b as f64 + 2.0 / 3.0, 0.3, 72, 0),
                ]
            })
            .collect();
        let parts = split_into_parts(&notes);
        assert!(parts[0].notes.iter().any(|n| n.start_ticks == 8));
        assert!(!parts[0].notes.iter().any(|n| n.start_ticks % 12 == 6));
    }
}
