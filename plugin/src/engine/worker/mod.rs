//! The worker thread's loop ("continuo-engine"): commands from the panel, events from the audio
//! thread, a slice of generation per tick, feeding playback, status. The pieces live beside it:
//! `job` (trigger → take), `feeder` (voices), `takes`, `loader`, `export`, `history`. It
//! allocates, blocks on its channel and runs models; the audio thread never waits for it except
//! in offline rendering.

mod jobs;
mod loading;

use super::export::write_take_midi;
use super::feeder::{self, Feeder, Pace};
use super::history::History;
use super::job::ActiveJob;
use super::loader::Loader;
use super::takes::TakeStore;
use crate::bridge::messages::TakeError;
use crate::bridge::status::Phase;
use crate::bridge::{
    AudioToWorker, JobId, SharedStatus, WorkerCommand, WorkerEnds, WorkerEvent, WorkerToAudio,
};
use crate::model::Generator;
use crate::params::{JobSettings, SharedParams};
use crate::timeline::TransportSnapshot;
use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use ringbuf::traits::{Consumer, Producer};
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// How long the worker sleeps on its channel when nothing is generating. Triggers wait at most
/// this long before the job starts; 5 ms is far below a beat.
const IDLE_TICK: Duration = Duration::from_millis(5);

/// How long one tick may spend stepping the model before it drains capture and feeds playback.
const STEP_BUDGET: Duration = Duration::from_millis(15);

/// How long a job runs before its host's pace is trusted for a streaming decision: a few host
/// blocks at any rate.
const MIN_PACE_WINDOW: Duration = Duration::from_millis(30);

/// A trigger that arrived while a model was loading; it starts once the load ends.
type Trigger = (JobId, JobSettings, TransportSnapshot, u64);

pub struct Worker {
    params: SharedParams,
    shared: Arc<SharedStatus>,
    commands: Receiver<WorkerCommand>,
    events: Sender<WorkerEvent>,
    ends: Option<WorkerEnds>,
    history: History,
    capture_scratch: Vec<f32>,
    generator: Option<Box<dyn Generator>>,
    loaded_dir: Option<PathBuf>,
    loader: Loader,
    deferred: Option<Trigger>,
    job: Option<ActiveJob>,
    /// The job being set up, so a panic there still fails it on the audio side.
    starting: Option<JobId>,
    takes: TakeStore,
    feeder: Feeder,
    rng_state: u64,
    /// The model folder the parameters named when last looked at; a change (a state loaded
    /// while the plugin runs, the panel) loads the new folder.
    seen_model_dir: Option<String>,
}

impl Worker {
    pub fn new(
        params: SharedParams,
        shared: Arc<SharedStatus>,
        commands: Receiver<WorkerCommand>,
        events: Sender<WorkerEvent>,
    ) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Self {
            params,
            shared,
            commands,
            events,
            ends: None,
            history: History::new(48_000.0),
            capture_scratch: vec![0.0; 8192],
            generator: None,
            loaded_dir: None,
            loader: Loader::default(),
            deferred: None,
            job: None,
            starting: None,
            takes: TakeStore::default(),
            feeder: Feeder::default(),
            rng_state: seed | 1,
            seen_model_dir: None,
        }
    }

    /// The thread's body: returns on `Shutdown` or when every sender is gone.
    pub fn run(mut self) {
        loop {
            // A bug in a model family must not end the worker (or the host): fail the job on
            // both sides, say so, keep going.
            match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.iteration())) {
                Ok(true) => {}
                Ok(false) => return,
                Err(_) => self.recover_from_panic(),
            }
        }
    }

    /// Waits for a command or a tick and does one round of work. False when the thread should end.
    fn iteration(&mut self) -> bool {
        let wait = if self.job.is_some() {
            Duration::ZERO
        } else if self.shared.offline.load(Ordering::Relaxed) || self.loader.loading().is_some() {
            Duration::from_millis(1)
        } else {
            IDLE_TICK
        };
        match self.commands.recv_timeout(wait) {
            Ok(WorkerCommand::Shutdown) | Err(RecvTimeoutError::Disconnected) => return false,
            Ok(command) => {
                self.handle_command(command);
                // Take every queued command before doing work.
                while let Ok(command) = self.commands.try_recv() {
                    if matches!(command, WorkerCommand::Shutdown) {
                        return false;
                    }
                    self.handle_command(command);
                }
            }
            Err(RecvTimeoutError::Timeout) => {}
        }
        self.tick();
        true
    }

    fn emit(&self, event: WorkerEvent) {
        let _ = self.events.try_send(event);
    }

    fn handle_command(&mut self, command: WorkerCommand) {
        match command {
            WorkerCommand::LoadModel(dir) => {
                // An explicit load (the panel's button) reloads even the same folder.
                self.loaded_dir = None;
                let dir_text = dir.display().to_string();
                *self.params.model_dir.write() = dir_text.clone();
                self.seen_model_dir = Some(dir_text);
                self.request_load(&dir);
            }
            WorkerCommand::Rewire(ends) => {
                self.history = History::new(ends.host_rate_hz);
                self.ends = Some(*ends);
                self.job = None;
                self.takes.clear();
                self.feeder.reset();
                if self.generator.is_some() {
                    self.shared.set_phase(Phase::Ready);
                }
            }
            WorkerCommand::StopAll => self.stop_all(),
            WorkerCommand::ExportMidi(dir) => {
                let result = write_take_midi(self.shared.last_take.lock().as_ref(), &dir);
                match result {
                    Ok(path) => {
                        self.shared
                            .set_message(format!("Saved the take's notes to {}", path.display()));
                        self.emit(WorkerEvent::Exported { path });
                    }
                    Err(err) => {
                        self.shared.set_error(err.to_string());
                        self.emit(WorkerEvent::ExportFailed {
                            error: err.to_string(),
                        });
                    }
                }
            }
            WorkerCommand::Shutdown => {}
        }
    }

    /// Follows what a state load may have changed while the plugin runs: nice-plug does not
    /// re-activate after a state load, so the worker watches the persisted fields.
    fn follow_saved_fields(&mut self) {
        let model_dir = self.params.model_dir.read().clone();
        if self.seen_model_dir.as_deref() != Some(model_dir.as_str()) {
            self.seen_model_dir = Some(model_dir.clone());
            self.request_load(Path::new(&model_dir));
        }
        if self.params.prompt.read().len() > crate::params::MAX_PROMPT_BYTES {
            let mut prompt = self.params.prompt.write();
            if crate::params::clamp_prompt(&mut prompt) {
                self.shared.set_error(format!(
                    "The prompt was longer than {} bytes and was cut.",
                    crate::params::MAX_PROMPT_BYTES
                ));
            }
        }
    }

    /// One round of work: a finished load, audio events, capture, a slice of generation,
    /// feeding, status.
    fn tick(&mut self) {
        if self.ends.is_none() {
            return;
        }
        self.follow_saved_fields();
        if let Some(outcome) = self.loader.poll() {
            self.finish_load(outcome);
        }
        self.drain_audio_events();
        self.drain_capture();
        self.size_history();
        self.follow_loop_switch();
        let started = Instant::now();
        while self.job.is_some() && started.elapsed() < STEP_BUDGET {
            self.step_job();
        }
        let pace = self.pace();
        let Some(ends) = self.ends.as_mut() else {
            return;
        };
        self.feeder.assign(&mut self.takes, &ends.playback);
        feeder::feed(&mut self.takes, &mut ends.playback);
        let to_audio = &mut ends.to_audio;
        feeder::announce_ready(&mut self.takes, pace, |m| to_audio.try_push(m).is_ok());
        self.publish_phase();
    }

    fn recover_from_panic(&mut self) {
        let job_id = self
            .starting
            .take()
            .or_else(|| self.job.take().map(|j| j.job_id));
        match job_id {
            Some(job_id) => {
                self.job = None;
                self.fail(job_id, TakeError::Panicked);
            }
            None => self
                .shared
                .set_error("The engine hit an internal error and recovered."),
        }
    }

    fn drain_audio_events(&mut self) {
        while let Some(event) = self.ends.as_mut().and_then(|e| e.from_audio.try_pop()) {
            match event {
                AudioToWorker::Trigger {
                    job_id,
                    settings,
                    transport,
                    capture_frame,
                } => {
                    // Everything captured before the trigger is in the ring already.
                    self.drain_capture();
                    self.start_job(job_id, settings, transport, capture_frame)
                }
                AudioToWorker::Stop => self.stop_all(),
                AudioToWorker::Started { job_id, .. } => {
                    if let Some(take) = self.takes.get_mut(job_id) {
                        take.started = true;
                    }
                }
                AudioToWorker::VoiceFree { voice_idx, job_id } => {
                    self.feeder.voice_freed(voice_idx as usize, job_id);
                    if self.takes.remove(job_id).is_some()
                        && self.job.as_ref().is_some_and(|j| j.job_id == job_id)
                    {
                        self.job = None;
                    }
                }
            }
        }
    }

    fn drain_capture(&mut self) {
        if let Some(ends) = self.ends.as_mut() {
            self.history
                .drain(&mut ends.capture, &mut self.capture_scratch);
        }
    }

    /// Keeps as much input as the Context setting can use, plus a bar for the trigger's place in
    /// its bar, at the tempo the host plays now.
    fn size_history(&mut self) {
        let meter = self
            .history
            .last_block
            .map(|b| b.transport.meter())
            .unwrap_or_default();
        let bars = self.params.context_bars.value().max(0) as f64 + 1.0;
        self.history.keep_seconds(bars * meter.seconds_per_bar());
    }

    fn next_seed(&mut self) -> u64 {
        // xorshift64*: only picks seeds, so any decent generator will do.
        self.rng_state ^= self.rng_state >> 12;
        self.rng_state ^= self.rng_state << 25;
        self.rng_state ^= self.rng_state >> 27;
        (self.rng_state.wrapping_mul(0x2545_F491_4F6C_DD1D) % 99_999) + 1
    }

    /// A looping take whose loop was switched off ends at the end of the iteration playing now.
    fn follow_loop_switch(&mut self) {
        if self.params.loop_take.value() {
            return;
        }
        let Some(ends) = self.ends.as_mut() else {
            return;
        };
        for take in self.takes.iter_mut() {
            if !(take.looping && take.complete && take.end_frames.is_none()) {
                continue;
            }
            let len = take.num_frames_total.max(1) as u64;
            let buffered = take
                .voice_idx
                .map_or(0, |v| ends.playback[v].occupied_frames() as u64);
            let played = take.num_frames_fed.saturating_sub(buffered);
            let end = (played / len + 1) * len;
            take.end_frames = Some(end);
            take.looping = false;
            let _ = ends.to_audio.try_push(WorkerToAudio::EndAt {
                job_id: take.job_id,
                num_frames: end,
            });
        }
    }

    /// How generation and the host's playback race, for the streaming decision. Until the job
    /// has run long enough to measure the host's pace, nothing streams.
    fn pace(&self) -> Pace {
        let offline = self.shared.offline.load(Ordering::Relaxed);
        let host_rate_hz = self.ends.as_ref().map_or(48_000.0, |e| e.host_rate_hz) as f64;
        let speed = match self.job.as_ref() {
            Some(job) if job.started.elapsed() >= MIN_PACE_WINDOW => {
                let played = self
                    .shared
                    .num_processed_frames
                    .load(Ordering::Relaxed)
                    .saturating_sub(job.started_host_frames) as f64;
                let host_pace =
                    (played / host_rate_hz / job.started.elapsed().as_secs_f64()).max(1.0);
                self.shared.speed_x_realtime.load() as f64 / host_pace
            }
            _ => 0.0,
        };
        Pace {
            offline,
            speed,
            host_rate_hz,
        }
    }

    fn publish_phase(&mut self) {
        let any_started = self.takes.any_started();
        match self.shared.phase() {
            Phase::Generating | Phase::Ready if any_started => {
                self.shared.set_phase(Phase::Playing)
            }
            Phase::Playing if !any_started && self.job.is_none() => {
                self.shared.set_phase(Phase::Ready)
            }
            Phase::Playing if !any_started => self.shared.set_phase(Phase::Generating),
            _ => {}
        }
    }
}
