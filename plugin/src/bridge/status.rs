//! What the worker and the audio thread tell the panel and the command line, and the panel's
//! requests to the audio thread. Atomics for everything the audio thread touches; locks only for
//! what the worker and the GUI share.

use crate::model::{ModelFamily, ModelInfo};
use crate::timeline::Note;
use parking_lot::Mutex;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicU8, Ordering};

/// Where the engine stands, for the status line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u8)]
pub enum Phase {
    /// No model loaded (none chosen, or the last load failed without a previous model).
    NoModel = 0,
    LoadingModel = 1,
    /// A model is loaded and nothing is being generated.
    Ready = 2,
    /// A take is being generated; playback waits until enough is buffered.
    Generating = 3,
    /// A take is playing (it may still be generating the rest).
    Playing = 4,
}

impl Phase {
    fn from_u8(v: u8) -> Self {
        match v {
            1 => Self::LoadingModel,
            2 => Self::Ready,
            3 => Self::Generating,
            4 => Self::Playing,
            _ => Self::NoModel,
        }
    }
}

/// A float in an `AtomicU32`. Real-time safe.
#[derive(Debug, Default)]
pub struct AtomicF32(AtomicU32);

impl AtomicF32 {
    pub fn new(v: f32) -> Self {
        Self(AtomicU32::new(v.to_bits()))
    }
    pub fn load(&self) -> f32 {
        f32::from_bits(self.0.load(Ordering::Relaxed))
    }
    pub fn store(&self, v: f32) {
        self.0.store(v.to_bits(), Ordering::Relaxed)
    }
}

/// Text shown in the panel. GUI and worker threads only (locked).
#[derive(Debug, Clone, Default)]
pub struct StatusText {
    /// The loaded model, if any.
    pub model: Option<ModelInfo>,
    /// What is happening, in plain words.
    pub message: String,
    /// The last error, in plain words with what to do; cleared by the next success.
    pub error: Option<String>,
    /// Seed of the most recent take.
    pub last_seed: Option<u64>,
}

/// Shared by the audio thread, the worker and the GUI; one per plugin instance.
#[derive(Debug, Default)]
pub struct SharedStatus {
    phase: AtomicU8,
    /// Audio thread: blocks in which a playing take had no audio ready. Real-time safe.
    pub num_underruns: AtomicU64,
    /// Audio thread: input frames dropped because the capture ring was full.
    pub num_capture_dropped_frames: AtomicU64,
    /// Audio thread: input samples that were NaN or infinite, replaced by silence before
    /// capture (and kept out of the output when the dry path is muted). Real-time safe.
    pub num_nonfinite_input_samples: AtomicU64,
    /// Audio thread: segments that ended without playing because their job failed.
    pub num_failed_segments: AtomicU64,
    /// Audio thread: frames buffered ahead for the playing (or armed) take.
    pub num_buffered_frames: AtomicU64,
    /// Audio thread: frames processed since activation, so the worker can measure how fast the
    /// host consumes audio (faster than real time when it freewheels).
    pub num_processed_frames: AtomicU64,
    /// Audio thread: the host's sample rate in Hz.
    pub host_rate_hz: AtomicF32,
    /// Audio thread: true while the host renders offline (bounce).
    pub offline: AtomicBool,
    /// Worker: progress of the current job, 0 to 1.
    pub progress: AtomicF32,
    /// Worker: measured generation speed in multiples of real time (0 = not measured yet).
    pub speed_x_realtime: AtomicF32,
    /// Worker: estimated seconds until the job is fully generated.
    pub eta_seconds: AtomicF32,
    /// GUI/worker text. Not real-time safe (lock).
    pub text: Mutex<StatusText>,
    /// Worker: the most recent finished take, for its export and the command line. Not
    /// real-time safe (lock).
    pub last_take: Mutex<Option<TakeSummary>>,
    /// Worker: model folders found beside the plugin (bundled models), scanned when a model
    /// loads, so the panel does not read the disk every frame. Not real-time safe (lock).
    pub bundled_models: Mutex<Vec<PathBuf>>,
}

/// What a finished take was made with and what it played, for its export.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct TakeSummary {
    pub tempo_bpm: f64,
    pub seed: u64,
    /// The take's notes in seconds from its start (empty for families that write audio).
    pub notes: Vec<Note>,
    /// The notes the take heard in the track's audio, in seconds from its context's start
    /// (empty when it read MIDI).
    pub heard_notes: Vec<Note>,
}

/// The panel's (or the command line's) requests to the audio thread: flags the audio thread
/// swaps back to false when it acts on them. Real-time safe.
#[derive(Debug, Default)]
pub struct PanelRequests {
    /// Generate pressed.
    pub generate: AtomicBool,
    /// Stop pressed.
    pub stop: AtomicBool,
}

impl PanelRequests {
    pub fn request_generate(&self) {
        self.generate.store(true, Ordering::Relaxed);
    }

    pub fn request_stop(&self) {
        self.stop.store(true, Ordering::Relaxed);
    }

    /// Takes the Generate request, if any. Real-time safe.
    pub fn take_generate(&self) -> bool {
        self.generate.swap(false, Ordering::Relaxed)
    }

    /// Takes the Stop request, if any. Real-time safe.
    pub fn take_stop(&self) -> bool {
        self.stop.swap(false, Ordering::Relaxed)
    }
}

impl SharedStatus {
    pub fn phase(&self) -> Phase {
        Phase::from_u8(self.phase.load(Ordering::Relaxed))
    }

    pub fn set_phase(&self, phase: Phase) {
        self.phase.store(phase as u8, Ordering::Relaxed)
    }

    /// Sets the message, clearing the error. Not real-time safe.
    pub fn set_message(&self, message: impl Into<String>) {
        let mut text = self.text.lock();
        text.message = message.into();
        text.error = None;
    }

    /// The loaded model's family, if a model is loaded. Not real-time safe (lock).
    pub fn model_family(&self) -> Option<ModelFamily> {
        self.text.lock().model.as_ref().map(|m| m.family)
    }

    /// Records an error for the panel and the log. Not real-time safe.
    pub fn set_error(&self, error: impl Into<String>) {
        let error = error.into();
        nice_plug::nice_error!("continuo: {error}");
        self.text.lock().error = Some(error);
    }
}
