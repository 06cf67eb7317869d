//! A take's notes leaving the worker: as note events timed in frames for MIDI out, and as a .mid
//! file. Worker thread; allocates; the file write blocks.

use crate::bridge::status::TakeSummary;
use crate::bridge::{JobId, TakeMidiEvent};
use crate::timeline::{Meter, Note};
use std::path::{Path, PathBuf};

/// Where the panel saves takes: `$CONTINUO_TAKES_DIR` when set, else `~/Music/Continuo`, else
/// the temporary folder.
pub fn takes_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os("CONTINUO_TAKES_DIR").filter(|v| !v.is_empty()) {
        return dir.into();
    }
    match std::env::var_os("HOME").filter(|v| !v.is_empty()) {
        Some(home) => PathBuf::from(home).join("Music").join("Continuo"),
        None => std::env::temp_dir().join("Continuo"),
    }
}

/// Why a take could not be saved.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("No take to save yet: generate one first.")]
    NoTake,
    #[error("The last take has no notes to save (this model writes audio).")]
    NoNotes,
    #[error("Could not create {path}: {reason}")]
    Folder { path: PathBuf, reason: String },
    #[error("Could not save the take: {0}")]
    Write(String),
}

/// Writes a take's notes to a new .mid file in `dir` and returns its path.
pub fn write_take_midi(take: Option<&TakeSummary>, dir: &Path) -> Result<PathBuf, ExportError> {
    let take = take.ok_or(ExportError::NoTake)?;
    if take.notes.is_empty() {
        return Err(ExportError::NoNotes);
    }
    std::fs::create_dir_all(dir).map_err(|e| ExportError::Folder {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let stamp = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let stem = format!("continuo-take-seed{}-{stamp}", take.seed);
    let meter = Meter::new(take.tempo_bpm, (4, 4));
    let beat_notes = meter.all_to_beats(&take.notes, 0.0);
    // One track per part: the parts play on their own channels.
    let mut channels: Vec<u8> = beat_notes.iter().map(|n| n.channel).collect();
    channels.sort_unstable();
    channels.dedup();
    let tracks: Vec<(String, Vec<_>)> = channels
        .iter()
        .map(|&c| {
            let notes = beat_notes
                .iter()
                .filter(|n| n.channel == c)
                .copied()
                .collect();
            (crate::timeline::part_name(c), notes)
        })
        .collect();
    let named: Vec<(&str, &[_])> = tracks
        .iter()
        .map(|(name, notes)| (name.as_str(), notes.as_slice()))
        .collect();
    let bytes = crate::midi_file::encode_notes(take.tempo_bpm, &named);
    write_new_file(dir, &stem, "mid", &bytes)
}

/// Writes `bytes` to a file of `dir` that did not exist: `stem.ext`, else `stem-2.ext`, ... (two
/// saves in one second never overwrite each other). A write that fails (a full disk) removes
/// what it wrote and says where and why.
pub fn write_new_file(
    dir: &Path,
    stem: &str,
    ext: &str,
    bytes: &[u8],
) -> Result<PathBuf, ExportError> {
    use std::io::Write;
    for n in 1..=1000u32 {
        let name = if n == 1 {
            format!("{stem}.{ext}")
        } else {
            format!("{stem}-{n}.{ext}")
        };
        let path = dir.join(name);
        let mut file = match std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => continue,
            Err(e) => return Err(ExportError::Write(format!("{}: {e}", path.display()))),
        };
        return match file.write_all(bytes).and_then(|()| file.sync_all()) {
            Ok(()) => Ok(path),
            Err(e) => {
                drop(file);
                let _ = std::fs::remove_file(&path);
                Err(ExportError::Write(format!("{}: {e}", path.display())))
            }
        };
    }
    Err(ExportError::Write(format!(
        "{} already holds 1000 takes named {stem}",
        dir.display()
    )))
}

/// A take's notes as note-on/off events in frames from its start, sorted (offs first at equal
/// frames). Offs past the take's end move to its last frame, so a loop never overlaps itself.
pub fn midi_events(
    job_id: JobId,
    notes: &[Note],
    host_rate_hz: f64,
    num_frames: u64,
) -> Vec<TakeMidiEvent> {
    if num_frames == 0 {
        return Vec::new();
    }
    let last = num_frames - 1;
    let mut events = Vec::with_capacity(notes.len() * 2);
    for note in notes {
        let start = (note.start_seconds * host_rate_hz).round().max(0.0) as u64;
        if start > last || note.velocity == 0 {
            continue;
        }
        let end = (((note.start_seconds + note.duration_seconds) * host_rate_hz).round() as u64)
            .clamp(start + 1, last);
        events.push(TakeMidiEvent {
            job_id,
            frame: start,
            pitch: note.pitch,
            velocity: note.velocity,
            is_on: true,
            channel: note.channel,
        });
        events.push(TakeMidiEvent {
            job_id,
            frame: end.max(start),
            pitch: note.pitch,
            velocity: 0,
            is_on: false,
            channel: note.channel,
        });
    }
    events.sort_by_key(|e| (e.frame, e.is_on, e.channel, e.pitch));
    events
}

#[cfg(test)]
mod tests {
    use super::*;

    fn note(start_seconds: f64, duration_seconds: f64, pitch: u8) -> Note {
        Note {
            start_seconds,
            duration_seconds,
            pitch,
            velocity: 90,
            channel: 0,
        }
    }

    mod midi_events {
        use super::*;

        #[test]
        fn pairs_ons_and_offs_in_frames_with_offs_first() {
            let events = midi_events(3, &[note(0.5, 0.5, 60), note(0.0, 0.5, 62)], 100.0, 1000);
            let summary: Vec<_> = events.iter().map(|e| (e.frame, e.pitch, e.is_on)).collect();
            assert_eq!(
                summary,
                vec![
                    (0, 62, true),
                    (50, 62, false),
                    (50, 60, true),
                    (100, 60, false)
                ]
            );
            assert!(events.iter().all(|e| e.job_id == 3));
        }

        #[test]
        fn notes_past_the_end_are_cut_to_the_last_frame_or_dropped() {
            let events = midi_events(1, &[note(0.9, 5.0, 60), note(20.0, 1.0, 61)], 100.0, 100);
            let summary: Vec<_> = events.iter().map(|e| (e.frame, e.is_on)).collect();
            assert_eq!(summary, vec![(90, true), (99, false)]);
            assert!(midi_events(1, &[note(0.0, 1.0, 60)], 100.0, 0).is_empty());
        }
    }

    mod write_take_midi {
        use super::*;

        #[test]
        fn refuses_without_notes_and_writes_a_readable_file() {
            let dir = std::env::temp_dir().join(format!("continuo-export-{}", std::process::id()));
            assert!(matches!(
                write_take_midi(None, &dir),
                Err(ExportError::NoTake)
            ));
            let mut take = TakeSummary {
                tempo_bpm: 120.0,
                seed: 42,
                notes: Vec::new(),
                heard_notes: Vec::new(),
            };
            assert!(matches!(
                write_take_midi(Some(&take), &dir),
                Err(ExportError::NoNotes)
            ));
            take.notes = vec![note(0.5, 0.5, 64)];
            let path = write_take_midi(Some(&take), &dir).unwrap();
            let notes = crate::midi_file::read_notes(&path).unwrap();
            assert_eq!(notes.len(), 1);
            assert!((notes[0].start_beats - 1.0).abs() < 1e-3);
            let _ = std::fs::remove_dir_all(&dir);
        }

        #[test]
        fn saves_in_the_same_second_never_overwrite_each_other() {
            let dir =
                std::env::temp_dir().join(format!("continuo-export-twice-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            let first = write_new_file(&dir, "take", "mid", b"one").unwrap();
            let second = write_new_file(&dir, "take", "mid", b"two").unwrap();
            assert_ne!(first, second);
            assert_eq!(std::fs::read(&first).unwrap(), b"one");
            assert_eq!(std::fs::read(&second).unwrap(), b"two");
            let _ = std::fs::remove_dir_all(&dir);
        }
    }
}
