//! The worker thread ("continuo-engine"): loads models, runs jobs step by step, resamples, keeps
//! the takes and feeds the playback rings. It allocates, blocks on its channel and runs models;
//! the audio thread never waits for it except in offline rendering.

use super::history::History;
use super::messages::{
    AudioToWorker, JobId, TakeMidiEvent, WorkerCommand, WorkerToAudio, NUM_VOICES,
};
use super::resample::{resample_clip, StreamResampler};
use super::status::{Phase, SharedStatus, TakeInfo};
use super::streaming::can_stream;
use super::WorkerEnds;
use crate::audio::grid::TransportSnapshot;
use crate::model::{self, ContextNote, GenerationRequest, Generator, Step};
use crate::params::{JobSettings, SharedParams};
use crossbeam_channel::{Receiver, RecvTimeoutError};
use ringbuf::traits::{Consumer, Observer, Producer};
use std::path::{Path, PathBuf};
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

/// Folder name of the default model inside a bundle's `models/`.
pub const DEFAULT_MODEL_DIR: &str = "default";

/// Takes kept in memory after they finished playing, newest last.
const MAX_KEPT_TAKES: usize = 16;

/// Longest take, in seconds: 32 bars of 4/4 at 20 BPM is 384 s. Anything longer comes from a
/// nonsensical tempo or metre and is refused rather than allocated.
const MAX_TAKE_SECONDS: f64 = 400.0;

/// Longest context, in seconds: the history holds 64 s.
const MAX_CONTEXT_SECONDS: f64 = super::history::HISTORY_SECONDS;

/// A take: the generated audio at host rate, stereo, and how it is being played.
struct Take {
    job_id: JobId,
    /// Interleaved stereo at host rate; grows while generating.
    audio: Vec<f32>,
    /// Frames the finished take has.
    num_frames_total: usize,
    complete: bool,
    looping: bool,
    /// Where a looping take stops after the loop was switched off.
    end_frames: Option<u64>,
    voice_idx: Option<usize>,
    /// Frames pushed into the voice ring so far (loop iterations included).
    num_frames_fed: u64,
    ready_sent: bool,
    started: bool,
    /// The take's note events in frames from its start (families that write notes), sorted.
    midi: Vec<TakeMidiEvent>,
    /// Loop iterations whose events were pushed completely, and events of the next one pushed.
    num_midi_iterations_fed: u64,
    num_midi_events_fed: usize,
}

impl Take {
    fn num_frames_generated(&self) -> usize {
        self.audio.len() / 2
    }
}

/// The job being generated.
struct ActiveJob {
    job_id: JobId,
    resampler: StreamResampler,
    num_model_channels: usize,
    model_rate_hz: u32,
    num_model_frames_total: usize,
    num_model_frames_done: usize,
    started: Instant,
    /// The host's processed-frame count when the job started, to measure how fast the host
    /// consumes audio while the job runs: about real time in a live session, far faster when a
    /// host renders without saying it is offline. Streaming must outrun the host, not the clock.
    started_host_frames: u64,
    model_out: Vec<f32>,
    host_out: Vec<f32>,
    /// The take's tempo and seed, for its MIDI export.
    tempo_bpm: f64,
    seed: u64,
}

/// The worker's view of a voice ring.
#[derive(Debug, Default, Clone, Copy)]
struct VoiceSlot {
    owner: Option<JobId>,
    /// Frames pushed for the current owner.
    num_pushed: u64,
    /// Frames left in the ring by the previous owner, for the next Ready.
    num_stale: u64,
}

pub struct Worker {
    params: SharedParams,
    shared: Arc<SharedStatus>,
    commands: Receiver<WorkerCommand>,
    ends: Option<WorkerEnds>,
    history: History,
    generator: Option<Box<dyn Generator>>,
    loaded_dir: Option<PathBuf>,
    job: Option<ActiveJob>,
    takes: Vec<Take>,
    kept_takes: Vec<Take>,
    voices: [VoiceSlot; NUM_VOICES],
    capture_scratch: Vec<f32>,
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
    ) -> Self {
        let seed = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(0x9E37_79B9_7F4A_7C15);
        Self {
            params,
            shared,
            commands,
            ends: None,
            history: History::new(48_000.0),
            generator: None,
            loaded_dir: None,
            job: None,
            takes: Vec::new(),
            kept_takes: Vec::new(),
            voices: [VoiceSlot::default(); NUM_VOICES],
            capture_scratch: vec![0.0; 8192],
            rng_state: seed | 1,
            seen_model_dir: None,
        }
    }

    /// The thread's body: returns on `Shutdown` or when every sender is gone.
    pub fn run(mut self) {
        loop {
            // A bug in a model family must not end the worker (or the host): drop the job, say
            // so, keep going.
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
        } else if self
            .shared
            .offline
            .load(std::sync::atomic::Ordering::Relaxed)
        {
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

    fn handle_command(&mut self, command: WorkerCommand) {
        match command {
            WorkerCommand::LoadModel(dir) => {
                // An explicit load (the panel's button) reloads even the same folder.
                self.loaded_dir = None;
                let dir_text = dir.display().to_string();
                *self.params.model_dir.write() = dir_text.clone();
                self.seen_model_dir = Some(dir_text);
                self.load_model(&dir);
            }
            WorkerCommand::Rewire(ends) => {
                self.history = History::new(ends.host_rate_hz);
                self.ends = Some(*ends);
                self.job = None;
                self.takes.clear();
                self.voices = [VoiceSlot::default(); NUM_VOICES];
                if self.generator.is_some() {
                    self.shared.set_phase(Phase::Ready);
                }
            }
            WorkerCommand::StopAll => self.stop_all(),
            WorkerCommand::ExportMidi(dir) => match self.export_midi(&dir) {
                Ok(path) => self
                    .shared
                    .set_message(format!("Saved the take's notes to {}", path.display())),
                Err(err) => self.shared.set_error(err),
            },
            WorkerCommand::Shutdown => {}
        }
    }

    /// Follows what a state load may have changed while the plugin runs: nice-plug does not
    /// re-activate after a state load, so the worker watches the persisted fields.
    fn follow_saved_fields(&mut self) {
        let model_dir = self.params.model_dir.read().clone();
        if self.seen_model_dir.as_deref() != Some(model_dir.as_str()) {
            self.seen_model_dir = Some(model_dir.clone());
            self.load_model(Path::new(&model_dir));
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

    /// One round of work: audio events, capture, a slice of generation, feeding, status.
    fn tick(&mut self) {
        if self.ends.is_none() {
            return;
        }
        self.follow_saved_fields();
        self.drain_audio_events();
        self.drain_capture();
        self.follow_loop_switch();
        if self.job.is_some() {
            let started = Instant::now();
            while self.job.is_some() && started.elapsed() < STEP_BUDGET {
                self.step_job();
            }
        }
        self.assign_voices();
        self.feed_voices();
        self.send_ready();
        self.publish_status();
    }

    fn recover_from_panic(&mut self) {
        if let Some(job) = self.job.take() {
            self.fail(
                job.job_id,
                "Generation stopped on an internal error; the take was dropped.".into(),
            );
        } else {
            self.shared
                .set_error("The engine hit an internal error and recovered.");
        }
    }

    fn load_model(&mut self, dir: &Path) {
        let dir = if dir.as_os_str().is_empty() {
            match default_model_dir() {
                Some(dir) => dir,
                None => {
                    if self.generator.is_none() {
                        self.shared.set_phase(Phase::NoModel);
                        self.shared
                            .set_message("No model loaded: choose a model folder in the panel.");
                    }
                    return;
                }
            }
        } else {
            dir.to_path_buf()
        };
        if self.loaded_dir.as_deref() == Some(dir.as_path()) && self.generator.is_some() {
            return;
        }
        let previous_phase = self.shared.phase();
        self.shared.set_phase(Phase::LoadingModel);
        self.shared
            .set_message(format!("Loading model from {} …", dir.display()));
        match model::load(&dir) {
            Ok(generator) => {
                // The running job belongs to the old model: end it cleanly.
                self.cancel_job();
                let info = generator.info().clone();
                {
                    let mut text = self.shared.text.lock();
                    text.model = format!("{} ({})", info.name, info.family);
                    text.message = format!("Model ready: {}", info.name);
                    text.error = None;
                }
                self.generator = Some(generator);
                self.loaded_dir = Some(dir);
                self.shared.set_phase(Phase::Ready);
            }
            Err(err) => {
                let kept = if self.generator.is_some() {
                    " The previous model stays loaded."
                } else {
                    ""
                };
                self.shared.set_error(format!(
                    "Could not load the model in {}: {err}.{kept}",
                    dir.display()
                ));
                self.shared.set_phase(if self.generator.is_some() {
                    previous_phase
                } else {
                    Phase::NoModel
                });
            }
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
                    if let Some(take) = self.takes.iter_mut().find(|t| t.job_id == job_id) {
                        take.started = true;
                    }
                }
                AudioToWorker::VoiceFree {
                    voice_idx,
                    job_id,
                    num_frames_consumed,
                } => {
                    let slot = &mut self.voices[voice_idx as usize % NUM_VOICES];
                    if slot.owner == Some(job_id) {
                        slot.num_stale = slot.num_pushed.saturating_sub(num_frames_consumed);
                        slot.owner = None;
                        slot.num_pushed = 0;
                    }
                    if let Some(pos) = self.takes.iter().position(|t| t.job_id == job_id) {
                        let mut take = self.takes.remove(pos);
                        take.voice_idx = None;
                        if self.job.as_ref().is_some_and(|j| j.job_id == job_id) {
                            self.job = None;
                        }
                        self.keep_take(take);
                    }
                }
            }
        }
    }

    fn drain_capture(&mut self) {
        let Some(ends) = self.ends.as_mut() else {
            return;
        };
        while let Some(block) = ends.capture_blocks.try_pop() {
            self.history.last_block = Some(block);
        }
        loop {
            let n = ends.capture_audio.pop_slice(&mut self.capture_scratch);
            if n == 0 {
                break;
            }
            self.history.push_audio(&self.capture_scratch[..n - n % 2]);
        }
        while let Some(note) = ends.capture_notes.try_pop() {
            self.history.push_note(note);
        }
    }

    fn next_seed(&mut self) -> u64 {
        // xorshift64*: only picks seeds, so any decent generator will do.
        self.rng_state ^= self.rng_state >> 12;
        self.rng_state ^= self.rng_state << 25;
        self.rng_state ^= self.rng_state >> 27;
        (self.rng_state.wrapping_mul(0x2545_F491_4F6C_DD1D) % 99_999) + 1
    }

    fn start_job(
        &mut self,
        job_id: JobId,
        settings: JobSettings,
        transport: TransportSnapshot,
        capture_frame: u64,
    ) {
        let host_rate_hz = self.ends.as_ref().map_or(48_000.0, |e| e.host_rate_hz);
        // A new job replaces one still generating, and any take not yet playing.
        self.cancel_job();
        self.cancel_unstarted_takes();
        let Some(generator) = self.generator.as_mut() else {
            self.fail(
                job_id,
                "No model loaded: choose a model folder before generating.".into(),
            );
            return;
        };
        let info = generator.info().clone();
        let seed = if settings.seed == 0 {
            self.next_seed()
        } else {
            settings.seed as u64
        };
        let generator = self.generator.as_mut().expect("checked above");
        let tempo_bpm = transport.tempo_bpm();
        let beats_per_bar = transport.beats_per_bar();
        let seconds_per_bar = beats_per_bar * 60.0 / tempo_bpm;
        let length_seconds = settings.length_bars as f64 * seconds_per_bar;
        if !(length_seconds.is_finite()
            && length_seconds > 0.0
            && length_seconds <= MAX_TAKE_SECONDS)
        {
            self.fail(
                job_id,
                format!(
                    "A take of {} bars at {tempo_bpm:.1} BPM in {beats_per_bar} beats a bar would last {length_seconds:.0} s; \
                     the longest is {MAX_TAKE_SECONDS:.0} s. Shorten the length or check the host's tempo.",
                    settings.length_bars
                ),
            );
            return;
        }
        let model_rate_hz = if info.sample_rate_hz == 0 {
            host_rate_hz.round() as u32
        } else {
            info.sample_rate_hz
        };
        let host_rate = host_rate_hz.round() as u32;
        let num_host_frames = (length_seconds * host_rate as f64).round() as usize;
        let num_model_frames = (length_seconds * model_rate_hz as f64).round() as usize;

        let context_seconds =
            (settings.context_bars as f64 * seconds_per_bar).min(MAX_CONTEXT_SECONDS);
        let context_frames = (context_seconds * host_rate as f64) as usize;
        let context_stereo = self.history.frames_before(capture_frame, context_frames);
        let context_model_channels = to_channels(&context_stereo, info.num_channels);
        let context_audio = match resample_clip(
            &context_model_channels,
            host_rate,
            model_rate_hz,
            info.num_channels,
        ) {
            Ok(audio) => audio,
            Err(err) => {
                self.fail(job_id, format!("Could not resample the context: {err}"));
                return;
            }
        };
        let frames_per_beat = host_rate as f64 * 60.0 / tempo_bpm;
        let context_start_frame = capture_frame.saturating_sub(context_frames as u64);
        let context_notes = notes_from_events(
            &self.history.notes_before(capture_frame, context_frames),
            context_start_frame,
            capture_frame,
            frames_per_beat,
        );

        let mut prompt = self.params.prompt.read().clone();
        crate::params::clamp_prompt(&mut prompt);
        let request = GenerationRequest {
            prompt,
            settings,
            seed,
            tempo_bpm,
            beats_per_bar,
            time_sig: transport
                .time_sig
                .filter(|&(n, d)| n > 0 && d > 0 && n <= 64 && d <= 64)
                .map_or((4, 4), |(n, d)| (n as u32, d as u32)),
            num_frames: num_model_frames,
            sample_rate_hz: model_rate_hz,
            context_audio,
            context_notes,
        };
        if let Err(err) = generator.begin(&request) {
            self.fail(job_id, format!("The model could not start: {err}"));
            return;
        }
        let resampler = match StreamResampler::new(model_rate_hz, host_rate, info.num_channels) {
            Ok(r) => r,
            Err(err) => {
                self.fail(
                    job_id,
                    format!("No resampler from {model_rate_hz} Hz to {host_rate} Hz: {err}"),
                );
                return;
            }
        };
        self.job = Some(ActiveJob {
            job_id,
            resampler,
            num_model_channels: info.num_channels,
            model_rate_hz,
            num_model_frames_total: num_model_frames,
            num_model_frames_done: 0,
            started: Instant::now(),
            started_host_frames: self
                .shared
                .num_processed_frames
                .load(std::sync::atomic::Ordering::Relaxed),
            model_out: Vec::new(),
            host_out: Vec::new(),
            tempo_bpm,
            seed,
        });
        self.takes.push(Take {
            job_id,
            audio: Vec::with_capacity(num_host_frames * 2),
            num_frames_total: num_host_frames,
            complete: false,
            looping: settings.loop_take,
            end_frames: None,
            voice_idx: None,
            num_frames_fed: 0,
            ready_sent: false,
            started: false,
            midi: Vec::new(),
            num_midi_iterations_fed: 0,
            num_midi_events_fed: 0,
        });
        self.shared.text.lock().last_seed = Some(seed);
        self.shared.set_phase(Phase::Generating);
        self.shared.progress.store(0.0);
        self.shared.speed_x_realtime.store(0.0);
        self.shared.set_message(format!(
            "Generating {} bars (seed {seed}) …",
            settings.length_bars
        ));
    }

    /// Writes the last finished take's notes to a new .mid file in `dir` and returns its path.
    fn export_midi(&self, dir: &Path) -> Result<PathBuf, String> {
        let notes = self.shared.last_take_notes.lock().clone();
        let Some(take) = *self.shared.last_take.lock() else {
            return Err("No take to save yet: generate one first.".into());
        };
        if notes.is_empty() {
            return Err("The last take has no notes to save (this model writes audio).".into());
        }
        std::fs::create_dir_all(dir)
            .map_err(|e| format!("Could not create {}: {e}", dir.display()))?;
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs());
        let path = dir.join(format!("continuo-take-seed{}-{stamp}.mid", take.seed));
        let beat_notes = crate::midi_file::BeatNote::from_seconds(&notes, take.tempo_bpm, 0.0);
        crate::midi_file::write_notes(&path, take.tempo_bpm, &[("continuo take", &beat_notes)])
            .map_err(|e| format!("Could not save the take: {e}"))?;
        Ok(path)
    }

    fn fail(&mut self, job_id: JobId, message: String) {
        if let Some(ends) = self.ends.as_mut() {
            let _ = ends.to_audio.try_push(WorkerToAudio::Failed { job_id });
        }
        self.takes.retain(|t| t.job_id != job_id);
        self.shared.set_error(message);
        self.shared.set_phase(if self.generator.is_some() {
            Phase::Ready
        } else {
            Phase::NoModel
        });
    }

    fn step_job(&mut self) {
        let Some(job) = self.job.as_mut() else {
            return;
        };
        let Some(generator) = self.generator.as_mut() else {
            self.job = None;
            return;
        };
        job.model_out.clear();
        let result = generator.step(&mut job.model_out);
        let step = match result {
            Ok(step) => step,
            Err(err) => {
                let job_id = job.job_id;
                self.job = None;
                self.fail(job_id, format!("Generation failed: {err}"));
                return;
            }
        };
        job.num_model_frames_done += job.model_out.len() / job.num_model_channels;
        let mut resampled = std::mem::take(&mut job.host_out);
        resampled.clear();
        let mut resample_result = job.resampler.push(&job.model_out, &mut resampled);
        if step == Step::Finished && resample_result.is_ok() {
            resample_result = job.resampler.finish(&mut resampled);
        }
        if let Err(err) = resample_result {
            let job_id = job.job_id;
            self.job = None;
            self.fail(job_id, format!("Resampling failed: {err}"));
            return;
        }
        let stereo = to_channels_from(&resampled, job.num_model_channels, 2);
        job.host_out = resampled;
        let elapsed = job.started.elapsed().as_secs_f64().max(1e-6);
        let generated_seconds = job.num_model_frames_done as f64 / job.model_rate_hz.max(1) as f64;
        let speed = generated_seconds / elapsed;
        let total_seconds = job.num_model_frames_total as f64 / job.model_rate_hz.max(1) as f64;
        self.shared.speed_x_realtime.store(speed as f32);
        self.shared.progress.store(generator.progress());
        self.shared
            .eta_seconds
            .store(((total_seconds - generated_seconds).max(0.0) / speed.max(1e-6)) as f32);
        let job_id = job.job_id;
        let take_info = TakeInfo {
            tempo_bpm: job.tempo_bpm,
            seed: job.seed,
        };
        let host_rate = self.ends.as_ref().map_or(48_000.0, |e| e.host_rate_hz) as f64;
        if let Some(take) = self
            .takes
            .iter_mut()
            .find(|t| t.job_id == job_id && t.midi.is_empty())
        {
            take.midi = midi_events(
                job_id,
                &generator.take_notes(),
                host_rate,
                take.num_frames_total as u64,
            );
        }
        if let Some(take) = self.takes.iter_mut().find(|t| t.job_id == job_id) {
            let room = take.num_frames_total * 2 - take.audio.len().min(take.num_frames_total * 2);
            take.audio
                .extend_from_slice(&stereo[..stereo.len().min(room)]);
            if step == Step::Finished {
                // Exact length whatever the model and resampler rounded to.
                take.audio.resize(take.num_frames_total * 2, 0.0);
                take.complete = true;
            }
        }
        if step == Step::Finished {
            self.job = None;
            *self.shared.last_take_notes.lock() = generator.take_notes();
            *self.shared.last_heard_notes.lock() = generator.heard_notes();
            *self.shared.last_take.lock() = Some(take_info);
            self.shared.progress.store(1.0);
            self.shared.eta_seconds.store(0.0);
            let mut message = format!("Take ready, generated at {speed:.1}x real time.");
            if let Some(report) = generator.context_report() {
                message = format!("{message} {report}");
            }
            self.shared.set_message(message);
        }
    }

    fn cancel_job(&mut self) {
        if let Some(job) = self.job.take() {
            // A take that has not started cannot play half-made.
            if let Some(take) = self.takes.iter().find(|t| t.job_id == job.job_id) {
                if !take.started && !take.complete {
                    let id = take.job_id;
                    self.drop_unstarted(id);
                }
            }
        }
    }

    fn cancel_unstarted_takes(&mut self) {
        let ids: Vec<JobId> = self
            .takes
            .iter()
            .filter(|t| !t.started)
            .map(|t| t.job_id)
            .collect();
        for id in ids {
            self.drop_unstarted(id);
        }
    }

    /// Forgets a take that has not started. If it was announced to the audio thread, that thread
    /// frees the voice on `Failed` and reports back.
    fn drop_unstarted(&mut self, job_id: JobId) {
        if let Some(ends) = self.ends.as_mut() {
            let _ = ends.to_audio.try_push(WorkerToAudio::Failed { job_id });
        }
        if let Some(pos) = self.takes.iter().position(|t| t.job_id == job_id) {
            let take = self.takes.remove(pos);
            // An announced take's voice stays owned until the audio thread frees it and reports
            // what it consumed. One never announced was never read: its frames are stale now.
            if let (Some(voice_idx), false) = (take.voice_idx, take.ready_sent) {
                let slot = &mut self.voices[voice_idx];
                slot.num_stale += slot.num_pushed;
                slot.num_pushed = 0;
                slot.owner = None;
            }
        }
    }

    fn stop_all(&mut self) {
        self.cancel_job();
        self.cancel_unstarted_takes();
        for take in &mut self.takes {
            take.looping = false;
            take.end_frames = Some(take.num_frames_fed);
        }
        if self.generator.is_some() {
            self.shared.set_phase(Phase::Ready);
        }
        self.shared.set_message("Stopped.");
    }

    /// A looping take whose loop was switched off ends at the end of the iteration playing now.
    fn follow_loop_switch(&mut self) {
        if self.params.loop_take.value() {
            return;
        }
        let Some(ends) = self.ends.as_mut() else {
            return;
        };
        for take in &mut self.takes {
            if !(take.looping && take.complete && take.end_frames.is_none()) {
                continue;
            }
            let len = take.num_frames_total.max(1) as u64;
            let buffered = take
                .voice_idx
                .map_or(0, |v| ends.voices[v].occupied_len() as u64 / 2);
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

    fn assign_voices(&mut self) {
        for take in self.takes.iter_mut().filter(|t| t.voice_idx.is_none()) {
            if let Some(idx) = self.voices.iter().position(|v| v.owner.is_none()) {
                self.voices[idx].owner = Some(take.job_id);
                self.voices[idx].num_pushed = 0;
                take.voice_idx = Some(idx);
            }
        }
    }

    fn feed_voices(&mut self) {
        let Some(ends) = self.ends.as_mut() else {
            return;
        };
        for take in &mut self.takes {
            let Some(voice_idx) = take.voice_idx else {
                continue;
            };
            let producer = &mut ends.voices[voice_idx];
            let len = take.num_frames_total as u64;
            if len == 0 {
                continue;
            }
            loop {
                let vacant_frames = producer.vacant_len() as u64 / 2;
                if vacant_frames == 0 {
                    break;
                }
                let limit = match (take.looping, take.end_frames) {
                    (_, Some(end)) => end,
                    (true, None) if take.complete => u64::MAX,
                    _ => len,
                };
                if take.num_frames_fed >= limit {
                    break;
                }
                let pos_in_take = take.num_frames_fed % len;
                let available_in_take = if take.complete {
                    len - pos_in_take
                } else {
                    (take.num_frames_generated() as u64).saturating_sub(pos_in_take)
                };
                let n = vacant_frames
                    .min(available_in_take)
                    .min(limit - take.num_frames_fed);
                if n == 0 {
                    break;
                }
                let start = pos_in_take as usize * 2;
                let pushed = producer.push_slice(&take.audio[start..start + n as usize * 2]);
                debug_assert_eq!(pushed, n as usize * 2);
                take.num_frames_fed += n;
                self.voices[voice_idx].num_pushed += n;
            }
            feed_midi(take, &mut ends.voice_midi[voice_idx]);
        }
    }

    fn send_ready(&mut self) {
        let offline = self
            .shared
            .offline
            .load(std::sync::atomic::Ordering::Relaxed);
        let host_rate = self.ends.as_ref().map_or(48_000.0, |e| e.host_rate_hz) as f64;
        // Generation speed relative to how fast the host has played since the job began. Until
        // the job has run long enough to measure that, nothing streams.
        let speed = match self.job.as_ref() {
            Some(job) if job.started.elapsed() >= MIN_PACE_WINDOW => {
                let played = self
                    .shared
                    .num_processed_frames
                    .load(std::sync::atomic::Ordering::Relaxed)
                    .saturating_sub(job.started_host_frames) as f64;
                let host_pace = (played / host_rate / job.started.elapsed().as_secs_f64()).max(1.0);
                self.shared.speed_x_realtime.load() as f64 / host_pace
            }
            _ => 0.0,
        };
        let Some(ends) = self.ends.as_mut() else {
            return;
        };
        for take in &mut self.takes {
            let Some(voice_idx) = take.voice_idx else {
                continue;
            };
            if take.ready_sent {
                continue;
            }
            let generated_seconds = take.num_frames_generated() as f64 / host_rate;
            let remaining_seconds =
                (take.num_frames_total - take.num_frames_generated()) as f64 / host_rate;
            let ready = take.complete
                || (!offline && can_stream(generated_seconds, remaining_seconds, speed));
            if !ready {
                continue;
            }
            let message = WorkerToAudio::Ready {
                job_id: take.job_id,
                voice_idx: voice_idx as u8,
                num_stale_frames: self.voices[voice_idx].num_stale,
                num_frames: if take.looping {
                    u64::MAX
                } else {
                    take.num_frames_total as u64
                },
            };
            if ends.to_audio.try_push(message).is_ok() {
                take.ready_sent = true;
                self.voices[voice_idx].num_stale = 0;
            }
        }
    }

    fn publish_status(&mut self) {
        let any_started = self.takes.iter().any(|t| t.started);
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

    fn keep_take(&mut self, take: Take) {
        if !take.complete {
            return;
        }
        self.kept_takes.push(take);
        if self.kept_takes.len() > MAX_KEPT_TAKES {
            self.kept_takes.remove(0);
        }
    }
}

/// A take's notes as note-on/off events in frames from its start, sorted (offs first at equal
/// frames). Offs past the take's end move to its last frame, so a loop never overlaps itself.
fn midi_events(
    job_id: JobId,
    notes: &[crate::model::TakeNote],
    host_rate_hz: f64,
    num_frames: u64,
) -> Vec<TakeMidiEvent> {
    if num_frames == 0 {
        return Vec::new();
    }
    let last = num_frames - 1;
    let mut events = Vec::with_capacity(notes.len() * 2);
    for note in notes {
        let start = (note.start_seconds * host_rate_hz).round().max(0.0) as u64;
        if start > last || note.velocity == 0 {
            continue;
        }
        let end = (((note.start_seconds + note.duration_seconds) * host_rate_hz).round() as u64)
            .clamp(start + 1, last);
        events.push(TakeMidiEvent {
            job_id,
            frame: start,
            pitch: note.pitch,
            velocity: note.velocity,
            is_on: true,
        });
        events.push(TakeMidiEvent {
            job_id,
            frame: end.max(start),
            pitch: note.pitch,
            velocity: 0,
            is_on: false,
        });
    }
    events.sort_by_key(|e| (e.frame, e.is_on, e.pitch));
    events
}

/// Pushes a take's note events into its voice's ring, one loop iteration at a time as the audio
/// feeding reaches it.
fn feed_midi(take: &mut Take, ring: &mut ringbuf::HeapProd<TakeMidiEvent>) {
    let len = take.num_frames_total as u64;
    if take.midi.is_empty() || len == 0 {
        return;
    }
    loop {
        let iteration = take.num_midi_iterations_fed;
        let iteration_start = iteration * len;
        // Only iterations the audio has reached (the first one at once), and not past the end.
        let end = take
            .end_frames
            .unwrap_or(if take.looping { u64::MAX } else { len });
        if iteration_start >= end || (iteration > 0 && take.num_frames_fed <= iteration_start) {
            return;
        }
        while take.num_midi_events_fed < take.midi.len() {
            let mut event = take.midi[take.num_midi_events_fed];
            event.frame += iteration_start;
            if event.frame >= end && event.is_on {
                take.num_midi_events_fed += 1;
                continue;
            }
            if ring.try_push(event).is_err() {
                return;
            }
            take.num_midi_events_fed += 1;
        }
        take.num_midi_iterations_fed += 1;
        take.num_midi_events_fed = 0;
    }
}

/// The bundled default model: `models/default` beside the plugin binary.
fn default_model_dir() -> Option<PathBuf> {
    model::runtime::bundled_model_roots()
        .into_iter()
        .map(|root| root.join(DEFAULT_MODEL_DIR))
        .find(|dir| dir.join(model::manifest::MANIFEST_FILE).is_file())
}

/// Interleaved stereo to `num_channels` (1: the average; 2: as is).
fn to_channels(stereo: &[f32], num_channels: usize) -> Vec<f32> {
    to_channels_from(stereo, 2, num_channels)
}

/// Interleaved `from` channels to `to` channels (1 or 2 each).
fn to_channels_from(input: &[f32], from: usize, to: usize) -> Vec<f32> {
    match (from, to) {
        (a, b) if a == b => input.to_vec(),
        (1, 2) => input.iter().flat_map(|&s| [s, s]).collect(),
        (2, 1) => input.chunks_exact(2).map(|f| 0.5 * (f[0] + f[1])).collect(),
        _ => input.to_vec(),
    }
}

/// Pairs note-on and note-off events into notes, in beats from the context start; notes still
/// held at the context's end end there.
fn notes_from_events(
    events: &[super::CapturedNote],
    context_start_frame: u64,
    context_end_frame: u64,
    frames_per_beat: f64,
) -> Vec<ContextNote> {
    let mut open: [Option<(u64, u8)>; 128] = [None; 128];
    let mut notes = Vec::new();
    let to_beats =
        |frame: u64| (frame.saturating_sub(context_start_frame)) as f64 / frames_per_beat;
    for event in events {
        let pitch = (event.pitch & 0x7f) as usize;
        if event.is_on && event.velocity > 0 {
            open[pitch] = Some((event.frame_idx, event.velocity));
        } else if let Some((start, velocity)) = open[pitch].take() {
            notes.push(ContextNote {
                start_beats: to_beats(start),
                duration_beats: (event.frame_idx.saturating_sub(start)) as f64 / frames_per_beat,
                pitch: pitch as u8,
                velocity,
            });
        }
    }
    for (pitch, entry) in open.iter().enumerate() {
        if let Some((start, velocity)) = entry {
            notes.push(ContextNote {
                start_beats: to_beats(*start),
                duration_beats: context_end_frame.saturating_sub(*start) as f64 / frames_per_beat,
                pitch: pitch as u8,
                velocity: *velocity,
            });
        }
    }
    notes.sort_by(|a, b| {
        a.start_beats
            .total_cmp(&b.start_beats)
            .then(a.pitch.cmp(&b.pitch))
    });
    notes
}
