//! The rolling history of what the track played: input audio at host rate and MIDI notes, kept on
//! the worker thread. Not real-time safe (the worker owns it).

use crate::bridge::{CaptureBlock, CaptureConsumer, CapturedNote};

/// Seconds of input kept: a minute covers 16 bars down to 64 BPM, with slack.
pub const HISTORY_SECONDS: f64 = 64.0;

/// Stereo input history in a circular buffer, plus the notes.
pub struct History {
    /// Interleaved stereo, circular.
    audio: Vec<f32>,
    capacity_frames: usize,
    /// Frames written since the start (the write position is `total_frames % capacity_frames`).
    total_frames: u64,
    /// Most recent transport seen, for context length in bars.
    pub last_block: Option<CaptureBlock>,
    /// Notes seen within the kept window.
    notes: Vec<CapturedNote>,
}

impl History {
    pub fn new(host_rate_hz: f32) -> Self {
        let capacity_frames = (host_rate_hz.max(1.0) as f64 * HISTORY_SECONDS) as usize;
        Self {
            audio: vec![0.0; capacity_frames * 2],
            capacity_frames,
            total_frames: 0,
            last_block: None,
            notes: Vec::new(),
        }
    }

    /// Appends interleaved stereo frames. Copies in at most two runs per wrap: a host rendering
    /// hundreds of times faster than real time sends a lot of input through here.
    pub fn push_audio(&mut self, interleaved: &[f32]) {
        let num_frames = interleaved.len() / 2;
        // Only the newest `capacity_frames` can survive.
        let skip = num_frames.saturating_sub(self.capacity_frames);
        self.total_frames += skip as u64;
        let mut rest = &interleaved[skip * 2..num_frames * 2];
        while !rest.is_empty() {
            let write_frame = (self.total_frames % self.capacity_frames as u64) as usize;
            let run = (self.capacity_frames - write_frame).min(rest.len() / 2);
            self.audio[write_frame * 2..(write_frame + run) * 2].copy_from_slice(&rest[..run * 2]);
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
        let oldest = self
            .total_frames
            .saturating_sub(self.capacity_frames as u64);
        if self.notes.len() > 4096 {
            self.notes.retain(|n| n.frame_idx >= oldest);
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
        let oldest = self
            .total_frames
            .saturating_sub(self.capacity_frames as u64);
        let start = end.saturating_sub(num_frames as u64).max(oldest);
        let n = (end - start) as usize;
        let mut out = Vec::with_capacity(n * 2);
        for i in 0..n as u64 {
            let idx = ((start + i) % self.capacity_frames as u64) as usize * 2;
            out.push(self.audio[idx]);
            out.push(self.audio[idx + 1]);
        }
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
        self.notes.clear();
        self.last_block = None;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod last_frames {
        use super::*;

        #[test]
        fn returns_the_newest_frames_in_order_across_the_wrap() {
            let mut h = History::new(1.0 / 16.0); // capacity of 4 frames
            h.capacity_frames = 4;
            h.audio = vec![0.0; 8];
            for i in 0..6 {
                h.push_audio(&[i as f32, -(i as f32)]);
            }
            assert_eq!(h.last_frames(3), vec![3.0, -3.0, 4.0, -4.0, 5.0, -5.0]);
            assert_eq!(h.last_frames(10).len(), 8);
        }

        #[test]
        fn long_pushes_wrap_and_keep_the_newest() {
            let mut h = History::new(1.0 / 16.0);
            h.capacity_frames = 4;
            h.audio = vec![0.0; 8];
            let block: Vec<f32> = (0..7).flat_map(|i| [i as f32, -(i as f32)]).collect();
            h.push_audio(&block[..6]); // frames 0..3
            h.push_audio(&block[6..]); // frames 3..7, wrapping
            assert_eq!(h.total_frames(), 7);
            assert_eq!(
                h.last_frames(4),
                vec![3.0, -3.0, 4.0, -4.0, 5.0, -5.0, 6.0, -6.0]
            );
            let long: Vec<f32> = (0..10).flat_map(|i| [i as f32, 0.0]).collect();
            h.push_audio(&long);
            assert_eq!(h.total_frames(), 17);
            assert_eq!(h.last_frames(2), vec![8.0, 0.0, 9.0, 0.0]);
        }
    }
}
