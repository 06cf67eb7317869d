//! One job from trigger to finished take: what the trigger asks for in frames (the plan), the
//! request the model family gets (context audio and notes from the history), and the stepping
//! that turns the model's output into host-rate stereo. Worker thread; allocates.

use super::context::{bar_phase_frames, notes_from_events};
use super::history::History;
use crate::bridge::messages::TakeError;
use crate::bridge::JobId;
use crate::model::{GenerationRequest, Generator, ModelInfo, Step};
use crate::params::JobSettings;
use crate::resample::{resample_clip, StreamResampler};
use crate::timeline::{Meter, TransportSnapshot};
use std::time::Instant;

/// Longest take, in seconds: 32 bars of 4/4 at 20 BPM is 384 s. Anything longer comes from a
/// nonsensical tempo or metre and is refused rather than allocated.
pub const MAX_TAKE_SECONDS: f64 = 400.0;

/// Longest context, in seconds: the history holds 64 s.
pub const MAX_CONTEXT_SECONDS: f64 = super::history::HISTORY_SECONDS;

/// A trigger's settings worked out in frames.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct JobPlan {
    pub meter: Meter,
    pub host_rate_hz: u32,
    /// The model's output rate for this job (the host's when the model says 0).
    pub model_rate_hz: u32,
    pub num_host_frames: usize,
    pub num_model_frames: usize,
    /// Frames of history that form the context.
    pub num_context_frames: usize,
    /// Frames from the last bar line to the trigger: the context ends on that bar line.
    pub bar_phase_frames: u64,
}

impl JobPlan {
    /// The plan for a trigger, or why it cannot run (a length no one could want).
    pub fn new(
        settings: &JobSettings,
        transport: &TransportSnapshot,
        host_rate_hz: f32,
        info: &ModelInfo,
    ) -> Result<Self, TakeError> {
        let meter = transport.meter();
        let length_seconds = settings.length_bars as f64 * meter.seconds_per_bar();
        if !(length_seconds.is_finite()
            && length_seconds > 0.0
            && length_seconds <= MAX_TAKE_SECONDS)
        {
            return Err(TakeError::BadRequest(format!(
                "A take of {} bars at {:.1} BPM in {} beats a bar would last {length_seconds:.0} s; \
                 the longest is {MAX_TAKE_SECONDS:.0} s. Shorten the length or check the host's tempo.",
                settings.length_bars,
                meter.tempo_bpm,
                meter.beats_per_bar()
            )));
        }
        let host_rate = host_rate_hz.round().max(1.0) as u32;
        let model_rate_hz = if info.sample_rate_hz == 0 {
            host_rate
        } else {
            info.sample_rate_hz
        };
        let context_seconds =
            (settings.context_bars as f64 * meter.seconds_per_bar()).min(MAX_CONTEXT_SECONDS);
        Ok(Self {
            meter,
            host_rate_hz: host_rate,
            model_rate_hz,
            num_host_frames: (length_seconds * host_rate as f64).round() as usize,
            num_model_frames: (length_seconds * model_rate_hz as f64).round() as usize,
            num_context_frames: (context_seconds * host_rate as f64) as usize,
            bar_phase_frames: bar_phase_frames(transport, &meter, host_rate as f64),
        })
    }

    /// The request for the model: the context (audio at the model's rate and channel count,
    /// notes in beats from the context's start) that ends on the last bar line before
    /// `capture_frame` (at it when the host gives no bar position).
    pub fn request(
        &self,
        settings: &JobSettings,
        prompt: String,
        seed: u64,
        info: &ModelInfo,
        history: &History,
        capture_frame: u64,
    ) -> Result<GenerationRequest, TakeError> {
        let end = capture_frame.saturating_sub(self.bar_phase_frames);
        let context_stereo = history.frames_before(end, self.num_context_frames);
        let context_model_channels = to_channels_from(&context_stereo, 2, info.num_channels);
        let context_audio = resample_clip(
            &context_model_channels,
            self.host_rate_hz,
            self.model_rate_hz,
            info.num_channels,
        )
        .map_err(|e| TakeError::Resample(format!("the context: {e}")))?;
        let context_notes = notes_from_events(
            &history.notes_before(end, self.num_context_frames),
            end.saturating_sub(self.num_context_frames as u64),
            end,
            self.meter.frames_per_beat(self.host_rate_hz as f64),
        );
        Ok(GenerationRequest {
            prompt,
            settings: settings.controls(),
            seed,
            meter: self.meter,
            num_frames: self.num_model_frames,
            sample_rate_hz: self.model_rate_hz,
            context_audio,
            context_notes,
        })
    }
}

/// The job being generated: the model's output on its way to host-rate stereo.
pub struct ActiveJob {
    pub job_id: JobId,
    pub plan: JobPlan,
    pub seed: u64,
    resampler: StreamResampler,
    num_model_channels: usize,
    num_model_frames_done: usize,
    pub started: Instant,
    /// The host's processed-frame count when the job started, to measure how fast the host
    /// consumes audio while the job runs: about real time in a live session, far faster when a
    /// host renders without saying it is offline. Streaming must outrun the host, not the clock.
    pub started_host_frames: u64,
    model_out: Vec<f32>,
    host_out: Vec<f32>,
    stereo_out: Vec<f32>,
}

/// What one step produced.
pub struct StepOutput<'a> {
    /// Host-rate interleaved stereo.
    pub stereo: &'a [f32],
    pub finished: bool,
    /// Seconds of audio generated per wall-clock second so far.
    pub speed_x_realtime: f64,
    /// Seconds left at that speed.
    pub eta_seconds: f64,
}

impl ActiveJob {
    /// Starts the model on the request.
    pub fn begin(
        job_id: JobId,
        plan: JobPlan,
        seed: u64,
        generator: &mut dyn Generator,
        request: &GenerationRequest,
        started_host_frames: u64,
    ) -> Result<Self, TakeError> {
        let num_model_channels = generator.info().num_channels.clamp(1, 2);
        crate::model::pool::run(|| generator.begin(request))
            .map_err(|e| TakeError::Begin(e.to_string()))?;
        let resampler =
            StreamResampler::new(plan.model_rate_hz, plan.host_rate_hz, num_model_channels)
                .map_err(|e| {
                    TakeError::Resample(format!(
                        "no resampler from {} Hz to {} Hz: {e}",
                        plan.model_rate_hz, plan.host_rate_hz
                    ))
                })?;
        Ok(Self {
            job_id,
            plan,
            seed,
            resampler,
            num_model_channels,
            num_model_frames_done: 0,
            started: Instant::now(),
            started_host_frames,
            model_out: Vec::new(),
            host_out: Vec::new(),
            stereo_out: Vec::new(),
        })
    }

    /// Runs one model step and resamples what it wrote. Non-finite samples from a model become
    /// silence here, before they reach the resampler or the take.
    pub fn step(&mut self, generator: &mut dyn Generator) -> Result<StepOutput<'_>, TakeError> {
        self.model_out.clear();
        let model_out = &mut self.model_out;
        let step = crate::model::pool::run(|| generator.step(model_out))
            .map_err(|e| TakeError::Step(e.to_string()))?;
        sanitise(&mut self.model_out);
        self.num_model_frames_done += self.model_out.len() / self.num_model_channels;
        self.host_out.clear();
        let mut result = self.resampler.push(&self.model_out, &mut self.host_out);
        if step == Step::Finished && result.is_ok() {
            result = self.resampler.finish(&mut self.host_out);
        }
        result.map_err(TakeError::Resample)?;
        to_stereo_into(
            &self.host_out,
            self.num_model_channels,
            &mut self.stereo_out,
        );
        let elapsed = self.started.elapsed().as_secs_f64().max(1e-6);
        let rate = self.plan.model_rate_hz.max(1) as f64;
        let generated_seconds = self.num_model_frames_done as f64 / rate;
        let speed = generated_seconds / elapsed;
        let total_seconds = self.plan.num_model_frames as f64 / rate;
        Ok(StepOutput {
            stereo: &self.stereo_out,
            finished: step == Step::Finished,
            speed_x_realtime: speed,
            eta_seconds: (total_seconds - generated_seconds).max(0.0) / speed.max(1e-6),
        })
    }
}

/// Replaces NaN and infinite samples by silence; returns how many there were.
pub fn sanitise(samples: &mut [f32]) -> usize {
    let mut n = 0;
    for s in samples.iter_mut().filter(|s| !s.is_finite()) {
        *s = 0.0;
        n += 1;
    }
    n
}

/// Interleaved `from` channels (1 or 2) to `to` channels (1 or 2).
pub fn to_channels_from(input: &[f32], from: usize, to: usize) -> Vec<f32> {
    match (from, to) {
        (1, 2) => input.iter().flat_map(|&s| [s, s]).collect(),
        (2, 1) => input.chunks_exact(2).map(|f| 0.5 * (f[0] + f[1])).collect(),
        _ => input.to_vec(),
    }
}

/// Interleaved `from` channels (1 or 2) to stereo, into a buffer the caller reuses.
fn to_stereo_into(input: &[f32], from: usize, out: &mut Vec<f32>) {
    out.clear();
    match from {
        1 => out.extend(input.iter().flat_map(|&s| [s, s])),
        _ => out.extend_from_slice(input),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::ModelFamily;
    use crate::params::ContinuoParams;

    fn transport(tempo_bpm: f64) -> TransportSnapshot {
        TransportSnapshot {
            playing: true,
            sample_rate_hz: 48_000.0,
            tempo_bpm: Some(tempo_bpm),
            time_sig: Some((4, 4)),
            pos_beats: Some(0.0),
            bar_start_beats: Some(0.0),
            pos_samples: Some(0),
        }
    }

    fn info(sample_rate_hz: u32) -> ModelInfo {
        ModelInfo {
            family: ModelFamily::ToneTest,
            name: "t".into(),
            description: String::new(),
            sample_rate_hz,
            num_channels: 1,
            sampling: Default::default(),
        }
    }

    mod plan {
        use super::*;

        #[test]
        fn bars_become_frames_at_both_rates() {
            let mut settings = ContinuoParams::default().job_settings();
            settings.length_bars = 2;
            settings.context_bars = 1;
            let plan = JobPlan::new(&settings, &transport(120.0), 48_000.0, &info(32_000)).unwrap();
            assert_eq!(plan.num_host_frames, 192_000);
            assert_eq!(plan.num_model_frames, 128_000);
            assert_eq!(plan.num_context_frames, 96_000);
            let own = JobPlan::new(&settings, &transport(120.0), 44_100.0, &info(0)).unwrap();
            assert_eq!(own.model_rate_hz, 44_100);
        }

        #[test]
        fn an_endless_take_is_refused() {
            let mut settings = ContinuoParams::default().job_settings();
            settings.length_bars = 32;
            let err = JobPlan::new(&settings, &transport(2.0), 48_000.0, &info(0)).unwrap_err();
            assert!(matches!(err, TakeError::BadRequest(ref m) if m.contains("longest is 400 s")));
        }
    }

    mod sanitise {
        use super::*;

        #[test]
        fn nan_and_infinity_become_silence() {
            let mut s = [1.0, f32::NAN, f32::INFINITY, -2.0, f32::NEG_INFINITY];
            assert_eq!(sanitise(&mut s), 3);
            assert_eq!(s, [1.0, 0.0, 0.0, -2.0, 0.0]);
        }
    }

    mod to_channels_from {
        use super::*;

        #[test]
        fn mono_and_stereo_both_ways() {
            assert_eq!(
                to_channels_from(&[1.0, 2.0], 1, 2),
                vec![1.0, 1.0, 2.0, 2.0]
            );
            assert_eq!(to_channels_from(&[1.0, 3.0], 2, 1), vec![2.0]);
            assert_eq!(to_channels_from(&[1.0, 3.0], 2, 2), vec![1.0, 3.0]);
        }
    }
}
