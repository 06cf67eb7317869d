//! Every automatable parameter and every value saved with the project.
//!
//! Parameter ids are short, stable and never renamed: saved projects and automation lanes refer to
//! them. Values are read with `.value()` (an atomic load) from any thread. Real-time safe.

use crate::instruments::Instrument;
use crate::model;
use crate::model::notes::tokens_v2::Role as PartRole;
use nice_plug::prelude::*;
use parking_lot::RwLock;
use std::sync::Arc;

/// Longest prompt kept, in bytes. A prompt is a sentence or two; anything longer is almost
/// certainly a paste accident and would bloat every saved project, so it is cut (on a character
/// boundary) and the panel says so.
pub const MAX_PROMPT_BYTES: usize = 2048;

/// Default editor size in logical pixels: room for the prompt, the controls and the status lines.
pub const DEFAULT_EDITOR_SIZE: (u32, u32) = (900, 480);

/// Where a new take starts relative to the host's musical grid.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// As soon as the take is ready.
    #[id = "now"]
    #[name = "Now"]
    Now,
    /// On the next beat after the take is ready.
    #[id = "beat"]
    #[name = "Next beat"]
    Beat,
    /// On the next bar line after the take is ready.
    #[id = "bar"]
    #[name = "Next bar"]
    Bar,
}

/// The instrument that plays a notes-family take (the notes also go out as MIDI).
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Voice {
    #[id = "piano"]
    #[name = "Piano"]
    Piano,
    #[id = "epiano"]
    #[name = "Electric Piano"]
    ElectricPiano,
    #[id = "pad"]
    #[name = "Pad"]
    Pad,
    #[id = "pluck"]
    #[name = "Pluck"]
    Pluck,
    #[id = "bass"]
    #[name = "Bass"]
    Bass,
    #[id = "strings"]
    #[name = "Strings"]
    Strings,
    #[id = "choir"]
    #[name = "Choir"]
    Choir,
}

/// Tonic of the key lock.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyName {
    #[id = "c"]
    #[name = "C"]
    C,
    #[id = "db"]
    #[name = "C#/Db"]
    Db,
    #[id = "d"]
    #[name = "D"]
    D,
    #[id = "eb"]
    #[name = "D#/Eb"]
    Eb,
    #[id = "e"]
    #[name = "E"]
    E,
    #[id = "f"]
    #[name = "F"]
    F,
    #[id = "gb"]
    #[name = "F#/Gb"]
    Gb,
    #[id = "g"]
    #[name = "G"]
    G,
    #[id = "ab"]
    #[name = "G#/Ab"]
    Ab,
    #[id = "a"]
    #[name = "A"]
    A,
    #[id = "bb"]
    #[name = "A#/Bb"]
    Bb,
    #[id = "b"]
    #[name = "B"]
    B,
}

/// Scale of the key lock.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    #[id = "major"]
    #[name = "Major"]
    Major,
    #[id = "minor"]
    #[name = "Minor"]
    Minor,
}

/// How many notes a bar may hold.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Density {
    #[id = "any"]
    #[name = "Any"]
    Any,
    #[id = "sparse"]
    #[name = "Sparse"]
    Sparse,
    #[id = "medium"]
    #[name = "Medium"]
    Medium,
    #[id = "busy"]
    #[name = "Busy"]
    Busy,
}

/// A part the notes model writes besides the context's (v2 models), as "add drums" in the
/// prompt does.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddPart {
    #[id = "none"]
    #[name = "None"]
    None,
    #[id = "drums"]
    #[name = "Drums"]
    Drums,
    #[id = "bass"]
    #[name = "Bass"]
    Bass,
    #[id = "chords"]
    #[name = "Chords"]
    Chords,
    #[id = "pad"]
    #[name = "Pad"]
    Pad,
    #[id = "arp"]
    #[name = "Arpeggio"]
    Arpeggio,
    #[id = "lead"]
    #[name = "Lead"]
    Lead,
}

/// Which part of the track the notes family continues.
#[derive(Enum, Debug, Clone, Copy, PartialEq, Eq)]
pub enum Listen {
    /// The MIDI the track played when there is any in the context, otherwise its audio.
    #[id = "auto"]
    #[name = "Auto"]
    Auto,
    /// Only the MIDI notes.
    #[id = "midi"]
    #[name = "MIDI"]
    Midi,
    /// Only the audio, transcribed to notes (MIDI is ignored).
    #[id = "audio"]
    #[name = "Audio"]
    Audio,
}

/// The plugin's parameters and persisted fields.
#[derive(Params)]
pub struct ContinuoParams {
    /// Blend of dry input and generated audio: 0 = dry only, 0.5 = both at unity, 1 = take only.
    #[id = "mix"]
    pub mix: FloatParam,
    /// Output gain in dB applied after the mix; smoothed.
    #[id = "gain"]
    pub output_gain: FloatParam,
    /// Sampling temperature.
    #[id = "temp"]
    pub temperature: FloatParam,
    /// Top-k sampling; 0 disables it.
    #[id = "topk"]
    pub top_k: IntParam,
    /// Top-p (nucleus) sampling; 1 disables it.
    #[id = "topp"]
    pub top_p: FloatParam,
    /// Classifier-free guidance scale (families without guidance ignore it).
    #[id = "guide"]
    pub guidance: FloatParam,
    /// How many bars before the trigger form the prompt.
    #[id = "ctxbars"]
    pub context_bars: IntParam,
    /// How many bars to generate.
    #[id = "lenbars"]
    pub length_bars: IntParam,
    /// Grid point a take starts on.
    #[id = "sync"]
    pub sync: EnumParam<SyncMode>,
    /// Loop the take until stopped.
    #[id = "loop"]
    pub loop_take: BoolParam,
    /// Trigger: a rising edge starts a job.
    #[id = "gen"]
    pub generate: BoolParam,
    /// Random seed; 0 draws a fresh seed for every take (each take records the seed it used).
    #[id = "seed"]
    pub seed: IntParam,
    /// The instrument a notes take plays on (a prompt word such as "pad" overrides it).
    #[id = "voice"]
    pub voice: EnumParam<Voice>,
    /// Keep every generated note in the key below.
    #[id = "keylock"]
    pub key_lock: BoolParam,
    /// How strongly a notes take (v2) leans to the key it plays in when the key is not locked:
    /// 0 leaves the model alone, 1 makes a note outside the scale about 50 times less likely.
    #[id = "keyfollow"]
    pub key_follow: FloatParam,
    #[id = "key"]
    pub key: EnumParam<KeyName>,
    #[id = "scale"]
    pub scale: EnumParam<Scale>,
    /// Lowest and highest MIDI note a notes take may use.
    #[id = "lownote"]
    pub lowest_note: IntParam,
    #[id = "highnote"]
    pub highest_note: IntParam,
    /// Notes per bar: sparse (at most 4), medium (at most 8), busy, or whatever the model likes.
    #[id = "density"]
    pub density: EnumParam<Density>,
    /// A part to add to the continuation (notes model v2).
    #[id = "addpart"]
    pub add_part: EnumParam<AddPart>,
    /// Treat processing as offline even when the host says real time: the audio thread waits for
    /// the model so a bounce is complete. For hosts that render faster than real time without
    /// saying so; in a live session it would stall the audio, so it is off by default and not
    /// automatable.
    /// Guidance weights of up to four prompts separated by `|` (musicgen family): relative, so
    /// two prompts at 1.0 and 1.0 blend half and half.
    #[id = "pw1"]
    pub prompt_weight_1: FloatParam,
    #[id = "pw2"]
    pub prompt_weight_2: FloatParam,
    #[id = "pw3"]
    pub prompt_weight_3: FloatParam,
    #[id = "pw4"]
    pub prompt_weight_4: FloatParam,
    /// What the notes family listens to: MIDI, the audio (transcribed), or MIDI when there is any.
    #[id = "listen"]
    pub listen: EnumParam<Listen>,
    #[id = "bounce"]
    pub bounce_mode: BoolParam,

    /// The text prompt. GUI and worker threads; not real-time safe (locks).
    #[persist = "prompt"]
    pub prompt: RwLock<String>,
    /// The model folder chosen by the user; empty means the bundled default model.
    #[persist = "model-dir"]
    pub model_dir: RwLock<String>,
    /// Editor size in logical pixels (width, height).
    #[persist = "editor-size"]
    pub editor_size: RwLock<(u32, u32)>,
}

impl Default for ContinuoParams {
    fn default() -> Self {
        Self {
            mix: FloatParam::new("Mix", 0.5, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_smoother(SmoothingStyle::Linear(20.0))
                .with_unit(" %")
                .with_value_to_string(formatters::v2s_f32_percentage(0))
                .with_string_to_value(formatters::s2v_f32_percentage()),
            output_gain: FloatParam::new(
                "Output Gain",
                0.0,
                FloatRange::Linear {
                    min: -60.0,
                    max: 12.0,
                },
            )
            .with_smoother(SmoothingStyle::Linear(20.0))
            .with_unit(" dB")
            .with_step_size(0.1),
            temperature: FloatParam::new(
                "Temperature",
                1.0,
                FloatRange::Linear {
                    min: 0.05,
                    max: 2.0,
                },
            )
            .with_step_size(0.01),
            top_k: IntParam::new("Top K", 250, IntRange::Linear { min: 0, max: 2048 }),
            top_p: FloatParam::new("Top P", 1.0, FloatRange::Linear { min: 0.0, max: 1.0 })
                .with_step_size(0.01),
            guidance: FloatParam::new(
                "Guidance",
                3.0,
                FloatRange::Linear {
                    min: 0.0,
                    max: 10.0,
                },
            )
            .with_step_size(0.1),
            context_bars: IntParam::new("Context", 4, IntRange::Linear { min: 0, max: 16 })
                .with_unit(" bars"),
            length_bars: IntParam::new("Length", 4, IntRange::Linear { min: 1, max: 32 })
                .with_unit(" bars"),
            sync: EnumParam::new("Sync", SyncMode::Bar),
            loop_take: BoolParam::new("Loop", false),
            generate: BoolParam::new("Generate", false),
            seed: IntParam::new(
                "Seed",
                0,
                IntRange::Linear {
                    min: 0,
                    max: 99_999,
                },
            ),
            bounce_mode: BoolParam::new("Bounce Mode", false).non_automatable(),
            voice: EnumParam::new("Instrument", Voice::ElectricPiano),
            key_lock: BoolParam::new("Key Lock", false),
            key_follow: FloatParam::new(
                "Key Follow",
                0.5,
                FloatRange::Linear { min: 0.0, max: 1.0 },
            )
            .with_unit(" %")
            .with_value_to_string(formatters::v2s_f32_percentage(0))
            .with_string_to_value(formatters::s2v_f32_percentage()),
            key: EnumParam::new("Key", KeyName::C),
            scale: EnumParam::new("Scale", Scale::Major),
            lowest_note: IntParam::new("Lowest Note", 36, IntRange::Linear { min: 21, max: 108 })
                .with_value_to_string(formatters::v2s_i32_key_formatter())
                .with_string_to_value(formatters::s2v_i32_key_formatter()),
            highest_note: IntParam::new("Highest Note", 96, IntRange::Linear { min: 21, max: 108 })
                .with_value_to_string(formatters::v2s_i32_key_formatter())
                .with_string_to_value(formatters::s2v_i32_key_formatter()),
            density: EnumParam::new("Density", Density::Any),
            add_part: EnumParam::new("Add Part", AddPart::None),
            listen: EnumParam::new("Listen To", Listen::Auto),
            prompt_weight_1: prompt_weight(1),
            prompt_weight_2: prompt_weight(2),
            prompt_weight_3: prompt_weight(3),
            prompt_weight_4: prompt_weight(4),
            prompt: RwLock::new(String::new()),
            model_dir: RwLock::new(String::new()),
            editor_size: RwLock::new(DEFAULT_EDITOR_SIZE),
        }
    }
}

/// Cuts `prompt` to at most [`MAX_PROMPT_BYTES`] on a character boundary. Returns whether it cut.
/// Not real-time safe.
fn prompt_weight(n: u32) -> FloatParam {
    FloatParam::new(
        format!("Prompt {n} Weight"),
        1.0,
        FloatRange::Linear { min: 0.0, max: 1.0 },
    )
    .with_step_size(0.01)
}

pub fn clamp_prompt(prompt: &mut String) -> bool {
    if prompt.len() <= MAX_PROMPT_BYTES {
        return false;
    }
    let mut end = MAX_PROMPT_BYTES;
    while !prompt.is_char_boundary(end) {
        end -= 1;
    }
    prompt.truncate(end);
    true
}

/// A snapshot of every musical control, taken on the audio thread when a job is triggered.
/// Plain values only, so it crosses threads in a lock-free ring. Real-time safe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobSettings {
    pub temperature: f32,
    pub top_k: u32,
    pub top_p: f32,
    pub guidance: f32,
    pub context_bars: u32,
    pub length_bars: u32,
    pub sync: SyncMode,
    pub loop_take: bool,
    /// 0 = draw a fresh seed.
    pub seed: u32,
    pub voice: Voice,
    /// Tonic pitch class (0 = C) and minor, when the key lock is on.
    pub key_lock: Option<(u8, bool)>,
    /// 0 to 1.
    pub key_follow: f32,
    pub lowest_note: u8,
    pub highest_note: u8,
    pub density: Density,
    pub add_part: AddPart,
    pub listen: Listen,
    /// Guidance weights of the prompts separated by `|` (musicgen), each 0 to 1.
    pub prompt_weights: [f32; 4],
}

impl ContinuoParams {
    /// Reads the musical controls, clamped to their ranges (a saved state or a host may hand
    /// over values outside them, and NaN). Real-time safe (atomic loads only).
    pub fn job_settings(&self) -> JobSettings {
        let finite_or = |v: f32, default: f32| if v.is_finite() { v } else { default };
        JobSettings {
            temperature: finite_or(self.temperature.value(), 1.0).clamp(0.05, 2.0),
            top_k: self.top_k.value().clamp(0, 2048) as u32,
            top_p: finite_or(self.top_p.value(), 1.0).clamp(0.0, 1.0),
            guidance: finite_or(self.guidance.value(), 3.0).clamp(0.0, 10.0),
            context_bars: self.context_bars.value().clamp(0, 16) as u32,
            length_bars: self.length_bars.value().clamp(1, 32) as u32,
            sync: self.sync.value(),
            loop_take: self.loop_take.value(),
            seed: self.seed.value().clamp(0, 99_999) as u32,
            voice: self.voice.value(),
            key_lock: self
                .key_lock
                .value()
                .then(|| (self.key.value() as u8, self.scale.value() == Scale::Minor)),
            key_follow: finite_or(self.key_follow.value(), 0.5).clamp(0.0, 1.0),
            lowest_note: self.lowest_note.value().clamp(21, 108) as u8,
            highest_note: self.highest_note.value().clamp(21, 108) as u8,
            density: self.density.value(),
            add_part: self.add_part.value(),
            listen: self.listen.value(),
            prompt_weights: [
                &self.prompt_weight_1,
                &self.prompt_weight_2,
                &self.prompt_weight_3,
                &self.prompt_weight_4,
            ]
            .map(|p| finite_or(p.value(), 1.0).clamp(0.0, 1.0)),
        }
    }
}

impl JobSettings {
    /// The controls a model family reads, in the model's own terms. Real-time safe.
    pub fn controls(&self) -> model::JobControls {
        model::JobControls {
            temperature: self.temperature,
            top_k: self.top_k,
            top_p: self.top_p,
            guidance: self.guidance,
            context_bars: self.context_bars,
            length_bars: self.length_bars,
            instrument: match self.voice {
                Voice::Piano => Instrument::Piano,
                Voice::ElectricPiano => Instrument::ElectricPiano,
                Voice::Pad => Instrument::Pad,
                Voice::Pluck => Instrument::Pluck,
                Voice::Bass => Instrument::Bass,
                Voice::Strings => Instrument::Strings,
                Voice::Choir => Instrument::Choir,
            },
            key_lock: self.key_lock,
            key_follow: self.key_follow,
            lowest_note: self.lowest_note,
            highest_note: self.highest_note,
            density: match self.density {
                Density::Any => model::Density::Any,
                Density::Sparse => model::Density::Sparse,
                Density::Medium => model::Density::Medium,
                Density::Busy => model::Density::Busy,
            },
            add_part: match self.add_part {
                AddPart::None => None,
                AddPart::Drums => Some(PartRole::Drums),
                AddPart::Bass => Some(PartRole::Bass),
                AddPart::Chords => Some(PartRole::Chords),
                AddPart::Pad => Some(PartRole::Pad),
                AddPart::Arpeggio => Some(PartRole::Arp),
                AddPart::Lead => Some(PartRole::Lead),
            },
            listen: match self.listen {
                Listen::Auto => model::ListenTo::Auto,
                Listen::Midi => model::ListenTo::Midi,
                Listen::Audio => model::ListenTo::Audio,
            },
            prompt_weights: self.prompt_weights,
        }
    }
}

/// Sets a parameter's plain value where no host is present (the command line tool and tests),
/// and snaps its smoother to the new value at `sample_rate_hz`. A plugin inside a host never
/// calls this: the host owns parameter changes there. Not real-time safe.
pub fn set_without_host<P: Param>(param: &P, value: P::Plain, sample_rate_hz: f32) {
    let normalized = param.preview_normalized(value);
    let ptr = param.as_ptr();
    // SAFETY: `ptr` points at `param`, which the caller borrows for the whole call; the setters
    // only store atomics and reset the smoother. nice-plug's wrappers use these for the host.
    unsafe {
        ptr._internal_set_normalized_value(normalized);
        ptr._internal_update_smoother(sample_rate_hz, true);
    }
}

/// Snaps every parameter's smoother to its current value at `sample_rate_hz`, as a host's wrapper
/// does on activation. For the command line tool and tests only. Not real-time safe.
pub fn reset_smoothers_without_host(params: &ContinuoParams, sample_rate_hz: f32) {
    for (_, ptr, _) in params.param_map() {
        // SAFETY: the pointers come from `params`, borrowed for the whole call.
        unsafe { ptr._internal_update_smoother(sample_rate_hz, true) };
    }
}

/// Shared handle type used by the plugin, the editor and the worker.
pub type SharedParams = Arc<ContinuoParams>;

#[cfg(test)]
mod tests {
    use super::*;

    mod clamp_prompt {
        use super::*;

        #[test]
        fn keeps_short_prompts() {
            let mut prompt = String::from("dusty lo-fi keys");
            assert!(!clamp_prompt(&mut prompt));
            assert_eq!(prompt, "dusty lo-fi keys");
        }

        #[test]
        fn cuts_on_a_char_boundary() {
            let mut prompt = "é".repeat(MAX_PROMPT_BYTES);
            assert!(clamp_prompt(&mut prompt));
            assert!(prompt.len() <= MAX_PROMPT_BYTES);
            assert!(prompt.len() >= MAX_PROMPT_BYTES - 1);
            assert!(prompt.chars().all(|c| c == 'é'));
        }
    }
}
