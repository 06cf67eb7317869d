//! The rolling history of what the track played: input audio at host rate and MIDI notes, kept on
//! the worker thread. Not real-time safe (the worker owns it).
//!
//! Memory follows the Context setting, not the longest context possible: every instance holds
//! its history, and eight instances at 96 kHz holding a minute of float stereo each would cost
//! 400 MB. The audio is kept as 16-bit (the models hear it through a resampler and a codec or a
//! transcriber; 96 dB of range is more than they resolve), for as many seconds as the context
//! asks plus a bar, growing as audio arrives.

use crate::bridge::{CaptureBlock, CaptureConsumer, CapturedNote};

/// The longest context in seconds: a minute covers 16 bars down to 64 BPM, with slack.
pub const HISTORY_SECONDS: f64 = 64.0;

/// The least history kept, in seconds, whatever the context: a take triggered right after the
/// Context knob went up still finds the last bars.
pub const MIN_HISTORY_SECONDS: f64 = 4.0;

/// Full scale of the stored samples.
const SCALE: f32 = i16::MAX as f32;

/// Stereo input history in a circular buffer, plus the notes.
pub struct History {
    /// Interleaved stereo, 16-bit. Frame `f` (counted since activation) lives at frame index
    /// `(f - base_frame) % capacity_frames`; the buffer grows by appending until it holds
    /// `capacity_frames`, then wraps.
    audio: Vec<i16>,
    capacity_frames: usize,
    base_frame: u64,
    host_rate_hz: f32,
    /// Frames written since the start.
    total_frames: u64,
    /// Most recent transport seen, for context length in bars.
    pub last_block: Option<CaptureBlock>,
    /// Notes seen within the kept window.
    notes: Vec<CapturedNote>,
}

impl History {
    /// An empty history that keeps `MIN_HISTORY_SECONDS` until told to keep more.
    pub fn new(host_rate_hz: f32) -> Self {
        let host_rate_hz = host_rate_hz.max(1.0);
        Self {
            audio: Vec::new(),
            capacity_frames: seconds_to_frames(MIN_HISTORY_SECONDS, host_rate_hz),
            base_frame: 0,
            host_rate_hz,
            total_frames: 0,
            last_block: None,
            notes: Vec::new(),
        }
    }

    /// Keeps the last `seconds` (clamped to `MIN_HISTORY_SECONDS..=HISTORY_SECONDS`, rounded up
    /// to whole seconds so a wobbling tempo does not resize it every tick). Growing keeps all
    /// the audio held; shrinking keeps the newest.
    pub fn keep_seconds(&mut self, seconds: f64) {
        let seconds = seconds
            .clamp(MIN_HISTORY_SECONDS, HISTORY_SECONDS)
            .ceil()
            .min(HISTORY_SECONDS);
        let capacity = seconds_to_frames(seconds, self.host_rate_hz);
        if capacity == self.capacity_frames {
            return;
        }
        let held = self.held_frames().min(capacity);
        let mut audio = Vec::with_capacity(held * 2);
        self.copy_frames(self.total_frames - held as u64, held, |l, r| {
            audio.push(l);
            audio.push(r);
        });
        self.audio = audio;
        self.capacity_frames = capacity;
        self.base_frame = self.total_frames - held as u64;
        self.forget_old_notes();
    }

    /// Frames the history can hold now.
    pub fn capacity_frames(&self) -> usize {
        self.capacity_frames
    }

    /// Appends interleaved stereo frames. Copies in at most two runs per wrap: a host rendering
    /// hundreds of times faster than real time sends a lot of input through here.
    pub fn push_audio(&mut self, interleaved: &[f32]) {
        let num_frames = interleaved.len() / 2;
        // Only the newest `capacity_frames` can survive.
        let skip = num_frames.saturating_sub(self.capacity_frames);
        if skip > 0 {
            // Nothing held survives: start the buffer over at the first kept frame.
            self.total_frames += skip as u64;
            self.audio.clear();
            self.base_frame = self.total_frames;
        }
        let mut rest = &interleaved[skip * 2..num_frames * 2];
        while !rest.is_empty() {
            let index =
                ((self.total_frames - self.base_frame) % self.capacity_frames as u64) as usize;
            let run = (self.capacity_frames - index).min(rest.len() / 2);
            if index * 2 == self.audio.len() {
                self.audio
                    .extend(rest[..run * 2].iter().map(|&x| to_i16(x)));
            } else {
                for (slot, &x) in self.audio[index * 2..(index + run) * 2]
                    .iter_mut()
                    .zip(&rest[..run * 2])
                {
                    *slot = to_i16(x);
                }
            }
            rest = &rest[run * 2..];
            self.total_frames += run as u64;
        }
    }

    /// Takes everything the capture rings hold. `scratch` is reused between calls.
    pub fn drain(&mut self, capture: &mut CaptureConsumer, scratch: &mut [f32]) {
        while let Some(block) = capture.pop_block() {
            self.last_block = Some(block);
        }
        loop {
            let n = capture.pop_frames(scratch);
            if n == 0 {
                break;
            }
            self.push_audio(&scratch[..n * 2]);
        }
        while let Some(note) = capture.pop_note() {
            self.push_note(note);
        }
    }

    pub fn push_note(&mut self, note: CapturedNote) {
        if self.notes.len() > 4096 {
            self.forget_old_notes();
        }
        self.notes.push(note);
    }

    /// Frames written since activation.
    pub fn total_frames(&self) -> u64 {
        self.total_frames
    }

    /// The last `num_frames` frames (fewer if the history is shorter), interleaved stereo.
    pub fn last_frames(&self, num_frames: usize) -> Vec<f32> {
        self.frames_before(self.total_frames, num_frames)
    }

    /// The `num_frames` frames that end at frame `end` (fewer if the history does not reach
    /// back that far or has not reached `end`), interleaved stereo.
    pub fn frames_before(&self, end: u64, num_frames: usize) -> Vec<f32> {
        let end = end.min(self.total_frames);
        // An end older than anything held gives nothing (a short history overwritten while a
        // trigger waited).
        let start = end
            .saturating_sub(num_frames as u64)
            .max(self.oldest_frame())
            .min(end);
        let n = (end - start) as usize;
        let mut out = Vec::with_capacity(n * 2);
        self.copy_frames(start, n, |l, r| {
            out.push(l as f32 / SCALE);
            out.push(r as f32 / SCALE);
        });
        out
    }

    /// Notes whose frame index is within the last `num_frames` frames.
    pub fn last_notes(&self, num_frames: usize) -> Vec<CapturedNote> {
        self.notes_before(self.total_frames, num_frames)
    }

    /// Note events in the `num_frames` frames that end at frame `end`.
    pub fn notes_before(&self, end: u64, num_frames: usize) -> Vec<CapturedNote> {
        let start = end.saturating_sub(num_frames as u64);
        self.notes
            .iter()
            .copied()
            .filter(|n| n.frame_idx >= start && n.frame_idx < end)
            .collect()
    }

    /// Forgets everything (transport jump backwards, re-activation).
    pub fn clear(&mut self) {
        self.total_frames = 0;
        self.base_frame = 0;
        self.audio.clear();
        self.notes.clear();
        self.last_block = None;
    }

    /// Bytes the audio buffer holds now.
    pub fn audio_bytes(&self) -> usize {
        self.audio.capacity() * std::mem::size_of::<i16>()
    }

    fn held_frames(&self) -> usize {
        (self.total_frames - self.base_frame).min(self.capacity_frames as u64) as usize
    }

    fn oldest_frame(&self) -> u64 {
        self.total_frames - self.held_frames() as u64
    }

    /// Calls `each` with the stored frames `start..start + n`, all of which must be held.
    fn copy_frames(&self, start: u64, n: usize, mut each: impl FnMut(i16, i16)) {
        for f in start..start + n as u64 {
            let index = ((f - self.base_frame) % self.capacity_frames as u64) as usize * 2;
            each(self.audio[index], self.audio[index + 1]);
        }
    }

    fn forget_old_notes(&mut self) {
        let oldest = self.oldest_frame();
        self.notes.retain(|n| n.frame_idx >= oldest);
    }
}

fn seconds_to_frames(seconds: f64, rate_hz: f32) -> usize {
    ((rate_hz as f64 * seconds).ceil() as usize).max(1)
}

/// A sample in 16 bits: clipped at full scale, NaN as silence.
fn to_i16(x: f32) -> i16 {
    (x.clamp(-1.0, 1.0) * SCALE).round() as i16
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A history of four frames: one hertz, the least seconds kept.
    fn four_frames() -> History {
        History::new(1.0)
    }

    fn frame(i: usize) -> [f32; 2] {
        [i as f32 / 16.0, -(i as f32) / 16.0]
    }

    fn frames(range: std::ops::Range<usize>) -> Vec<f32> {
        range.flat_map(frame).collect()
    }

    fn assert_close(got: &[f32], want: &[f32]) {
        assert_eq!(got.len(), want.len(), "{got:?} vs {want:?}");
        for (g, w) in got.iter().zip(want) {
            assert!((g - w).abs() <= 0.5 / SCALE, "{got:?} vs {want:?}");
        }
    }

    mod last_frames {
        use super::*;

        #[test]
        fn returns_the_newest_frames_in_order_across_the_wrap() {
            let mut h = four_frames();
            assert_eq!(h.capacity_frames(), 4);
            for i in 0..6 {
                h.push_audio(&frame(i));
            }
            assert_close(&h.last_frames(3), &frames(3..6));
            assert_eq!(h.last_frames(10).len(), 8);
        }

        #[test]
        fn long_pushes_wrap_and_keep_the_newest() {
            let mut h = four_frames();
            let block = frames(0..7);
            h.push_audio(&block[..6]); // frames 0..3
            h.push_audio(&block[6..]); // frames 3..7, wrapping
            assert_eq!(h.total_frames(), 7);
            assert_close(&h.last_frames(4), &frames(3..7));
            h.push_audio(&frames(7..17));
            assert_eq!(h.total_frames(), 17);
            assert_close(&h.last_frames(2), &frames(15..17));
            assert_close(&h.frames_before(15, 3), &frames(13..15));
        }

        #[test]
        fn an_end_older_than_what_is_held_gives_nothing() {
            let mut h = four_frames();
            h.push_audio(&frames(0..10)); // holds 6..10
            assert!(h.frames_before(3, 2).is_empty());
            assert_close(&h.frames_before(8, 4), &frames(6..8));
        }

        #[test]
        fn clips_at_full_scale_and_reads_nan_as_silence() {
            let mut h = four_frames();
            h.push_audio(&[2.0, -3.0, f32::NAN, f32::INFINITY]);
            assert_eq!(h.last_frames(2), vec![1.0, -1.0, 0.0, 1.0]);
        }
    }

    mod keep_seconds {
        use super::*;

        #[test]
        fn grows_without_losing_what_it_holds_and_then_holds_more() {
            let mut h = four_frames();
            h.push_audio(&frames(0..6)); // holds 2..6, wrapped
            h.keep_seconds(8.0);
            assert_eq!(h.capacity_frames(), 8);
            assert_close(&h.last_frames(8), &frames(2..6));
            h.push_audio(&frames(6..12));
            assert_close(&h.last_frames(8), &frames(4..12));
            assert_close(&h.frames_before(7, 2), &frames(5..7));
        }

        #[test]
        fn shrinks_to_the_newest_and_forgets_older_notes() {
            let mut h = four_frames();
            h.keep_seconds(8.0);
            h.push_audio(&frames(0..8));
            for frame_idx in [1, 6] {
                h.push_note(CapturedNote {
                    pos_beats: None,
                    frame_idx,
                    pitch: 60,
                    velocity: 100,
                    is_on: true,
                    channel: 0,
                });
            }
            h.keep_seconds(1.0); // clamped to the least kept, four frames
            assert_eq!(h.capacity_frames(), 4);
            assert_close(&h.last_frames(8), &frames(4..8));
            assert_eq!(h.last_notes(8).len(), 1, "the note at frame 1 is gone");
            h.push_audio(&frames(8..10));
            assert_close(&h.last_frames(4), &frames(6..10));
        }

        #[test]
        fn is_capped_at_a_minute_and_rounds_to_whole_seconds() {
            let mut h = History::new(10.0);
            h.keep_seconds(1e9);
            assert_eq!(h.capacity_frames(), 640);
            h.keep_seconds(10.05);
            assert_eq!(h.capacity_frames(), 110);
            h.keep_seconds(10.9);
            assert_eq!(h.capacity_frames(), 110, "the same whole second: no resize");
        }

        #[test]
        fn memory_follows_what_arrived_not_the_capacity() {
            let mut h = History::new(48_000.0);
            h.keep_seconds(HISTORY_SECONDS);
            assert_eq!(h.audio_bytes(), 0);
            h.push_audio(&vec![0.1; 48_000 * 2]);
            assert!(
                h.audio_bytes() < 48_000 * 2 * 2 * 2,
                "{} bytes",
                h.audio_bytes()
            );
        }
    }
}
