//! The plugin's own instruments: they turn the notes family's notes into audio at the host's
//! sample rate. A SoundFont synthesizer (rustysynth, pure Rust, MIT) plays the bundled
//! `continuo-instruments.sf2`: General MIDI presets that `models/instruments/make_soundfont.py`
//! extracts from FluidR3 GM (MIT; licence in `assets/continuo-instruments.LICENSE`).
//!
//! Worker thread (and command line): loading and rendering allocate and take time, so neither
//! belongs on the audio thread. Rendering is offline and deterministic: the same notes at the
//! same rate give bit-identical audio.

mod instrument;

pub use instrument::Instrument;

use rustysynth::{SoundFont, Synthesizer, SynthesizerSettings};
use std::io::Cursor;
use std::panic::{catch_unwind, AssertUnwindSafe};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use thiserror::Error;

pub use crate::timeline::Note;

/// File name of the bundled SoundFont; the plugin bundle carries it beside the default model.
pub const SOUND_FONT_FILE_NAME: &str = "continuo-instruments.sf2";

/// Lowest output rate: rustysynth's own limit (it rejects lower rates).
pub const MIN_SAMPLE_RATE_HZ: u32 = 16_000;
/// Highest output rate: rustysynth's own limit.
pub const MAX_SAMPLE_RATE_HZ: u32 = 192_000;

/// Longest render, in seconds. Takes are bars long; ten minutes of stereo f32 at 192 kHz is
/// 920 MB, so anything longer is a caller's mistake rather than a take.
pub const MAX_RENDER_SECONDS: u32 = 600;

/// rustysynth renders in blocks and applies note-ons and note-offs only between blocks. Its
/// smallest block (8 frames) puts every event on an 8-frame grid: each event is moved to the
/// nearest grid line, at most 4 frames (0.09 ms at 44.1 kHz) from its exact time. The small
/// block updates envelopes and filters 8 times as often as the default 64, which makes renders
/// 1.2 to 2.2 times slower; a 17 s take (96 notes, chords and a melody) at 48 kHz still renders
/// 38 to 157 times faster than real time on one busy core, depending on the instrument.
pub const EVENT_GRID_FRAMES: usize = 8;

/// Voices sounding at once before the oldest is stolen. Every note of our presets takes one or
/// two voices (the pad layers two); 128 leaves room for dense chords with long releases.
const MAX_POLYPHONY: usize = 128;

/// The MIDI channel the notes play on (any melodic channel; 9 is percussion).
const CHANNEL: i32 = 0;

/// Why the instruments could not load or could not play.
#[derive(Debug, Error)]
pub enum InstrumentError {
    #[error("cannot read the instruments' sound font {path}: {source}; reinstall the plugin bundle, which carries {SOUND_FONT_FILE_NAME}")]
    Read {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    #[error("the instruments' sound font {origin} is not a valid SoundFont 2 file ({reason}); reinstall the plugin bundle or rebuild it with models/instruments/make_soundfont.py")]
    Corrupt { origin: String, reason: String },

    #[error("the instruments' sound font {origin} has no preset for {instrument} (General MIDI bank 0, program {program}); rebuild it with models/instruments/make_soundfont.py")]
    MissingPreset {
        origin: String,
        instrument: Instrument,
        program: u8,
    },

    #[error("cannot render at {sample_rate_hz} Hz: the instruments play at {MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ} Hz")]
    UnsupportedSampleRate { sample_rate_hz: u32 },

    #[error("cannot render {num_frames} frames at {sample_rate_hz} Hz: the longest render is {MAX_RENDER_SECONDS} s")]
    TooLong {
        num_frames: usize,
        sample_rate_hz: u32,
    },

    #[error("note {note_idx} cannot be played: {reason}")]
    InvalidNote {
        note_idx: usize,
        reason: &'static str,
    },

    #[error("the synthesizer failed while playing {instrument}: {reason}")]
    Synth {
        instrument: Instrument,
        reason: String,
    },
}

/// The loaded SoundFont, shared by every render. Made and used on the worker thread (or the
/// command line); cheap to clone (the font is behind an `Arc`) and `Send + Sync`, so one copy
/// can serve every worker.
#[derive(Clone)]
pub struct Instruments {
    font: Arc<SoundFont>,
    origin: String,
}

impl std::fmt::Debug for Instruments {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Instruments")
            .field("origin", &self.origin)
            .field("num_presets", &self.font.get_presets().len())
            .finish()
    }
}

impl Instruments {
    /// Loads the SoundFont at `path` (normally `SOUND_FONT_FILE_NAME` inside the bundle).
    /// Not real-time safe: reads the file and allocates.
    pub fn load(path: &Path) -> Result<Self, InstrumentError> {
        let bytes = std::fs::read(path).map_err(|source| InstrumentError::Read {
            path: path.to_path_buf(),
            source,
        })?;
        Self::from_bytes(&bytes, &path.display().to_string())
    }

    /// Loads a SoundFont from its bytes; `origin` names it in error messages. Fails, without
    /// panicking, on a malformed font and on one that lacks a preset for any [`Instrument`].
    /// Not real-time safe: allocates.
    pub fn from_bytes(bytes: &[u8], origin: &str) -> Result<Self, InstrumentError> {
        let corrupt = |reason: String| InstrumentError::Corrupt {
            origin: origin.to_string(),
            reason,
        };
        // rustysynth indexes its tables directly and can panic on a malformed font; a panic here
        // must become an error, not take the worker (or the host) down.
        let parsed = catch_unwind(AssertUnwindSafe(|| SoundFont::new(&mut Cursor::new(bytes))));
        let font = match parsed {
            Ok(Ok(font)) => font,
            Ok(Err(e)) => return Err(corrupt(e.to_string())),
            Err(panic) => {
                return Err(corrupt(format!(
                    "the parser failed: {}",
                    panic_text(&*panic)
                )))
            }
        };
        for instrument in Instrument::ALL {
            let found = font.get_presets().iter().any(|p| {
                p.get_bank_number() == 0 && p.get_patch_number() == i32::from(instrument.program())
            });
            if !found {
                return Err(InstrumentError::MissingPreset {
                    origin: origin.to_string(),
                    instrument,
                    program: instrument.program(),
                });
            }
        }
        Ok(Self {
            font: Arc::new(font),
            origin: origin.to_string(),
        })
    }

    /// Where the font came from (its path, or the name given to `from_bytes`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    /// Plays `notes` on `instrument` and returns `num_frames` frames of interleaved stereo
    /// (left, right) at `sample_rate_hz`. Note-ons and note-offs land within
    /// `EVENT_GRID_FRAMES / 2` frames of their times; a note still held at the end is cut there,
    /// and releases ring until `num_frames`. A note that starts while the same pitch sounds
    /// re-strikes it (the earlier note is released), as the notes tokenizer trims such overlaps.
    /// Deterministic. Not real-time safe: allocates and takes time (roughly proportional to the
    /// number of sounding voices).
    pub fn render(
        &self,
        instrument: Instrument,
        notes: &[Note],
        sample_rate_hz: u32,
        num_frames: usize,
    ) -> Result<Vec<f32>, InstrumentError> {
        if !(MIN_SAMPLE_RATE_HZ..=MAX_SAMPLE_RATE_HZ).contains(&sample_rate_hz) {
            return Err(InstrumentError::UnsupportedSampleRate { sample_rate_hz });
        }
        if num_frames > MAX_RENDER_SECONDS as usize * sample_rate_hz as usize {
            return Err(InstrumentError::TooLong {
                num_frames,
                sample_rate_hz,
            });
        }
        let events = schedule(notes, sample_rate_hz, num_frames)?;
        let rendered = catch_unwind(AssertUnwindSafe(|| {
            self.play(instrument, &events, sample_rate_hz, num_frames)
        }));
        match rendered {
            Ok(result) => result,
            Err(panic) => Err(InstrumentError::Synth {
                instrument,
                reason: panic_text(&*panic),
            }),
        }
    }

    fn play(
        &self,
        instrument: Instrument,
        events: &[Event],
        sample_rate_hz: u32,
        num_frames: usize,
    ) -> Result<Vec<f32>, InstrumentError> {
        let mut settings = SynthesizerSettings::new(sample_rate_hz as i32);
        settings.block_size = EVENT_GRID_FRAMES;
        settings.maximum_polyphony = MAX_POLYPHONY;
        settings.enable_reverb_and_chorus = true;
        let mut synth =
            Synthesizer::new(&self.font, &settings).map_err(|e| InstrumentError::Synth {
                instrument,
                reason: e.to_string(),
            })?;
        synth.set_master_volume(master_volume(instrument));
        synth.process_midi_message(CHANNEL, 0xB0, 0x00, 0); // bank select: GM bank 0
        synth.process_midi_message(CHANNEL, 0xC0, i32::from(instrument.program()), 0);

        let mut left = vec![0.0f32; num_frames];
        let mut right = vec![0.0f32; num_frames];
        // The note currently holding each pitch, so an old note's note-off cannot silence a newer
        // note of the same pitch (rustysynth's note-off ends every voice of that key).
        let mut holder: [Option<usize>; 128] = [None; 128];
        let mut cursor = 0;
        for event in events {
            // Every event frame is on the grid, so each rendered span is whole synth blocks and
            // the event takes effect exactly at its frame.
            if event.frame > cursor {
                synth.render(
                    &mut left[cursor..event.frame],
                    &mut right[cursor..event.frame],
                );
                cursor = event.frame;
            }
            let key = i32::from(event.pitch);
            match event.kind {
                EventKind::Off => {
                    if holder[event.pitch as usize] == Some(event.note_idx) {
                        synth.note_off(CHANNEL, key);
                        holder[event.pitch as usize] = None;
                    }
                }
                EventKind::On => {
                    if holder[event.pitch as usize].is_some() {
                        synth.note_off(CHANNEL, key);
                    }
                    synth.note_on(CHANNEL, key, i32::from(event.velocity));
                    holder[event.pitch as usize] = Some(event.note_idx);
                }
            }
        }
        if cursor < num_frames {
            synth.render(&mut left[cursor..], &mut right[cursor..]);
        }

        let mut out = Vec::with_capacity(2 * num_frames);
        for (l, r) in left.iter().zip(&right) {
            out.push(*l);
            out.push(*r);
        }
        Ok(out)
    }
}

/// rustysynth's default master volume, the level our gains are relative to.
const BASE_MASTER_VOLUME: f32 = 0.5;

/// Gain for each instrument in dB over `BASE_MASTER_VOLUME`. FluidR3's presets differ in loudness
/// by up to 11 dB; these bring a four-note chord at velocity 100 to about -24 dBFS RMS (measured
/// at 44.1 kHz before they were set: piano -32.9, electric piano -25.3, pad -21.3, pluck -31.8,
/// bass -25.2, strings -26.6, choir -28.3 dB), which leaves a four-note chord at velocity 127
/// peaking under 0.8. The `level` tests hold them to it.
fn gain_db(instrument: Instrument) -> f32 {
    match instrument {
        Instrument::Piano => 8.9,
        Instrument::ElectricPiano => 1.3,
        Instrument::Pad => -2.7,
        Instrument::Pluck => 7.8,
        Instrument::Bass => 1.2,
        Instrument::Strings => 2.6,
        Instrument::Choir => 4.3,
    }
}

fn master_volume(instrument: Instrument) -> f32 {
    BASE_MASTER_VOLUME * 10f32.powf(gain_db(instrument) / 20.0)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    // Off sorts before On, so at one frame a note ends before the next one starts.
    Off,
    On,
}

/// A note-on or note-off. Sorted by frame, then kind, then the note's place in the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    frame: usize,
    kind: EventKind,
    note_idx: usize,
    pitch: u8,
    velocity: u8,
}

/// Note-ons and note-offs on the event grid, in the order to apply them. Checks every note.
fn schedule(
    notes: &[Note],
    sample_rate_hz: u32,
    num_frames: usize,
) -> Result<Vec<Event>, InstrumentError> {
    let rate = f64::from(sample_rate_hz);
    let mut events = Vec::with_capacity(2 * notes.len());
    for (note_idx, note) in notes.iter().enumerate() {
        let invalid = |reason| InstrumentError::InvalidNote { note_idx, reason };
        if !note.start_seconds.is_finite() || !note.duration_seconds.is_finite() {
            return Err(invalid("its start or duration is not a finite number"));
        }
        if note.pitch > 127 {
            return Err(invalid("its pitch is above 127"));
        }
        if note.velocity > 127 {
            return Err(invalid("its velocity is above 127"));
        }
        let end_seconds = note.start_seconds + note.duration_seconds;
        if note.velocity == 0 || (note.start_seconds < 0.0 && end_seconds <= 0.0) {
            continue;
        }
        let on = grid_frame(note.start_seconds.max(0.0) * rate);
        if on >= num_frames {
            continue;
        }
        let off = grid_frame(end_seconds.max(0.0) * rate).max(on + EVENT_GRID_FRAMES);
        let event = |frame, kind| Event {
            frame,
            kind,
            note_idx,
            pitch: note.pitch,
            velocity: note.velocity,
        };
        events.push(event(on, EventKind::On));
        if off < num_frames {
            events.push(event(off, EventKind::Off));
        }
    }
    events.sort_unstable();
    Ok(events)
}

/// The grid frame nearest to an exact frame position (non-negative, finite).
fn grid_frame(frames: f64) -> usize {
    let grid = EVENT_GRID_FRAMES as f64;
    // Saturates for absurd times; such events fall after the render's end and are dropped.
    ((frames / grid).round() * grid) as usize
}

/// The message of a caught panic, for an error.
fn panic_text(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

#[cfg(test)]
mod tests;
