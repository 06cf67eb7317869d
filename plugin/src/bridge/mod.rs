//! The thread boundary: every ring and channel between the host's audio thread, the worker
//! thread ("continuo-engine") and the panel, made together and named by direction, with the
//! messages that cross it and the status the panel reads. `audio/` and `engine/` both import
//! this module and never each other (ARCHITECTURE.md draws the layers).

pub mod capture;
pub mod messages;
pub mod playback;
pub mod status;

pub use capture::{
    capture_channel, CaptureBlock, CaptureCapacity, CaptureConsumer, CaptureProducer, CapturedNote,
};
pub use messages::{
    AudioToWorker, JobId, SegmentStart, TakeMidiEvent, WorkerCommand, WorkerEvent, WorkerToAudio,
    NUM_VOICES,
};
pub use playback::{playback_channel, PlaybackConsumer, PlaybackProducer};
pub use status::{PanelRequests, SharedStatus};

use ringbuf::traits::Split;
use ringbuf::{HeapCons, HeapProd, HeapRb};

/// Seconds of take audio each voice ring holds. The worker keeps the whole take itself and feeds
/// the ring ahead of playback every tick (a tick steps the model for at most 15 ms), so 2 s
/// covers a stall a hundred times longer than a tick, at 1.5 MB per voice at 96 kHz: rings are
/// per instance, and eight instances each holding 8 s would cost 100 MB at 96 kHz.
pub const PLAYBACK_RING_SECONDS: f64 = 2.0;

/// Host blocks each voice ring holds at least: an offline render waits for a whole block.
pub const PLAYBACK_MIN_BLOCKS: usize = 4;

/// Seconds of input audio the capture ring holds between two worker drains when playing live.
/// The worker drains every tick and never loads a model on its own thread, so 2 s is ample;
/// offline, the audio side waits for room instead of dropping (see `audio/`).
pub const CAPTURE_RING_SECONDS: f64 = 2.0;

/// Host blocks the capture ring holds at least, whatever the rate: a host with huge blocks still
/// gets several blocks of slack.
pub const CAPTURE_MIN_BLOCKS: usize = 8;

/// Smallest piece a host block is captured in that the header ring is sized for, in frames;
/// hosts seldom go below 32 frames, and a smaller block only costs its header if the ring is
/// full (the audio is kept either way).
pub const CAPTURE_MIN_PIECE_FRAMES: usize = 32;

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

/// Events queued for the panel or the command line; the oldest are dropped when nobody reads.
pub const EVENT_CAPACITY: usize = 256;

/// The audio thread's ends of the boundary. Owned by the audio side; real-time safe to use.
pub struct AudioEnds {
    pub to_worker: HeapProd<AudioToWorker>,
    pub from_worker: HeapCons<WorkerToAudio>,
    pub capture: CaptureProducer,
    pub playback: [PlaybackConsumer; NUM_VOICES],
}

/// The worker's ends of the boundary.
pub struct WorkerEnds {
    pub from_audio: HeapCons<AudioToWorker>,
    pub to_audio: HeapProd<WorkerToAudio>,
    pub capture: CaptureConsumer,
    pub playback: [PlaybackProducer; NUM_VOICES],
    /// The host rate these rings were sized for, in Hz.
    pub host_rate_hz: f32,
}

/// The capture ring sizes for a host rate and largest block.
pub fn capture_capacity(host_rate_hz: f32, max_block_frames: usize) -> CaptureCapacity {
    let rate = host_rate_hz.max(1.0) as f64;
    let num_frames =
        ((rate * CAPTURE_RING_SECONDS) as usize).max(max_block_frames.max(1) * CAPTURE_MIN_BLOCKS);
    CaptureCapacity {
        num_frames,
        num_blocks: num_frames / CAPTURE_MIN_PIECE_FRAMES + CAPTURE_MIN_BLOCKS,
        num_notes: CAPTURE_NOTES_CAPACITY,
    }
}

/// Makes every ring between the audio thread and the worker, sized for the host's rate and
/// largest block. Not real-time safe: allocates. Call from `activate()`.
pub fn connect(host_rate_hz: f32, max_block_frames: usize) -> (AudioEnds, WorkerEnds) {
    let rate = host_rate_hz.max(1.0) as f64;
    let voice_frames = ((rate * PLAYBACK_RING_SECONDS) as usize)
        .max(max_block_frames.max(1) * PLAYBACK_MIN_BLOCKS);
    let (to_worker, from_audio) = HeapRb::<AudioToWorker>::new(MESSAGE_CAPACITY).split();
    let (to_audio, from_worker) = HeapRb::<WorkerToAudio>::new(MESSAGE_CAPACITY).split();
    let (capture_tx, capture_rx) =
        capture_channel(capture_capacity(host_rate_hz, max_block_frames));
    let (p0_tx, p0_rx) = playback_channel(voice_frames, TAKE_MIDI_CAPACITY);
    let (p1_tx, p1_rx) = playback_channel(voice_frames, TAKE_MIDI_CAPACITY);
    (
        AudioEnds {
            to_worker,
            from_worker,
            capture: capture_tx,
            playback: [p0_rx, p1_rx],
        },
        WorkerEnds {
            from_audio,
            to_audio,
            capture: capture_rx,
            playback: [p0_tx, p1_tx],
            host_rate_hz,
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    mod capture_capacity {
        use super::*;

        #[test]
        fn holds_two_seconds_or_eight_blocks() {
            assert_eq!(capture_capacity(48_000.0, 512).num_frames, 96_000);
            assert_eq!(capture_capacity(8_000.0, 65_536).num_frames, 524_288);
        }
    }
}
