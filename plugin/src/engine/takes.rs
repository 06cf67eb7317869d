//! The takes the worker holds: each job's audio at host rate as it is generated, how far it has
//! been fed to its voice, and its note events. Worker thread only; allocates.

use crate::bridge::{JobId, SegmentStart, TakeMidiEvent};

/// A take: the generated audio at host rate, stereo, and how it is being played.
pub struct Take {
    pub job_id: JobId,
    /// Interleaved stereo at host rate; grows while generating.
    pub audio: Vec<f32>,
    /// Frames the finished take has.
    pub num_frames_total: usize,
    pub complete: bool,
    pub looping: bool,
    /// Where a looping take stops after the loop was switched off.
    pub end_frames: Option<u64>,
    /// Where it starts on the host timeline.
    pub start: SegmentStart,
    /// The voice feeding it, once one is free.
    pub voice_idx: Option<usize>,
    /// Ring position of its first frame in that voice.
    pub first_frame_pos: u64,
    /// Frames pushed into the voice ring so far (loop iterations included).
    pub num_frames_fed: u64,
    pub ready_sent: bool,
    pub started: bool,
    /// The take's note events in frames from its start (families that write notes), sorted.
    pub midi: Vec<TakeMidiEvent>,
    /// Loop iterations whose events were pushed completely, and events of the next one pushed.
    pub num_midi_iterations_fed: u64,
    pub num_midi_events_fed: usize,
}

impl Take {
    /// A take about to be generated: `num_frames_total` frames at host rate.
    pub fn new(job_id: JobId, num_frames_total: usize, looping: bool, start: SegmentStart) -> Self {
        Self {
            job_id,
            audio: Vec::with_capacity(num_frames_total * 2),
            num_frames_total,
            complete: false,
            looping,
            end_frames: None,
            start,
            voice_idx: None,
            first_frame_pos: 0,
            num_frames_fed: 0,
            ready_sent: false,
            started: false,
            midi: Vec::new(),
            num_midi_iterations_fed: 0,
            num_midi_events_fed: 0,
        }
    }

    pub fn num_frames_generated(&self) -> usize {
        self.audio.len() / 2
    }

    /// Appends generated audio (interleaved stereo), never past the take's length; `finished`
    /// pads or cuts to the exact length, whatever the model and resampler rounded to.
    pub fn append(&mut self, stereo: &[f32], finished: bool) {
        let room = (self.num_frames_total * 2).saturating_sub(self.audio.len());
        self.audio
            .extend_from_slice(&stereo[..stereo.len().min(room)]);
        if finished {
            self.audio.resize(self.num_frames_total * 2, 0.0);
            self.complete = true;
        }
    }
}

/// The takes generating or playing, oldest first.
#[derive(Default)]
pub struct TakeStore {
    takes: Vec<Take>,
}

impl TakeStore {
    pub fn push(&mut self, take: Take) {
        self.takes.push(take);
    }

    pub fn get_mut(&mut self, job_id: JobId) -> Option<&mut Take> {
        self.takes.iter_mut().find(|t| t.job_id == job_id)
    }

    pub fn remove(&mut self, job_id: JobId) -> Option<Take> {
        let idx = self.takes.iter().position(|t| t.job_id == job_id)?;
        Some(self.takes.remove(idx))
    }

    /// Takes that have not started playing.
    pub fn unstarted_ids(&self) -> Vec<JobId> {
        self.takes
            .iter()
            .filter(|t| !t.started)
            .map(|t| t.job_id)
            .collect()
    }

    pub fn any_started(&self) -> bool {
        self.takes.iter().any(|t| t.started)
    }

    pub fn iter_mut(&mut self) -> impl Iterator<Item = &mut Take> {
        self.takes.iter_mut()
    }

    pub fn len(&self) -> usize {
        self.takes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.takes.is_empty()
    }

    pub fn clear(&mut self) {
        self.takes.clear();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::SyncMode;

    fn take(job_id: JobId, num_frames: usize) -> Take {
        Take::new(
            job_id,
            num_frames,
            false,
            SegmentStart::NextGrid(SyncMode::Bar),
        )
    }

    mod append {
        use super::*;

        #[test]
        fn never_grows_past_the_length_and_finishes_exactly() {
            let mut t = take(1, 3);
            t.append(&[1.0; 4], false);
            t.append(&[2.0; 4], false);
            assert_eq!(t.audio, vec![1.0, 1.0, 1.0, 1.0, 2.0, 2.0]);
            assert!(!t.complete);
            let mut short = take(2, 3);
            short.append(&[1.0; 2], true);
            assert_eq!(short.audio, vec![1.0, 1.0, 0.0, 0.0, 0.0, 0.0]);
            assert!(short.complete);
        }
    }

    mod store {
        use super::*;

        #[test]
        fn finds_removes_and_lists_unstarted_takes() {
            let mut s = TakeStore::default();
            s.push(take(1, 4));
            s.push(take(2, 4));
            s.get_mut(1).unwrap().started = true;
            assert_eq!(s.unstarted_ids(), vec![2]);
            assert!(s.any_started());
            assert_eq!(s.remove(1).map(|t| t.job_id), Some(1));
            assert!(s.remove(1).is_none());
            assert!(!s.any_started());
            assert_eq!(s.len(), 1);
        }
    }
}
