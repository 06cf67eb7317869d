//! One playback voice's ring pair: take audio (interleaved stereo at host rate) and the take's
//! note events, worker → audio.
//!
//! Both ends count frames since the ring was made, so a frame has one *ring position* on both
//! threads. A take announces the ring position of its first frame (`WorkerToAudio::Ready`); the
//! audio side reads a take frame by frame from there and discards whatever came before (frames
//! of an earlier take, or frames skipped by an underrun). That single count is the whole voice
//! bookkeeping: nothing is reported back but "this voice is free".

use super::messages::TakeMidiEvent;
use ringbuf::traits::{Consumer, Observer, Producer, Split};
use ringbuf::{HeapCons, HeapProd, HeapRb};

/// Makes one voice's rings: `capacity_frames` stereo frames and `midi_capacity` note events.
/// Not real-time safe: allocates. Call from `activate()`.
pub fn playback_channel(
    capacity_frames: usize,
    midi_capacity: usize,
) -> (PlaybackProducer, PlaybackConsumer) {
    let (audio_prod, audio_cons) = HeapRb::<f32>::new(capacity_frames.max(1) * 2).split();
    let (midi_prod, midi_cons) = HeapRb::<TakeMidiEvent>::new(midi_capacity.max(1)).split();
    (
        PlaybackProducer {
            audio: audio_prod,
            midi: midi_prod,
            num_frames_pushed: 0,
        },
        PlaybackConsumer {
            audio: audio_cons,
            midi: midi_cons,
            num_frames_popped: 0,
        },
    )
}

/// The worker's end of a voice. Worker thread; real-time safe, but only the worker uses it.
pub struct PlaybackProducer {
    audio: HeapProd<f32>,
    midi: HeapProd<TakeMidiEvent>,
    num_frames_pushed: u64,
}

impl PlaybackProducer {
    /// Frames that fit in the ring now.
    pub fn vacant_frames(&self) -> usize {
        self.audio.vacant_len() / 2
    }

    /// Frames in the ring, not yet read or discarded by the audio side.
    pub fn occupied_frames(&self) -> usize {
        self.audio.occupied_len() / 2
    }

    /// The ring position the next pushed frame gets.
    pub fn next_frame_pos(&self) -> u64 {
        self.num_frames_pushed
    }

    /// Pushes whole interleaved stereo frames, as many as fit; returns how many went in.
    pub fn push_frames(&mut self, stereo: &[f32]) -> usize {
        let num_frames = (stereo.len() / 2).min(self.vacant_frames());
        let pushed = self.audio.push_slice(&stereo[..num_frames * 2]);
        debug_assert_eq!(pushed, num_frames * 2);
        self.num_frames_pushed += num_frames as u64;
        num_frames
    }

    /// Queues a note event; gives it back when the ring is full.
    pub fn push_midi(&mut self, event: TakeMidiEvent) -> Result<(), TakeMidiEvent> {
        self.midi.try_push(event)
    }
}

/// The audio thread's end of a voice. Real-time safe: no allocation, no lock.
pub struct PlaybackConsumer {
    audio: HeapCons<f32>,
    midi: HeapCons<TakeMidiEvent>,
    num_frames_popped: u64,
}

impl PlaybackConsumer {
    /// Drops every frame in the ring before ring position `pos` (those that have arrived).
    /// Real-time safe.
    pub fn discard_before(&mut self, pos: u64) {
        let behind = pos.saturating_sub(self.num_frames_popped);
        let n = (behind as usize).min(self.audio.occupied_len() / 2);
        self.audio.skip(n * 2);
        self.num_frames_popped += n as u64;
    }

    /// Drops every frame in the ring now. Real-time safe.
    pub fn discard_all(&mut self) {
        let n = self.audio.occupied_len() / 2;
        self.audio.skip(n * 2);
        self.num_frames_popped += n as u64;
    }

    /// Frames available at and after ring position `pos` (after discarding what comes before).
    pub fn available_from(&mut self, pos: u64) -> usize {
        self.discard_before(pos);
        if self.num_frames_popped < pos {
            return 0;
        }
        self.audio.occupied_len() / 2
    }

    /// Reads the frames at ring positions `pos..` into `out` (interleaved stereo; its length
    /// says how many are wanted), discarding what comes before `pos`. Returns the frames read:
    /// fewer than wanted is an underrun, and the caller moves on by position anyway, so the
    /// missing frames are discarded when they arrive and the take stays on the grid.
    /// Real-time safe.
    pub fn read_at(&mut self, pos: u64, out: &mut [f32]) -> usize {
        self.discard_before(pos);
        if self.num_frames_popped != pos {
            return 0;
        }
        let len = out.len() / 2 * 2;
        let got = self.audio.pop_slice(&mut out[..len]) / 2;
        self.num_frames_popped += got as u64;
        got
    }

    /// The next note event without taking it.
    pub fn peek_midi(&self) -> Option<TakeMidiEvent> {
        self.midi.first().copied()
    }

    /// Drops the next note event.
    pub fn skip_midi(&mut self) {
        self.midi.skip(1);
    }

    /// Frames buffered in the ring.
    pub fn occupied_frames(&self) -> usize {
        self.audio.occupied_len() / 2
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames(range: std::ops::Range<u32>) -> Vec<f32> {
        range.flat_map(|i| [i as f32, -(i as f32)]).collect()
    }

    mod read_at {
        use super::*;

        #[test]
        fn a_take_starts_after_the_previous_takes_frames() {
            let (mut tx, mut rx) = playback_channel(64, 4);
            tx.push_frames(&frames(0..10)); // an earlier take, partly read
            let mut out = [0.0; 6];
            assert_eq!(rx.read_at(0, &mut out), 3);
            let first = tx.next_frame_pos();
            tx.push_frames(&frames(100..105));
            assert_eq!(rx.read_at(first, &mut out), 3);
            assert_eq!(out, [100.0, -100.0, 101.0, -101.0, 102.0, -102.0]);
        }

        #[test]
        fn frames_skipped_by_an_underrun_are_dropped_when_they_arrive() {
            let (mut tx, mut rx) = playback_channel(64, 4);
            let mut out = [0.0; 4];
            // Nothing buffered: the reader moves on to position 2 regardless.
            assert_eq!(rx.read_at(0, &mut out), 0);
            tx.push_frames(&frames(0..6));
            assert_eq!(rx.read_at(2, &mut out), 2);
            assert_eq!(out, [2.0, -2.0, 3.0, -3.0]);
        }

        #[test]
        fn a_position_not_yet_reached_reads_nothing() {
            let (mut tx, mut rx) = playback_channel(64, 4);
            tx.push_frames(&frames(0..3));
            let mut out = [0.0; 4];
            assert_eq!(rx.read_at(5, &mut out), 0);
            assert_eq!(rx.occupied_frames(), 0, "frames before 5 are discarded");
            tx.push_frames(&frames(3..8));
            assert_eq!(rx.read_at(5, &mut out), 2);
            assert_eq!(out, [5.0, -5.0, 6.0, -6.0]);
        }
    }

    mod push_frames {
        use super::*;

        #[test]
        fn pushes_only_what_fits_and_counts_it() {
            let (mut tx, mut rx) = playback_channel(4, 4);
            assert_eq!(tx.push_frames(&frames(0..6)), 4);
            assert_eq!(tx.next_frame_pos(), 4);
            rx.discard_all();
            assert_eq!(tx.vacant_frames(), 4);
            assert_eq!(rx.available_from(4), 0);
            tx.push_frames(&frames(4..5));
            assert_eq!(rx.available_from(4), 1);
        }
    }
}
