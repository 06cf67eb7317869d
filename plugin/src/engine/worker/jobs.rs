//! The worker's jobs: a trigger becomes a job and a take, steps become take audio, and a job that
//! fails or is replaced ends on both sides. Worker thread.

use super::Worker;
use crate::bridge::messages::TakeError;
use crate::bridge::status::{Phase, TakeSummary};
use crate::bridge::{JobId, SegmentStart, WorkerEvent, WorkerToAudio};
use crate::engine::allocator::release_free_memory;
use crate::engine::export::midi_events;
use crate::engine::job::{ActiveJob, JobPlan};
use crate::engine::takes::Take;
use crate::params::JobSettings;
use crate::timeline::TransportSnapshot;
use ringbuf::traits::Producer;
use std::sync::atomic::Ordering;

impl Worker {
    pub(super) fn start_job(
        &mut self,
        job_id: JobId,
        settings: JobSettings,
        transport: TransportSnapshot,
        capture_frame: u64,
    ) {
        // A new job replaces one still generating, and any take not yet playing.
        self.cancel_job();
        for id in self.takes.unstarted_ids() {
            self.drop_unstarted(id);
        }
        if self.loader.loading().is_some() {
            // Drop an older deferred trigger: the audio side waits for this one only.
            if let Some((old, ..)) =
                self.deferred
                    .replace((job_id, settings, transport, capture_frame))
            {
                self.tell_audio(WorkerToAudio::Failed { job_id: old });
            }
            return;
        }
        self.starting = Some(job_id);
        match self.begin_job(job_id, &settings, &transport, capture_frame) {
            Ok(job) => {
                let seed = job.seed;
                self.takes.push(Take::new(
                    job_id,
                    job.plan.num_host_frames,
                    settings.loop_take,
                    SegmentStart::NextGrid(settings.sync),
                ));
                self.job = Some(job);
                self.shared.text.lock().last_seed = Some(seed);
                self.shared.set_phase(Phase::Generating);
                self.shared.progress.store(0.0);
                self.shared.speed_x_realtime.store(0.0);
                self.shared.set_message(format!(
                    "Generating {} bars (seed {seed}) …",
                    settings.length_bars
                ));
                if let Some(family) = self.generator.as_ref().map(|g| g.info().family) {
                    self.emit(WorkerEvent::JobStarted {
                        job_id,
                        seed,
                        family,
                    });
                }
            }
            Err(error) => self.fail(job_id, error),
        }
        self.starting = None;
    }

    pub(super) fn begin_job(
        &mut self,
        job_id: JobId,
        settings: &JobSettings,
        transport: &TransportSnapshot,
        capture_frame: u64,
    ) -> Result<ActiveJob, TakeError> {
        let host_rate_hz = self.ends.as_ref().map_or(48_000.0, |e| e.host_rate_hz);
        let seed = if settings.seed == 0 {
            self.next_seed()
        } else {
            settings.seed as u64
        };
        let generator = self.generator.as_mut().ok_or(TakeError::NoModel)?;
        let info = generator.info().clone();
        let plan = JobPlan::new(settings, transport, host_rate_hz, &info)?;
        let mut prompt = self.params.prompt.read().clone();
        crate::params::clamp_prompt(&mut prompt);
        let request = plan.request(settings, prompt, seed, &info, &self.history, capture_frame)?;
        let host_frames = self.shared.num_processed_frames.load(Ordering::Relaxed);
        ActiveJob::begin(
            job_id,
            plan,
            seed,
            generator.as_mut(),
            &request,
            host_frames,
        )
    }

    pub(super) fn step_job(&mut self) {
        let (Some(job), Some(generator)) = (self.job.as_mut(), self.generator.as_mut()) else {
            self.job = None;
            return;
        };
        let job_id = job.job_id;
        let host_rate = job.plan.host_rate_hz as f64;
        let (tempo_bpm, seed) = (job.plan.meter.tempo_bpm, job.seed);
        let output = match job.step(generator.as_mut()) {
            Ok(output) => output,
            Err(error) => {
                generator.finish();
                self.job = None;
                release_free_memory();
                self.fail(job_id, error);
                return;
            }
        };
        self.shared
            .speed_x_realtime
            .store(output.speed_x_realtime as f32);
        self.shared.progress.store(generator.progress());
        self.shared.eta_seconds.store(output.eta_seconds as f32);
        if let Some(take) = self.takes.get_mut(job_id) {
            if take.midi.is_empty() {
                take.midi = midi_events(
                    job_id,
                    &generator.take_notes(),
                    host_rate,
                    take.num_frames_total as u64,
                );
            }
            take.append(output.stereo, output.finished);
        }
        if !output.finished {
            return;
        }
        let speed = output.speed_x_realtime;
        *self.shared.last_take.lock() = Some(TakeSummary {
            tempo_bpm,
            seed,
            notes: generator.take_notes(),
            heard_notes: generator.heard_notes(),
        });
        let mut message = format!("Take ready, generated at {speed:.1}x real time.");
        if let Some(report) = generator.context_report() {
            message = format!("{message} {report}");
        }
        generator.finish();
        self.job = None;
        release_free_memory();
        self.shared.progress.store(1.0);
        self.shared.eta_seconds.store(0.0);
        self.shared.set_message(message);
        self.emit(WorkerEvent::TakeFinished {
            job_id,
            speed_x_realtime: speed as f32,
        });
    }

    pub(super) fn tell_audio(&mut self, message: WorkerToAudio) {
        if let Some(ends) = self.ends.as_mut() {
            let _ = ends.to_audio.try_push(message);
        }
    }

    /// A job failed: its pending segment ends on the audio side, the panel and the command line
    /// hear why.
    pub(super) fn fail(&mut self, job_id: JobId, error: TakeError) {
        self.drop_unstarted(job_id);
        self.shared.set_error(error.to_string());
        self.shared.set_phase(if self.generator.is_some() {
            Phase::Ready
        } else {
            Phase::NoModel
        });
        self.emit(WorkerEvent::TakeFailed { job_id, error });
    }

    pub(super) fn cancel_job(&mut self) {
        if let Some(job) = self.job.take() {
            // A take that has not started cannot play half-made.
            let unfinished = self
                .takes
                .get_mut(job.job_id)
                .is_some_and(|t| !t.started && !t.complete);
            if unfinished {
                self.drop_unstarted(job.job_id);
            }
        }
    }

    /// Forgets a take that has not started and ends its segment on the audio side (which frees
    /// the voice if it was told of it).
    pub(super) fn drop_unstarted(&mut self, job_id: JobId) {
        self.tell_audio(WorkerToAudio::Failed { job_id });
        if let Some(take) = self.takes.remove(job_id) {
            self.feeder.forget_unannounced(&take);
        }
    }

    pub(super) fn stop_all(&mut self) {
        self.cancel_job();
        if let Some((job_id, ..)) = self.deferred.take() {
            self.tell_audio(WorkerToAudio::Failed { job_id });
        }
        for id in self.takes.unstarted_ids() {
            self.drop_unstarted(id);
        }
        for take in self.takes.iter_mut() {
            take.looping = false;
            take.end_frames = Some(take.num_frames_fed);
        }
        if self.generator.is_some() {
            self.shared.set_phase(Phase::Ready);
        }
        self.shared.set_message("Stopped.");
    }
}
