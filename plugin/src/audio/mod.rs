//! What runs on the host's audio thread: triggers, capture, playback of scheduled segments on the
//! host timeline, and the mix. Everything here is real-time safe: no allocation, no lock, no
//! blocking, no logging, except the documented waits in offline rendering.
//!
//! Talks to the worker only through `bridge` (rings and atomics); never imports `engine`.

pub mod freewheel;
pub mod grid;
pub mod midi_out;
pub mod voice;

use crate::bridge::{
    AudioEnds, AudioToWorker, CapturedNote, JobId, PanelRequests, SegmentStart, SharedStatus,
    WorkerToAudio, NUM_VOICES,
};
use crate::params::{ContinuoParams, SharedParams};
use crate::timeline::{MidiEvent, TransportSnapshot};
use freewheel::FreewheelDetector;
use midi_out::MidiOut;
use ringbuf::traits::{Consumer, Observer, Producer};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};
use voice::{Voice, VoiceState};

/// Length of the fades at a take's start and end, and of a stop, in seconds: 30 ms is short
/// enough to keep a downbeat's attack and long enough not to click.
pub const FADE_SECONDS: f64 = 0.03;

/// The longest an offline render waits for the worker before giving up on a take and carrying
/// on with silence (counted as an underrun). Generous: a full-size model renders slowly.
pub const OFFLINE_WAIT_LIMIT: Duration = Duration::from_secs(600);

/// Note events sent to the host per block at most: a dense take has a few per block.
pub const MIDI_OUT_CAPACITY: usize = 1024;

/// The audio-thread engine. `lib.rs` owns one and calls [`AudioEngine::process`] per block.
pub struct AudioEngine {
    ends: AudioEnds,
    params: SharedParams,
    shared: Arc<SharedStatus>,
    requests: Arc<PanelRequests>,
    sample_rate_hz: f32,
    /// The host said it renders offline (activation); fixed until the next activation.
    host_offline: bool,
    /// Offline for this block: the host said so, renders faster than real time (VST3 only, see
    /// `freewheel`), or the user switched Bounce Mode on.
    offline: bool,
    freewheel: Option<FreewheelDetector>,
    fade_frames: u32,
    voices: [Voice; NUM_VOICES],
    next_job_id: JobId,
    /// The job the user asked for most recently, until its segment starts or it fails.
    pending: Option<JobId>,
    generate_was_on: bool,
    /// No block processed since activation yet. Hosts replay a project's saved parameter values
    /// as changes in the first block (Ardour restores its own copy of every automatable value
    /// that way): Generate found on there is a restore, not a press.
    first_block: bool,
    /// Sum of the voices, interleaved stereo; sized in `new` for the largest block.
    wet: Vec<f32>,
    /// One voice's frames from its ring.
    scratch: Vec<f32>,
    /// Input frames, interleaved stereo, for capture.
    capture_scratch: Vec<f32>,
    captured_frames: u64,
    max_block_frames: usize,
    /// Per voice: frames into the current piece where a segment starting in it begins.
    start_offsets: [u32; NUM_VOICES],
    /// Frames from the block's start to the piece being processed.
    piece_start: usize,
    midi_out: MidiOut,
}

impl AudioEngine {
    /// Builds the audio side for a host rate and maximum block size. Not real-time safe:
    /// allocates every buffer `process` uses. Call from `activate()`.
    pub fn new(
        ends: AudioEnds,
        params: SharedParams,
        shared: Arc<SharedStatus>,
        requests: Arc<PanelRequests>,
        sample_rate_hz: f32,
        max_block_frames: usize,
        offline: bool,
    ) -> Self {
        let max_block_frames = max_block_frames.max(1);
        shared.host_rate_hz.store(sample_rate_hz);
        shared.offline.store(offline, Ordering::Relaxed);
        let generate_on = params.generate.value();
        Self {
            ends,
            params,
            shared,
            requests,
            sample_rate_hz,
            host_offline: offline,
            offline,
            freewheel: None,
            fade_frames: ((sample_rate_hz as f64 * FADE_SECONDS) as u32).max(1),
            voices: [Voice::default(); NUM_VOICES],
            next_job_id: 1,
            pending: None,
            // A state saved with Generate on must not start a take by itself on load.
            generate_was_on: generate_on,
            first_block: true,
            wet: vec![0.0; max_block_frames * 2],
            scratch: vec![0.0; max_block_frames * 2],
            capture_scratch: vec![0.0; max_block_frames * 2],
            captured_frames: 0,
            max_block_frames,
            start_offsets: [0; NUM_VOICES],
            piece_start: 0,
            midi_out: MidiOut::with_capacity(MIDI_OUT_CAPACITY),
        }
    }

    /// Also treats a host that renders faster than real time as offline: for plugin formats
    /// whose host's offline flag may not reach the plugin (VST3 through nice-plug).
    pub fn with_freewheel_detection(mut self) -> Self {
        self.freewheel = Some(FreewheelDetector::new(self.sample_rate_hz));
        self
    }

    /// Forgets playing takes and pending jobs. Real-time safe.
    pub fn reset(&mut self) {
        self.pending = None;
        for idx in 0..NUM_VOICES {
            self.midi_out.release_all(&mut self.voices[idx].sounding, 0);
            self.free_voice(idx);
        }
    }

    /// Processes one block in place. `channels` are the host's buffers (1 or 2), all of the
    /// same length; `notes` are the MIDI events of this block. Real-time safe (offline mode
    /// may wait for the worker).
    pub fn process(
        &mut self,
        channels: &mut [&mut [f32]],
        transport: &TransportSnapshot,
        notes: &[MidiEvent],
    ) {
        let num_frames = channels.first().map_or(0, |c| c.len());
        if num_frames == 0 || channels.is_empty() {
            return;
        }
        let freewheeling = self
            .freewheel
            .as_mut()
            .is_some_and(|d| d.observe(Instant::now(), num_frames));
        let offline = self.host_offline || freewheeling || self.params.bounce_mode.value();
        if offline != self.offline {
            self.offline = offline;
            self.shared.offline.store(offline, Ordering::Relaxed);
        }
        self.capture_notes(notes, transport);
        self.handle_controls(transport);
        self.handle_worker_messages();
        // Hosts may exceed the announced maximum; work in pieces that fit the buffers.
        let mut start = 0;
        while start < num_frames {
            let len = (num_frames - start).min(self.max_block_frames);
            self.piece_start = start;
            let piece_transport = transport.advanced(start);
            self.process_piece(channels, start, len, &piece_transport);
            start += len;
        }
        self.midi_out.sort();
        self.publish_buffer_health();
        self.shared
            .num_processed_frames
            .fetch_add(num_frames as u64, Ordering::Relaxed);
    }

    fn handle_controls(&mut self, transport: &TransportSnapshot) {
        let generate = self.params.generate.value();
        let gui_generate = self.requests.take_generate();
        if std::mem::take(&mut self.first_block) {
            self.generate_was_on = generate;
        }
        let rising = generate && !self.generate_was_on;
        self.generate_was_on = generate;
        if rising || gui_generate {
            let job_id = self.next_job_id;
            self.next_job_id = self.next_job_id.wrapping_add(1).max(1);
            let pushed = self
                .ends
                .to_worker
                .try_push(AudioToWorker::Trigger {
                    job_id,
                    settings: self.params.job_settings(),
                    transport: *transport,
                    capture_frame: self.captured_frames,
                })
                .is_ok();
            if pushed {
                self.pending = Some(job_id);
                // A segment armed for an earlier trigger is superseded.
                for idx in 0..NUM_VOICES {
                    if matches!(
                        self.voices[idx].state,
                        VoiceState::Armed {
                            start: SegmentStart::NextGrid(_),
                            ..
                        }
                    ) {
                        self.free_voice(idx);
                    }
                }
            }
        }
        if self.requests.take_stop() {
            self.pending = None;
            let _ = self.ends.to_worker.try_push(AudioToWorker::Stop);
            for idx in 0..NUM_VOICES {
                if self.voices[idx].is_armed() {
                    self.free_voice(idx);
                } else {
                    self.voices[idx].fade_out(self.fade_frames);
                }
            }
        }
    }

    fn handle_worker_messages(&mut self) {
        if self.offline {
            self.wait_for_pending();
        }
        while let Some(message) = self.ends.from_worker.try_pop() {
            match message {
                WorkerToAudio::Ready {
                    job_id,
                    voice_idx,
                    first_frame_pos,
                    num_frames,
                    start,
                } => {
                    let idx = voice_idx as usize % NUM_VOICES;
                    // Whatever the voice held before is over: free its ring space now, so the
                    // worker can feed this segment while it waits for its start.
                    self.ends.playback[idx].discard_before(first_frame_pos);
                    self.voices[idx].state = VoiceState::Armed {
                        job_id,
                        first_frame_pos,
                        num_frames,
                        start,
                    };
                    let superseded =
                        matches!(start, SegmentStart::NextGrid(_)) && self.pending != Some(job_id);
                    if superseded {
                        self.free_voice(idx);
                    }
                }
                WorkerToAudio::EndAt { job_id, num_frames } => {
                    for voice in &mut self.voices {
                        voice.end_at(job_id, num_frames);
                    }
                }
                WorkerToAudio::Failed { job_id } => {
                    if self.pending == Some(job_id) {
                        self.pending = None;
                        self.shared
                            .num_failed_segments
                            .fetch_add(1, Ordering::Relaxed);
                    }
                    for idx in 0..NUM_VOICES {
                        if self.voices[idx].job_id() != Some(job_id) {
                            continue;
                        }
                        if self.voices[idx].is_armed() {
                            self.free_voice(idx);
                        } else {
                            self.voices[idx].fade_out(self.fade_frames);
                        }
                    }
                }
            }
        }
    }

    /// Offline only: a bounce must contain the take, so wait until the pending job is ready (or
    /// failed) before rendering on. Sleeps in 1 ms steps; never used in real-time processing.
    fn wait_for_pending(&mut self) {
        let Some(job_id) = self.pending else {
            return;
        };
        if self
            .voices
            .iter()
            .any(|v| v.is_armed() && v.job_id() == Some(job_id))
        {
            return;
        }
        let started = Instant::now();
        while self.ends.from_worker.is_empty() && started.elapsed() < OFFLINE_WAIT_LIMIT {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    fn process_piece(
        &mut self,
        channels: &mut [&mut [f32]],
        start: usize,
        len: usize,
        transport: &TransportSnapshot,
    ) {
        self.capture_audio(channels, start, len, transport);
        self.start_due_segments(transport, len);
        self.wet[..len * 2].fill(0.0);
        for idx in 0..NUM_VOICES {
            self.render_voice(idx, len);
        }
        // Mix: dry and wet gains from the blend law, then the output gain, both smoothed. While
        // neither control moves (nearly always) the gains are worked out once per piece.
        let steady = !self.params.mix.smoothed.is_smoothing()
            && !self.params.output_gain.smoothed.is_smoothing();
        let gains = |params: &ContinuoParams| {
            // A saved state can carry values outside the ranges (nice-plug stores them as they
            // come): clamp what reaches the audio.
            let mix = finite_or(params.mix.smoothed.next(), 0.5).clamp(0.0, 1.0);
            let gain =
                db_to_gain(finite_or(params.output_gain.smoothed.next(), 0.0).clamp(-60.0, 12.0));
            (
                (2.0 * (1.0 - mix)).min(1.0) * gain,
                (2.0 * mix).min(1.0) * gain,
            )
        };
        let stereo_out = channels.len() >= 2;
        if steady {
            let (dry_gain, wet_gain) = gains(&self.params);
            // A muted dry path contributes nothing, not 0 × NaN: the input is not read.
            let wet = &self.wet[..len * 2];
            if stereo_out {
                let (left, right) = channels.split_at_mut(1);
                let left = &mut left[0][start..start + len];
                let right = &mut right[0][start..start + len];
                if dry_gain == 0.0 {
                    for ((l, r), w) in left
                        .iter_mut()
                        .zip(right.iter_mut())
                        .zip(wet.chunks_exact(2))
                    {
                        *l = w[0] * wet_gain;
                        *r = w[1] * wet_gain;
                    }
                } else {
                    for ((l, r), w) in left
                        .iter_mut()
                        .zip(right.iter_mut())
                        .zip(wet.chunks_exact(2))
                    {
                        *l = *l * dry_gain + w[0] * wet_gain;
                        *r = *r * dry_gain + w[1] * wet_gain;
                    }
                }
            } else {
                let mono = &mut channels[0][start..start + len];
                for (m, w) in mono.iter_mut().zip(wet.chunks_exact(2)) {
                    let d = if dry_gain == 0.0 { 0.0 } else { *m * dry_gain };
                    *m = d + 0.5 * (w[0] + w[1]) * wet_gain;
                }
            }
            return;
        }
        let dry = |s: f32, g: f32| if g == 0.0 { 0.0 } else { s * g };
        for i in 0..len {
            let (dry_gain, wet_gain) = gains(&self.params);
            let (wl, wr) = (self.wet[i * 2], self.wet[i * 2 + 1]);
            if stereo_out {
                let l = &mut channels[0][start + i];
                *l = dry(*l, dry_gain) + wl * wet_gain;
                let r = &mut channels[1][start + i];
                *r = dry(*r, dry_gain) + wr * wet_gain;
            } else {
                let m = &mut channels[0][start + i];
                *m = dry(*m, dry_gain) + 0.5 * (wl + wr) * wet_gain;
            }
        }
    }

    /// Starts every armed segment whose start falls in this piece.
    fn start_due_segments(&mut self, transport: &TransportSnapshot, len: usize) {
        for idx in 0..NUM_VOICES {
            let VoiceState::Armed {
                job_id,
                first_frame_pos,
                num_frames,
                start,
            } = self.voices[idx].state
            else {
                continue;
            };
            let (offset, num_late) = match start {
                SegmentStart::NextGrid(sync) => {
                    if self.pending != Some(job_id) {
                        continue;
                    }
                    match grid::grid_offset(sync, transport, len) {
                        Some(offset) => (offset, 0),
                        None => continue,
                    }
                }
                SegmentStart::AtBeats(beats) => {
                    match grid::offset_to_beats(beats, transport, len) {
                        Some(offset) if offset >= 0 => (offset as usize, 0),
                        Some(late) => (0, late.unsigned_abs()),
                        None => continue,
                    }
                }
            };
            self.voices[idx].state = VoiceState::Playing {
                job_id,
                first_frame_pos,
                pos: num_late.min(num_frames),
                num_frames,
                fade_out_left: None,
            };
            self.start_offsets[idx] = offset as u32;
            // A take still playing past this point fades out from here; one that ends by now
            // (the previous segment of a chain) plays out untouched.
            for other in 0..NUM_VOICES {
                if other != idx && self.voices[other].frames_left() > offset as u64 {
                    self.voices[other].fade_out(self.fade_frames + offset as u32);
                }
            }
            if self.pending == Some(job_id) {
                self.pending = None;
            }
            let _ = self.ends.to_worker.try_push(AudioToWorker::Started {
                job_id,
                voice_idx: idx as u8,
            });
        }
    }

    /// Reads the voice's frames for this piece into `wet`, with fades; handles underruns and
    /// the end of the segment.
    fn render_voice(&mut self, idx: usize, len: usize) {
        let VoiceState::Playing {
            job_id,
            first_frame_pos,
            pos,
            num_frames,
            fade_out_left,
        } = self.voices[idx].state
        else {
            self.start_offsets[idx] = 0;
            return;
        };
        let offset = (self.start_offsets[idx] as usize).min(len);
        self.start_offsets[idx] = 0;
        let mut wanted = ((len - offset) as u64).min(num_frames.saturating_sub(pos));
        if let Some(left) = fade_out_left {
            // `left` counts from the piece's start.
            wanted = wanted.min(left.saturating_sub(offset as u32) as u64);
        }
        let wanted = wanted as usize;
        let ring_pos = first_frame_pos + pos;
        if self.offline {
            self.wait_for_frames(idx, ring_pos, wanted);
        }
        let got = self.ends.playback[idx].read_at(ring_pos, &mut self.scratch[..wanted * 2]);
        if got < wanted {
            self.shared.num_underruns.fetch_add(1, Ordering::Relaxed);
        }
        let fade = self.fade_frames as u64;
        for i in 0..got {
            let take_pos = pos + i as u64;
            let mut gain = 1.0f32;
            if take_pos < fade {
                gain = (take_pos + 1) as f32 / fade as f32;
            }
            if num_frames != u64::MAX && num_frames - take_pos <= fade {
                gain = gain.min((num_frames - take_pos) as f32 / fade as f32);
            }
            if let Some(left) = fade_out_left {
                // The stop fade counts from the piece's start.
                let frames_in = (offset + i) as f32;
                gain *= (left as f32 - frames_in).clamp(0.0, self.fade_frames as f32)
                    / self.fade_frames as f32;
            }
            let o = (offset + i) * 2;
            self.wet[o] += self.scratch[i * 2] * gain;
            self.wet[o + 1] += self.scratch[i * 2 + 1] * gain;
        }
        let timing = self.piece_start + offset;
        let playback = &mut self.ends.playback[idx];
        self.midi_out.emit_take(
            playback,
            &mut self.voices[idx].sounding,
            job_id,
            pos,
            wanted as u64,
            timing,
        );
        let pos = pos + wanted as u64;
        let fade_out_left = fade_out_left.map(|left| left.saturating_sub((offset + wanted) as u32));
        let finished = pos >= num_frames || fade_out_left == Some(0);
        self.voices[idx].state = VoiceState::Playing {
            job_id,
            first_frame_pos,
            pos,
            num_frames,
            fade_out_left,
        };
        if finished {
            let end = (self.piece_start + offset + wanted).saturating_sub(1);
            self.midi_out
                .release_all(&mut self.voices[idx].sounding, end as u32);
            self.free_voice(idx);
        }
    }

    /// Note events for the host from the last block(s), sorted by frame. Real-time safe.
    pub fn midi_out(&self) -> &[MidiEvent] {
        self.midi_out.events()
    }

    /// Forgets the sent note events. Real-time safe (keeps the capacity).
    pub fn clear_midi_out(&mut self) {
        self.midi_out.clear();
    }

    /// Offline only: waits until the voice ring holds `num_frames` frames from `ring_pos`.
    fn wait_for_frames(&mut self, idx: usize, ring_pos: u64, num_frames: usize) {
        let started = Instant::now();
        while self.ends.playback[idx].available_from(ring_pos) < num_frames
            && started.elapsed() < OFFLINE_WAIT_LIMIT
        {
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Ends a voice's segment: drops what is in its ring and tells the worker the voice is free.
    fn free_voice(&mut self, idx: usize) {
        let Some(job_id) = self.voices[idx].job_id() else {
            return;
        };
        self.ends.playback[idx].discard_all();
        self.voices[idx].state = VoiceState::Free;
        let _ = self.ends.to_worker.try_push(AudioToWorker::VoiceFree {
            voice_idx: idx as u8,
            job_id,
        });
    }

    fn capture_audio(
        &mut self,
        channels: &[&mut [f32]],
        start: usize,
        len: usize,
        transport: &TransportSnapshot,
    ) {
        let scratch = &mut self.capture_scratch[..len * 2];
        if channels.len() >= 2 {
            for i in 0..len {
                scratch[i * 2] = channels[0][start + i];
                scratch[i * 2 + 1] = channels[1][start + i];
            }
        } else {
            for i in 0..len {
                let s = channels[0][start + i];
                scratch[i * 2] = s;
                scratch[i * 2 + 1] = s;
            }
        }
        // Nearly always clean: one branch-free pass to check, a second only to repair.
        let num_bad = scratch
            .iter()
            .fold(0u32, |n, s| n + u32::from(!s.is_finite()));
        if num_bad > 0 {
            let mut num_nonfinite = 0u64;
            for s in scratch.iter_mut().filter(|s| !s.is_finite()) {
                *s = 0.0;
                num_nonfinite += 1;
            }
            self.shared
                .num_nonfinite_input_samples
                .fetch_add(num_nonfinite, Ordering::Relaxed);
        }
        if self.offline {
            // A bounce must not lose context: wait for the worker to drain.
            let started = Instant::now();
            while !self.ends.capture.has_room_for(len) && started.elapsed() < OFFLINE_WAIT_LIMIT {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        let pushed = self.ends.capture.push_piece(scratch, transport);
        if pushed < len {
            self.shared
                .num_capture_dropped_frames
                .fetch_add((len - pushed) as u64, Ordering::Relaxed);
        }
        self.captured_frames += len as u64;
    }

    fn capture_notes(&mut self, notes: &[MidiEvent], transport: &TransportSnapshot) {
        for note in notes {
            let pos_beats = transport
                .pos_beats
                .map(|b| b + note.frame as f64 / transport.frames_per_beat());
            let _ = self.ends.capture.push_note(CapturedNote {
                pos_beats,
                frame_idx: self.captured_frames + note.frame as u64,
                pitch: note.pitch,
                velocity: note.velocity,
                is_on: note.is_on,
                channel: note.channel,
            });
        }
    }

    fn publish_buffer_health(&self) {
        let mut buffered = 0;
        for (idx, voice) in self.voices.iter().enumerate() {
            if voice.job_id().is_some() {
                buffered = buffered.max(self.ends.playback[idx].occupied_frames() as u64);
            }
        }
        self.shared
            .num_buffered_frames
            .store(buffered, Ordering::Relaxed);
    }

    /// The host rate this engine was built for, in Hz.
    pub fn sample_rate_hz(&self) -> f32 {
        self.sample_rate_hz
    }
}

/// `v`, or `default` when `v` is NaN or infinite. Real-time safe.
fn finite_or(v: f32, default: f32) -> f32 {
    if v.is_finite() {
        v
    } else {
        default
    }
}

/// Decibels to linear gain. Real-time safe.
pub fn db_to_gain(db: f32) -> f32 {
    if db <= -60.0 {
        0.0
    } else {
        10f32.powf(db / 20.0)
    }
}

#[cfg(test)]
mod tests;
