//! Continuo: an AI continuation plugin. This file is glue: the plugin struct, its lifecycle, the
//! format descriptions and the CLAP/VST3 exports. The work happens in `audio` (host audio thread),
//! `engine` (the worker thread), `bridge` (the boundary between them), `model` (ONNX Runtime and
//! model families) and `editor` (panel). ARCHITECTURE.md draws the layers.

pub mod audio;
pub mod bridge;
pub mod editor;
pub mod engine;
pub mod eval;
pub mod instruments;
pub mod midi_file;
pub mod model;
pub mod offline;
pub mod params;
pub mod picture;
pub mod resample;
pub mod timeline;
pub mod wav_file;

#[cfg(test)]
mod layer_rules;

use audio::AudioEngine;
use bridge::{PanelRequests, SharedStatus, WorkerCommand};
use crossbeam_channel::Sender;
use engine::Engine;
use nice_plug::midi::{Channel, Key, VoiceID};
use nice_plug::prelude::*;
use params::{clamp_prompt, ContinuoParams, MAX_PROMPT_BYTES};
use std::num::NonZeroU32;
use std::sync::Arc;
use timeline::{MidiEvent, TransportSnapshot};

/// Most note events handled per block; a block with more keeps the first ones for capture (the
/// audio itself is unaffected).
const MAX_NOTES_PER_BLOCK: usize = 512;

pub struct Continuo {
    params: Arc<ContinuoParams>,
    shared: Arc<SharedStatus>,
    requests: Arc<PanelRequests>,
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
        let (commands, receiver) = crossbeam_channel::bounded(bridge::COMMAND_CAPACITY);
        Self {
            params: Arc::new(ContinuoParams::default()),
            shared: Arc::new(SharedStatus::default()),
            requests: Arc::new(PanelRequests::default()),
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
        match Engine::spawn(
            self.params.clone(),
            self.shared.clone(),
            self.engine.commands.clone(),
            receiver,
        ) {
            // Inside a host the panel reads the shared status; nobody listens for events.
            Ok((engine, _events)) => {
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
            self.requests.clone(),
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
        self.audio = wire_audio_side(
            &self.params,
            &self.shared,
            &self.requests,
            &self.engine.commands,
            buffer_config.sample_rate,
            buffer_config.max_buffer_size.max(1) as usize,
            offline,
        )
        // Ardour 7 marks its export only per block, which nice-plug's VST3 wrapper drops.
        .map(|audio| match context.plugin_api() {
            PluginApi::Vst3 => audio.with_freewheel_detection(),
            _ => audio,
        });
        if self.audio.is_none() {
            self.shared
                .set_error("The engine is busy; deactivate and activate the plugin again.");
        }
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
        let mut notes = [MidiEvent::default(); MAX_NOTES_PER_BLOCK];
        let mut num_notes = 0;
        while let Some(event) = context.next_event() {
            let note = match event {
                NoteEvent::NoteOn {
                    timing,
                    key,
                    velocity,
                    channel,
                    ..
                } => key.number().map(|k| {
                    MidiEvent::on(
                        timing,
                        k,
                        (velocity * 127.0).round().clamp(1.0, 127.0) as u8,
                    )
                    .on_channel(channel.number().unwrap_or(0))
                }),
                NoteEvent::NoteOff {
                    timing,
                    key,
                    channel,
                    ..
                } => key
                    .number()
                    .map(|k| MidiEvent::off(timing, k).on_channel(channel.number().unwrap_or(0))),
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
        }
        .with_exact_beats();
        audio.process(buffer.as_slice(), &transport, &notes[..num_notes]);
        let last_frame = buffer.samples().saturating_sub(1) as u32;
        for &MidiEvent {
            frame,
            pitch,
            velocity,
            is_on,
            channel,
        } in audio.midi_out()
        {
            let timing = frame.min(last_frame);
            let event = if is_on {
                NoteEvent::NoteOn {
                    timing,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(channel),
                    key: Key::Number(pitch),
                    velocity: velocity as f32 / 127.0,
                }
            } else {
                NoteEvent::NoteOff {
                    timing,
                    voice_id: VoiceID::Wildcard,
                    channel: Channel::Number(channel),
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

/// Builds the audio side for a host rate and block size and hands the worker its ends of the
/// boundary. None when the worker's command queue is full. Not real-time safe: allocates. The
/// plugin's `activate()` and the offline renderer share it.
pub(crate) fn wire_audio_side(
    params: &Arc<ContinuoParams>,
    shared: &Arc<SharedStatus>,
    requests: &Arc<PanelRequests>,
    commands: &Sender<WorkerCommand>,
    sample_rate_hz: f32,
    max_block_frames: usize,
    offline: bool,
) -> Option<AudioEngine> {
    let (audio_ends, worker_ends) = bridge::connect(sample_rate_hz, max_block_frames);
    commands
        .try_send(WorkerCommand::Rewire(Box::new(worker_ends)))
        .ok()?;
    Some(AudioEngine::new(
        audio_ends,
        params.clone(),
        shared.clone(),
        requests.clone(),
        sample_rate_hz,
        max_block_frames,
        offline,
    ))
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
