//! The interface every model family implements, and what a job asks of it.

use super::error::ModelError;
use crate::params::JobSettings;

/// What the engine knows about a loaded model. Worker and GUI threads.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub family: String,
    pub name: String,
    pub description: String,
    /// Rate of the audio `step` produces, in Hz; 0 means "the host's rate" (families that render
    /// their own instruments).
    pub sample_rate_hz: u32,
    /// 1 or 2.
    pub num_channels: usize,
}

/// A note the track played, in beats from the start of the context.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ContextNote {
    pub start_beats: f64,
    pub duration_beats: f64,
    pub pitch: u8,
    pub velocity: u8,
}

/// Everything a generation job needs. Built on the worker thread at trigger time.
#[derive(Debug, Clone)]
pub struct GenerationRequest {
    pub prompt: String,
    pub settings: JobSettings,
    /// The seed this take uses (never 0: a 0 in the settings was replaced by a drawn seed).
    pub seed: u64,
    pub tempo_bpm: f64,
    pub beats_per_bar: f64,
    /// The host's time signature (numerator, denominator); 4/4 when it gives none.
    pub time_sig: (u32, u32),
    /// How many frames to produce, at the model's output rate.
    pub num_frames: usize,
    /// The model's output rate for this job in Hz (the host rate when the model says 0).
    pub sample_rate_hz: u32,
    /// The prompt audio at `sample_rate_hz`, interleaved with the model's channel count.
    pub context_audio: Vec<f32>,
    /// The notes the track played during the context.
    pub context_notes: Vec<ContextNote>,
}

/// A note of a take, in seconds from the take's start (MIDI out and .mid export).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TakeNote {
    pub start_seconds: f64,
    pub duration_seconds: f64,
    pub pitch: u8,
    pub velocity: u8,
}

/// Result of one generation step.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Step {
    /// More to come.
    Continue,
    /// The take is complete.
    Finished,
}

/// A model family's runtime: started once per job, then stepped by the worker until finished.
///
/// The worker interleaves steps with its other duties (capture, feeding playback, commands), so a
/// step should take at most a few tens of milliseconds. Implementations pre-allocate what the
/// step loop reuses. Worker thread only; not real-time safe.
pub trait Generator: Send {
    fn info(&self) -> &ModelInfo;

    /// Starts a job, dropping any job in progress.
    fn begin(&mut self, request: &GenerationRequest) -> Result<(), ModelError>;

    /// Runs one step, appending interleaved audio at the job's rate to `out`. The total appended
    /// over a job is exactly `request.num_frames` frames.
    fn step(&mut self, out: &mut Vec<f32>) -> Result<Step, ModelError>;

    /// Fraction of the job done, 0 to 1.
    fn progress(&self) -> f32;

    /// The notes of the job, for families that write notes, as soon as they are known (before
    /// the job finishes); empty until then and for families that write audio.
    fn take_notes(&self) -> Vec<TakeNote> {
        Vec::new()
    }

    /// What the job made of its context, in a sentence for the panel (families that read notes:
    /// how many notes, and whether from MIDI or heard in the audio); None when there is nothing
    /// to say.
    fn context_report(&self) -> Option<String> {
        None
    }

    /// The notes the job heard in its context audio (as it will continue them: on the 16th
    /// grid), in seconds from the context's start; empty when the context came from MIDI or the
    /// family does not listen.
    fn heard_notes(&self) -> Vec<TakeNote> {
        Vec::new()
    }
}
