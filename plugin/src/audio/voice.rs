//! One playback voice as the audio thread sees it: free, armed with a scheduled segment, or
//! playing one. Plain data; real-time safe.

use super::midi_out::Sounding;
use crate::bridge::{JobId, SegmentStart};

/// Where a voice stands.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum VoiceState {
    Free,
    /// Buffered and waiting for its start on the timeline.
    Armed {
        job_id: JobId,
        /// Ring position of the segment's first frame.
        first_frame_pos: u64,
        num_frames: u64,
        start: SegmentStart,
    },
    Playing {
        job_id: JobId,
        first_frame_pos: u64,
        /// Frames of the segment played (or skipped by an underrun or a late start) so far.
        pos: u64,
        /// Frames the segment lasts; `u64::MAX` while it loops.
        num_frames: u64,
        /// Frames until a stop fade is silent, counted from the start of the next piece.
        fade_out_left: Option<u32>,
    },
}

/// One voice: its state and the notes its segment has on (MIDI out).
#[derive(Debug, Clone, Copy)]
pub struct Voice {
    pub state: VoiceState,
    /// Pitches this voice's segment has turned on and not yet off.
    pub sounding: Sounding,
}

impl Default for Voice {
    fn default() -> Self {
        Self {
            state: VoiceState::Free,
            sounding: Sounding::default(),
        }
    }
}

impl Voice {
    /// The job the voice holds, armed or playing.
    pub fn job_id(&self) -> Option<JobId> {
        match self.state {
            VoiceState::Free => None,
            VoiceState::Armed { job_id, .. } | VoiceState::Playing { job_id, .. } => Some(job_id),
        }
    }

    pub fn is_armed(&self) -> bool {
        matches!(self.state, VoiceState::Armed { .. })
    }

    /// Frames a playing segment has left (0 when not playing).
    pub fn frames_left(&self) -> u64 {
        match self.state {
            VoiceState::Playing {
                pos,
                num_frames,
                fade_out_left,
                ..
            } => {
                let left = num_frames.saturating_sub(pos);
                fade_out_left.map_or(left, |f| left.min(f as u64))
            }
            _ => 0,
        }
    }

    /// Starts a fade to silence over `num_frames` frames from the next piece's start, unless
    /// one is already running.
    pub fn fade_out(&mut self, num_frames: u32) {
        if let VoiceState::Playing {
            ref mut fade_out_left,
            ..
        } = self.state
        {
            if fade_out_left.is_none() {
                *fade_out_left = Some(num_frames);
            }
        }
    }

    /// A looping segment of `job_id` ends after `num_frames` frames in total.
    pub fn end_at(&mut self, job_id: JobId, num_frames: u64) {
        match &mut self.state {
            VoiceState::Playing {
                job_id: id,
                num_frames: n,
                ..
            }
            | VoiceState::Armed {
                job_id: id,
                num_frames: n,
                ..
            } if *id == job_id => *n = num_frames,
            _ => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::params::SyncMode;

    fn playing(pos: u64, num_frames: u64) -> Voice {
        Voice {
            state: VoiceState::Playing {
                job_id: 7,
                first_frame_pos: 0,
                pos,
                num_frames,
                fade_out_left: None,
            },
            ..Voice::default()
        }
    }

    mod frames_left {
        use super::*;

        #[test]
        fn counts_the_rest_of_a_playing_segment_and_its_fade() {
            assert_eq!(playing(10, 100).frames_left(), 90);
            let mut v = playing(10, 100);
            v.fade_out(30);
            assert_eq!(v.frames_left(), 30);
            assert_eq!(Voice::default().frames_left(), 0);
        }
    }

    mod fade_out {
        use super::*;

        #[test]
        fn a_running_fade_is_not_restarted() {
            let mut v = playing(0, 1000);
            v.fade_out(30);
            v.fade_out(300);
            assert_eq!(v.frames_left(), 30);
        }

        #[test]
        fn an_armed_voice_has_nothing_to_fade() {
            let mut v = Voice {
                state: VoiceState::Armed {
                    job_id: 1,
                    first_frame_pos: 0,
                    num_frames: 10,
                    start: SegmentStart::NextGrid(SyncMode::Bar),
                },
                ..Voice::default()
            };
            v.fade_out(30);
            assert!(v.is_armed());
        }
    }

    mod end_at {
        use super::*;

        #[test]
        fn only_the_named_job_ends() {
            let mut v = playing(0, u64::MAX);
            v.end_at(8, 500);
            assert_eq!(v.frames_left(), u64::MAX);
            v.end_at(7, 500);
            assert_eq!(v.frames_left(), 500);
        }
    }
}
