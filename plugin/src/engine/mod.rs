//! The engine: the worker thread and the lock-free rings that connect it to the audio thread.

pub mod history;
pub mod messages;
pub mod resample;
pub mod status;
pub mod streaming;
pub mod worker;

use crate::audio::grid::TransportSnapshot;
use crate::params::SharedParams;
use crossbeam_channel::{Receiver, Sender};
use messages::{AudioToWorker, TakeMidiEvent, WorkerCommand, WorkerToAudio, NUM_VOICES};
use ringbuf::traits::Split;
use ringbuf::{HeapCons, HeapProd, HeapRb};
use status::SharedStatus;
use std::sync::Arc;
use std::thread::JoinHandle;

/// Seconds of take audio each voice ring holds. The worker keeps the whole take itself and feeds
/// the ring ahead of playback; 8 s covers the longest stall of a busy worker we have seen (a model
/// load) with room to spare, at 6 MB per voice at 192 kHz.
pub const PLAYBACK_RING_SECONDS: f64 = 8.0;

/// Seconds of input audio the capture ring holds between two worker drains. The worker drains
/// every few milliseconds; model loads can stall it for a second or two.
pub const CAPTURE_RING_SECONDS: f64 = 4.0;

/// Block headers the capture ring holds: one per host block, so this covers 4 s of 32-frame
/// blocks at 192 kHz (hosts seldom go smaller than 32 frames).
pub const CAPTURE_BLOCKS_CAPACITY: usize = 24_576;

/// MIDI events captured between two worker drains; a dense performance sends a few hundred a
/// second.
pub const CAPTURE_NOTES_CAPACITY: usize = 4096;

/// Messages in flight either way; a handful per second in practice.
pub const MESSAGE_CAPACITY: usize = 256;

/// Take MIDI events queued per voice: 8 bars of a busy part is a few hundred notes; looping
/// takes are fed an iteration at a time.
pub const TAKE_MIDI_CAPACITY: usize = 4096;

/// Commands queued from the GUI; a click at a time.
pub const COMMAND_CAPACITY: usize = 64;

/// Header of one captured host block: how many frames and where the transport was.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CaptureBlock {
    pub num_frames: u32,
    pub transport: TransportSnapshot,
}

/// A MIDI note event the track sent, with its musical position.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CapturedNote {
    /// Musical position in beats, when the host gives one.
    pub pos_beats: Option<f64>,
    /// Captured frame index (counting every input frame since activation).
    pub frame_idx: u64,
    pub pitch: u8,
    pub velocity: u8,
    pub is_on: bool,
}

/// The audio thread's ends of every ring. Owned by the audio side; real-time safe to use.
pub struct AudioEnds {
    pub to_worker: HeapProd<AudioToWorker>,
    pub from_worker: HeapCons<WorkerToAudio>,
    /// Interleaved stereo take audio, one ring per voice.
    pub voices: [HeapCons<f32>; NUM_VOICES],
    /// The takes' note events, one ring per voice.
    pub voice_midi: [HeapCons<TakeMidiEvent>; NUM_VOICES],
    /// Interleaved stereo input audio.
    pub capture_audio: HeapProd<f32>,
    pub capture_blocks: HeapProd<CaptureBlock>,
    pub capture_notes: HeapProd<CapturedNote>,
}

/// The worker's ends of every ring.
pub struct WorkerEnds {
    pub from_audio: HeapCons<AudioToWorker>,
    pub to_audio: HeapProd<WorkerToAudio>,
    pub voices: [HeapProd<f32>; NUM_VOICES],
    pub voice_midi: [HeapProd<TakeMidiEvent>; NUM_VOICES],
    pub capture_audio: HeapCons<f32>,
    pub capture_blocks: HeapCons<CaptureBlock>,
    pub capture_notes: HeapCons<CapturedNote>,
    /// The host rate these rings were sized for, in Hz.
    pub host_rate_hz: f32,
}

/// Makes every ring between the audio thread and the worker, sized for `host_rate_hz`.
/// Not real-time safe: allocates. Call from `activate()`.
pub fn audio_worker_channel(host_rate_hz: f32) -> (AudioEnds, WorkerEnds) {
    let rate = host_rate_hz.max(1.0) as f64;
    let voice_capacity = (rate * PLAYBACK_RING_SECONDS) as usize * 2;
    let capture_capacity = (rate * CAPTURE_RING_SECONDS) as usize * 2;
    let (to_worker, from_audio) = HeapRb::<AudioToWorker>::new(MESSAGE_CAPACITY).split();
    let (to_audio, from_worker) = HeapRb::<WorkerToAudio>::new(MESSAGE_CAPACITY).split();
    let (v0_prod, v0_cons) = HeapRb::<f32>::new(voice_capacity).split();
    let (v1_prod, v1_cons) = HeapRb::<f32>::new(voice_capacity).split();
    let (m0_prod, m0_cons) = HeapRb::<TakeMidiEvent>::new(TAKE_MIDI_CAPACITY).split();
    let (m1_prod, m1_cons) = HeapRb::<TakeMidiEvent>::new(TAKE_MIDI_CAPACITY).split();
    let (capture_prod, capture_cons) = HeapRb::<f32>::new(capture_capacity).split();
    let (blocks_prod, blocks_cons) = HeapRb::<CaptureBlock>::new(CAPTURE_BLOCKS_CAPACITY).split();
    let (notes_prod, notes_cons) = HeapRb::<CapturedNote>::new(CAPTURE_NOTES_CAPACITY).split();
    (
        AudioEnds {
            to_worker,
            from_worker,
            voices: [v0_cons, v1_cons],
            voice_midi: [m0_cons, m1_cons],
            capture_audio: capture_prod,
            capture_blocks: blocks_prod,
            capture_notes: notes_prod,
        },
        WorkerEnds {
            from_audio,
            to_audio,
            voices: [v0_prod, v1_prod],
            voice_midi: [m0_prod, m1_prod],
            capture_audio: capture_cons,
            capture_blocks: blocks_cons,
            capture_notes: notes_cons,
            host_rate_hz,
        },
    )
}

/// Handle to the worker thread, owned by the plugin. Dropping it stops and joins the thread.
pub struct Engine {
    commands: Sender<WorkerCommand>,
    thread: Option<JoinHandle<()>>,
    pub shared: Arc<SharedStatus>,
}

impl Engine {
    /// Starts the worker thread ("continuo-engine") with a new command queue. Not real-time
    /// safe.
    pub fn spawn(params: SharedParams, shared: Arc<SharedStatus>) -> std::io::Result<Self> {
        let (commands, command_rx) = crossbeam_channel::bounded(COMMAND_CAPACITY);
        Self::spawn_with(params, shared, commands, command_rx)
    }

    /// Starts the worker thread on an existing command queue (made before the thread, so a panel
    /// can hold a sender early). Not real-time safe.
    pub fn spawn_with(
        params: SharedParams,
        shared: Arc<SharedStatus>,
        commands: Sender<WorkerCommand>,
        command_rx: Receiver<WorkerCommand>,
    ) -> std::io::Result<Self> {
        let worker_shared = shared.clone();
        let thread = std::thread::Builder::new()
            .name("continuo-engine".into())
            .spawn(move || worker::Worker::new(params, worker_shared, command_rx).run())?;
        Ok(Self {
            commands,
            thread: Some(thread),
            shared,
        })
    }

    /// Sends a command without waiting; returns false when the queue is full or the worker is
    /// gone. Not real-time safe.
    pub fn send(&self, command: WorkerCommand) -> bool {
        self.commands.try_send(command).is_ok()
    }

    /// A sender the GUI can keep.
    pub fn command_sender(&self) -> Sender<WorkerCommand> {
        self.commands.clone()
    }
}

impl Drop for Engine {
    fn drop(&mut self) {
        // A full queue still gets the message through: this call may wait for the worker to
        // take one command, which it does within a tick.
        let _ = self.commands.send(WorkerCommand::Shutdown);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
