//! The plugin's own instruments: they turn the notes family's notes into audio at the host's
//! sample rate. A SoundFont synthesizer (rustysynth, pure Rust, MIT) plays the bundled
//! `continuo-instruments.sf2`: General MIDI presets that `models/instruments/make_soundfont.py`
//! extracts from FluidR3 GM (MIT; licence in `assets/continuo-instruments.LICENSE`).
//!
//! A take is one instrument's notes ([`Instruments::render`]) or a band: several parts, each an
//! instrument with its notes, played by one synthesizer into one mix
//! ([`Instruments::render_band`]). Drum kits play General MIDI drum notes on the percussion
//! channel and let every hit ring out.
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

/// Voices sounding at once before the quietest is stolen. Every note of our presets takes one or
/// two voices (the pad and the saw lead layer two, as does each TR-808 hit), and drum hits ring
/// until their samples end (a crash 5.8 s); a band's parts share one synthesizer, so 256 leaves
/// room for six parts with dense chords and long releases. Only sounding voices cost time.
const MAX_POLYPHONY: usize = 256;

/// Most parts in a band: one per MIDI channel. The percussion channel only plays a drum kit, so a
/// band without one has room for one part less.
pub const MAX_BAND_PARTS: usize = Synthesizer::CHANNEL_COUNT;

/// The General MIDI percussion channel (channel 10, index 9). rustysynth adds 128 to any bank
/// select it receives, so a bank select of 0 there selects the SF2 percussion bank 128.
const PERCUSSION_CHANNEL: i32 = Synthesizer::PERCUSSION_CHANNEL as i32;

/// One part of a band: an instrument and the notes it plays. `Instruments::render_band` hands
/// MIDI channels out in the parts' order. Worker thread.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandPart<'a> {
    /// Which instrument plays the part. A drum kit reads `notes` as General MIDI drum notes.
    pub instrument: Instrument,
    /// The part's notes, borrowed: a band is rendered straight from the composition's note
    /// lists, without copying them. A drum hit's duration is ignored (every hit rings out).
    pub notes: &'a [Note],
}

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

    #[error("the instruments' sound font {origin} has no preset for {instrument} (General MIDI bank {bank}, program {program}); rebuild it with models/instruments/make_soundfont.py")]
    MissingPreset {
        origin: String,
        instrument: Instrument,
        bank: u16,
        program: u8,
    },

    #[error("cannot render at {sample_rate_hz} Hz: the instruments play at {MIN_SAMPLE_RATE_HZ} to {MAX_SAMPLE_RATE_HZ} Hz")]
    UnsupportedSampleRate { sample_rate_hz: u32 },

    #[error("cannot render {num_frames} frames at {sample_rate_hz} Hz: the longest render is {MAX_RENDER_SECONDS} s")]
    TooLong {
        num_frames: usize,
        sample_rate_hz: u32,
    },

    #[error("a band has at most {MAX_BAND_PARTS} parts, one of them a drum kit (one MIDI channel each); this one has {num_parts}: merge parts that share an instrument")]
    TooManyParts { num_parts: usize },

    #[error("note {note_idx} of part {part_idx} ({instrument}) cannot be played: {reason}")]
    InvalidNote {
        part_idx: usize,
        instrument: Instrument,
        note_idx: usize,
        reason: &'static str,
    },

    /// `playing` names the instruments of the render ("Piano", or "Drum Kit, Synth Bass, Pad").
    #[error("the synthesizer failed while playing {playing}: {reason}")]
    Synth { playing: String, reason: String },
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
            // rustysynth would fall back to another preset (the piano, or the Standard kit)
            // without a word; a missing preset is a broken font.
            let found = font.get_presets().iter().any(|p| {
                p.get_bank_number() == i32::from(instrument.bank())
                    && p.get_patch_number() == i32::from(instrument.program())
            });
            if !found {
                return Err(InstrumentError::MissingPreset {
                    origin: origin.to_string(),
                    instrument,
                    bank: instrument.bank(),
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
    /// (left, right) at `sample_rate_hz`: a band of one part (see [`render_band`](Self::render_band)
    /// for the timing rules). Deterministic. Not real-time safe: allocates and takes time
    /// (roughly proportional to the number of sounding voices).
    pub fn render(
        &self,
        instrument: Instrument,
        notes: &[Note],
        sample_rate_hz: u32,
        num_frames: usize,
    ) -> Result<Vec<f32>, InstrumentError> {
        self.render_band(
            &[BandPart { instrument, notes }],
            sample_rate_hz,
            num_frames,
        )
    }

    /// Plays every part of a band in one synthesizer and returns the mix: `num_frames` frames of
    /// interleaved stereo (left, right) at `sample_rate_hz`.
    ///
    /// Each part has its own MIDI channel and preset: the first drum kit plays on the percussion
    /// channel, every other part on the next free channel (a second kit there, with its bank
    /// selected directly). Note-ons and note-offs land within `EVENT_GRID_FRAMES / 2` frames of
    /// their times; a note still held at the end is cut there, and releases ring until
    /// `num_frames`. In a pitched part, a note that starts while the same pitch sounds re-strikes
    /// it (the earlier note is released), as the notes tokenizer trims such overlaps. A drum kit
    /// gets no note-offs: every hit plays its sample to the end, over earlier hits of the same
    /// drum (the Standard kit's hi-hats still choke each other, as the kit defines), and a hit
    /// that started before the render is not played.
    ///
    /// The parts share one reverb and chorus, as players in one room do; rustysynth's reverb is
    /// not quite linear, so a band differs a little (about -22 dB RMS for six parts) from its
    /// parts rendered alone and added. More than `MAX_BAND_PARTS` parts (or as many without a
    /// drum kit) are a `TooManyParts` error.
    ///
    /// Levels: every instrument is brought to about the same loudness (`gain_db`), and a band of
    /// `n` parts with notes is turned down by `10 log10(n)` dB so that its RMS stays near one
    /// part's. A band of one part renders exactly what `render` does.
    ///
    /// Deterministic. Not real-time safe: allocates and takes time (roughly proportional to the
    /// number of sounding voices).
    pub fn render_band(
        &self,
        parts: &[BandPart<'_>],
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
        let channels = channels(parts).ok_or(InstrumentError::TooManyParts {
            num_parts: parts.len(),
        })?;
        let mut events = Vec::with_capacity(2 * parts.iter().map(|p| p.notes.len()).sum::<usize>());
        for (part_idx, part) in parts.iter().enumerate() {
            schedule(part_idx, part, sample_rate_hz, num_frames, &mut events)?;
        }
        events.sort_unstable();
        let rendered = catch_unwind(AssertUnwindSafe(|| {
            self.play(parts, &channels, &events, sample_rate_hz, num_frames)
        }));
        match rendered {
            Ok(result) => result,
            Err(panic) => Err(InstrumentError::Synth {
                playing: playing(parts),
                reason: panic_text(&*panic),
            }),
        }
    }

    fn play(
        &self,
        parts: &[BandPart<'_>],
        channels: &[i32],
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
                playing: playing(parts),
                reason: e.to_string(),
            })?;
        let mix = mix_levels(parts);
        synth.set_master_volume(mix.master_volume);
        for ((part, &channel), &expression) in parts.iter().zip(channels).zip(&mix.expressions) {
            // The percussion channel adds the percussion bank (128) to its bank select itself.
            let bank_select = if channel == PERCUSSION_CHANNEL {
                0
            } else {
                i32::from(part.instrument.bank())
            };
            synth.process_midi_message(channel, 0xB0, 0x00, bank_select);
            synth.process_midi_message(channel, 0xC0, i32::from(part.instrument.program()), 0);
            // 14-bit controllers: the coarse value (which keeps the fine bits), then the fine.
            synth.process_midi_message(channel, 0xB0, 0x07, FULL_CHANNEL_VOLUME >> 7);
            synth.process_midi_message(channel, 0xB0, 0x27, FULL_CHANNEL_VOLUME & 0x7F);
            synth.process_midi_message(channel, 0xB0, 0x0B, expression >> 7);
            synth.process_midi_message(channel, 0xB0, 0x2B, expression & 0x7F);
        }

        let mut left = vec![0.0f32; num_frames];
        let mut right = vec![0.0f32; num_frames];
        // Per part, the note currently holding each pitch, so an old note's note-off cannot
        // silence a newer note of the same pitch (rustysynth's note-off ends every voice of that
        // key on the channel).
        let mut holders: Vec<[Option<usize>; 128]> = vec![[None; 128]; parts.len()];
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
            let channel = channels[event.part_idx];
            let key = i32::from(event.pitch);
            let holder = &mut holders[event.part_idx][event.pitch as usize];
            match event.kind {
                EventKind::Off => {
                    if *holder == Some(event.note_idx) {
                        synth.note_off(channel, key);
                        *holder = None;
                    }
                }
                EventKind::On => {
                    // Kits get no note-offs (`schedule` makes none), so nothing holds a drum.
                    if holder.is_some() {
                        synth.note_off(channel, key);
                    }
                    synth.note_on(channel, key, i32::from(event.velocity));
                    if !parts[event.part_idx].instrument.is_drum_kit() {
                        *holder = Some(event.note_idx);
                    }
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

/// The MIDI channel of each part: the first drum kit on the percussion channel, every other part
/// on the lowest free channel. `None` when the channels run out.
fn channels(parts: &[BandPart<'_>]) -> Option<Vec<i32>> {
    let percussion_idx = parts.iter().position(|p| p.instrument.is_drum_kit());
    let mut free = (0..MAX_BAND_PARTS as i32).filter(|c| *c != PERCUSSION_CHANNEL);
    (0..parts.len())
        .map(|part_idx| {
            if Some(part_idx) == percussion_idx {
                Some(PERCUSSION_CHANNEL)
            } else {
                free.next()
            }
        })
        .collect()
}

/// "Piano", or "Drum Kit, Synth Bass, Pad": the instruments of a render, for an error.
fn playing(parts: &[BandPart<'_>]) -> String {
    let names: Vec<&str> = parts.iter().map(|p| p.instrument.name()).collect();
    names.join(", ")
}

/// rustysynth's default master volume, the level our gains are relative to.
const BASE_MASTER_VOLUME: f32 = 0.5;

/// Gain for each instrument in dB over `BASE_MASTER_VOLUME` (at rustysynth's default channel
/// volume). FluidR3's presets differ in loudness by up to 18 dB; these bring a four-note chord at
/// velocity 100 to about -24 dBFS RMS (measured at 44.1 kHz before they were set: piano -32.9,
/// electric piano -25.3, pad -21.3, pluck -31.8, bass -25.2, strings -26.6, choir -28.3, synth
/// bass -32.0, synth lead -20.8 dB), which leaves a four-note chord at velocity 127 peaking under
/// 0.8. The kits are set by a bar of kick, snare
/// and eighth-note closed hi-hats at velocity 100 (measured: Standard kit -38.3, TR-808 -25.0 dB),
/// brought to about -26 dBFS RMS: a drum bar peaks 18-20 dB over its RMS, and 2 dB less keeps a
/// bar at velocity 127 peaking under 0.85. The `level` tests hold them to it.
fn gain_db(instrument: Instrument) -> f32 {
    match instrument {
        Instrument::Piano => 8.9,
        Instrument::ElectricPiano => 1.3,
        Instrument::Pad => -2.7,
        Instrument::Pluck => 7.8,
        Instrument::Bass => 1.2,
        Instrument::Strings => 2.6,
        Instrument::Choir => 4.3,
        Instrument::DrumKit => 12.3,
        Instrument::ElectronicDrums => -1.0,
        Instrument::SynthBass => 8.0,
        Instrument::SynthLead => -3.2,
    }
}

/// The channel volume (MIDI CC 7 and 39, 14 bits) every part plays at: full, where rustysynth
/// starts at General MIDI's 100 (coarse). rustysynth feeds a voice to its reverb and chorus only
/// while `0.015 * send * gain` stays above 1e-3, where `gain` is the voice's own gain before the
/// master volume, so a quiet voice loses its reverb altogether. Full channel volume (+4.3 dB, with
/// the master volume 4.3 dB down) keeps more of every voice's reverb, and leaves room to take a
/// band's quieter parts down with their expression: a six-part band then comes within -22 dB
/// (RMS of the difference) of its parts rendered alone and mixed, against -14 dB at volume 100.
const FULL_CHANNEL_VOLUME: i32 = 16_383;

/// The channel volume rustysynth starts with (100 coarse): the one `gain_db` was measured at.
const DEFAULT_CHANNEL_VOLUME: i32 = 100 << 7;

/// The expression (MIDI CC 11 and 43, 14 bits) rustysynth starts every channel with (127
/// coarse): the loudest part's.
const DEFAULT_EXPRESSION: i32 = 127 << 7;

/// How loud each part of a render plays.
struct MixLevels {
    /// The synthesizer's master volume: the loudest part's gain, less the band's headroom and
    /// what `FULL_CHANNEL_VOLUME` adds.
    master_volume: f32,
    /// Per part, the 14-bit expression that takes it down from the loudest part's gain to its
    /// own. rustysynth squares volume times expression, so a part's amplitude scales with
    /// (expression / DEFAULT_EXPRESSION)^2.
    expressions: Vec<i32>,
}

/// Levels for a render: each part at its instrument's `gain_db`, and a band of `n` parts with
/// notes turned down by `10 log10(n)` dB (parts that are not correlated add in power, so the band
/// keeps about one part's RMS).
fn mix_levels(parts: &[BandPart<'_>]) -> MixLevels {
    let sounding = || parts.iter().filter(|p| !p.notes.is_empty());
    let num_sounding = sounding().count().max(1);
    let loudest_db = sounding()
        .map(|p| gain_db(p.instrument))
        .fold(f32::NEG_INFINITY, f32::max);
    let loudest_db = if loudest_db.is_finite() {
        loudest_db
    } else {
        0.0
    };
    let headroom_db = 10.0 * (num_sounding as f32).log10();
    let expressions = parts
        .iter()
        .map(|p| {
            // Parts without notes may be louder than the loudest sounding one; they play nothing.
            let below_db = (gain_db(p.instrument) - loudest_db).min(0.0);
            (DEFAULT_EXPRESSION as f32 * 10f32.powf(below_db / 40.0)).round() as i32
        })
        .collect();
    // rustysynth squares the channel volume, as it does the expression.
    let volume_ratio = DEFAULT_CHANNEL_VOLUME as f32 / FULL_CHANNEL_VOLUME as f32;
    MixLevels {
        master_volume: BASE_MASTER_VOLUME
            * 10f32.powf((loudest_db - headroom_db) / 20.0)
            * volume_ratio
            * volume_ratio,
        expressions,
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum EventKind {
    // Off sorts before On, so at one frame a note ends before the next one starts.
    Off,
    On,
}

/// A note-on or note-off. Sorted by frame, then kind, then the part, then the note's place in
/// the part.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
struct Event {
    frame: usize,
    kind: EventKind,
    part_idx: usize,
    note_idx: usize,
    pitch: u8,
    velocity: u8,
}

/// Appends one part's note-ons and note-offs on the event grid to `events` (unsorted). Checks
/// every note. A drum kit gets note-ons only, and a hit that started before the render is not
/// played (it is not a note still sounding, as a held pitched note is).
fn schedule(
    part_idx: usize,
    part: &BandPart<'_>,
    sample_rate_hz: u32,
    num_frames: usize,
    events: &mut Vec<Event>,
) -> Result<(), InstrumentError> {
    let rate = f64::from(sample_rate_hz);
    let ring_out = part.instrument.is_drum_kit();
    for (note_idx, note) in part.notes.iter().enumerate() {
        let invalid = |reason| InstrumentError::InvalidNote {
            part_idx,
            instrument: part.instrument,
            note_idx,
            reason,
        };
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
        if note.velocity == 0 || (note.start_seconds < 0.0 && (ring_out || end_seconds <= 0.0)) {
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
            part_idx,
            note_idx,
            pitch: note.pitch,
            velocity: note.velocity,
        };
        events.push(event(on, EventKind::On));
        if off < num_frames && !ring_out {
            events.push(event(off, EventKind::Off));
        }
    }
    Ok(())
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
