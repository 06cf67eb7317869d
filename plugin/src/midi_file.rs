//! Standard MIDI files: reading a riff's notes (in beats) and writing takes. Worker, GUI and
//! command line threads; allocates.

use crate::timeline::BeatNote;
use midly::num::{u15, u28, u4, u7};
use midly::{Format, Header, MetaMessage, MidiMessage, Smf, Timing, TrackEvent, TrackEventKind};
use std::path::Path;
use thiserror::Error;

/// Ticks per quarter note in files we write.
pub const TICKS_PER_BEAT: u16 = 480;

#[derive(Debug, Error)]
pub enum MidiFileError {
    #[error("cannot read {path}: {reason}")]
    Read { path: String, reason: String },
    #[error("{path} uses SMPTE time; only files timed in beats are supported")]
    SmpteTiming { path: String },
    #[error("cannot write {path}: {reason}")]
    Write { path: String, reason: String },
}

/// Every note of every track, sorted by start. Unmatched note-ons end at the file's last event.
pub fn read_notes(path: &Path) -> Result<Vec<BeatNote>, MidiFileError> {
    let shown = path.display().to_string();
    let bytes = std::fs::read(path).map_err(|e| MidiFileError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    parse_notes(&bytes, &shown)
}

/// [`read_notes`] on a file's bytes; `shown` names it in errors.
pub fn parse_notes(bytes: &[u8], shown: &str) -> Result<Vec<BeatNote>, MidiFileError> {
    let shown = shown.to_string();
    if smpte_division(bytes) {
        // Refused before the parser sees it: midly 0.5.3 negates the frame rate byte, which
        // overflows (a panic in debug builds) for -128.
        return Err(MidiFileError::SmpteTiming { path: shown });
    }
    let smf = Smf::parse(bytes).map_err(|e| MidiFileError::Read {
        path: shown.clone(),
        reason: e.to_string(),
    })?;
    let ticks_per_beat = match smf.header.timing {
        Timing::Metrical(t) => t.as_int().max(1) as f64,
        Timing::Timecode(..) => return Err(MidiFileError::SmpteTiming { path: shown }),
    };
    let mut notes = Vec::new();
    // One table of sounding notes for all tracks: a file of thousands of tiny tracks must not
    // cost a table each.
    let mut open: Vec<Option<(u64, u8)>> = vec![None; 16 * 128];
    for track in &smf.tracks {
        let mut tick: u64 = 0;
        open.fill(None);
        for event in track {
            tick += event.delta.as_int() as u64;
            if let TrackEventKind::Midi { channel, message } = event.kind {
                let (key, on_velocity) = match message {
                    MidiMessage::NoteOn { key, vel } => (key.as_int(), vel.as_int()),
                    MidiMessage::NoteOff { key, .. } => (key.as_int(), 0),
                    _ => continue,
                };
                let slot = channel.as_int() as usize * 128 + key as usize;
                if let Some((start, velocity)) = open[slot].take() {
                    notes.push(BeatNote {
                        start_beats: start as f64 / ticks_per_beat,
                        duration_beats: (tick - start) as f64 / ticks_per_beat,
                        pitch: key,
                        velocity,
                        channel: channel.as_int(),
                    });
                }
                if on_velocity > 0 {
                    open[slot] = Some((tick, on_velocity));
                }
            }
        }
        for (slot, entry) in open.iter().enumerate() {
            if let Some((start, velocity)) = entry {
                notes.push(BeatNote {
                    start_beats: *start as f64 / ticks_per_beat,
                    duration_beats: (tick.saturating_sub(*start)) as f64 / ticks_per_beat,
                    pitch: (slot % 128) as u8,
                    velocity: *velocity,
                    channel: (slot / 128) as u8,
                });
            }
        }
    }
    notes.sort_by(|a, b| {
        a.start_beats
            .total_cmp(&b.start_beats)
            .then(a.pitch.cmp(&b.pitch))
    });
    Ok(notes)
}

/// Whether the file's header (the first `MThd`, also inside a RIFF wrapper) sets the SMPTE bit
/// of its time division.
fn smpte_division(bytes: &[u8]) -> bool {
    let head = &bytes[..bytes.len().min(1024)];
    head.windows(4)
        .position(|w| w == b"MThd")
        .and_then(|at| bytes.get(at + 12))
        .is_some_and(|division_hi| division_hi & 0x80 != 0)
}

/// Writes tracks of notes (name, notes in beats) at a tempo, as a format-1 file.
pub fn write_notes(
    path: &Path,
    tempo_bpm: f64,
    tracks: &[(&str, &[BeatNote])],
) -> Result<(), MidiFileError> {
    let bytes = encode_notes(tempo_bpm, tracks);
    std::fs::write(path, bytes).map_err(|e| MidiFileError::Write {
        path: path.display().to_string(),
        reason: e.to_string(),
    })
}

/// [`write_notes`]'s file as bytes, for a caller that writes them itself.
pub fn encode_notes(tempo_bpm: f64, tracks: &[(&str, &[BeatNote])]) -> Vec<u8> {
    let micros_per_beat = (60_000_000.0 / tempo_bpm.clamp(1.0, 1000.0)).round() as u32;
    let mut smf = Smf::new(Header::new(
        Format::Parallel,
        Timing::Metrical(u15::new(TICKS_PER_BEAT)),
    ));
    let names: Vec<Vec<u8>> = tracks
        .iter()
        .map(|(name, _)| name.as_bytes().to_vec())
        .collect();
    let mut tempo_track = vec![TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::Tempo(midly::num::u24::new(micros_per_beat))),
    }];
    tempo_track.push(TrackEvent {
        delta: u28::new(0),
        kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
    });
    smf.tracks.push(tempo_track);
    for ((_, notes), name) in tracks.iter().zip(&names) {
        // (tick, is_on, channel, pitch, velocity); offs sort before ons at the same tick.
        let mut events: Vec<(u64, bool, u8, u8, u8)> = Vec::with_capacity(notes.len() * 2);
        for note in notes.iter() {
            let to_ticks = |beats: f64| (beats.max(0.0) * TICKS_PER_BEAT as f64).round() as u64;
            let start = to_ticks(note.start_beats);
            let end = to_ticks(note.start_beats + note.duration_beats).max(start + 1);
            let pitch = note.pitch.min(127);
            let channel = note.channel & 0x0f;
            events.push((start, true, channel, pitch, note.velocity.clamp(1, 127)));
            events.push((end, false, channel, pitch, 0));
        }
        events.sort_by_key(|&(tick, is_on, channel, pitch, _)| (tick, is_on, channel, pitch));
        let mut track = vec![TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::TrackName(name)),
        }];
        let mut last = 0u64;
        for (tick, is_on, channel, pitch, velocity) in events {
            let delta = (tick - last).min(u28::max_value().as_int() as u64) as u32;
            last = tick;
            let message = if is_on {
                MidiMessage::NoteOn {
                    key: u7::new(pitch),
                    vel: u7::new(velocity),
                }
            } else {
                MidiMessage::NoteOff {
                    key: u7::new(pitch),
                    vel: u7::new(0),
                }
            };
            track.push(TrackEvent {
                delta: u28::new(delta),
                kind: TrackEventKind::Midi {
                    channel: u4::new(channel),
                    message,
                },
            });
        }
        track.push(TrackEvent {
            delta: u28::new(0),
            kind: TrackEventKind::Meta(MetaMessage::EndOfTrack),
        });
        smf.tracks.push(track);
    }
    let mut bytes = Vec::new();
    smf.write_std(&mut bytes)
        .expect("writing a MIDI file into memory cannot fail");
    bytes
}

#[cfg(test)]
mod tests {
    use super::*;

    mod write_and_read {
        use super::*;

        #[test]
        fn round_trips_notes() {
            let path =
                std::env::temp_dir().join(format!("continuo-midi-{}.mid", std::process::id()));
            let notes = [
                BeatNote {
                    start_beats: 0.0,
                    duration_beats: 0.5,
                    pitch: 60,
                    velocity: 100,
                    channel: 0,
                },
                BeatNote {
                    start_beats: 0.0,
                    duration_beats: 1.0,
                    pitch: 64,
                    velocity: 80,
                    channel: 0,
                },
                BeatNote {
                    start_beats: 1.25,
                    duration_beats: 0.25,
                    pitch: 67,
                    velocity: 90,
                    channel: 0,
                },
            ];
            write_notes(&path, 120.0, &[("take", &notes)]).unwrap();
            let read = read_notes(&path).unwrap();
            assert_eq!(read, notes.to_vec());
        }

        #[test]
        fn reads_the_demo_riff() {
            let riff = concat!(env!("CARGO_MANIFEST_DIR"), "/../assets/demo-riff.mid");
            let notes = read_notes(Path::new(riff)).unwrap();
            assert_eq!(notes.len(), 19);
            assert_eq!(
                (
                    notes[0].pitch,
                    notes[0].start_beats,
                    notes[0].duration_beats
                ),
                (45, 0.0, 2.0)
            );
        }

        #[test]
        fn garbage_is_an_error() {
            let path =
                std::env::temp_dir().join(format!("continuo-midi-bad-{}.mid", std::process::id()));
            std::fs::write(&path, b"MThd garbage").unwrap();
            assert!(matches!(read_notes(&path), Err(MidiFileError::Read { .. })));
        }

        #[test]
        fn a_smpte_division_of_minus_128_frames_is_refused_not_a_panic() {
            // Found by the fuzzer (tests/fuzz.rs): division 0x8044 made midly negate -128.
            let mut bytes = b"MThd\0\0\0\x06\0\x01\0\x01\x80\x44".to_vec();
            bytes.extend_from_slice(b"MTrk\0\0\0\x04\0\xff\x2f\0");
            assert!(matches!(
                parse_notes(&bytes, "smpte.mid"),
                Err(MidiFileError::SmpteTiming { .. })
            ));
        }
    }
}
