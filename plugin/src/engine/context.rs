//! The context a take continues, cut from the history: on bar lines, so its first beat is a
//! downbeat for the model, and its note events paired into notes. Worker thread; allocates.

use crate::bridge::CapturedNote;
use crate::timeline::{BeatNote, Meter, TransportSnapshot};

/// Frames from the last bar line to the transport's position, when the host says where the bar
/// started (and is playing); 0 otherwise, so the context ends where the trigger came.
pub fn bar_phase_frames(transport: &TransportSnapshot, meter: &Meter, host_rate_hz: f64) -> u64 {
    let (Some(pos), Some(bar_start), true) = (
        transport.pos_beats,
        transport.bar_start_beats,
        transport.playing,
    ) else {
        return 0;
    };
    let into_bar = pos - bar_start;
    if !(into_bar.is_finite() && into_bar > 0.0 && into_bar < meter.beats_per_bar()) {
        return 0;
    }
    (into_bar * meter.frames_per_beat(host_rate_hz)).round() as u64
}

/// Pairs note-on and note-off events (per channel and pitch) into notes, in beats from the
/// context start; notes still held at the context's end end there.
pub fn notes_from_events(
    events: &[CapturedNote],
    context_start_frame: u64,
    context_end_frame: u64,
    frames_per_beat: f64,
) -> Vec<BeatNote> {
    let mut open: Vec<Option<(u64, u8)>> = vec![None; 16 * 128];
    let mut notes = Vec::new();
    let to_beats =
        |frame: u64| (frame.saturating_sub(context_start_frame)) as f64 / frames_per_beat;
    for event in events {
        let pitch = event.pitch & 0x7f;
        let slot = usize::from(event.channel & 0x0f) * 128 + usize::from(pitch);
        if event.is_on && event.velocity > 0 {
            open[slot] = Some((event.frame_idx, event.velocity));
        } else if let Some((start, velocity)) = open[slot].take() {
            notes.push(BeatNote {
                start_beats: to_beats(start),
                duration_beats: (event.frame_idx.saturating_sub(start)) as f64 / frames_per_beat,
                pitch,
                velocity,
                channel: event.channel & 0x0f,
            });
        }
    }
    for (slot, entry) in open.iter().enumerate() {
        if let Some((start, velocity)) = entry {
            notes.push(BeatNote {
                start_beats: to_beats(*start),
                duration_beats: context_end_frame.saturating_sub(*start) as f64 / frames_per_beat,
                pitch: (slot % 128) as u8,
                velocity: *velocity,
                channel: (slot / 128) as u8,
            });
        }
    }
    notes.sort_by(|a, b| {
        a.start_beats
            .total_cmp(&b.start_beats)
            .then((a.channel, a.pitch).cmp(&(b.channel, b.pitch)))
    });
    notes
}

#[cfg(test)]
mod tests {
    use super::*;

    mod notes_from_events {
        use super::*;

        fn event(frame_idx: u64, pitch: u8, is_on: bool) -> CapturedNote {
            CapturedNote {
                pos_beats: None,
                frame_idx,
                pitch,
                velocity: if is_on { 100 } else { 0 },
                channel: 0,
                is_on,
            }
        }

        #[test]
        fn pairs_ons_and_offs_and_ends_held_notes_at_the_context_end() {
            let notes = notes_from_events(
                &[
                    event(1000, 60, true),
                    event(1500, 60, false),
                    event(1750, 64, true),
                ],
                1000,
                2000,
                500.0,
            );
            let summary: Vec<_> = notes
                .iter()
                .map(|n| (n.start_beats, n.duration_beats, n.pitch))
                .collect();
            assert_eq!(summary, vec![(0.0, 1.0, 60), (1.5, 0.5, 64)]);
        }
    }

    mod bar_phase_frames {
        use super::*;

        fn transport(pos: f64, bar_start: f64, playing: bool) -> TransportSnapshot {
            TransportSnapshot {
                playing,
                sample_rate_hz: 48_000.0,
                tempo_bpm: Some(120.0),
                time_sig: Some((4, 4)),
                pos_beats: Some(pos),
                bar_start_beats: Some(bar_start),
                pos_samples: None,
            }
        }

        #[test]
        fn the_context_ends_on_the_last_bar_line() {
            let meter = Meter::new(120.0, (4, 4));
            // 1.5 beats into bar 5 at 120 BPM and 48 kHz: 36,000 frames back to its bar line.
            assert_eq!(
                bar_phase_frames(&transport(17.5, 16.0, true), &meter, 48_000.0),
                36_000
            );
            assert_eq!(
                bar_phase_frames(&transport(16.0, 16.0, true), &meter, 48_000.0),
                0
            );
            // Stopped, or a position the bar cannot hold: no alignment.
            assert_eq!(
                bar_phase_frames(&transport(17.5, 16.0, false), &meter, 48_000.0),
                0
            );
            assert_eq!(
                bar_phase_frames(&transport(30.0, 16.0, true), &meter, 48_000.0),
                0
            );
        }
    }
}
