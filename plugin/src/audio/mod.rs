//! What runs on the host's audio thread: triggers, capture, playback of takes on the grid, and
//! the mix. Everything here is real-time safe: no allocation, no lock, no blocking, no logging,
//! except the documented waits in offline rendering.

pub mod grid;

use crate::engine::messages::{AudioToWorker, JobId, WorkerToAudio, NUM_VOICES};
use crate::engine::status::SharedStatus;
use crate::engine::{AudioEnds, CaptureBlock, CapturedNote};
use crate::params::{ContinuoParams, SharedParams, SyncMode};
use grid::{grid_offset, TransportSnapshot};
use ringbuf::traits::{Consumer, Observer, Producer};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Length of the fades at a take's start and end, and of a stop, in seconds: 30 ms is short
/// enough to keep a downbeat's attack and long enough not to click.
pub const FADE_SECONDS: f64 = 0.03;

/// The longest an offline render waits for the worker before giving up on a take and carrying
/// on with silence (counted as an underrun). Generous: a full-size model renders slowly.
pub const OFFLINE_WAIT_LIMIT: Duration = Duration::from_secs(600);

/// How a voice stands, as the audio thread sees it.
#[derive(Debug, Clone, Copy, PartialEq)]
enum VoiceState {
    Free,
    /// Buffered and waiting for its grid point.
    Armed {
        job_id: JobId,
        num_frames: u64,
    },
    Playing {
        job_id: JobId,
        /// Frames of the take played (or owed) so far.
        pos: u64,
        num_frames: u64,
        /// Frames of the take skipped by an underrun that must be dropped when they arrive, so
        /// the take stays on the grid.
        num_owed: u64,
        /// Frames left of a stop fade, if stopping.
        fade_out_left: Option<u32>,
    },
}

/// One playback voice: its ring and state.
struct Voice {
    state: VoiceState,
    /// Pitches this voice's take has turned on and not yet off (MIDI out).
    sounding: [bool; 128],
    /// Frames of the previous job still in the ring, to skip before this job's first frame.
    num_stale: u64,
    /// Frames of the current job taken out of the ring (played or dropped).
    num_consumed: u64,
}

/// The audio-thread engine. `lib.rs` owns one and calls [`AudioEngine::process`] per block.
pub struct AudioEngine {
    ends: AudioEnds,
    params: SharedParams,
    shared: Arc<SharedStatus>,
    sample_rate_hz: f32,
    /// The host said it renders offline (activation); fixed until the next activation.
    host_offline: bool,
    /// Offline for this block: the host said so, or the user switched Bounce Mode on.
    offline: bool,
    fade_frames: u32,
    voices: [Voice; NUM_VOICES],
    next_job_id: JobId,
    /// The job the user asked for most recently, until it starts or fails.
    pending: Option<(JobId, SyncMode)>,
    generate_was_on: bool,
    /// Sum of the voices, interleaved stereo; sized in `new` for the largest block.
    wet: Vec<f32>,
    /// One voice's frames from its ring.
    scratch: Vec<f32>,
    /// Input frames, interleaved stereo, for capture.
    capture_scratch: Vec<f32>,
    captured_frames: u64,
    max_block_frames: usize,
    /// Per voice: frames into the current piece where a take starting in it begins.
    start_offsets: [u32; NUM_VOICES],
    /// Frames from the block's start to the piece being processed.
    piece_start: usize,
    /// Note events for the host, (frame in block, pitch, velocity, is_on), sorted by frame;
    /// `lib.rs` sends and clears them after each block. Capacity fixed at creation.
    midi_out: Vec<(u32, u8, u8, bool)>,
}

/// Note events sent to the host per block at most: a dense take has a few per block.
pub const MIDI_OUT_CAPACITY: usize = 1024;

impl AudioEngine {
    /// Builds the audio side for a host rate and maximum block size. Not real-time safe:
    /// allocates every buffer `process` uses. Call from `activate()`.
    pub fn new(
        ends: AudioEnds,
        params: SharedParams,
        shared: Arc<SharedStatus>,
        sample_rate_hz: f32,
        max_block_frames: usize,
        offline: bool,
    ) -> Self {
        let max_block_frames = max_block_frames.max(1);
        shared.host_rate_hz.store(sample_rate_hz);
        shared.offline.store(offline, Ordering::Relaxed);
        let free = || Voice {
            state: VoiceState::Free,
            sounding: [false; 128],
            num_stale: 0,
            num_consumed: 0,
        };
        let generate_on = params.generate.value();
        Self {
            ends,
            params,
            shared,
            sample_rate_hz,
            host_offline: offline,
            offline,
            fade_frames: ((sample_rate_hz as f64 * FADE_SECONDS) as u32).max(1),
            voices: [free(), free()],
            next_job_id: 1,
            pending: None,
            // A state saved with Generate on must not start a take by itself on load.
            generate_was_on: generate_on,
            wet: vec![0.0; max_block_frames * 2],
            scratch: vec![0.0; max_block_frames * 2],
            capture_scratch: vec![0.0; max_block_frames * 2],
            captured_frames: 0,
            max_block_frames,
            start_offsets: [0; NUM_VOICES],
            piece_start: 0,
            midi_out: Vec::with_capacity(MIDI_OUT_CAPACITY),
        }
    }

    /// Forgets playing takes and pending jobs. Real-time safe.
    pub fn reset(&mut self) {
        self.pending = None;
        for idx in 0..NUM_VOICES {
            self.release_notes(idx, 0);
            if self.voices[idx].state != VoiceState::Free {
                self.free_voice(idx);
            }
        }
    }

    /// Processes one block in place. `channels` are the host's buffers (1 or 2), all of the
    /// same length; `notes` are the MIDI events of this block as (frame offset, pitch, velocity,
    /// is_on). Real-time safe (offline mode may wait for the worker).
    pub fn process(
        &mut self,
        channels: &mut [&mut [f32]],
        transport: &TransportSnapshot,
        notes: &[(u32, u8, u8, bool)],
    ) {
        let num_frames = channels.first().map_or(0, |c| c.len());
        if num_frames == 0 || channels.is_empty() {
            return;
        }
        let offline = self.host_offline || self.params.bounce_mode.value();
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
            let piece_transport = advance(transport, start);
            self.process_piece(channels, start, len, &piece_transport);
            start += len;
        }
        sort_by_frame(&mut self.midi_out);
        self.publish_buffer_health();
        self.shared
            .num_processed_frames
            .fetch_add(num_frames as u64, Ordering::Relaxed);
    }

    fn handle_controls(&mut self, transport: &TransportSnapshot) {
        let generate = self.params.generate.value();
        let gui_generate = self
            .shared
            .generate_requested
            .swap(false, Ordering::Relaxed);
        let rising = generate && !self.generate_was_on;
        self.generate_was_on = generate;
        if rising || gui_generate {
            let job_id = self.next_job_id;
            self.next_job_id = self.next_job_id.wrapping_add(1).max(1);
            let settings = self.params.job_settings();
            let pushed = self
                .ends
                .to_worker
                .try_push(AudioToWorker::Trigger {
                    job_id,
                    settings,
                    transport: *transport,
                    capture_frame: self.captured_frames,
                })
                .is_ok();
            if pushed {
                self.pending = Some((job_id, settings.sync));
                // A take armed for an earlier trigger is superseded.
                for idx in 0..NUM_VOICES {
                    if matches!(self.voices[idx].state, VoiceState::Armed { .. }) {
                        self.free_voice(idx);
                    }
                }
            }
        }
        if self.shared.stop_requested.swap(false, Ordering::Relaxed) {
            self.pending = None;
            let _ = self.ends.to_worker.try_push(AudioToWorker::Stop);
            for idx in 0..NUM_VOICES {
                match self.voices[idx].state {
                    VoiceState::Armed { .. } => self.free_voice(idx),
                    VoiceState::Playing {
                        ref mut fade_out_left,
                        ..
                    } if fade_out_left.is_none() => {
                        *fade_out_left = Some(self.fade_frames);
                    }
                    _ => {}
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
                    num_stale_frames,
                    num_frames,
                } => {
                    let idx = voice_idx as usize % NUM_VOICES;
                    let voice = &mut self.voices[idx];
                    voice.num_stale += num_stale_frames;
                    voice.num_consumed = 0;
                    voice.state = VoiceState::Armed { job_id, num_frames };
                    if self.pending.map(|(id, _)| id) != Some(job_id) {
                        // Superseded before it was ready.
                        self.free_voice(idx);
                    }
                }
                WorkerToAudio::EndAt { job_id, num_frames } => {
                    for voice in &mut self.voices {
                        match &mut voice.state {
                            VoiceState::Playing {
                                job_id: id,
                                num_frames: n,
                                ..
                            }
                            | VoiceState::Armed {
                                job_id: id,
                                num_frames: n,
                            } if *id == job_id => *n = num_frames,
                            _ => {}
                        }
                    }
                }
                WorkerToAudio::Failed { job_id } => {
                    if self.pending.map(|(id, _)| id) == Some(job_id) {
                        self.pending = None;
                    }
                    for idx in 0..NUM_VOICES {
                        if matches!(self.voices[idx].state, VoiceState::Armed { job_id: id, .. } if id == job_id)
                        {
                            self.free_voice(idx);
                        }
                    }
                }
            }
        }
    }

    /// Offline only: a bounce must contain the take, so wait until the pending job is ready (or
    /// failed) before rendering on. Sleeps in 1 ms steps; never used in real-time processing.
    fn wait_for_pending(&mut self) {
        let Some((job_id, _)) = self.pending else {
            return;
        };
        let armed = |voices: &[Voice; NUM_VOICES]| {
            voices
                .iter()
                .any(|v| matches!(v.state, VoiceState::Armed { job_id: id, .. } if id == job_id))
        };
        if armed(&self.voices) {
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
        self.start_pending_take(transport, len);
        let wet = &mut self.wet[..len * 2];
        wet.fill(0.0);
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
        let mut dry_wet = gains(&self.params);
        let stereo_out = channels.len() >= 2;
        for i in 0..len {
            if !steady && i > 0 {
                dry_wet = gains(&self.params);
            }
            let (dry_gain, wet_gain) = dry_wet;
            let (wl, wr) = (self.wet[i * 2], self.wet[i * 2 + 1]);
            if stereo_out {
                let l = &mut channels[0][start + i];
                *l = *l * dry_gain + wl * wet_gain;
                let r = &mut channels[1][start + i];
                *r = *r * dry_gain + wr * wet_gain;
            } else {
                let m = &mut channels[0][start + i];
                *m = *m * dry_gain + 0.5 * (wl + wr) * wet_gain;
            }
        }
    }

    fn start_pending_take(&mut self, transport: &TransportSnapshot, len: usize) {
        let Some((job_id, sync)) = self.pending else {
            return;
        };
        let Some(idx) = self
            .voices
            .iter()
            .position(|v| matches!(v.state, VoiceState::Armed { job_id: id, .. } if id == job_id))
        else {
            return;
        };
        let Some(offset) = grid_offset(sync, transport, len) else {
            return;
        };
        let VoiceState::Armed { num_frames, .. } = self.voices[idx].state else {
            return;
        };
        // The take starts `offset` frames into this piece: count those frames as not yet
        // reached by starting its position "before" zero.
        self.voices[idx].state = VoiceState::Playing {
            job_id,
            pos: 0,
            num_frames,
            num_owed: 0,
            fade_out_left: None,
        };
        self.start_offsets[idx] = offset as u32;
        // The take it replaces fades out from the same point.
        for other in 0..NUM_VOICES {
            if other != idx {
                if let VoiceState::Playing {
                    ref mut fade_out_left,
                    ..
                } = self.voices[other].state
                {
                    if fade_out_left.is_none() {
                        *fade_out_left = Some(self.fade_frames);
                    }
                }
            }
        }
        self.pending = None;
        let _ = self.ends.to_worker.try_push(AudioToWorker::Started {
            job_id,
            voice_idx: idx as u8,
        });
    }

    /// Reads the voice's frames for this piece into `wet`, with fades; handles underruns and
    /// the end of the take.
    fn render_voice(&mut self, idx: usize, len: usize) {
        let VoiceState::Playing {
            job_id,
            mut pos,
            num_frames,
            mut num_owed,
            mut fade_out_left,
        } = self.voices[idx].state
        else {
            self.start_offsets[idx] = 0;
            return;
        };
        let offset = (self.start_offsets[idx] as usize).min(len);
        self.start_offsets[idx] = 0;
        // Stale frames of the previous job and frames owed from an underrun go first.
        self.drop_stale(idx);
        let mut wanted = (len - offset) as u64;
        wanted = wanted.min(num_frames.saturating_sub(pos));
        if let Some(left) = fade_out_left {
            wanted = wanted.min(left as u64);
        }
        let wanted = wanted as usize;
        if self.offline {
            self.wait_for_frames(idx, wanted + num_owed as usize);
        }
        // Drop owed frames that have arrived.
        let ring = &mut self.ends.voices[idx];
        let drop_now = (num_owed as usize).min(ring.occupied_len() / 2);
        ring.skip(drop_now * 2);
        num_owed -= drop_now as u64;
        self.voices[idx].num_consumed += drop_now as u64;
        let got = if num_owed > 0 {
            0
        } else {
            ring.pop_slice(&mut self.scratch[..wanted * 2]) / 2
        };
        self.voices[idx].num_consumed += got as u64;
        if got < wanted {
            num_owed += (wanted - got) as u64;
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
                gain *= (left as f32 - i as f32).max(0.0) / self.fade_frames as f32;
            }
            let o = (offset + i) * 2;
            self.wet[o] += self.scratch[i * 2] * gain;
            self.wet[o + 1] += self.scratch[i * 2 + 1] * gain;
        }
        self.emit_take_midi(idx, job_id, pos, wanted as u64, offset);
        pos += wanted as u64;
        if let Some(left) = fade_out_left.as_mut() {
            *left = left.saturating_sub(wanted as u32);
        }
        let finished = pos >= num_frames || fade_out_left == Some(0);
        self.voices[idx].state = VoiceState::Playing {
            job_id,
            pos,
            num_frames,
            num_owed,
            fade_out_left,
        };
        if finished {
            let end = (self.piece_start + offset + wanted).saturating_sub(1);
            self.release_notes(idx, end as u32);
            self.free_voice(idx);
        }
    }

    /// Sends the take's note events that fall in `[pos, pos + num_frames)` of the take, placed
    /// `offset` frames into the current piece. Events of other (earlier) takes are dropped.
    fn emit_take_midi(
        &mut self,
        idx: usize,
        job_id: JobId,
        pos: u64,
        num_frames: u64,
        offset: usize,
    ) {
        while let Some(event) = self.ends.voice_midi[idx].first().copied() {
            if event.job_id != job_id {
                self.ends.voice_midi[idx].skip(1);
                continue;
            }
            if event.frame >= pos + num_frames {
                break;
            }
            self.ends.voice_midi[idx].skip(1);
            let timing = (self.piece_start + offset) as u64 + event.frame.saturating_sub(pos);
            let pitch = event.pitch.min(127);
            let sounding = &mut self.voices[idx].sounding[pitch as usize];
            if event.is_on {
                if event.frame < pos {
                    continue; // late after an underrun: skipped, as its audio was
                }
                if *sounding {
                    push_midi(&mut self.midi_out, (timing as u32, pitch, 0, false));
                }
                *sounding = true;
                push_midi(
                    &mut self.midi_out,
                    (timing as u32, pitch, event.velocity, true),
                );
            } else if *sounding {
                *sounding = false;
                push_midi(&mut self.midi_out, (timing as u32, pitch, 0, false));
            }
        }
    }

    /// Turns off every note the voice has on, at `timing` in the block.
    fn release_notes(&mut self, idx: usize, timing: u32) {
        for pitch in 0..128u8 {
            if std::mem::take(&mut self.voices[idx].sounding[pitch as usize]) {
                push_midi(&mut self.midi_out, (timing, pitch, 0, false));
            }
        }
    }

    /// Note events for the host from the last block(s), sorted by frame. Real-time safe.
    pub fn midi_out(&self) -> &[(u32, u8, u8, bool)] {
        &self.midi_out
    }

    /// Forgets the sent note events. Real-time safe (keeps the capacity).
    pub fn clear_midi_out(&mut self) {
        self.midi_out.clear();
    }

    /// Skips the previous job's frames left in a voice ring. Real-time safe.
    fn drop_stale(&mut self, idx: usize) {
        let voice = &mut self.voices[idx];
        if voice.num_stale == 0 {
            return;
        }
        let ring = &mut self.ends.voices[idx];
        let n = (voice.num_stale as usize).min(ring.occupied_len() / 2);
        ring.skip(n * 2);
        voice.num_stale -= n as u64;
    }

    /// Offline only: waits until the voice ring holds `num_frames` frames past the stale ones.
    fn wait_for_frames(&mut self, idx: usize, num_frames: usize) {
        let started = Instant::now();
        loop {
            self.drop_stale(idx);
            let ready = self.voices[idx].num_stale == 0
                && self.ends.voices[idx].occupied_len() / 2 >= num_frames;
            if ready || started.elapsed() >= OFFLINE_WAIT_LIMIT {
                return;
            }
            std::thread::sleep(Duration::from_millis(1));
        }
    }

    /// Ends a voice's job: drops what is in its ring and tells the worker how much was consumed.
    fn free_voice(&mut self, idx: usize) {
        let job_id = match self.voices[idx].state {
            VoiceState::Free => return,
            VoiceState::Armed { job_id, .. } | VoiceState::Playing { job_id, .. } => job_id,
        };
        self.drop_stale(idx);
        let voice = &mut self.voices[idx];
        if voice.num_stale == 0 {
            let ring = &mut self.ends.voices[idx];
            let n = ring.occupied_len() / 2;
            ring.skip(n * 2);
            voice.num_consumed += n as u64;
        }
        let consumed = voice.num_consumed;
        voice.num_consumed = 0;
        voice.state = VoiceState::Free;
        let _ = self.ends.to_worker.try_push(AudioToWorker::VoiceFree {
            voice_idx: idx as u8,
            job_id,
            num_frames_consumed: consumed,
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
        let pushed = self.ends.capture_audio.push_slice(scratch) / 2;
        if pushed < len {
            self.shared
                .num_capture_dropped_frames
                .fetch_add((len - pushed) as u64, Ordering::Relaxed);
        }
        let _ = self.ends.capture_blocks.try_push(CaptureBlock {
            num_frames: len as u32,
            transport: *transport,
        });
        self.captured_frames += len as u64;
    }

    fn capture_notes(&mut self, notes: &[(u32, u8, u8, bool)], transport: &TransportSnapshot) {
        for &(offset, pitch, velocity, is_on) in notes {
            let pos_beats = transport
                .pos_beats
                .map(|b| b + offset as f64 / transport.frames_per_beat());
            let _ = self.ends.capture_notes.try_push(CapturedNote {
                pos_beats,
                frame_idx: self.captured_frames + offset as u64,
                pitch,
                velocity,
                is_on,
            });
        }
    }

    fn publish_buffer_health(&self) {
        let mut buffered = 0;
        for (idx, voice) in self.voices.iter().enumerate() {
            if matches!(
                voice.state,
                VoiceState::Playing { .. } | VoiceState::Armed { .. }
            ) {
                buffered = buffered.max(self.ends.voices[idx].occupied_len() as u64 / 2);
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

/// Adds an event if there is room (never grows the buffer). Real-time safe.
fn push_midi(out: &mut Vec<(u32, u8, u8, bool)>, event: (u32, u8, u8, bool)) {
    if out.len() < out.capacity() {
        out.push(event);
    }
}

/// Stable insertion sort by frame (events arrive almost sorted; no allocation). Real-time safe.
fn sort_by_frame(events: &mut [(u32, u8, u8, bool)]) {
    for i in 1..events.len() {
        let mut j = i;
        while j > 0 && events[j - 1].0 > events[j].0 {
            events.swap(j - 1, j);
            j -= 1;
        }
    }
}

/// The transport `offset` frames into a block (same tempo). Real-time safe.
fn advance(transport: &TransportSnapshot, offset: usize) -> TransportSnapshot {
    if offset == 0 {
        return *transport;
    }
    let mut t = *transport;
    if t.playing {
        let beats = offset as f64 / t.frames_per_beat();
        t.pos_beats = t.pos_beats.map(|b| b + beats);
        t.pos_samples = t.pos_samples.map(|s| s + offset as i64);
    }
    t
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
