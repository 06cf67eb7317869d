//! Messages between the threads. Everything that crosses a lock-free ring is `Copy` and holds no
//! heap data, so pushing and popping never allocates or frees.

use crate::audio::grid::TransportSnapshot;
use crate::params::JobSettings;
use std::path::PathBuf;

/// Identifies a job (one take) for its whole life. Chosen by the audio thread at trigger time.
pub type JobId = u32;

/// Number of playback voices: one can play while the next take buffers, then they crossfade.
pub const NUM_VOICES: usize = 2;

/// A note event of a take, sent to the host as MIDI when playback reaches it. `frame` counts
/// frames from the take's first frame (loop iterations included). Real-time safe to pop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TakeMidiEvent {
    /// The take this event belongs to; events of an earlier take left in the ring are dropped.
    pub job_id: JobId,
    pub frame: u64,
    pub pitch: u8,
    pub velocity: u8,
    pub is_on: bool,
}

/// Audio thread → worker, through a lock-free ring. Real-time safe to push.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum AudioToWorker {
    /// Generate: a rising edge of the `generate` parameter or the panel's button.
    Trigger {
        job_id: JobId,
        settings: JobSettings,
        transport: TransportSnapshot,
        /// Input frames captured before the trigger: the context ends here, whatever else the
        /// worker has drained by the time it reads this.
        capture_frame: u64,
    },
    /// Stop every take (the panel's Stop button).
    Stop,
    /// A voice started playing its take at this host position.
    Started { job_id: JobId, voice_idx: u8 },
    /// A voice is done with its job (played out, stopped or replaced) after consuming
    /// `num_frames` frames from its ring; the worker may reuse the voice.
    VoiceFree {
        voice_idx: u8,
        job_id: JobId,
        num_frames_consumed: u64,
    },
}

/// Worker → audio thread, through a lock-free ring. Real-time safe to pop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerToAudio {
    /// The take for `job_id` is buffered well enough to start. Its frames are in voice
    /// `voice_idx`'s ring after `num_stale_frames` left over from the voice's previous job.
    Ready {
        job_id: JobId,
        voice_idx: u8,
        num_stale_frames: u64,
        /// Frames the take lasts; `u64::MAX` while it loops.
        num_frames: u64,
    },
    /// A looping take ends after `num_frames` frames in total (the loop was switched off).
    EndAt { job_id: JobId, num_frames: u64 },
    /// The job failed or was cancelled before it was ready; stop waiting for it.
    Failed { job_id: JobId },
}

/// GUI (or command line) → worker, through a bounded crossbeam channel. Not real-time safe.
pub enum WorkerCommand {
    /// Load the model in this folder (empty: the bundled default).
    LoadModel(PathBuf),
    /// The audio side was rebuilt (new sample rate or block size): use these ends from now on.
    Rewire(Box<super::WorkerEnds>),
    /// Drop every take and stop generating.
    StopAll,
    /// Save the last take's notes as a new .mid file in this folder.
    ExportMidi(PathBuf),
    /// Leave the loop and end the thread.
    Shutdown,
}
