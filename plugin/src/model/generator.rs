//! The interface every model family implements, and what a job asks of it.

use super::error::ModelError;
use super::manifest::SamplingDefaults;
use crate::instruments::Instrument;
use crate::timeline::{BeatNote, Meter, Note};

/// The model families this build runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ModelFamily {
    /// Continuo's own notes model, played by the plugin's instruments.
    Notes,
    /// MusicGen-layout codec language models.
    Musicgen,
    /// The test and diagnostic double (a tone generator).
    ToneTest,
}

impl ModelFamily {
    /// Every family, for messages.
    pub const ALL: [ModelFamily; 3] = [Self::Notes, Self::Musicgen, Self::ToneTest];

    /// The name manifests use (`family = "notes"`).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Notes => "notes",
            Self::Musicgen => "musicgen",
            Self::ToneTest => "tone-test",
        }
    }

    /// The family a manifest names, if this build runs it.
    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.as_str() == name)
    }

    /// Whether the family writes notes (and so reads a context of notes, sends MIDI out and
    /// exports .mid files).
    pub fn writes_notes(self) -> bool {
        self == Self::Notes
    }
}

impl std::fmt::Display for ModelFamily {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl PartialEq<&str> for ModelFamily {
    fn eq(&self, other: &&str) -> bool {
        self.as_str() == *other
    }
}

/// What the engine knows about a loaded model. Worker and GUI threads.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelInfo {
    pub family: ModelFamily,
    pub name: String,
    pub description: String,
    /// Rate of the audio `step` produces, in Hz; 0 means "the host's rate" (families that render
    /// their own instruments).
    pub sample_rate_hz: u32,
    /// 1 or 2.
    pub num_channels: usize,
    /// The sampling values the model's manifest suggests (`[sampling]`): the command line uses
    /// them unless told otherwise, the panel offers them.
    pub sampling: SamplingDefaults,
}

/// How dense a notes take should be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Density {
    /// Whatever the model and the prompt say.
    #[default]
    Any,
    Sparse,
    Medium,
    Busy,
}

/// Where a notes job reads its context from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum ListenTo {
    /// The MIDI the track sent during the context, or its audio when it sent none.
    #[default]
    Auto,
    Midi,
    Audio,
}

/// The musical controls of one job, as the model families read them: plain values, already
/// clamped to their ranges. The plugin's parameters map onto this (`params::JobSettings`); the
/// models never see the parameters themselves.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobControls {
    pub temperature: f32,
    /// 0 = off.
    pub top_k: u32,
    pub top_p: f32,
    /// Classifier-free guidance scale (musicgen).
    pub guidance: f32,
    pub context_bars: u32,
    pub length_bars: u32,
    /// The instrument a notes take plays unless the prompt names one.
    pub instrument: Instrument,
    /// Tonic pitch class (0 = C) and minor, when the key lock is on.
    pub key_lock: Option<(u8, bool)>,
    /// 0 to 1: how strongly a notes take leans to its key when the key is not locked (notes v2).
    pub key_follow: f32,
    pub lowest_note: u8,
    pub highest_note: u8,
    pub density: Density,
    /// A part to write besides the context's (notes v2).
    pub add_part: Option<crate::model::notes::tokens_v2::Role>,
    pub listen: ListenTo,
    /// Guidance weights of the prompts separated by `|` (musicgen), each 0 to 1.
    pub prompt_weights: [f32; 4],
}

impl Default for JobControls {
    fn default() -> Self {
        Self {
            temperature: 1.0,
            top_k: 0,
            top_p: 1.0,
            guidance: 3.0,
            context_bars: 4,
            length_bars: 8,
            instrument: Instrument::ElectricPiano,
            key_lock: None,
            key_follow: 0.5,
            lowest_note: 21,
            highest_note: 108,
            density: Density::Any,
            add_part: None,
            listen: ListenTo::Auto,
            prompt_weights: [1.0; 4],
        }
    }
}

/// Everything a generation job needs. Built on the worker thread at trigger time.
#[derive(Debug, Clone)]
pub struct GenerationRequest {
    pub prompt: String,
    pub settings: JobControls,
    /// The seed this take uses (never 0: a 0 in the settings was replaced by a drawn seed).
    pub seed: u64,
    /// The tempo and time signature the take is played in.
    pub meter: Meter,
    /// How many frames to produce, at the model's output rate.
    pub num_frames: usize,
    /// The model's output rate for this job in Hz (the host rate when the model says 0).
    pub sample_rate_hz: u32,
    /// The prompt audio at `sample_rate_hz`, interleaved with the model's channel count.
    pub context_audio: Vec<f32>,
    /// The notes the track played during the context.
    pub context_notes: Vec<BeatNote>,
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

    /// Frees what the job held (caches, rendered audio) once the worker has read its results
    /// (the take's notes, what it heard): each instance keeps its own generator, and a finished
    /// job's key-value cache would otherwise stay resident in every one of them until the next
    /// take. The next `begin` starts afresh either way.
    fn finish(&mut self) {}

    /// The notes of the job, for families that write notes, as soon as they are known (before
    /// the job finishes); empty until then and for families that write audio.
    fn take_notes(&self) -> Vec<Note> {
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
    fn heard_notes(&self) -> Vec<Note> {
        Vec::new()
    }
}
