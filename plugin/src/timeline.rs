//! One vocabulary for time and notes, shared by capture, the models, MIDI files, takes and
//! pictures: the host transport at a block's start, the meter a job runs in, and a note in
//! seconds or in beats, with every conversion between them written once, here.
//!
//! Plain values and plain functions: any thread, real-time safe (nothing here allocates except
//! the slice conversions, which say so).

/// Tempo used when the host gives none, or nonsense, in beats per minute.
pub const FALLBACK_TEMPO_BPM: f64 = 120.0;

/// How far a host may round its beat position, in beats. Ardour 7 sends whole ticks (1/1920
/// beat: 12.5 frames at 48 kHz and 120 BPM), which put a take up to 6 frames before its bar
/// line; a position in samples within this distance is the same place, exactly.
const BEAT_ROUNDING_TOLERANCE: f64 = 1.0 / 480.0;

/// The host transport at the start of a block, copied out of the host's structure. Any thread;
/// real-time safe.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct TransportSnapshot {
    pub playing: bool,
    pub sample_rate_hz: f32,
    pub tempo_bpm: Option<f64>,
    /// (numerator, denominator) as the host sends it; checked by [`Meter::from_transport`].
    pub time_sig: Option<(i32, i32)>,
    /// Position in quarter-note beats from the project start.
    pub pos_beats: Option<f64>,
    /// Where the bar containing `pos_beats` started, in beats.
    pub bar_start_beats: Option<f64>,
    /// Position in frames from the project start.
    pub pos_samples: Option<i64>,
}

impl TransportSnapshot {
    /// Tempo in BPM, falling back to 120 when the host gives none or nonsense.
    pub fn tempo_bpm(&self) -> f64 {
        self.meter().tempo_bpm
    }

    /// Quarter-note beats per bar (4 for 4/4, 3 for 3/4, 3 for 6/8), 4 when unknown.
    pub fn beats_per_bar(&self) -> f64 {
        self.meter().beats_per_bar()
    }

    /// Frames per quarter-note beat at this tempo and rate.
    pub fn frames_per_beat(&self) -> f64 {
        self.sample_rate_hz as f64 * 60.0 / self.tempo_bpm()
    }

    /// The tempo and time signature, sanitised.
    pub fn meter(&self) -> Meter {
        Meter::from_host(self.tempo_bpm, self.time_sig)
    }

    /// The beat position recomputed from the sample position when the two agree to within a
    /// host's rounding (the tempo has been constant since the start, as in most projects): the
    /// grid then falls on the exact sample. When they disagree (a tempo change earlier in the
    /// project, a host whose sample position starts elsewhere) the host's beats stand.
    pub fn with_exact_beats(mut self) -> TransportSnapshot {
        if let (Some(beats), Some(samples), Some(_)) =
            (self.pos_beats, self.pos_samples, self.tempo_bpm)
        {
            let from_samples = samples as f64 / self.frames_per_beat();
            if beats.is_finite()
                && from_samples.is_finite()
                && (from_samples - beats).abs() <= BEAT_ROUNDING_TOLERANCE
            {
                self.pos_beats = Some(from_samples);
            }
        }
        self
    }

    /// The transport `offset_frames` into the block (same tempo).
    pub fn advanced(&self, offset_frames: usize) -> TransportSnapshot {
        if offset_frames == 0 || !self.playing {
            return *self;
        }
        let mut t = *self;
        let beats = offset_frames as f64 / t.frames_per_beat();
        t.pos_beats = t.pos_beats.map(|b| b + beats);
        t.pos_samples = t.pos_samples.map(|s| s + offset_frames as i64);
        t
    }
}

/// The tempo and time signature a job runs in. Always sane: built only through the checks in
/// [`Meter::new`] and [`Meter::from_host`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Meter {
    /// Quarter notes per minute, 1 to 1000 (exclusive).
    pub tempo_bpm: f64,
    /// (numerator, denominator), each 1 to 64.
    pub time_sig: (u32, u32),
}

impl Default for Meter {
    fn default() -> Self {
        Self {
            tempo_bpm: FALLBACK_TEMPO_BPM,
            time_sig: (4, 4),
        }
    }
}

impl Meter {
    /// A meter from checked values: a tempo outside (1, 1000) BPM becomes 120, a time signature
    /// outside 1..=64 becomes 4/4.
    pub fn new(tempo_bpm: f64, time_sig: (u32, u32)) -> Self {
        let (num, den) = time_sig;
        Self::from_host(Some(tempo_bpm), Some((num as i32, den as i32)))
    }

    /// A meter from what a host sends (either part may be missing or nonsense).
    pub fn from_host(tempo_bpm: Option<f64>, time_sig: Option<(i32, i32)>) -> Self {
        let tempo_bpm = match tempo_bpm {
            Some(t) if t.is_finite() && t > 1.0 && t < 1000.0 => t,
            _ => FALLBACK_TEMPO_BPM,
        };
        let time_sig = match time_sig {
            Some((n, d)) if (1..=64).contains(&n) && (1..=64).contains(&d) => (n as u32, d as u32),
            _ => (4, 4),
        };
        Self {
            tempo_bpm,
            time_sig,
        }
    }

    /// Quarter-note beats per bar.
    pub fn beats_per_bar(&self) -> f64 {
        self.time_sig.0 as f64 * 4.0 / self.time_sig.1 as f64
    }

    pub fn seconds_per_beat(&self) -> f64 {
        60.0 / self.tempo_bpm
    }

    pub fn seconds_per_bar(&self) -> f64 {
        self.beats_per_bar() * self.seconds_per_beat()
    }

    pub fn seconds_per_16th(&self) -> f64 {
        self.seconds_per_beat() / 4.0
    }

    pub fn frames_per_beat(&self, sample_rate_hz: f64) -> f64 {
        sample_rate_hz * self.seconds_per_beat()
    }

    /// A note in seconds from some origin, in beats from `offset_beats` after that origin.
    pub fn to_beats(&self, note: &Note, offset_beats: f64) -> BeatNote {
        let beats_per_second = 1.0 / self.seconds_per_beat();
        BeatNote {
            start_beats: offset_beats + note.start_seconds * beats_per_second,
            duration_beats: note.duration_seconds * beats_per_second,
            pitch: note.pitch,
            velocity: note.velocity,
            channel: note.channel,
        }
    }

    /// A note in beats, in seconds from the same origin.
    pub fn to_seconds(&self, note: &BeatNote) -> Note {
        let seconds_per_beat = self.seconds_per_beat();
        Note {
            start_seconds: note.start_beats * seconds_per_beat,
            duration_seconds: note.duration_beats * seconds_per_beat,
            pitch: note.pitch,
            velocity: note.velocity,
            channel: note.channel,
        }
    }

    /// Every note in beats. Not real-time safe: allocates.
    pub fn all_to_beats(&self, notes: &[Note], offset_beats: f64) -> Vec<BeatNote> {
        notes
            .iter()
            .map(|n| self.to_beats(n, offset_beats))
            .collect()
    }

    /// Every note in seconds. Not real-time safe: allocates.
    pub fn all_to_seconds(&self, notes: &[BeatNote]) -> Vec<Note> {
        notes.iter().map(|n| self.to_seconds(n)).collect()
    }
}

/// A note timed in seconds: what a take plays, what the transcriber hears, what the instruments
/// render.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Note {
    /// When the key goes down, in seconds from the origin the owner names (a take's or a
    /// context's first frame, a render's start).
    pub start_seconds: f64,
    /// How long the key is held, in seconds.
    pub duration_seconds: f64,
    /// MIDI pitch, 0-127 (60 = middle C).
    pub pitch: u8,
    /// MIDI velocity, 1-127; 0 plays nothing.
    pub velocity: u8,
    /// MIDI channel, 0-15; 9 (channel 10) holds General MIDI drums.
    pub channel: u8,
}

/// A note timed in quarter-note beats: what MIDI files hold and what a context sends the model.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BeatNote {
    pub start_beats: f64,
    pub duration_beats: f64,
    /// MIDI pitch, 0-127.
    pub pitch: u8,
    /// MIDI velocity, 1-127.
    pub velocity: u8,
    /// MIDI channel, 0-15; 9 (channel 10) holds General MIDI drums.
    pub channel: u8,
}

/// A MIDI note event inside a host block: what the host sent, or what the plugin sends back.
/// Real-time safe (`Copy`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MidiEvent {
    /// Frame offset in the block.
    pub frame: u32,
    pub pitch: u8,
    /// 1-127 for a note-on, 0 for a note-off.
    pub velocity: u8,
    pub is_on: bool,
    /// MIDI channel, 0-15; 9 (channel 10) holds General MIDI drums.
    pub channel: u8,
}

/// The MIDI channel (0-based) of General MIDI drums: channel 10.
pub const DRUM_CHANNEL: u8 = 9;

/// The channel each part of a take plays on, for MIDI out and the .mid export: a one-part take
/// (the v1 notes model) on channel 1 (0-based 0), a band's parts on channels 2 (bass), 3 (chords),
/// 4 (pad), 5 (arpeggio), 6 (lead) and 10 (drums).
pub const PART_CHANNELS: [(u8, &str); 7] = [
    (0, "Continuo"),
    (1, "Bass"),
    (2, "Chords"),
    (3, "Pad"),
    (4, "Arpeggio"),
    (5, "Lead"),
    (DRUM_CHANNEL, "Drums"),
];

/// The track name of a take's part on `channel` ([`PART_CHANNELS`]; "Channel <n>" otherwise).
/// Worker thread; allocates.
pub fn part_name(channel: u8) -> String {
    PART_CHANNELS
        .iter()
        .find(|(c, _)| *c == channel)
        .map_or_else(
            || format!("Channel {}", channel + 1),
            |(_, name)| name.to_string(),
        )
}

impl MidiEvent {
    /// A note-on on channel 0 (see [`MidiEvent::on_channel`]).
    pub fn on(frame: u32, pitch: u8, velocity: u8) -> Self {
        Self {
            frame,
            pitch,
            velocity,
            is_on: true,
            channel: 0,
        }
    }

    /// A note-off on channel 0 (see [`MidiEvent::on_channel`]).
    pub fn off(frame: u32, pitch: u8) -> Self {
        Self {
            frame,
            pitch,
            velocity: 0,
            is_on: false,
            channel: 0,
        }
    }

    /// The same event on `channel` (0-15; higher values wrap).
    pub fn on_channel(self, channel: u8) -> Self {
        Self {
            channel: channel & 0x0f,
            ..self
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    mod meter {
        use super::*;

        #[test]
        fn nonsense_from_the_host_falls_back() {
            let m = Meter::from_host(Some(f64::NAN), Some((0, 4)));
            assert_eq!(m, Meter::default());
            let m = Meter::from_host(Some(2000.0), Some((7, 65)));
            assert_eq!(m, Meter::default());
            assert_eq!(Meter::from_host(None, None), Meter::default());
        }

        #[test]
        fn six_eight_has_three_quarter_beats() {
            let m = Meter::new(90.0, (6, 8));
            assert_eq!(m.beats_per_bar(), 3.0);
            assert!((m.seconds_per_bar() - 2.0).abs() < 1e-12);
        }

        #[test]
        fn seconds_and_beats_round_trip() {
            let m = Meter::new(96.0, (4, 4));
            let note = BeatNote {
                start_beats: 3.25,
                duration_beats: 0.5,
                pitch: 40,
                velocity: 99,
                channel: 0,
            };
            let back = m.to_beats(&m.to_seconds(&note), 0.0);
            assert!((back.start_beats - 3.25).abs() < 1e-12);
            assert!((back.duration_beats - 0.5).abs() < 1e-12);
            assert_eq!((back.pitch, back.velocity), (40, 99));
            assert!((m.to_seconds(&note).start_seconds - 3.25 * 0.625).abs() < 1e-12);
        }

        #[test]
        fn offset_moves_the_start_only() {
            let m = Meter::new(120.0, (4, 4));
            let n = Note {
                start_seconds: 1.0,
                duration_seconds: 1.0,
                pitch: 60,
                velocity: 80,
                channel: 0,
            };
            let b = m.to_beats(&n, 8.0);
            assert_eq!((b.start_beats, b.duration_beats), (10.0, 2.0));
        }
    }

    mod transport {
        use super::*;

        #[test]
        fn advanced_moves_beats_and_samples() {
            let t = TransportSnapshot {
                playing: true,
                sample_rate_hz: 48_000.0,
                tempo_bpm: Some(120.0),
                time_sig: Some((4, 4)),
                pos_beats: Some(1.0),
                bar_start_beats: Some(0.0),
                pos_samples: Some(24_000),
            };
            let a = t.advanced(12_000);
            assert_eq!(a.pos_beats, Some(1.5));
            assert_eq!(a.pos_samples, Some(36_000));
            let mut stopped = t;
            stopped.playing = false;
            assert_eq!(stopped.advanced(12_000), stopped);
        }

        #[test]
        fn exact_beats_come_from_the_samples_when_the_host_rounds() {
            // Ardour 7 at 48 kHz, 120 BPM: sample 95,000 is beat 3.958333..., sent as a whole
            // tick of 1/1920 beat.
            let host = TransportSnapshot {
                playing: true,
                sample_rate_hz: 48_000.0,
                tempo_bpm: Some(120.0),
                time_sig: Some((4, 4)),
                pos_beats: Some((95_000.0 / 24_000.0 * 1920.0_f64).round() / 1920.0),
                bar_start_beats: Some(0.0),
                pos_samples: Some(95_000),
            };
            assert_eq!(host.with_exact_beats().pos_beats, Some(95_000.0 / 24_000.0));
            // A tempo change earlier in the project: samples and beats disagree by beats.
            let changed = TransportSnapshot {
                pos_beats: Some(6.0),
                ..host
            };
            assert_eq!(changed.with_exact_beats().pos_beats, Some(6.0));
            let no_tempo = TransportSnapshot {
                tempo_bpm: None,
                ..host
            };
            assert_eq!(no_tempo.with_exact_beats(), no_tempo);
        }
    }
}
