//! Messages across the thread boundary. Everything that crosses a lock-free ring is `Copy` and
//! holds no heap data, so pushing and popping never allocates or frees. Commands and events to
//! and from the GUI (or the command line) go through crossbeam channels and may carry heap data.

use super::WorkerEnds;
use crate::model::{ModelFamily, ModelInfo};
use crate::params::{JobSettings, SyncMode};
use crate::timeline::TransportSnapshot;
use std::path::PathBuf;

/// Identifies a job (one take) for its whole life. Chosen by the audio thread at trigger time.
pub type JobId = u32;

/// Number of playback voices: one can play while the next segment buffers, then they hand over
/// (back to back, or with a crossfade).
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
    /// MIDI channel, 0-15 (9: General MIDI drums): each part of a take has its own.
    pub channel: u8,
}

/// Where a segment starts on the host timeline.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SegmentStart {
    /// At the first grid point (now, next beat, next bar) after it is ready: a take the user
    /// asked for.
    NextGrid(SyncMode),
    /// At this position in quarter-note beats from the project start (a segment scheduled
    /// ahead: the next one of a chain). When the transport is already past it, it starts at
    /// once, with the frames it missed skipped so it stays on the timeline.
    AtBeats(f64),
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
    /// A voice started playing its segment.
    Started { job_id: JobId, voice_idx: u8 },
    /// A voice is done with its job (played out, stopped, replaced or failed); the worker may
    /// give it to another job.
    VoiceFree { voice_idx: u8, job_id: JobId },
}

/// Worker → audio thread, through a lock-free ring. Real-time safe to pop.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum WorkerToAudio {
    /// The segment for `job_id` is buffered well enough to start. Its frames are in voice
    /// `voice_idx`'s ring from ring position `first_frame_pos` on (see `bridge::playback`).
    Ready {
        job_id: JobId,
        voice_idx: u8,
        first_frame_pos: u64,
        /// Frames the segment lasts; `u64::MAX` while it loops.
        num_frames: u64,
        start: SegmentStart,
    },
    /// A looping take ends after `num_frames` frames in total (the loop was switched off).
    EndAt { job_id: JobId, num_frames: u64 },
    /// The job failed or was cancelled before it was ready: its pending segment ends (silence,
    /// counted) and an offline wait for it is over.
    Failed { job_id: JobId },
}

/// GUI (or command line) → worker, through a bounded crossbeam channel. Not real-time safe.
pub enum WorkerCommand {
    /// Load the model in this folder (empty: the bundled default).
    LoadModel(PathBuf),
    /// The audio side was rebuilt (new sample rate or block size): use these ends from now on.
    Rewire(Box<WorkerEnds>),
    /// Drop every take and stop generating.
    StopAll,
    /// Save the last take's notes as a new .mid file in this folder.
    ExportMidi(PathBuf),
    /// Leave the loop and end the thread.
    Shutdown,
}

/// Why a take failed, for the panel, the log and the command line.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TakeError {
    #[error("No model loaded: choose a model folder before generating.")]
    NoModel,
    #[error("{0}")]
    BadRequest(String),
    #[error("The model could not start: {0}")]
    Begin(String),
    #[error("Generation failed: {0}")]
    Step(String),
    #[error("Resampling failed: {0}")]
    Resample(String),
    #[error("Generation stopped on an internal error; the take was dropped.")]
    Panicked,
}

/// Worker → GUI or command line: what happened, typed. Sent with `try_send`: when nobody reads,
/// the queue fills and further events are dropped (the shared status still says where things
/// stand). Not real-time safe.
#[derive(Debug, Clone, PartialEq)]
pub enum WorkerEvent {
    ModelLoading {
        dir: PathBuf,
    },
    ModelLoaded {
        dir: PathBuf,
        info: ModelInfo,
    },
    /// A load failed; `kept_previous` when an earlier model stays loaded.
    ModelFailed {
        dir: PathBuf,
        error: String,
        kept_previous: bool,
    },
    /// No model folder to load (no bundled default and none chosen).
    NoModel,
    JobStarted {
        job_id: JobId,
        seed: u64,
        family: ModelFamily,
    },
    /// The take is complete (all its audio generated).
    TakeFinished {
        job_id: JobId,
        speed_x_realtime: f32,
    },
    TakeFailed {
        job_id: JobId,
        error: TakeError,
    },
    Exported {
        path: PathBuf,
    },
    ExportFailed {
        error: String,
    },
}
