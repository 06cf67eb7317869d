//! The notes model v2 as a [`Generator`]: the context's parts continue as the same parts, with
//! any parts the words add, in the context's key and feel; each part is played by its own
//! instrument (drums on a General MIDI kit) and sent on its own MIDI channel. Worker thread;
//! allocates.

use super::composer::{self, BandComposition, BandRequest};
use super::context::{split_into_parts, ContextPart};
use super::steering::{self, BandPlan, BandWords};
use crate::instruments::{BandPart, Instrument, Instruments};
use crate::model::error::ModelError;
use crate::model::generator::{GenerationRequest, Generator, ListenTo, ModelInfo, Step};
use crate::model::manifest::Manifest;
use crate::model::notes::constraints::Constraints;
use crate::model::notes::decoder::NotesDecoder;
use crate::model::notes::hand_out;
use crate::model::notes::tokens_v2::{self, Genre, Role, TimeSig, TICKS_PER_QUARTER};
use crate::model::sampling::{Sampler, SamplingSettings};
use crate::model::transcriber::{self, NoteSettings, Transcriber, Transcription};
use crate::timeline::{self, BeatNote, DRUM_CHANNEL};

/// The tokenizer this generator speaks (models/notes2/TOKENS.md).
pub const TOKENIZER: &str = "continuo-notes-v2";

/// Tokens sampled per step: a few tens of milliseconds, so the worker stays responsive.
const TOKENS_PER_STEP: usize = 16;

/// Context audio quieter than this everywhere (-80 dBFS) is silence: nothing to transcribe.
const SILENCE_PEAK: f32 = 1e-4;

/// Genres whose drums and bass are synthesized (the 808 kit, the synth bass and lead).
const ELECTRONIC: [&str; 9] = [
    "HOUSE",
    "TECHNO",
    "TRANCE",
    "DNB",
    "HIPHOP",
    "TRAP",
    "REGGAETON",
    "ELECTRONIC",
    "GAME",
];

/// The MIDI channel (0-based) each role plays on (timeline::PART_CHANNELS).
pub fn channel_of(role: Role) -> u8 {
    match role {
        Role::Drums => DRUM_CHANNEL,
        Role::Bass => 1,
        Role::Chords => 2,
        Role::Pad => 3,
        Role::Arp => 4,
        Role::Lead => 5,
    }
}

/// The role a channel of a take carries, the inverse of [`channel_of`].
pub fn role_of_channel(channel: u8) -> Option<Role> {
    Role::ALL.into_iter().find(|&r| channel_of(r) == channel)
}

/// Where the context came from, for the panel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Source {
    Midi,
    Audio,
}

struct BandJob {
    request: BandRequest,
    words: BandWords,
    panel_voice: Instrument,
    density: crate::model::generator::Density,
    key_lock: Option<(u8, bool)>,
    listening: Option<Transcription>,
    source: Source,
    /// The context notes heard in the audio (for the panel), in beats.
    heard: Vec<BeatNote>,
    comp: Option<BandComposition>,
    seconds_per_tick: f64,
    tempo_bpm: f64,
    sample_rate_hz: u32,
    num_frames: usize,
    notes: Vec<timeline::Note>,
    audio: Option<Vec<f32>>,
    num_frames_out: usize,
}

pub struct BandGenerator {
    info: ModelInfo,
    decoder: NotesDecoder,
    sampler: Sampler,
    instruments: Instruments,
    transcriber: Option<Transcriber>,
    job: Option<BandJob>,
}

impl BandGenerator {
    /// Checks the manifest's tokenizer and vocabulary, opens the decoder. Worker thread.
    pub fn load(
        manifest: &Manifest,
        env: &ort::environment::Environment,
        instruments: Instruments,
    ) -> Result<Self, ModelError> {
        let (info, decoder) = crate::model::notes::open_decoder(
            manifest,
            env,
            tokens_v2::check_vocab,
            tokens_v2::VOCAB_SIZE,
        )?;
        Ok(Self {
            info,
            decoder,
            sampler: Sampler::default(),
            instruments,
            transcriber: None,
            job: None,
        })
    }

    /// Plans the take from the context notes and starts composing.
    fn compose(&mut self, context_notes: &[BeatNote]) -> Result<(), ModelError> {
        let Some(job) = self.job.as_mut() else {
            return Ok(());
        };
        let context = split_into_parts(context_notes);
        job.request.plan = steering::plan(
            &context,
            job.request.num_context_bars,
            job.request.ts,
            job.tempo_bpm,
            &job.words,
            job.density,
            job.key_lock,
        );
        job.request.targets = steering::targets(
            &context,
            job.request.num_context_bars,
            &job.words,
            job.density,
        );
        job.request.context = context;
        job.comp = Some(composer::start(&mut self.decoder, &job.request)?);
        Ok(())
    }

    fn render(&mut self) -> Result<(), ModelError> {
        let Some(job) = self.job.as_mut() else {
            return Ok(());
        };
        let Some(comp) = job.comp.as_ref() else {
            return Ok(());
        };
        let genre = job.request.plan.globals.genre;
        let main = main_role(&job.request.context);
        let mut owned: Vec<(Instrument, Vec<timeline::Note>)> = Vec::new();
        for (&role, notes) in &comp.parts {
            let channel = channel_of(role);
            let instrument = instrument_for(role, genre, main, job.words.voice, job.panel_voice);
            let in_seconds: Vec<timeline::Note> = notes
                .iter()
                .filter(|n| (0..=127).contains(&n.pitch) && n.duration_ticks > 0)
                .map(|n| timeline::Note {
                    start_seconds: n.start_ticks as f64 * job.seconds_per_tick,
                    duration_seconds: n.duration_ticks as f64 * job.seconds_per_tick,
                    pitch: n.pitch as u8,
                    velocity: n.velocity.clamp(1, 127) as u8,
                    channel,
                })
                .collect();
            owned.push((instrument, in_seconds));
        }
        let parts: Vec<BandPart> = owned
            .iter()
            .map(|(instrument, notes)| BandPart {
                instrument: *instrument,
                notes,
            })
            .collect();
        let audio = self
            .instruments
            .render_band(&parts, job.sample_rate_hz, job.num_frames)
            .map_err(|e| {
                ModelError::Run(format!("the instruments could not play the take: {e}"))
            })?;
        job.notes = owned.into_iter().flat_map(|(_, notes)| notes).collect();
        job.notes
            .sort_by(|a, b| a.start_seconds.total_cmp(&b.start_seconds));
        job.audio = Some(audio);
        Ok(())
    }
}

/// The user's own part: the first pitched part of the context above the bass.
fn main_role(context: &[ContextPart]) -> Option<Role> {
    context
        .iter()
        .map(|p| p.role)
        .find(|r| !matches!(r, Role::Drums | Role::Bass))
}

fn is_electronic(genre: Option<Genre>) -> bool {
    genre.is_some_and(|g| ELECTRONIC.contains(&g.name()))
}

/// Which instrument plays a role: a kit for drums (the 808 in electronic genres), a bass guitar
/// or synth bass, and for the user's own part the panel's instrument (or the one the words
/// named); the other parts get their role's usual sound.
pub fn instrument_for(
    role: Role,
    genre: Option<Genre>,
    main: Option<Role>,
    named: Option<Instrument>,
    panel: Instrument,
) -> Instrument {
    let electronic = is_electronic(genre);
    let named_kit = named.filter(|i| i.is_drum_kit());
    let named_bass = named.filter(|i| matches!(i, Instrument::Bass | Instrument::SynthBass));
    let named_voice = named
        .filter(|i| !i.is_drum_kit() && !matches!(i, Instrument::Bass | Instrument::SynthBass));
    match role {
        Role::Drums => named_kit.unwrap_or(if electronic {
            Instrument::ElectronicDrums
        } else {
            Instrument::DrumKit
        }),
        Role::Bass => named_bass.unwrap_or(if electronic {
            Instrument::SynthBass
        } else {
            Instrument::Bass
        }),
        _ if main.is_none_or(|m| m == role) => named_voice.unwrap_or(
            if panel.is_drum_kit() || matches!(panel, Instrument::Bass | Instrument::SynthBass) {
                Instrument::ElectricPiano
            } else {
                panel
            },
        ),
        Role::Chords => Instrument::ElectricPiano,
        Role::Pad => Instrument::Pad,
        Role::Arp => Instrument::Pluck,
        Role::Lead if electronic => Instrument::SynthLead,
        Role::Lead => Instrument::Piano,
    }
}

/// Whether the context's notes are used, silence skipped, or the audio must be transcribed.
fn listens_to_audio(listen: ListenTo, request: &GenerationRequest) -> bool {
    let audible = request.context_audio.iter().any(|s| s.abs() > SILENCE_PEAK);
    match listen {
        ListenTo::Midi => false,
        ListenTo::Auto => request.context_notes.is_empty() && audible,
        ListenTo::Audio => audible,
    }
}

impl Generator for BandGenerator {
    fn info(&self) -> &ModelInfo {
        &self.info
    }

    fn begin(&mut self, request: &GenerationRequest) -> Result<(), ModelError> {
        self.job = None;
        let settings = &request.settings;
        let (num, den) = request.meter.time_sig;
        let ts = TimeSig::new(num, den).unwrap_or(TimeSig::FOUR_FOUR);
        let listen = listens_to_audio(settings.listen, request);
        let listening = if listen {
            if self.transcriber.is_none() {
                self.transcriber = Some(transcriber::open()?);
            }
            let audio = transcriber::prepare_audio(
                &request.context_audio,
                self.info.num_channels,
                request.sample_rate_hz,
            )
            .map_err(|e| ModelError::Run(format!("preparing the context audio: {e}")))?;
            Some(Transcription::new(audio))
        } else {
            None
        };
        let seconds_per_tick = request.meter.seconds_per_beat() / f64::from(TICKS_PER_QUARTER);
        self.job = Some(BandJob {
            request: BandRequest {
                context: Vec::new(),
                num_context_bars: settings.context_bars,
                num_bars: settings.length_bars,
                ts,
                plan: BandPlan {
                    globals: Default::default(),
                    header: Vec::new(),
                    key: None,
                },
                sampling: SamplingSettings {
                    temperature: settings.temperature,
                    top_k: settings.top_k,
                    top_p: settings.top_p,
                },
                constraints: Constraints {
                    key_lock: settings.key_lock,
                    lowest_pitch: settings.lowest_note,
                    highest_pitch: settings.highest_note,
                    max_notes_per_bar: None,
                },
                key_follow: settings.key_follow,
                targets: Vec::new(),
                seed: request.seed,
            },
            words: {
                let mut words = steering::read_words(&request.prompt);
                if let Some(role) = settings.add_part.filter(|r| !words.add.contains(r)) {
                    words.add.push(role);
                }
                words
            },
            panel_voice: settings.instrument,
            density: settings.density,
            key_lock: settings.key_lock,
            listening,
            source: if listen { Source::Audio } else { Source::Midi },
            heard: Vec::new(),
            comp: None,
            seconds_per_tick,
            tempo_bpm: request.meter.tempo_bpm,
            sample_rate_hz: request.sample_rate_hz,
            num_frames: request.num_frames,
            notes: Vec::new(),
            audio: None,
            num_frames_out: 0,
        });
        if !listen {
            let notes = if settings.listen == ListenTo::Audio {
                Vec::new()
            } else {
                request.context_notes.clone()
            };
            self.compose(&notes)?;
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
            if !transcriber.run_window(listening)? {
                return Ok(Step::Continue);
            }
            let beats_per_second = 1.0 / (job.seconds_per_tick * f64::from(TICKS_PER_QUARTER));
            let heard: Vec<BeatNote> = listening
                .notes(&NoteSettings::default())
                .iter()
                .map(|n| BeatNote {
                    start_beats: n.start_seconds * beats_per_second,
                    duration_beats: n.duration_seconds * beats_per_second,
                    pitch: n.pitch,
                    velocity: n.velocity,
                    channel: 0,
                })
                .collect();
            job.listening = None;
            job.heard = heard.clone();
            self.compose(&heard)?;
            return Ok(Step::Continue);
        }
        if job.audio.is_none() {
            let comp = job.comp.as_mut().expect("composing once listening is done");
            if !composer::step(&mut self.decoder, &mut self.sampler, comp, TOKENS_PER_STEP)? {
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

    fn finish(&mut self) {
        self.job = None;
        self.decoder.reset();
    }

    fn take_notes(&self) -> Vec<timeline::Note> {
        match self.job.as_ref() {
            Some(job) if job.audio.is_some() => job.notes.clone(),
            _ => Vec::new(),
        }
    }

    fn progress(&self) -> f32 {
        match &self.job {
            None => 1.0,
            Some(job) => match (&job.listening, &job.comp, &job.audio) {
                (Some(l), _, _) => 0.2 * l.progress(),
                (None, Some(comp), None) => {
                    let base = if job.source == Source::Audio {
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
        let seconds_per_beat = job.seconds_per_tick * f64::from(TICKS_PER_QUARTER);
        job.heard
            .iter()
            .map(|n| timeline::Note {
                start_seconds: n.start_beats * seconds_per_beat,
                duration_seconds: n.duration_beats * seconds_per_beat,
                pitch: n.pitch,
                velocity: n.velocity,
                channel: n.channel,
            })
            .collect()
    }

    fn context_report(&self) -> Option<String> {
        let job = self.job.as_ref()?;
        if job.listening.is_some() {
            return Some("Listening to the track's audio …".into());
        }
        let heard = match job.source {
            Source::Audio => format!("Heard {} notes in the track's audio. ", job.heard.len()),
            Source::Midi => String::new(),
        };
        let context: Vec<String> = job
            .request
            .context
            .iter()
            .map(|p| format!("{} ({} notes)", p.role.name().to_lowercase(), p.notes.len()))
            .collect();
        let from = if context.is_empty() {
            "No notes in the context: played from the prompt alone".to_string()
        } else {
            format!("Continued {}", context.join(", "))
        };
        let mut report = format!("{heard}{from}; {}.", steering::describe(&job.request.plan));
        for (word, what) in &job.words.understood {
            report.push_str(&format!(" \"{word}\" → {what}."));
        }
        if !job.words.not_understood.is_empty() {
            report.push_str(&format!(
                " Not understood: {}.",
                job.words.not_understood.join(", ")
            ));
        }
        Some(report)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_role_has_its_own_channel_and_drums_are_on_ten() {
        let mut channels: Vec<u8> = Role::ALL.iter().map(|&r| channel_of(r)).collect();
        assert_eq!(channel_of(Role::Drums), 9);
        for role in Role::ALL {
            assert_eq!(role_of_channel(channel_of(role)), Some(role));
        }
        channels.sort_unstable();
        channels.dedup();
        assert_eq!(channels.len(), Role::ALL.len());
        for role in Role::ALL {
            let name = timeline::part_name(channel_of(role));
            assert!(!name.starts_with("Channel"), "{role:?} has no part name");
        }
    }

    #[test]
    fn kits_play_drums_and_the_panel_voice_plays_the_users_part() {
        let house = Genre::from_name("HOUSE");
        let panel = Instrument::Piano;
        assert_eq!(
            instrument_for(Role::Drums, house, None, None, panel),
            Instrument::ElectronicDrums
        );
        assert_eq!(
            instrument_for(Role::Drums, None, None, None, panel),
            Instrument::DrumKit
        );
        assert_eq!(
            instrument_for(Role::Bass, house, None, None, panel),
            Instrument::SynthBass
        );
        assert_eq!(
            instrument_for(Role::Chords, None, Some(Role::Chords), None, panel),
            Instrument::Piano
        );
        assert_eq!(
            instrument_for(
                Role::Chords,
                None,
                Some(Role::Chords),
                Some(Instrument::Strings),
                panel
            ),
            Instrument::Strings
        );
        assert_eq!(
            instrument_for(Role::Pad, None, Some(Role::Chords), None, panel),
            Instrument::Pad
        );
        // A bass instrument on the panel never plays chords.
        assert_eq!(
            instrument_for(Role::Chords, None, None, None, Instrument::Bass),
            Instrument::ElectricPiano
        );
    }
}
