//! The engine without a host: the same audio-thread engine and worker, driven block by block on
//! a synthetic transport in offline mode. The command line tool and the tests use it.

use crate::audio::AudioEngine;
use crate::bridge::messages::TakeError;
use crate::bridge::{JobId, PanelRequests, SharedStatus, WorkerCommand, WorkerEvent};
use crate::engine::Engine;
use crate::params::ContinuoParams;
use crate::timeline::{MidiEvent, TransportSnapshot};
use crossbeam_channel::Receiver;
use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// A host stand-in: a transport that starts at bar 1 and plays, and an engine in offline mode.
pub struct OfflineRenderer {
    pub params: Arc<ContinuoParams>,
    pub shared: Arc<SharedStatus>,
    requests: Arc<PanelRequests>,
    engine: Engine,
    events: Receiver<WorkerEvent>,
    /// What the worker said since the renderer last looked, newest last.
    seen: Vec<WorkerEvent>,
    audio: AudioEngine,
    sample_rate_hz: f32,
    tempo_bpm: f64,
    time_sig: (i32, i32),
    pos_samples: i64,
}

impl OfflineRenderer {
    /// Starts the worker and the audio side. Not real-time safe.
    pub fn new(
        params: Arc<ContinuoParams>,
        sample_rate_hz: f32,
        max_block_frames: usize,
        tempo_bpm: f64,
        time_sig: (i32, i32),
    ) -> std::io::Result<Self> {
        crate::params::reset_smoothers_without_host(&params, sample_rate_hz);
        let shared = Arc::new(SharedStatus::default());
        let requests = Arc::new(PanelRequests::default());
        let (commands, command_rx) = crossbeam_channel::bounded(crate::bridge::COMMAND_CAPACITY);
        let (engine, events) =
            Engine::spawn(params.clone(), shared.clone(), commands.clone(), command_rx)?;
        let audio = crate::wire_audio_side(
            &params,
            &shared,
            &requests,
            &commands,
            sample_rate_hz,
            max_block_frames,
            true,
        )
        .ok_or_else(|| std::io::Error::other("the engine's command queue is full"))?;
        Ok(Self {
            params,
            shared,
            requests,
            engine,
            events,
            seen: Vec::new(),
            audio,
            sample_rate_hz,
            tempo_bpm,
            time_sig,
            pos_samples: 0,
        })
    }

    /// Loads a model and waits for the outcome: Ok with the model's name and family, or the
    /// error the panel would show.
    pub fn load_model(&mut self, dir: &Path, timeout: Duration) -> Result<String, String> {
        if !self
            .engine
            .send(WorkerCommand::LoadModel(dir.to_path_buf()))
        {
            return Err("the engine's command queue is full".into());
        }
        let started = Instant::now();
        while started.elapsed() < timeout {
            match self.events.recv_timeout(Duration::from_millis(5)) {
                Ok(WorkerEvent::ModelLoaded { info, .. }) => {
                    return Ok(format!("{} ({})", info.name, info.family))
                }
                Ok(WorkerEvent::ModelFailed { error, .. }) => return Err(error),
                // The engine's own start looks for a bundled default and may say it found none
                // before it reads this load; only an empty folder makes that the answer.
                Ok(WorkerEvent::NoModel) if dir.as_os_str().is_empty() => {
                    return Err("no model folder was given and no bundled default was found".into())
                }
                Ok(other) => self.seen.push(other),
                Err(_) => {}
            }
        }
        Err(format!(
            "the model did not load within {} s",
            timeout.as_secs()
        ))
    }

    /// The first take failure among the events seen so far, if any (kept for later calls).
    pub fn take_failure(&mut self) -> Option<(JobId, TakeError)> {
        self.seen.extend(self.events.try_iter());
        self.seen.iter().find_map(|e| match e {
            WorkerEvent::TakeFailed { job_id, error } => Some((*job_id, error.clone())),
            _ => None,
        })
    }

    /// Sends the worker a command (as the panel does). False when its queue is full.
    pub fn send(&self, command: WorkerCommand) -> bool {
        self.engine.send(command)
    }

    /// The transport at the current position.
    pub fn transport(&self) -> TransportSnapshot {
        let frames_per_beat = self.sample_rate_hz as f64 * 60.0 / self.tempo_bpm;
        let pos_beats = self.pos_samples as f64 / frames_per_beat;
        let bar_len = self.time_sig.0 as f64 * 4.0 / self.time_sig.1 as f64;
        TransportSnapshot {
            playing: true,
            sample_rate_hz: self.sample_rate_hz,
            tempo_bpm: Some(self.tempo_bpm),
            time_sig: Some(self.time_sig),
            pos_beats: Some(pos_beats),
            bar_start_beats: Some((pos_beats / bar_len).floor() * bar_len),
            pos_samples: Some(self.pos_samples),
        }
    }

    /// Asks for a take, as the panel's Generate button does; it is picked up by the next block.
    pub fn trigger(&self) {
        self.requests.request_generate();
    }

    /// Processes one block in place and advances the transport.
    pub fn process(&mut self, channels: &mut [&mut [f32]], notes: &[MidiEvent]) {
        let transport = self.transport();
        let n = channels.first().map_or(0, |c| c.len());
        self.audio.process(channels, &transport, notes);
        self.pos_samples += n as i64;
    }

    /// Note events the plugin sent to the host since the last `clear_midi_out`.
    pub fn midi_out(&self) -> &[MidiEvent] {
        self.audio.midi_out()
    }

    pub fn clear_midi_out(&mut self) {
        self.audio.clear_midi_out();
    }

    /// Frames per bar at this tempo and metre.
    pub fn frames_per_bar(&self) -> f64 {
        let bar_len = self.time_sig.0 as f64 * 4.0 / self.time_sig.1 as f64;
        bar_len * self.sample_rate_hz as f64 * 60.0 / self.tempo_bpm
    }

    /// Where the transport is, in frames from the start.
    pub fn pos_samples(&self) -> i64 {
        self.pos_samples
    }
}
