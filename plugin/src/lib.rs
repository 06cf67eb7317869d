//! Continuo: an AI continuation plugin. This file is glue: the plugin struct, its lifecycle, the
//! format descriptions and the CLAP/VST3 exports. The work happens in `audio` (host audio thread),
//! `engine` (the worker thread), `model` (ONNX Runtime and model families) and `editor` (panel).

pub mod audio;
pub mod editor;
pub mod engine;
pub mod instruments;
pub mod midi_file;
pub mod model;
pub mod offline;
pub mod params;
pub mod picture;
pub mod transcribe;

use audio::grid::TransportSnapshot;
use audio::AudioEngine;
use engine::messages::WorkerCommand;
use engine::status::SharedStatus;
use engine::Engine;
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;
use params::{clamp_prompt, ContinuoParams, MAX_PROMPT_BYTES};
use std::num::NonZeroU32;
use std::sync::Arc;

/// Most note events handled per block; a block with more keeps the first ones for capture (the
/// audio itself is unaffected).
const MAX_NOTES_PER_BLOCK: usize = 512;

pub struct Continuo {
    params: Arc<ContinuoParams>,
    shared: Arc<SharedStatus>,
    /// The worker; started on the first activation so that scanning a plugin starts no thread.
    engine: EngineSlot,
    audio: Option<AudioEngine>,
}

/// The worker and its command queue. The queue exists from the start so the panel can be built
/// before the first activation.
struct EngineSlot {
    commands: crossbeam_channel::Sender<WorkerCommand>,
    receiver: Option<crossbeam_channel::Receiver<WorkerCommand>>,
    engine: Option<Engine>,
}

impl Default for Continuo {
    fn default() -> Self {
        let (commands, receiver) = crossbeam_channel::bounded(engine::COMMAND_CAPACITY);
        Self {
            params: Arc::new(ContinuoParams::default()),
            shared: Arc::new(SharedStatus::default()),
            engine: EngineSlot {
                commands,
                receiver: Some(receiver),
                engine: None,
            },
            audio: None,
        }
    }
}

impl Continuo {
    fn ensure_engine(&mut self) -> bool {
        if self.engine.engine.is_some() {
            return true;
        }
        let Some(receiver) = self.engine.receiver.take() else {
            return false;
        };
        match Engine::spawn_with(
            self.params.clone(),
            self.shared.clone(),
            self.engine.commands.clone(),
            receiver,
        ) {
            Ok(engine) => {
                self.engine.engine = Some(engine);
                true
            }
            Err(err) => {
                self.shared
                    .set_error(format!("The engine thread could not start: {err}"));
                false
            }
        }
    }

    fn send(&self, command: WorkerCommand) {
        if self.engine.commands.try_send(command).is_err() {
            self.shared
                .set_error("The engine is busy; try again in a moment.");
        }
    }
}

impl Plugin for Continuo {
    const NAME: &'static str = "Continuo";
    const VENDOR: &'static str = "Continuo";
    const URL: &'static str = "https://example.invalid/continuo";
    const EMAIL: &'static str = "team@example.invalid";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");

    const AUDIO_IO_LAYOUTS: &'static [AudioIOLayout] = &[
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(2),
            main_output_channels: NonZeroU32::new(2),
            ..AudioIOLayout::const_default()
        },
        AudioIOLayout {
            main_input_channels: NonZeroU32::new(1),
            main_output_channels: NonZeroU32::new(1),
            ..AudioIOLayout::const_default()
        },
    ];

    const MIDI_INPUT: MidiConfig = MidiConfig::Basic;
    // Takes of the notes family also play out as MIDI, for the host's own instruments.
    const MIDI_OUTPUT: MidiConfig = MidiConfig::Basic;
    const SAMPLE_ACCURATE_AUTOMATION: bool = false;

    type Editor = nice_plug_egui::EguiEditor<editor::Panel>;
    type SysExMessage = ();
    type BackgroundTask = ();

    fn params(&self) -> Arc<dyn Params> {
        self.params.clone()
    }

    fn editor(&mut self, _async_executor: AsyncExecutor<Self>) -> Option<Self::Editor> {
        editor::create(
            self.params.clone(),
            self.shared.clone(),
            self.engine.commands.clone(),
        )
    }

    fn activate(
        &mut self,
        _audio_io_layout: &AudioIOLayout,
        buffer_config: &BufferConfig,
        context: &mut impl ActivateContext<Self>,
    ) -> bool {
        // The dry path adds no delay; the takes are placed on the grid, not delayed.
        context.set_latency_samples(0);
        if !self.ensure_engine() {
            // Without a worker the plugin still passes audio; the panel says why.
            self.audio = None;
            return true;
        }
        {
            let mut prompt = self.params.prompt.write();
            if clamp_prompt(&mut prompt) {
                self.shared.set_error(format!(
                    "The saved prompt was longer than {MAX_PROMPT_BYTES} bytes and was cut."
                ));
            }
        }
        let offline = buffer_config.process_mode == ProcessMode::Offline;
        nice_log!(
            "continuo: activated at {} Hz, blocks up to {} frames, {:?} processing",
            buffer_config.sample_rate,
            buffer_config.max_buffer_size,
            buffer_config.process_mode
        );
        let (audio_ends, worker_ends) = engine::audio_worker_channel(buffer_config.sample_rate);
        self.send(WorkerCommand::Rewire(Box::new(worker_ends)));
        self.audio = Some(AudioEngine::new(
            audio_ends,
            self.params.clone(),
            self.shared.clone(),
            buffer_config.sample_rate,
            buffer_config.max_buffer_size.max(1) as usize,
            offline,
        ));
        true
    }

    fn reset(&mut self) {
        if let Some(audio) = self.audio.as_mut() {
            audio.reset();
        }
    }

    fn process(
        &mut self,
        buffer: &mut Buffer,
        _aux: &mut AuxiliaryBuffers,
        context: &mut impl ProcessContext<Self>,
    ) -> ProcessStatus {
        let mut notes = [(0u32, 0u8, 0u8, false); MAX_NOTES_PER_BLOCK];
        let mut num_notes = 0;
        while let Some(event) = context.next_event() {
            let note = match event {
                NoteEvent::NoteOn {
                    timing,
                    key,
                    velocity,
                    ..
                } => key.number().map(|k| {
                    (
                        timing,
                        k,
                        (velocity * 127.0).round().clamp(1.0, 127.0) as u8,
                        true,
                    )
                }),
                NoteEvent::NoteOff { timing, key, .. } => {
                    key.number().map(|k| (timing, k, 0, false))
                }
                _ => None,
            };
            if let Some(note) = note {
                if num_notes < MAX_NOTES_PER_BLOCK {
                    notes[num_notes] = note;
                    num_notes += 1;
                }
            }
        }
        let Some(audio) = self.audio.as_mut() else {
            // No engine: the input passes through untouched.
            return ProcessStatus::Normal;
        };
        let t = context.transport();
        let transport = TransportSnapshot {
            playing: t.playing,
            sample_rate_hz: audio.sample_rate_hz(),
            tempo_bpm: t.tempo,
            time_sig: t.time_sig_numerator.zip(t.time_sig_denominator),
            pos_beats: t.pos_beats(),
            bar_start_beats: t.bar_start_pos_beats(),
            pos_samples: t.pos_samples(),
        };
        audio.process(buffer.as_slice(), &transport, &notes[..num_notes]);
        let last_frame = buffer.samples().saturating_sub(1) as u32;
        for &(timing, pitch, velocity, is_on) in audio.midi_out() {
            let timing = timing.min(last_frame);
            let event = if is_on {
                NoteEvent::NoteOn {
                    timing,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(0),
                    key: Key::Number(pitch),
                    velocity: velocity as f32 / 127.0,
                }
            } else {
                NoteEvent::NoteOff {
                    timing,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(0),
                    key: Key::Number(pitch),
                    velocity: 0.0,
                }
            };
            // A full host queue drops the event; the audio is unaffected.
            let _ = context.try_send_event(event);
        }
        audio.clear_midi_out();
        ProcessStatus::Normal
    }

    fn deactivate(&mut self) {}
}

impl ClapPlugin for Continuo {
    const CLAP_ID: &'static str = "org.continuo.continuo";
    const CLAP_DESCRIPTION: Option<&'static str> =
        Some("Plays the next bars of your track from a local model");
    const CLAP_MANUAL_URL: Option<&'static str> = None;
    const CLAP_SUPPORT_URL: Option<&'static str> = None;
    const CLAP_FEATURES: &'static [ClapFeature] = &[
        ClapFeature::AudioEffect,
        ClapFeature::Instrument,
        ClapFeature::Stereo,
        ClapFeature::Mono,
        ClapFeature::Utility,
    ];
}

impl Vst3Plugin for Continuo {
    const VST3_CLASS_ID: [u8; 16] = *b"ContinuoAIContin";
    const VST3_SUBCATEGORIES: &'static [Vst3SubCategory] = &[
        Vst3SubCategory::Fx,
        Vst3SubCategory::Generator,
        Vst3SubCategory::Stereo,
    ];
}

nice_export_clap!(Continuo);
nice_export_vst3!(Continuo);
