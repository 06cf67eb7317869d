//! Telling a host that renders faster than real time without saying so. VST3 hosts may mark an
//! export only in each block's process mode (Ardour 7 never calls `setupProcessing(kOffline)`),
//! which nice-plug 0.4.2 does not pass on; so for VST3 the audio side also reads the wall clock:
//! a host running in real time cannot deliver audio much faster than it plays for long, and one
//! that does is bouncing, so a take may make it wait, as in offline rendering. Real-time safe:
//! reading the monotonic clock neither allocates, locks nor blocks.
//!
//! It errs towards real time: entering needs a window of half a second of audio delivered at
//! four times real time or faster; a few blocks in a row at under twice real time leave at once,
//! so a host returning to live playback is never made to wait for long.

use std::time::Instant;

/// Audio in one measuring window, in seconds.
const WINDOW_SECONDS: f64 = 0.5;

/// Delivered this many times faster than real time over a window: the host is bouncing.
const ENTER_SPEED: f64 = 4.0;

/// Blocks in a row delivered slower than this many times real time: the host plays live.
const LEAVE_SPEED: f64 = 2.0;

/// How many slow blocks in a row leave freewheeling.
const LEAVE_AFTER_BLOCKS: u32 = 3;

/// Watches block arrival times against the audio they carry.
#[derive(Debug, Clone)]
pub struct FreewheelDetector {
    sample_rate_hz: f64,
    window_start: Option<Instant>,
    window_frames: u64,
    last_block: Option<(Instant, usize)>,
    slow_blocks: u32,
    freewheeling: bool,
}

impl FreewheelDetector {
    pub fn new(sample_rate_hz: f32) -> Self {
        Self {
            sample_rate_hz: f64::from(sample_rate_hz.max(1.0)),
            window_start: None,
            window_frames: 0,
            last_block: None,
            slow_blocks: 0,
            freewheeling: false,
        }
    }

    /// A block of `num_frames` arrived at `now`; returns whether the host is rendering faster
    /// than real time.
    pub fn observe(&mut self, now: Instant, num_frames: usize) -> bool {
        if let Some((last, last_frames)) = self.last_block {
            let played = last_frames as f64 / self.sample_rate_hz;
            let waited = now.saturating_duration_since(last).as_secs_f64();
            if waited * LEAVE_SPEED >= played {
                self.slow_blocks += 1;
                if self.slow_blocks >= LEAVE_AFTER_BLOCKS && self.freewheeling {
                    // Measure afresh: the window so far is mostly the bounce.
                    self.freewheeling = false;
                    self.window_start = Some(now);
                    self.window_frames = 0;
                }
            } else {
                self.slow_blocks = 0;
            }
        }
        self.last_block = Some((now, num_frames));
        let start = *self.window_start.get_or_insert(now);
        self.window_frames += num_frames as u64;
        let audio = self.window_frames as f64 / self.sample_rate_hz;
        let wall = now.saturating_duration_since(start).as_secs_f64();
        if audio >= WINDOW_SECONDS || wall >= WINDOW_SECONDS {
            if audio >= wall * ENTER_SPEED {
                self.freewheeling = true;
            }
            self.window_start = Some(now);
            self.window_frames = 0;
        }
        self.freewheeling
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    const RATE: f32 = 48_000.0;
    const BLOCK: usize = 480; // 10 ms

    /// Feeds `n` blocks spaced `gap` apart from `*now`; returns the last answer.
    fn feed(d: &mut FreewheelDetector, now: &mut Instant, gap: Duration, n: usize) -> bool {
        let mut answer = false;
        for _ in 0..n {
            *now += gap;
            answer = d.observe(*now, BLOCK);
        }
        answer
    }

    #[test]
    fn real_time_delivery_is_never_freewheeling() {
        let mut d = FreewheelDetector::new(RATE);
        let mut now = Instant::now();
        assert!(!feed(&mut d, &mut now, Duration::from_millis(10), 500));
    }

    #[test]
    fn a_render_ahead_burst_of_a_fifth_of_a_second_is_not_a_bounce() {
        // A host pre-rendering 200 ms in a burst, then playing in real time.
        let mut d = FreewheelDetector::new(RATE);
        let mut now = Instant::now();
        assert!(!feed(&mut d, &mut now, Duration::from_micros(100), 20));
        assert!(!feed(&mut d, &mut now, Duration::from_millis(10), 200));
    }

    #[test]
    fn a_sustained_fast_render_is_a_bounce_within_half_a_second_of_audio() {
        let mut d = FreewheelDetector::new(RATE);
        let mut now = Instant::now();
        // 15x real time, as Ardour's export of a light session.
        let fast = Duration::from_micros(10_000 / 15);
        assert!(!feed(&mut d, &mut now, fast, 49));
        assert!(
            feed(&mut d, &mut now, fast, 1),
            "after 50 blocks (0.5 s of audio)"
        );
        assert!(feed(&mut d, &mut now, fast, 1000));
    }

    #[test]
    fn a_return_to_real_time_leaves_within_three_blocks() {
        let mut d = FreewheelDetector::new(RATE);
        let mut now = Instant::now();
        assert!(feed(&mut d, &mut now, Duration::from_micros(500), 200));
        assert!(feed(&mut d, &mut now, Duration::from_millis(10), 2));
        assert!(!feed(&mut d, &mut now, Duration::from_millis(10), 1));
        // One slow block in a bounce (a disk read) does not leave.
        assert!(feed(&mut d, &mut now, Duration::from_micros(500), 200));
        assert!(feed(&mut d, &mut now, Duration::from_millis(30), 1));
        assert!(feed(&mut d, &mut now, Duration::from_micros(500), 5));
    }
}
