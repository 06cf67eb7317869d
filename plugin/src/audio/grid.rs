//! Musical grid arithmetic on the audio thread: where the next beat or bar falls in a block.
//! Plain functions on plain values. Real-time safe.

use crate::params::SyncMode;

/// The host transport at the start of a block, copied out of the host's structure.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransportSnapshot {
    pub playing: bool,
    pub sample_rate_hz: f32,
    pub tempo_bpm: Option<f64>,
    pub time_sig: Option<(i32, i32)>,
    pub pos_beats: Option<f64>,
    pub bar_start_beats: Option<f64>,
    pub pos_samples: Option<i64>,
}

/// How far past a sample a grid line may fall and still count as on it, in frames.
const GRID_SLACK_FRAMES: f64 = 1e-3;

/// Tempo used when the host gives none, in beats per minute.
pub const FALLBACK_TEMPO_BPM: f64 = 120.0;

/// Tolerance for "on the grid", in beats: a position this close to a grid line counts as on it,
/// so float noise in the host's position does not push a start a whole bar later.
const GRID_EPSILON_BEATS: f64 = 1e-7;

impl TransportSnapshot {
    /// Tempo in BPM, falling back to 120 when the host gives none or nonsense.
    pub fn tempo_bpm(&self) -> f64 {
        match self.tempo_bpm {
            Some(t) if t.is_finite() && t > 1.0 && t < 1000.0 => t,
            _ => FALLBACK_TEMPO_BPM,
        }
    }

    /// Quarter-note beats per bar (4 for 4/4, 3 for 3/4, 3 for 6/8), 4 when unknown.
    pub fn beats_per_bar(&self) -> f64 {
        match self.time_sig {
            Some((num, den)) if num > 0 && den > 0 && num <= 64 && den <= 64 => {
                num as f64 * 4.0 / den as f64
            }
            _ => 4.0,
        }
    }

    /// Frames per quarter-note beat at this tempo and rate.
    pub fn frames_per_beat(&self) -> f64 {
        self.sample_rate_hz as f64 * 60.0 / self.tempo_bpm()
    }
}

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
}
