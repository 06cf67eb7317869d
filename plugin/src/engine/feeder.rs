//! Feeding the playback voices: which take owns which voice, pushing each take's audio and note
//! events into its voice's rings ahead of playback, and telling the audio side when a take may
//! start. Worker thread; real-time safe itself, but only the worker uses it.
//!
//! The bookkeeping is one number per voice, shared with the audio side through
//! `bridge::playback`: the ring position of a take's first frame. A voice is given to a take
//! when the audio side reports it free; nothing else is counted here.

use super::streaming::can_stream;
use super::takes::{Take, TakeStore};
use crate::bridge::{JobId, PlaybackProducer, WorkerToAudio, NUM_VOICES};

/// Which take owns each voice.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Feeder {
    owners: [Option<JobId>; NUM_VOICES],
}

impl Feeder {
    /// Gives each take without a voice a free one, if there is any, recording where in the
    /// ring its frames will begin.
    pub fn assign(&mut self, takes: &mut TakeStore, playback: &[PlaybackProducer; NUM_VOICES]) {
        for take in takes.iter_mut().filter(|t| t.voice_idx.is_none()) {
            let Some(idx) = self.owners.iter().position(Option::is_none) else {
                return;
            };
            self.owners[idx] = Some(take.job_id);
            take.voice_idx = Some(idx);
            take.first_frame_pos = playback[idx].next_frame_pos();
        }
    }

    /// The audio side freed a voice.
    pub fn voice_freed(&mut self, voice_idx: usize, job_id: JobId) {
        if let Some(owner) = self.owners.get_mut(voice_idx) {
            if *owner == Some(job_id) {
                *owner = None;
            }
        }
    }

    /// A take is dropped before the audio side heard of it: its voice is free at once (its
    /// frames in the ring are skipped by the next take's first ring position).
    pub fn forget_unannounced(&mut self, take: &Take) {
        if let (Some(idx), false) = (take.voice_idx, take.ready_sent) {
            self.voice_freed(idx, take.job_id);
        }
    }

    /// Forgets every owner (the audio side was rebuilt).
    pub fn reset(&mut self) {
        self.owners = [None; NUM_VOICES];
    }

    pub fn owner(&self, voice_idx: usize) -> Option<JobId> {
        self.owners.get(voice_idx).copied().flatten()
    }
}

/// Pushes every take's frames and note events that fit into its voice.
pub fn feed(takes: &mut TakeStore, playback: &mut [PlaybackProducer; NUM_VOICES]) {
    for take in takes.iter_mut() {
        let Some(voice_idx) = take.voice_idx else {
            continue;
        };
        let producer = &mut playback[voice_idx];
        feed_audio(take, producer);
        feed_midi(take, producer);
    }
}

fn feed_audio(take: &mut Take, producer: &mut PlaybackProducer) {
    let len = take.num_frames_total as u64;
    if len == 0 {
        return;
    }
    loop {
        let vacant_frames = producer.vacant_frames() as u64;
        if vacant_frames == 0 {
            return;
        }
        let limit = match (take.looping, take.end_frames) {
            (_, Some(end)) => end,
            (true, None) if take.complete => u64::MAX,
            _ => len,
        };
        if take.num_frames_fed >= limit {
            return;
        }
        let pos_in_take = take.num_frames_fed % len;
        let available_in_take = if take.complete {
            len - pos_in_take
        } else {
            (take.num_frames_generated() as u64).saturating_sub(pos_in_take)
        };
        let n = vacant_frames
            .min(available_in_take)
            .min(limit - take.num_frames_fed);
        if n == 0 {
            return;
        }
        let start = pos_in_take as usize * 2;
        let pushed = producer.push_frames(&take.audio[start..start + n as usize * 2]);
        take.num_frames_fed += pushed as u64;
    }
}

/// Pushes a take's note events, one loop iteration at a time as the audio feeding reaches it.
fn feed_midi(take: &mut Take, producer: &mut PlaybackProducer) {
    let len = take.num_frames_total as u64;
    if take.midi.is_empty() || len == 0 {
        return;
    }
    loop {
        let iteration = take.num_midi_iterations_fed;
        let iteration_start = iteration * len;
        // Only iterations the audio has reached (the first one at once), and not past the end.
        let end = take
            .end_frames
            .unwrap_or(if take.looping { u64::MAX } else { len });
        if iteration_start >= end || (iteration > 0 && take.num_frames_fed <= iteration_start) {
            return;
        }
        while take.num_midi_events_fed < take.midi.len() {
            let mut event = take.midi[take.num_midi_events_fed];
            event.frame += iteration_start;
            if event.frame >= end && event.is_on {
                take.num_midi_events_fed += 1;
                continue;
            }
            if producer.push_midi(event).is_err() {
                return;
            }
            take.num_midi_events_fed += 1;
        }
        take.num_midi_iterations_fed += 1;
        take.num_midi_events_fed = 0;
    }
}

/// How the worker sees the race between generation and playback, for the streaming decision.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Pace {
    /// Offline: a take plays only once complete.
    pub offline: bool,
    /// Generation speed relative to how fast the host plays (0 = not measured yet).
    pub speed: f64,
    pub host_rate_hz: f64,
}

/// The `Ready` messages due now: for each take with a voice, complete or able to stream
/// without running dry. Marks them sent only when `send` accepts them.
pub fn announce_ready(
    takes: &mut TakeStore,
    pace: Pace,
    mut send: impl FnMut(WorkerToAudio) -> bool,
) {
    for take in takes.iter_mut() {
        let Some(voice_idx) = take.voice_idx else {
            continue;
        };
        if take.ready_sent {
            continue;
        }
        let generated_seconds = take.num_frames_generated() as f64 / pace.host_rate_hz;
        let remaining_seconds =
            (take.num_frames_total - take.num_frames_generated()) as f64 / pace.host_rate_hz;
        let ready = take.complete
            || (!pace.offline && can_stream(generated_seconds, remaining_seconds, pace.speed));
        if !ready {
            continue;
        }
        let message = WorkerToAudio::Ready {
            job_id: take.job_id,
            voice_idx: voice_idx as u8,
            first_frame_pos: take.first_frame_pos,
            num_frames: if take.looping {
                u64::MAX
            } else {
                take.num_frames_total as u64
            },
            start: take.start,
        };
        if send(message) {
            take.ready_sent = true;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bridge::{playback_channel, PlaybackConsumer, SegmentStart, TakeMidiEvent};
    use crate::params::SyncMode;

    fn voices(capacity_frames: usize) -> ([PlaybackProducer; 2], [PlaybackConsumer; 2]) {
        let (p0, c0) = playback_channel(capacity_frames, 8);
        let (p1, c1) = playback_channel(capacity_frames, 8);
        ([p0, p1], [c0, c1])
    }

    fn complete_take(job_id: JobId, num_frames: usize) -> Take {
        let mut t = Take::new(
            job_id,
            num_frames,
            false,
            SegmentStart::NextGrid(SyncMode::Bar),
        );
        let audio: Vec<f32> = (0..num_frames).flat_map(|i| [i as f32, 0.0]).collect();
        t.append(&audio, true);
        t
    }

    mod assign {
        use super::*;

        #[test]
        fn two_voices_for_three_takes_and_a_freed_voice_goes_to_the_third() {
            let (mut tx, _rx) = voices(16);
            let mut takes = TakeStore::default();
            for id in 1..=3 {
                takes.push(complete_take(id, 4));
            }
            let mut feeder = Feeder::default();
            feeder.assign(&mut takes, &tx);
            assert_eq!(feeder.owner(0), Some(1));
            assert_eq!(feeder.owner(1), Some(2));
            assert_eq!(takes.get_mut(3).unwrap().voice_idx, None);
            feed(&mut takes, &mut tx);
            feeder.voice_freed(0, 2); // not its owner: ignored
            assert_eq!(feeder.owner(0), Some(1));
            feeder.voice_freed(0, 1);
            takes.remove(1);
            feeder.assign(&mut takes, &tx);
            let third = takes.get_mut(3).unwrap();
            assert_eq!(third.voice_idx, Some(0));
            assert_eq!(third.first_frame_pos, 4, "after the first take's 4 frames");
        }
    }

    mod feed {
        use super::*;

        #[test]
        fn a_take_reads_back_from_its_first_position_after_a_cancelled_one() {
            let (mut tx, mut rx) = voices(64);
            let mut feeder = Feeder::default();
            let mut takes = TakeStore::default();
            takes.push(complete_take(1, 5));
            feeder.assign(&mut takes, &tx);
            feed(&mut takes, &mut tx);
            // Cancelled before it was announced: the voice is free at once.
            let cancelled = takes.remove(1).unwrap();
            feeder.forget_unannounced(&cancelled);
            takes.push(complete_take(2, 3));
            feeder.assign(&mut takes, &tx);
            feed(&mut takes, &mut tx);
            let first = takes.get_mut(2).unwrap().first_frame_pos;
            let mut out = [0.0; 6];
            assert_eq!(rx[0].read_at(first, &mut out), 3);
            assert_eq!(out, [0.0, 0.0, 1.0, 0.0, 2.0, 0.0]);
        }

        #[test]
        fn a_looping_take_keeps_feeding_until_its_end_is_set() {
            let (mut tx, mut rx) = voices(10);
            let mut takes = TakeStore::default();
            let mut t = complete_take(1, 4);
            t.looping = true;
            takes.push(t);
            Feeder::default().assign(&mut takes, &tx);
            feed(&mut takes, &mut tx);
            assert_eq!(takes.get_mut(1).unwrap().num_frames_fed, 10);
            rx[0].discard_all();
            takes.get_mut(1).unwrap().end_frames = Some(12);
            feed(&mut takes, &mut tx);
            assert_eq!(takes.get_mut(1).unwrap().num_frames_fed, 12);
        }

        #[test]
        fn note_events_follow_loop_iterations() {
            let (mut tx, mut rx) = voices(6);
            let mut takes = TakeStore::default();
            let mut t = complete_take(1, 4);
            t.looping = true;
            t.midi = vec![TakeMidiEvent {
                job_id: 1,
                frame: 1,
                pitch: 60,
                velocity: 90,
                channel: 0,
                is_on: true,
            }];
            takes.push(t);
            Feeder::default().assign(&mut takes, &tx);
            feed(&mut takes, &mut tx);
            // 6 frames fed: iterations 0 and 1 reached.
            let mut frames = Vec::new();
            while let Some(e) = rx[0].peek_midi() {
                frames.push(e.frame);
                rx[0].skip_midi();
            }
            assert_eq!(frames, vec![1, 5]);
        }
    }

    mod announce_ready {
        use super::*;

        #[test]
        fn offline_waits_for_the_whole_take_and_carries_its_position() {
            let (tx, _rx) = voices(64);
            let mut takes = TakeStore::default();
            let mut partial = Take::new(1, 48_000, false, SegmentStart::AtBeats(8.0));
            partial.append(&vec![0.0; 40_000 * 2], false);
            takes.push(partial);
            let mut feeder = Feeder::default();
            feeder.assign(&mut takes, &tx);
            let pace = Pace {
                offline: true,
                speed: 100.0,
                host_rate_hz: 48_000.0,
            };
            let mut sent = Vec::new();
            announce_ready(&mut takes, pace, |m| {
                sent.push(m);
                true
            });
            assert!(sent.is_empty());
            announce_ready(
                &mut takes,
                Pace {
                    offline: false,
                    ..pace
                },
                |m| {
                    sent.push(m);
                    true
                },
            );
            assert_eq!(
                sent,
                vec![WorkerToAudio::Ready {
                    job_id: 1,
                    voice_idx: 0,
                    first_frame_pos: 0,
                    num_frames: 48_000,
                    start: SegmentStart::AtBeats(8.0),
                }]
            );
            announce_ready(
                &mut takes,
                Pace {
                    offline: false,
                    ..pace
                },
                |m| {
                    sent.push(m);
                    true
                },
            );
            assert_eq!(sent.len(), 1, "announced once");
        }
    }
}
