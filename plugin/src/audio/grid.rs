//! Musical grid arithmetic on the audio thread: where the next beat or bar falls in a block.
//! Plain functions on plain values. Real-time safe.

use crate::params::SyncMode;
use crate::timeline::TransportSnapshot;

/// How far past a sample a grid line may fall and still count as on it, in frames.
const GRID_SLACK_FRAMES: f64 = 1e-3;

/// Tolerance for "on the grid", in beats: a position this close to a grid line counts as on it,
/// so float noise in the host's position does not push a start a whole bar later.
const GRID_EPSILON_BEATS: f64 = 1e-7;

/// Offset in frames from the start of a block of `num_frames` to the first `sync` grid point at
/// or after the block start, if it falls inside the block.
///
/// `Now`, a stopped transport, or a host without musical position all start at once (offset 0):
/// there is no grid moving to wait for.
pub fn grid_offset(
    sync: SyncMode,
    transport: &TransportSnapshot,
    num_frames: usize,
) -> Option<usize> {
    let pos_beats = match (sync, transport.playing, transport.pos_beats) {
        (SyncMode::Now, _, _) | (_, false, _) | (_, _, None) => return Some(0),
        (_, true, Some(pos)) if pos.is_finite() => pos,
        _ => return Some(0),
    };
    let next_beats = match sync {
        SyncMode::Now => pos_beats,
        SyncMode::Beat => (pos_beats - GRID_EPSILON_BEATS).ceil(),
        SyncMode::Bar => {
            let bar_len = transport.beats_per_bar();
            let bar_start = match transport.bar_start_beats {
                Some(start) if start.is_finite() && start <= pos_beats + GRID_EPSILON_BEATS => {
                    start
                }
                _ => (pos_beats / bar_len).floor() * bar_len,
            };
            let beats_into_bar = pos_beats - bar_start;
            if beats_into_bar <= GRID_EPSILON_BEATS {
                bar_start
            } else {
                bar_start + ((beats_into_bar - GRID_EPSILON_BEATS) / bar_len).ceil() * bar_len
            }
        }
    };
    let offset_beats = (next_beats - pos_beats).max(0.0);
    // The first sample at or after the grid line: ceil, with slack for the host's rounding. CLAP
    // sends positions in fixed point (2^31 steps a beat), off by up to ~6e-6 frames at 48 kHz and
    // 120 BPM, more at slower tempi and higher rates; a thousandth of a frame covers that and
    // moves a start by nothing audible.
    let offset_frames = (offset_beats * transport.frames_per_beat() - GRID_SLACK_FRAMES)
        .ceil()
        .max(0.0);
    if offset_frames < num_frames as f64 {
        Some(offset_frames as usize)
    } else {
        None
    }
}

/// Frames from the start of a block of `num_frames` to the position `target_beats` on the
/// host timeline, when it falls before the block's end: negative when the block is already past
/// it (a late start, by that many frames). None when it lies beyond this block, or when the
/// transport is stopped or has no position (a scheduled segment waits for the timeline to move).
pub fn offset_to_beats(
    target_beats: f64,
    transport: &TransportSnapshot,
    num_frames: usize,
) -> Option<i64> {
    let pos_beats = transport.pos_beats.filter(|p| p.is_finite())?;
    if !transport.playing || !target_beats.is_finite() {
        return None;
    }
    // The same rounding as `grid_offset`: the first sample at or after the position.
    let offset_frames =
        ((target_beats - pos_beats) * transport.frames_per_beat() - GRID_SLACK_FRAMES).ceil();
    (offset_frames < num_frames as f64).then_some(offset_frames as i64)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn playing_at(pos_beats: f64) -> TransportSnapshot {
        TransportSnapshot {
            playing: true,
            sample_rate_hz: 48_000.0,
            tempo_bpm: Some(120.0),
            time_sig: Some((4, 4)),
            pos_beats: Some(pos_beats),
            bar_start_beats: None,
            pos_samples: None,
        }
    }

    mod grid_offset {
        use super::*;

        #[test]
        fn now_starts_at_once() {
            assert_eq!(grid_offset(SyncMode::Now, &playing_at(1.3), 64), Some(0));
        }

        #[test]
        fn stopped_transport_starts_at_once() {
            let mut t = playing_at(1.3);
            t.playing = false;
            assert_eq!(grid_offset(SyncMode::Bar, &t, 64), Some(0));
        }

        #[test]
        fn bar_line_inside_the_block() {
            // 120 BPM at 48 kHz: 24,000 frames a beat. 0.01 beats before bar 2 is 240 frames.
            let t = playing_at(3.99);
            assert_eq!(grid_offset(SyncMode::Bar, &t, 512), Some(240));
            assert_eq!(grid_offset(SyncMode::Bar, &t, 240), None);
        }

        #[test]
        fn host_rounding_does_not_push_a_start_one_frame_late() {
            // A CLAP host's fixed-point position (2^31 steps a beat) for the block starting at
            // frame 95,904 at 48 kHz, 120 BPM: a hair before the exact 3.996 beats.
            let exact = 95_904.0 / 24_000.0;
            let fixed = (exact * 2f64.powi(31)).floor() / 2f64.powi(31);
            assert_eq!(
                grid_offset(SyncMode::Bar, &playing_at(fixed), 333),
                Some(96)
            );
            assert_eq!(
                grid_offset(SyncMode::Bar, &playing_at(exact), 333),
                Some(96)
            );
        }

        #[test]
        fn on_the_bar_line_is_offset_zero() {
            assert_eq!(grid_offset(SyncMode::Bar, &playing_at(8.0), 16), Some(0));
            assert_eq!(grid_offset(SyncMode::Beat, &playing_at(3.0), 16), Some(0));
        }

        #[test]
        fn next_beat_not_next_bar() {
            let t = playing_at(2.5);
            assert_eq!(grid_offset(SyncMode::Beat, &t, 20_000), Some(12_000));
            assert_eq!(grid_offset(SyncMode::Bar, &t, 20_000), None);
        }

        #[test]
        fn three_four_bars() {
            let mut t = playing_at(2.9);
            t.time_sig = Some((3, 4));
            // Bar 2 of 3/4 starts at beat 3: 0.1 beats = 2,400 frames away.
            assert_eq!(grid_offset(SyncMode::Bar, &t, 4096), Some(2400));
        }

        #[test]
        fn host_bar_start_is_used() {
            let mut t = playing_at(5.0);
            t.bar_start_beats = Some(4.5); // a host with a bar of odd length before
            assert_eq!(grid_offset(SyncMode::Bar, &t, 300_000), Some(84_000));
        }
    }

    mod offset_to_beats {
        use super::*;

        #[test]
        fn a_position_inside_the_block() {
            // Bar 3 of 4/4 starts at beat 8: 0.5 beats = 12,000 frames at 120 BPM, 48 kHz.
            assert_eq!(offset_to_beats(8.0, &playing_at(7.5), 20_000), Some(12_000));
            assert_eq!(offset_to_beats(8.0, &playing_at(7.5), 12_000), None);
        }

        #[test]
        fn a_position_already_passed_is_late() {
            assert_eq!(offset_to_beats(8.0, &playing_at(8.25), 64), Some(-6_000));
        }

        #[test]
        fn a_stopped_transport_does_not_start_it() {
            let mut t = playing_at(8.0);
            t.playing = false;
            assert_eq!(offset_to_beats(8.0, &t, 64), None);
        }

        #[test]
        fn agrees_with_the_bar_grid() {
            let exact = 95_904.0 / 24_000.0;
            let fixed = (exact * 2f64.powi(31)).floor() / 2f64.powi(31);
            assert_eq!(offset_to_beats(4.0, &playing_at(fixed), 333), Some(96));
        }
    }
}
