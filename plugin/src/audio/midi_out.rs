//! The note events the plugin sends the host: a take's notes as playback reaches them, and the
//! note-offs that end a segment. A fixed-capacity list, sorted per block. Real-time safe.

use crate::bridge::{JobId, PlaybackConsumer};
use crate::timeline::MidiEvent;

/// Which notes the plugin holds down at the host, per pitch a bit per MIDI channel, so a take's
/// parts (each on its own channel, drums on 10) are released independently. Real-time safe.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sounding([u16; 128]);

impl Default for Sounding {
    fn default() -> Self {
        Self([0; 128])
    }
}

impl Sounding {
    fn is_on(&self, channel: u8, pitch: u8) -> bool {
        self.0[usize::from(pitch & 0x7f)] & (1 << (channel & 0x0f)) != 0
    }

    fn set(&mut self, channel: u8, pitch: u8, on: bool) {
        let bit = 1u16 << (channel & 0x0f);
        let slot = &mut self.0[usize::from(pitch & 0x7f)];
        if on {
            *slot |= bit;
        } else {
            *slot &= !bit;
        }
    }
}

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
    pub fn release_all(&mut self, sounding: &mut Sounding, frame: u32) {
        for pitch in 0..128u8 {
            let channels = std::mem::take(&mut sounding.0[usize::from(pitch)]);
            for channel in 0..16u8 {
                if channels & (1 << channel) != 0 {
                    self.push(MidiEvent::off(frame, pitch).on_channel(channel));
                }
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
        sounding: &mut Sounding,
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
            let channel = event.channel & 0x0f;
            let was_on = sounding.is_on(channel, pitch);
            if event.is_on {
                if event.frame < pos {
                    continue;
                }
                if was_on {
                    self.push(MidiEvent::off(frame, pitch).on_channel(channel));
                }
                sounding.set(channel, pitch, true);
                self.push(MidiEvent::on(frame, pitch, event.velocity).on_channel(channel));
            } else if was_on {
                sounding.set(channel, pitch, false);
                self.push(MidiEvent::off(frame, pitch).on_channel(channel));
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
            channel: 0,
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
            let mut sounding = Sounding::default();
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

    mod sounding {
        use super::*;

        #[test]
        fn the_same_pitch_on_two_channels_is_released_on_each() {
            let (mut tx, mut rx) = playback_channel(16, 16);
            let mut drum = event(3, 5, 36, true);
            drum.channel = 9;
            for e in [event(3, 0, 36, true), drum, event(3, 8, 36, false)] {
                tx.push_midi(e).unwrap();
            }
            let mut out = MidiOut::with_capacity(8);
            let mut sounding = Sounding::default();
            out.emit_take(&mut rx, &mut sounding, 3, 0, 64, 0);
            // The off on channel 0 leaves the drum note on channel 10 sounding.
            assert_eq!(
                out.events(),
                &[
                    MidiEvent::on(0, 36, 100),
                    MidiEvent::on(5, 36, 100).on_channel(9),
                    MidiEvent::off(8, 36),
                ]
            );
            out.clear();
            out.release_all(&mut sounding, 20);
            assert_eq!(out.events(), &[MidiEvent::off(20, 36).on_channel(9)]);
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
