//! The capture rings, audio → worker: the track's input audio (interleaved stereo at host rate),
//! one header per processed piece with the transport, and the MIDI notes the track sent.

use crate::timeline::TransportSnapshot;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

/// Header of one captured piece of a host block: how many frames and where the transport was.
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
    /// MIDI channel, 0-15 (9: General MIDI drums).
    pub channel: u8,
}

/// How big the capture rings are.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaptureCapacity {
    /// Stereo frames of input audio.
    pub num_frames: usize,
    /// Piece headers.
    pub num_blocks: usize,
    /// Note events.
    pub num_notes: usize,
}

/// Makes the capture rings. Not real-time safe: allocates. Call from `activate()`.
pub fn capture_channel(capacity: CaptureCapacity) -> (CaptureProducer, CaptureConsumer) {
    let (audio_prod, audio_cons) = HeapRb::<f32>::new(capacity.num_frames.max(1) * 2).split();
    let (blocks_prod, blocks_cons) =
        HeapRb::<CaptureBlock>::new(capacity.num_blocks.max(1)).split();
    let (notes_prod, notes_cons) = HeapRb::<CapturedNote>::new(capacity.num_notes.max(1)).split();
    (
        CaptureProducer {
            audio: audio_prod,
            blocks: blocks_prod,
            notes: notes_prod,
        },
        CaptureConsumer {
            audio: audio_cons,
            blocks: blocks_cons,
            notes: notes_cons,
        },
    )
}

/// The audio thread's end. Real-time safe: no allocation, no lock.
pub struct CaptureProducer {
    audio: HeapProd<f32>,
    blocks: HeapProd<CaptureBlock>,
    notes: HeapProd<CapturedNote>,
}

impl CaptureProducer {
    /// Frames of audio that fit now.
    pub fn vacant_frames(&self) -> usize {
        self.audio.vacant_len() / 2
    }

    /// Whether a piece of `num_frames` and its header fit now.
    pub fn has_room_for(&self, num_frames: usize) -> bool {
        self.vacant_frames() >= num_frames && self.blocks.vacant_len() >= 1
    }

    /// Pushes a piece (interleaved stereo) and its header; returns the frames that went in.
    pub fn push_piece(&mut self, stereo: &[f32], transport: &TransportSnapshot) -> usize {
        let pushed = self.audio.push_slice(&stereo[..stereo.len() / 2 * 2]) / 2;
        let _ = self.blocks.try_push(CaptureBlock {
            num_frames: (stereo.len() / 2) as u32,
            transport: *transport,
        });
        pushed
    }

    /// Queues a note event; false when the ring is full (the note is dropped).
    pub fn push_note(&mut self, note: CapturedNote) -> bool {
        self.notes.try_push(note).is_ok()
    }
}

/// The worker's end.
pub struct CaptureConsumer {
    audio: HeapCons<f32>,
    blocks: HeapCons<CaptureBlock>,
    notes: HeapCons<CapturedNote>,
}

impl CaptureConsumer {
    /// Pops up to `out.len() / 2` frames; returns how many.
    pub fn pop_frames(&mut self, out: &mut [f32]) -> usize {
        let len = out.len() / 2 * 2;
        self.audio.pop_slice(&mut out[..len]) / 2
    }

    pub fn pop_block(&mut self) -> Option<CaptureBlock> {
        self.blocks.try_pop()
    }

    pub fn pop_note(&mut self) -> Option<CapturedNote> {
        self.notes.try_pop()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn transport() -> TransportSnapshot {
        TransportSnapshot {
            playing: true,
            sample_rate_hz: 48_000.0,
            tempo_bpm: Some(120.0),
            time_sig: Some((4, 4)),
            pos_beats: Some(0.0),
            bar_start_beats: Some(0.0),
            pos_samples: Some(0),
        }
    }

    mod push_piece {
        use super::*;

        #[test]
        fn a_full_ring_takes_what_fits_and_says_so() {
            let (mut tx, mut rx) = capture_channel(CaptureCapacity {
                num_frames: 4,
                num_blocks: 4,
                num_notes: 4,
            });
            assert!(tx.has_room_for(4));
            assert_eq!(tx.push_piece(&[1.0; 6], &transport()), 3);
            assert!(!tx.has_room_for(2));
            assert_eq!(tx.push_piece(&[2.0; 6], &transport()), 1);
            let mut out = [0.0; 16];
            assert_eq!(rx.pop_frames(&mut out), 4);
            assert_eq!(&out[..8], &[1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 2.0, 2.0]);
            assert_eq!(rx.pop_block().map(|b| b.num_frames), Some(3));
            assert!(tx.has_room_for(4));
        }
    }
}
