//! The note events the plugin sends the host: a take's notes as playback reaches them, and the
//! note-offs that end a segment. A fixed-capacity list, sorted per block. Real-time safe.

use crate::bridge::{JobId, PlaybackConsumer};
use crate::timeline::MidiEvent;

/// Note events for the host, in block frames. Never grows past its capacity: a full list drops
/// events (the audio is unaffected).
pub struct MidiOut {
    events: Vec<MidiEvent>,
}

impl MidiOut {
    /// Not real-time safe: allocates. Call from `activate()`.
    pub fn with_capacity(capacity: usize) -> Self {
        Self {
            events: Vec::with_capacity(capacity),
        }
    }

    /// Adds an event if there is room. Real-time safe.
    pub fn push(&mut self, event: MidiEvent) {
        if self.events.len() < self.events.capacity() {
            self.events.push(event);
        }
    }

    /// Stable insertion sort by frame (events arrive almost sorted; no allocation).
    pub fn sort(&mut self) {
        let events = &mut self.events;
        for i in 1..events.len() {
            let mut j = i;
            while j > 0 && events[j - 1].frame > events[j].frame {
                events.swap(j - 1, j);
                j -= 1;
            }
        }
    }

    pub fn events(&self) -> &[MidiEvent] {
        &self.events
    }

    /// Forgets the events (keeps the capacity).
    pub fn clear(&mut self) {
        self.events.clear();
    }

    /// Turns off every note in `sounding`, at `frame` in the block.
    pub fn release_all(&mut self, sounding: &mut [bool; 128], frame: u32) {
        for pitch in 0..128u8 {
            if std::mem::take(&mut sounding[pitch as usize]) {
                self.push(MidiEvent::off(frame, pitch));
            }
        }
    }

    /// Sends the take's note events that fall in `[pos, pos + num_frames)` of the take, the
    /// take's frame `pos` being at `frame_in_block`. Events of other (earlier) takes are
    /// dropped; a note-on the playback already passed (after an underrun) is skipped, as its
    /// audio was.
    pub fn emit_take(
        &mut self,
        playback: &mut PlaybackConsumer,
        sounding: &mut [bool; 128],
        job_id: JobId,
        pos: u64,
        num_frames: u64,
        frame_in_block: usize,
    ) {
        while let Some(event) = playback.peek_midi() {
            if event.job_id != job_id {
                playback.skip_midi();
                continue;
            }
            if event.frame >= pos + num_frames {
                break;
            }
            playback.skip_midi();
            let frame = (frame_in_block as u64 + event.frame.saturating_sub(pos)) as u32;
            let pitch = event.pitch.min(127);
            let on = &mut sounding[pitch as usize];
            if event.is_on {
                if event.frame < pos {
                    continue;
                }
                if *on {
                    self.push(MidiEvent::off(frame, pitch));
                }
                *on = true;
                self.push(MidiEvent::on(frame, pitch, event.velocity));
            } else if *on {
                *on = false;
                self.push(MidiEvent::off(frame, pitch));
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::{playback_channel, TakeMidiEvent};

    fn event(job_id: JobId, frame: u64, pitch: u8, is_on: bool) -> TakeMidiEvent {
        TakeMidiEvent {
            job_id,
            frame,
            pitch,
            velocity: if is_on { 100 } else { 0 },
            is_on,
        }
    }

    mod emit_take {
        use super::*;

        #[test]
        fn sends_this_takes_events_in_the_window_at_their_frames() {
            let (mut tx, mut rx) = playback_channel(16, 16);
            for e in [
                event(1, 0, 50, true), // an earlier take's leftover
                event(2, 10, 60, true),
                event(2, 30, 60, false),
                event(2, 70, 62, true),
            ] {
                tx.push_midi(e).unwrap();
            }
            let mut out = MidiOut::with_capacity(8);
            let mut sounding = [false; 128];
            out.emit_take(&mut rx, &mut sounding, 2, 0, 64, 100);
            assert_eq!(
                out.events(),
                &[MidiEvent::on(110, 60, 100), MidiEvent::off(130, 60)]
            );
            out.clear();
            out.emit_take(&mut rx, &mut sounding, 2, 64, 64, 0);
            assert_eq!(out.events(), &[MidiEvent::on(6, 62, 100)]);
            out.clear();
            out.release_all(&mut sounding, 9);
            assert_eq!(out.events(), &[MidiEvent::off(9, 62)]);
        }
    }

    mod push {
        use super::*;

        #[test]
        fn never_grows_past_its_capacity() {
            let mut out = MidiOut::with_capacity(2);
            for f in 0..5 {
                out.push(MidiEvent::off(f, 1));
            }
            assert_eq!(out.events().len(), 2);
            out.push(MidiEvent::off(0, 2));
            out.clear();
            out.push(MidiEvent::off(3, 2));
            out.push(MidiEvent::off(1, 2));
            out.sort();
            assert_eq!(out.events()[0].frame, 1);
        }
    }
}
