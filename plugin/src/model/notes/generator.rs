//! The notes family as a [`Generator`]: compose a continuation as notes, then render it with the
//! plugin's instruments at the host's rate. Worker thread; allocates.

use super::composer::{self, ComposeRequest, Composition};
use super::constraints::Constraints;
use super::decoder::NotesDecoder;
use super::hand_out;
use super::tokens::{self, Note, TimeSig};
use crate::instruments::{Instrument, Instruments};
use crate::model::error::ModelError;
use crate::model::generator::{Density, ListenTo};
use crate::model::generator::{GenerationRequest, Generator, ModelInfo, Step};
use crate::model::manifest::{Manifest, MANIFEST_FILE};
use crate::model::sampling::{Sampler, SamplingSettings};
use crate::model::transcriber::{self, NoteSettings, Transcriber, Transcription};
use crate::timeline;

/// Family name in manifests.
pub const FAMILY: &str = "notes";

/// The tokenizer this build implements (TOKENS.md).
pub const TOKENIZER: &str = "continuo-notes-v1";

/// Tokens sampled per step: a few milliseconds of work, so the worker stays responsive.
const TOKENS_PER_STEP: usize = 24;

/// Most notes a bar may hold at each density setting (None: no limit).
fn max_notes_per_bar(density: Density) -> Option<u32> {
    match density {
        Density::Any | Density::Busy => None,
        Density::Sparse => Some(4),
        Density::Medium => Some(8),
    }
}

fn density_tag(density: Density) -> Option<&'static str> {
    match density {
        Density::Any => None,
        Density::Sparse => Some("SPARSE"),
        Density::Medium => Some("MEDIUM"),
        Density::Busy => Some("BUSY"),
    }
}

/// Context audio quieter than this everywhere (-80 dBFS) is silence: nothing to transcribe.
const SILENCE_PEAK: f32 = 1e-4;

/// Where a take's context notes came from, for the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ContextSource {
    Midi(usize),
    Audio(usize),
    Nothing,
}

/// The context audio being transcribed, one window of the acoustic model per step.
struct Listening {
    transcription: Transcription,
}

/// One job: listening to the context audio when it must, composing, then rendered audio handed
/// out in chunks.
struct NotesJob {
    /// The composition's request; its context notes are filled in once they are known.
    request: ComposeRequest,
    listening: Option<Listening>,
    comp: Option<Composition>,
    source: ContextSource,
    tempo_bpm: f64,
    sample_rate_hz: u32,
    num_frames: usize,
    seconds_per_16th: f64,
    /// The panel's voice; prompt words may choose another once the composition starts.
    voice: Instrument,
    instrument: Instrument,
    audio: Option<Vec<f32>>,
    num_frames_out: usize,
}

pub struct NotesGenerator {
    info: ModelInfo,
    decoder: NotesDecoder,
    sampler: Sampler,
    instruments: Instruments,
    job: Option<NotesJob>,
    /// The notes of the last composition, in 16ths from its first bar (MIDI out and export).
    last_notes: Vec<Note>,
    /// Opened when a take first has to listen to audio.
    transcriber: Option<Transcriber>,
}

impl NotesGenerator {
    /// Checks the manifest's tokenizer and vocabulary, opens the decoder. Worker thread.
    pub fn load(
        manifest: &Manifest,
        env: &ort::environment::Environment,
        instruments: Instruments,
    ) -> Result<Self, ModelError> {
        let manifest_path = manifest.folder.join(MANIFEST_FILE);
        let bad = |reason: String| ModelError::BadManifest {
            path: manifest_path.clone(),
            reason,
        };
        let tokenizer = manifest
            .family_config
            .get("tokenizer")
            .and_then(|v| v.as_str());
        if tokenizer != Some(TOKENIZER) {
            return Err(bad(format!(
                "[notes] tokenizer is {tokenizer:?}; this Continuo reads \"{TOKENIZER}\""
            )));
        }
        let (info, decoder) =
            super::open_decoder(manifest, env, tokens::check_vocab, tokens::VOCAB_SIZE)?;
        Ok(Self {
            info,
            decoder,
            sampler: Sampler::default(),
            instruments,
            job: None,
            last_notes: Vec::new(),
            transcriber: None,
        })
    }

    /// The notes of the most recent take, in 16ths from its first bar.
    pub fn last_notes(&self) -> &[Note] {
        &self.last_notes
    }

    fn render(&mut self) -> Result<(), ModelError> {
        let Some(job) = self.job.as_mut() else {
            return Ok(());
        };
        let Some(comp) = job.comp.as_ref() else {
            return Ok(());
        };
        let events: Vec<timeline::Note> = comp
            .notes
            .iter()
            .filter(|n| n.pitch >= 0 && n.pitch <= 127 && n.duration_16ths > 0)
            .map(|n| timeline::Note {
                start_seconds: n.start_16ths as f64 * job.seconds_per_16th,
                duration_seconds: n.duration_16ths as f64 * job.seconds_per_16th,
                pitch: n.pitch as u8,
                velocity: n.velocity.clamp(1, 127) as u8,
                channel: 0,
            })
            .collect();
        let audio = self
            .instruments
            .render(job.instrument, &events, job.sample_rate_hz, job.num_frames)
            .map_err(|e| {
                ModelError::Run(format!("the instruments could not play the take: {e}"))
            })?;
        job.audio = Some(audio);
        self.last_notes = comp.notes.clone();
        Ok(())
    }

    /// Starts composing once the context notes are known.
    fn compose(&mut self) -> Result<(), ModelError> {
        let Some(job) = self.job.as_mut() else {
            return Ok(());
        };
        let comp = composer::start(&mut self.decoder, &job.request)?;
        job.instrument = comp
            .steering
            .voice
            .and_then(Instrument::from_word)
            .unwrap_or(job.voice);
        job.comp = Some(comp);
        Ok(())
    }
}

/// The context notes a job uses, or the audio it must transcribe to get them.
/// `None` when the audio must be transcribed.
fn choose_context(listen: ListenTo, request: &GenerationRequest) -> Option<ContextSource> {
    let num_midi = request.context_notes.len();
    let audible = request.context_audio.iter().any(|s| s.abs() > SILENCE_PEAK);
    match listen {
        ListenTo::Midi => Some(ContextSource::Midi(num_midi)),
        ListenTo::Auto if num_midi > 0 => Some(ContextSource::Midi(num_midi)),
        ListenTo::Auto | ListenTo::Audio if !audible => Some(ContextSource::Nothing),
        ListenTo::Auto | ListenTo::Audio => None,
    }
}

/// Notes on the 16th grid as notes in seconds (MIDI out, export, the panel).
fn in_seconds(notes: &[Note], seconds_per_16th: f64) -> Vec<timeline::Note> {
    notes
        .iter()
        .map(|n| timeline::Note {
            start_seconds: n.start_16ths as f64 * seconds_per_16th,
            duration_seconds: n.duration_16ths as f64 * seconds_per_16th,
            pitch: n.pitch.clamp(0, 127) as u8,
            velocity: n.velocity.clamp(1, 127) as u8,
            channel: 0,
        })
        .collect()
}

fn heard_to_context(notes: &[timeline::Note], tempo_bpm: f64) -> Vec<Note> {
    let beats_per_second = tempo_bpm / 60.0;
    notes
        .iter()
        .map(|n| {
            Note::from_beats(
                n.start_seconds * beats_per_second,
                n.duration_seconds * beats_per_second,
                n.pitch as i32,
                n.velocity as i32,
            )
        })
        .filter(|n| n.duration_16ths > 0)
        .collect()
}

impl Generator for NotesGenerator {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn begin(&mut self, request: &GenerationRequest) -> Result<(), ModelError> {
        self.job = None;
        self.last_notes.clear();
        let settings = &request.settings;
        let (num, den) = request.meter.time_sig;
        let time_sig = TimeSig::new(num, den).unwrap_or(TimeSig::FOUR_FOUR);
        let source = choose_context(settings.listen, request);
        let context_notes = match source {
            Some(ContextSource::Midi(_)) => request
                .context_notes
                .iter()
                .map(|n| {
                    Note::from_beats(
                        n.start_beats,
                        n.duration_beats,
                        n.pitch as i32,
                        n.velocity as i32,
                    )
                })
                .collect(),
            _ => Vec::new(),
        };
        let listening = match source {
            Some(_) => None,
            None => {
                if self.transcriber.is_none() {
                    self.transcriber = Some(transcriber::open()?);
                }
                let audio = transcriber::prepare_audio(
                    &request.context_audio,
                    self.info.num_channels,
                    request.sample_rate_hz,
                )
                .map_err(|e| ModelError::Run(format!("preparing the context audio: {e}")))?;
                Some(Listening {
                    transcription: Transcription::new(audio),
                })
            }
        };
        let compose = ComposeRequest {
            prompt: request.prompt.clone(),
            context_notes,
            num_context_bars: settings.context_bars,
            num_bars: settings.length_bars,
            time_sig,
            tempo_bpm: request.meter.tempo_bpm,
            sampling: SamplingSettings {
                temperature: settings.temperature,
                top_k: settings.top_k,
                top_p: settings.top_p,
            },
            constraints: Constraints {
                key_lock: settings.key_lock,
                lowest_pitch: settings.lowest_note,
                highest_pitch: settings.highest_note,
                max_notes_per_bar: max_notes_per_bar(settings.density),
            },
            density_hint: density_tag(settings.density),
            seed: request.seed,
        };
        let voice = settings.instrument;
        self.job = Some(NotesJob {
            request: compose,
            listening,
            comp: None,
            source: source.unwrap_or(ContextSource::Audio(0)),
            tempo_bpm: request.meter.tempo_bpm,
            sample_rate_hz: request.sample_rate_hz,
            num_frames: request.num_frames,
            seconds_per_16th: request.meter.seconds_per_16th(),
            voice,
            instrument: voice,
            audio: None,
            num_frames_out: 0,
        });
        if source.is_some() {
            self.compose()?;
        }
        Ok(())
    }

    fn step(&mut self, out: &mut Vec<f32>) -> Result<Step, ModelError> {
        let Some(job) = self.job.as_mut() else {
            return Ok(Step::Finished);
        };
        if let Some(listening) = job.listening.as_mut() {
            let transcriber = self
                .transcriber
                .as_mut()
                .expect("opened when the job began listening");
            let done = transcriber.run_window(&mut listening.transcription)?;
            if !done {
                return Ok(Step::Continue);
            }
            let heard = listening.transcription.notes(&NoteSettings::default());
            job.request.context_notes = heard_to_context(&heard, job.tempo_bpm);
            job.source = ContextSource::Audio(job.request.context_notes.len());
            job.listening = None;
            self.compose()?;
            return Ok(Step::Continue);
        }
        if job.audio.is_none() {
            let comp = job.comp.as_mut().expect("composing once listening is done");
            let done = composer::step(&mut self.decoder, &mut self.sampler, comp, TOKENS_PER_STEP)?;
            if !done {
                return Ok(Step::Continue);
            }
            self.render()?;
        }
        let job = self.job.as_mut().expect("a job is running");
        let audio = job.audio.as_ref().expect("rendered above");
        job.num_frames_out = hand_out(audio, job.num_frames_out, job.num_frames, out);
        Ok(if job.num_frames_out >= job.num_frames {
            Step::Finished
        } else {
            Step::Continue
        })
    }

    fn take_notes(&self) -> Vec<timeline::Note> {
        // Known once the composition is rendered, before the audio is handed out.
        let Some(job) = self.job.as_ref().filter(|j| j.audio.is_some()) else {
            return Vec::new();
        };
        in_seconds(&self.last_notes, job.seconds_per_16th)
    }

    fn finish(&mut self) {
        self.job = None;
        self.decoder.reset();
    }

    fn progress(&self) -> f32 {
        // Listening takes about a fifth of a job, composing most of the rest.
        match &self.job {
            None => 1.0,
            Some(job) => match (&job.listening, &job.comp, &job.audio) {
                (Some(l), _, _) => 0.2 * l.transcription.progress(),
                (None, Some(comp), None) => {
                    let base = if matches!(job.source, ContextSource::Audio(_)) {
                        0.2
                    } else {
                        0.0
                    };
                    base + (0.9 - base) * comp.progress()
                }
                (None, None, _) => 0.0,
                (None, Some(_), Some(_)) => {
                    0.9 + 0.1 * job.num_frames_out as f32 / job.num_frames.max(1) as f32
                }
            },
        }
    }

    fn heard_notes(&self) -> Vec<timeline::Note> {
        let Some(job) = self.job.as_ref() else {
            return Vec::new();
        };
        if !matches!(job.source, ContextSource::Audio(_)) || job.listening.is_some() {
            return Vec::new();
        }
        in_seconds(&job.request.context_notes, job.seconds_per_16th)
    }

    fn context_report(&self) -> Option<String> {
        let job = self.job.as_ref()?;
        Some(match job.source {
            _ if job.listening.is_some() => "Listening to the track's audio …".into(),
            ContextSource::Midi(0) | ContextSource::Nothing => {
                "No notes in the context: continued from the prompt alone.".into()
            }
            ContextSource::Midi(n) => format!("Continued {n} MIDI notes from the track."),
            ContextSource::Audio(0) => {
                "Heard no notes in the track's audio: continued from the prompt alone.".into()
            }
            ContextSource::Audio(n) => {
                format!("Heard {n} notes in the track's audio and continued them.")
            }
        })
    }
}
