//! Figures that say how a continuation relates to the riff it continues: scale and key,
//! register, polyphony, density, groove, swing, repetition and silence. `cargo xtask eval-notes`
//! measures the model's continuations and the baselines' ([`super::baselines`]) with them and
//! prints the [`Summary`] of each side by side.
//!
//! Conventions, for every function here:
//! - notes are on the v2 grid (12 ticks per quarter), as the tokenizer gives and takes them;
//! - the *context* is the riff, its first bar starting at tick 0; the *continuation* is what
//!   follows, its tick 0 being the bar after the context's last;
//! - a note belongs to the bar its onset falls in (`start_ticks.div_euclid(bar length)`), and its
//!   *position* is its onset within that bar;
//! - "pitched" means every role but [`Role::Drums`], whose pitch is a General MIDI drum note.
//!
//! Command-line thread: everything here allocates; nothing is real-time safe.

use crate::model::notes::tokens_v2::{Note, Parts, Role, TimeSig, TICKS_PER_QUARTER};
use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::fmt;
use std::ops::RangeInclusive;

/// A continuation part keeps its context part's polyphony when the ratio
/// continuation / context lies in this range: 0.75 to 1.33, the bounds each other's reciprocal
/// so that thinning and thickening are judged alike.
pub const POLYPHONY_RATIO_KEPT: RangeInclusive<f64> = 0.75..=4.0 / 3.0;
/// A continuation part keeps its context part's density (notes per bar) when the ratio
/// continuation / context lies in this range: 0.67 to 1.5, reciprocal bounds as above.
pub const DENSITY_RATIO_KEPT: RangeInclusive<f64> = 2.0 / 3.0..=1.5;
/// How far, in semitones, a bass note may go below the context bass's lowest note or above its
/// highest and still count as in the bass's range.
pub const BASS_RANGE_MARGIN_SEMITONES: i32 = 5;
/// A continuation's bass stays in range when at least this share of its notes do.
pub const BASS_IN_RANGE_MIN_SHARE: f64 = 0.9;
/// Fewest off-beat 8th onsets [`swing`] reads a feel from; with fewer it says `None`. Four is one
/// bar of 8ths, or a few pushes over a 4-bar riff.
pub const SWING_MIN_OFF_BEATS: usize = 4;

/// Position of the straight off-beat 8th in a quarter note, in ticks.
const STRAIGHT_OFF_BEAT_TICKS: i64 = TICKS_PER_QUARTER as i64 / 2;
/// Position of the swung off-beat 8th (the last 8th-note triplet) in a quarter note, in ticks.
const SWUNG_OFF_BEAT_TICKS: i64 = 2 * TICKS_PER_QUARTER as i64 / 3;

/// Bar length of `ts` in ticks.
///
/// # Panics
/// If the v2 grid cannot hold `ts` ([`TimeSig::bar_length_ticks`]); riffs are checked when they
/// are read and the decoder only writes supported meters.
pub fn bar_ticks(ts: TimeSig) -> i64 {
    let ticks = ts
        .bar_length_ticks()
        .expect("the time signature of a riff or take is one the v2 grid supports");
    i64::from(ticks)
}

/// The notes of `parts` whose onset lies in `0..num_bars` bars; parts left empty are dropped.
/// [`measure`] clips both sides with it, so notes a decoder wrote past the end do not count.
pub fn clip_to_bars(parts: &Parts, ts: TimeSig, num_bars: u32) -> Parts {
    let span_ticks = bar_ticks(ts) * i64::from(num_bars);
    parts
        .iter()
        .map(|(&role, notes)| {
            let kept: Vec<Note> = notes
                .iter()
                .filter(|n| (0..span_ticks).contains(&n.start_ticks))
                .copied()
                .collect();
            (role, kept)
        })
        .filter(|(_, notes)| !notes.is_empty())
        .collect()
}

// ------------------------------------------------------------------------------------------
// Scales and keys
// ------------------------------------------------------------------------------------------

/// Pitch-class names, C = 0 .. B = 11, as the `KEY_*` tokens spell them.
const PC_NAMES: [&str; 12] = [
    "C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B",
];

/// The pitch class of a note name without octave: a letter A-G (either case) followed by any
/// number of `#` (sharp) or `b` (flat): `"C"` = 0, `"F#"` = 6, `"Bb"` = 10, `"Cb"` = 11.
/// `None` for anything else.
pub fn pitch_class_from_name(name: &str) -> Option<u8> {
    let mut chars = name.chars();
    let natural: i32 = match chars.next()?.to_ascii_uppercase() {
        'C' => 0,
        'D' => 2,
        'E' => 4,
        'F' => 5,
        'G' => 7,
        'A' => 9,
        'B' => 11,
        _ => return None,
    };
    let mut pc = natural;
    for accidental in chars {
        pc += match accidental {
            '#' => 1,
            'b' => -1,
            _ => return None,
        };
    }
    Some(pc.rem_euclid(12) as u8)
}

/// A mode; with a tonic it makes a [`Scale`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Mode {
    /// Ionian.
    Major,
    /// Natural minor (aeolian), with its raised 7th also in scale.
    Minor,
    /// Minor with a major 6th.
    Dorian,
    /// Minor with a minor 2nd.
    Phrygian,
    /// Major with an augmented 4th.
    Lydian,
    /// Major with a minor 7th.
    Mixolydian,
    /// Minor with a minor 2nd and a diminished 5th.
    Locrian,
    /// Harmonic minor, measured exactly as [`Mode::Minor`]: the natural minor's seven notes are
    /// its key signature and the raised 7th is in scale for both.
    HarmonicMinor,
    /// The blues: mixolydian (its key signature) with the minor 3rd (the blue note) also in
    /// scale.
    Blues,
}

impl Mode {
    /// Every mode.
    pub const ALL: [Mode; 9] = [
        Mode::Major,
        Mode::Minor,
        Mode::Dorian,
        Mode::Phrygian,
        Mode::Lydian,
        Mode::Mixolydian,
        Mode::Locrian,
        Mode::HarmonicMinor,
        Mode::Blues,
    ];

    /// The name `riffs.toml` uses: `"major"`, `"harmonic_minor"`.
    pub fn name(self) -> &'static str {
        match self {
            Mode::Major => "major",
            Mode::Minor => "minor",
            Mode::Dorian => "dorian",
            Mode::Phrygian => "phrygian",
            Mode::Lydian => "lydian",
            Mode::Mixolydian => "mixolydian",
            Mode::Locrian => "locrian",
            Mode::HarmonicMinor => "harmonic_minor",
            Mode::Blues => "blues",
        }
    }

    /// The mode called `name`, ignoring case, with `_`, `-` or a space between words: the names
    /// of [`Mode::name`], and `"ionian"`, `"aeolian"` and `"natural minor"` as aliases.
    pub fn from_name(name: &str) -> Option<Self> {
        let words: Vec<String> = name
            .split(['_', '-', ' '])
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        let joined = words.join("_");
        match joined.as_str() {
            "ionian" => Some(Mode::Major),
            "aeolian" | "natural_minor" => Some(Mode::Minor),
            other => Mode::ALL.into_iter().find(|m| m.name() == other),
        }
    }

    /// Semitones above the tonic of the seven notes of the mode's key signature.
    fn steps(self) -> [u8; 7] {
        match self {
            Mode::Major => [0, 2, 4, 5, 7, 9, 11],
            Mode::Minor | Mode::HarmonicMinor => [0, 2, 3, 5, 7, 8, 10],
            Mode::Dorian => [0, 2, 3, 5, 7, 9, 10],
            Mode::Phrygian => [0, 1, 3, 5, 7, 8, 10],
            Mode::Lydian => [0, 2, 4, 6, 7, 9, 11],
            Mode::Mixolydian | Mode::Blues => [0, 2, 4, 5, 7, 9, 10],
            Mode::Locrian => [0, 1, 3, 5, 6, 8, 10],
        }
    }

    /// Semitones above the tonic of a note also in scale though not in the key signature.
    fn extra_step(self) -> Option<u8> {
        match self {
            Mode::Minor | Mode::HarmonicMinor => Some(11),
            Mode::Blues => Some(3),
            _ => None,
        }
    }
}

/// A tonic and a mode: which pitch classes are in scale.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Scale {
    /// Tonic pitch class, 0 = C .. 11 = B.
    pub tonic: u8,
    /// The mode.
    pub mode: Mode,
}

impl Scale {
    /// `mode` on `tonic` (taken modulo 12).
    pub fn new(tonic: u8, mode: Mode) -> Self {
        Self {
            tonic: tonic % 12,
            mode,
        }
    }

    /// The major scale on `tonic`.
    pub fn major(tonic: u8) -> Self {
        Self::new(tonic, Mode::Major)
    }

    /// The natural minor scale on `tonic`; its raised 7th counts as in scale too (see
    /// [`Scale::contains`]), as harmonic-minor cadences are everyday minor.
    pub fn minor(tonic: u8) -> Self {
        Self::new(tonic, Mode::Minor)
    }

    /// The scale of the mode called `mode_name` ([`Mode::from_name`]) on `tonic`, or `None` for
    /// an unknown mode.
    pub fn from_mode(tonic: u8, mode_name: &str) -> Option<Self> {
        Mode::from_name(mode_name).map(|mode| Self::new(tonic, mode))
    }

    /// Bit `pc` set for each of the seven pitch classes of the key signature.
    pub fn key_signature_mask(self) -> u16 {
        self.mode
            .steps()
            .iter()
            .fold(0, |mask, &step| mask | 1 << ((self.tonic + step) % 12))
    }

    /// Bit `pc` set for every pitch class in scale: the key signature's seven, plus the raised
    /// 7th for minor and harmonic minor and the minor 3rd for the blues.
    pub fn in_scale_mask(self) -> u16 {
        let extra = self
            .mode
            .extra_step()
            .map_or(0, |step| 1 << ((self.tonic + step) % 12));
        self.key_signature_mask() | extra
    }

    /// The in-scale pitch classes ([`Scale::in_scale_mask`]), ascending from C.
    pub fn pitch_classes(self) -> Vec<u8> {
        let mask = self.in_scale_mask();
        (0..12).filter(|pc| mask & (1 << pc) != 0).collect()
    }

    /// Whether `pitch`'s pitch class is in scale. Any MIDI pitch, negative ones too.
    pub fn contains(self, pitch: i32) -> bool {
        self.in_scale_mask() & (1 << pitch.rem_euclid(12)) != 0
    }
}

impl fmt::Display for Scale {
    /// `"Bb minor"`, `"D harmonic_minor"`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} {}",
            PC_NAMES[usize::from(self.tonic)],
            self.mode.name()
        )
    }
}

/// The major or minor key that best fits the pitched parts: the plugin's own estimator
/// ([`crate::model::notes::band::key::estimate_key`], Krumhansl-Kessler profiles over
/// duration-weighted pitch classes, durations capped at a whole note, as the data builder tags
/// keys), as a [`Scale`]. `None` when there is no pitched note. Drums never count.
pub fn estimate_key(parts: &Parts) -> Option<Scale> {
    crate::model::notes::band::key::estimate_key(parts).map(|key| {
        if key.minor {
            Scale::minor(key.pitch_class)
        } else {
            Scale::major(key.pitch_class)
        }
    })
}

/// Whether two scales share a key signature (the same seven pitch classes): relative major and
/// minor agree (C major, A minor, D dorian), as do a minor key and its harmonic minor; extra
/// in-scale notes (raised 7th, blue note) do not count.
pub fn key_agrees(a: &Scale, b: &Scale) -> bool {
    a.key_signature_mask() == b.key_signature_mask()
}

/// Share of the pitched notes (each note once, whatever its duration) whose pitch class is in
/// `scale`; `None` without pitched notes.
pub fn in_scale_share(parts: &Parts, scale: &Scale) -> Option<f64> {
    share(pitched_notes(parts).map(|n| scale.contains(n.pitch)))
}

// ------------------------------------------------------------------------------------------
// One part against itself
// ------------------------------------------------------------------------------------------

/// Mean MIDI pitch of `notes` (each note once); `None` for no notes.
pub fn mean_pitch(notes: &[Note]) -> Option<f64> {
    mean(notes.iter().map(|n| f64::from(n.pitch)))
}

/// Mean number of notes per distinct onset: 1 for a single line, 3 for block triads. `None` for
/// no notes.
pub fn polyphony(notes: &[Note]) -> Option<f64> {
    let num_onsets = notes
        .iter()
        .map(|n| n.start_ticks)
        .collect::<BTreeSet<_>>()
        .len();
    (num_onsets > 0).then(|| notes.len() as f64 / num_onsets as f64)
}

/// Notes per bar over `num_bars` bars (0 for no bars).
pub fn density_per_bar(notes: &[Note], num_bars: u32) -> f64 {
    if num_bars == 0 {
        return 0.0;
    }
    notes.len() as f64 / f64::from(num_bars)
}

/// Share of `continuation`'s notes whose pitch lies within `margin_semitones` of the range of
/// `context`'s pitches (`context min - margin ..= context max + margin`); `None` when either has
/// no notes.
pub fn range_share(context: &[Note], continuation: &[Note], margin_semitones: i32) -> Option<f64> {
    let low = context.iter().map(|n| n.pitch).min()? - margin_semitones;
    let high = context.iter().map(|n| n.pitch).max()? + margin_semitones;
    share(continuation.iter().map(|n| (low..=high).contains(&n.pitch)))
}

/// How one role of the continuation compares with the same role in the context.
#[derive(Debug, Clone, PartialEq)]
pub struct PartFigures {
    /// The role.
    pub role: Role,
    /// Notes of the role in the context.
    pub num_context_notes: usize,
    /// Notes of the role in the continuation; 0 when the continuation dropped the part.
    pub num_continuation_notes: usize,
    /// `|mean pitch of continuation - mean pitch of context|` in semitones ([`mean_pitch`]);
    /// `None` for drums or a part missing on either side.
    pub register_shift_semitones: Option<f64>,
    /// [`polyphony`] of the context part; `None` for drums.
    pub context_polyphony: Option<f64>,
    /// [`polyphony`] of the continuation part; `None` for drums or a missing part.
    pub continuation_polyphony: Option<f64>,
    /// Continuation polyphony / context polyphony; `None` when either is.
    pub polyphony_ratio: Option<f64>,
    /// Context notes per bar ([`density_per_bar`] over the context's bars).
    pub context_density: f64,
    /// Continuation notes per bar over the continuation's bars (0 for a missing part).
    pub continuation_density: f64,
    /// Continuation density / context density (0 for a missing part); `None` when the context
    /// has no notes of the role.
    pub density_ratio: Option<f64>,
    /// For [`Role::Bass`] only: [`range_share`] with [`BASS_RANGE_MARGIN_SEMITONES`]; `None` for
    /// other roles or a missing part.
    pub bass_range_share: Option<f64>,
    /// [`groove_similarity`] of this part alone; `None` for a part missing on either side.
    pub groove_similarity: Option<f64>,
}

impl PartFigures {
    /// Whether the continuation plays this role at all.
    pub fn present(&self) -> bool {
        self.num_continuation_notes > 0
    }

    /// Whether [`PartFigures::polyphony_ratio`] lies in [`POLYPHONY_RATIO_KEPT`]; `None` for
    /// drums. A missing part does not keep its polyphony.
    pub fn polyphony_kept(&self) -> Option<bool> {
        self.context_polyphony?;
        Some(
            self.polyphony_ratio
                .is_some_and(|r| POLYPHONY_RATIO_KEPT.contains(&r)),
        )
    }

    /// Whether [`PartFigures::density_ratio`] lies in [`DENSITY_RATIO_KEPT`]; `None` when the
    /// context has no notes of the role.
    pub fn density_kept(&self) -> Option<bool> {
        self.density_ratio.map(|r| DENSITY_RATIO_KEPT.contains(&r))
    }

    /// For the bass: whether at least [`BASS_IN_RANGE_MIN_SHARE`] of its notes stay in range; a
    /// missing bass does not. `None` for other roles.
    pub fn bass_in_range(&self) -> Option<bool> {
        (self.role == Role::Bass).then(|| {
            self.bass_range_share
                .is_some_and(|s| s >= BASS_IN_RANGE_MIN_SHARE)
        })
    }
}

/// [`PartFigures`] of `role`, from its context notes (over `context_bars` bars) and its
/// continuation notes (over `num_bars` bars; empty when the continuation dropped the part).
pub fn part_figures(
    role: Role,
    context: &[Note],
    continuation: &[Note],
    ts: TimeSig,
    context_bars: u32,
    num_bars: u32,
) -> PartFigures {
    let pitched = role.is_pitched();
    let register_shift_semitones = if pitched {
        mean_pitch(context)
            .zip(mean_pitch(continuation))
            .map(|(a, b)| (b - a).abs())
    } else {
        None
    };
    let context_polyphony = polyphony(context).filter(|_| pitched);
    let continuation_polyphony = polyphony(continuation).filter(|_| pitched);
    let context_density = density_per_bar(context, context_bars);
    let continuation_density = density_per_bar(continuation, num_bars);
    PartFigures {
        role,
        num_context_notes: context.len(),
        num_continuation_notes: continuation.len(),
        register_shift_semitones,
        context_polyphony,
        continuation_polyphony,
        polyphony_ratio: context_polyphony
            .zip(continuation_polyphony)
            .map(|(a, b)| b / a),
        context_density,
        continuation_density,
        density_ratio: (context_density > 0.0).then(|| continuation_density / context_density),
        bass_range_share: if role == Role::Bass {
            range_share(context, continuation, BASS_RANGE_MARGIN_SEMITONES)
        } else {
            None
        },
        groove_similarity: cosine(
            &onset_histogram([context], ts),
            &onset_histogram([continuation], ts),
        ),
    }
}

// ------------------------------------------------------------------------------------------
// Groove and swing
// ------------------------------------------------------------------------------------------

/// Onsets per position in the bar (one bin per tick), each distinct onset of each part counted
/// once, so a chord weighs what a single note does.
fn onset_histogram<'a>(parts: impl IntoIterator<Item = &'a [Note]>, ts: TimeSig) -> Vec<f64> {
    let bar = bar_ticks(ts);
    let mut histogram = vec![0.0; bar as usize];
    for notes in parts {
        let onsets: BTreeSet<i64> = notes.iter().map(|n| n.start_ticks).collect();
        for onset in onsets {
            histogram[onset.rem_euclid(bar) as usize] += 1.0;
        }
    }
    histogram
}

/// Cosine similarity of two histograms; `None` when either is all zeros.
fn cosine(a: &[f64], b: &[f64]) -> Option<f64> {
    let dot: f64 = a.iter().zip(b).map(|(x, y)| x * y).sum();
    let norm = |v: &[f64]| v.iter().map(|x| x * x).sum::<f64>().sqrt();
    let (norm_a, norm_b) = (norm(a), norm(b));
    (norm_a > 0.0 && norm_b > 0.0).then(|| dot / (norm_a * norm_b))
}

/// Cosine similarity (0..=1) of the onset histograms of the two sides over the positions in the
/// bar (one bin per tick), all parts pooled, each distinct onset of each part counted once: 1
/// when the continuation hits the same positions in the same proportions. 0 when either side
/// has no notes.
pub fn groove_similarity(context: &Parts, continuation: &Parts, ts: TimeSig) -> f64 {
    let histogram = |parts: &Parts| onset_histogram(parts.values().map(Vec::as_slice), ts);
    cosine(&histogram(context), &histogram(continuation)).unwrap_or(0.0)
}

/// How swung the 8th notes are: among the off-beat 8th onsets (each distinct onset of each
/// part once, position taken within the bar, then within the quarter note), the share at the
/// swung position (tick 8 of the quarter, the last 8th-note triplet) against those at the
/// straight one (tick 6). `None` when fewer than [`SWING_MIN_OFF_BEATS`] onsets sit at either.
///
/// Exactly 6 and 8, without a tolerance: on the 12-tick grid the neighbours are other notes
/// (9 is the last straight 16th, 4 and 10 triplets), and counting 9 as swung would read a
/// straight 16th line as half swung. 16th swing (onsets at 4 and 10 with 6 straight) is not
/// measured: it reads straight.
pub fn swing(parts: &Parts, ts: TimeSig) -> Option<f64> {
    let bar = bar_ticks(ts);
    let quarter = i64::from(TICKS_PER_QUARTER);
    let (mut num_swung, mut num_straight) = (0usize, 0usize);
    for notes in parts.values() {
        let onsets: BTreeSet<i64> = notes.iter().map(|n| n.start_ticks).collect();
        for onset in onsets {
            match onset.rem_euclid(bar) % quarter {
                SWUNG_OFF_BEAT_TICKS => num_swung += 1,
                STRAIGHT_OFF_BEAT_TICKS => num_straight += 1,
                _ => {}
            }
        }
    }
    let num_off_beats = num_swung + num_straight;
    (num_off_beats >= SWING_MIN_OFF_BEATS).then(|| num_swung as f64 / num_off_beats as f64)
}

/// Whether a [`swing`] share reads as swung: more than half the off-beats swung.
pub fn is_swung(swing_share: f64) -> bool {
    swing_share > 0.5
}

// ------------------------------------------------------------------------------------------
// Repetition and silence
// ------------------------------------------------------------------------------------------

/// Each (role, bar)'s notes as the set of (position in bar, pitch); bars without notes are
/// absent.
fn bar_blocks(parts: &Parts, ts: TimeSig) -> BTreeMap<(Role, i64), BTreeSet<(i64, i32)>> {
    let bar = bar_ticks(ts);
    let mut blocks: BTreeMap<(Role, i64), BTreeSet<(i64, i32)>> = BTreeMap::new();
    for (&role, notes) in parts {
        for n in notes {
            blocks
                .entry((role, n.start_ticks.div_euclid(bar)))
                .or_default()
                .insert((n.start_ticks.rem_euclid(bar), n.pitch));
        }
    }
    blocks
}

/// Share of the continuation's non-empty (bar, part) blocks that are identical, as sets of
/// (position in bar, pitch), to some bar of the same part in the context; durations and
/// velocities are ignored. 1 for a loop of the context; `None` when the continuation has no
/// notes.
pub fn copy_ratio(context: &Parts, continuation: &Parts, ts: TimeSig) -> Option<f64> {
    let mut context_blocks: HashSet<(Role, Vec<(i64, i32)>)> = HashSet::new();
    for ((role, _), block) in bar_blocks(context, ts) {
        context_blocks.insert((role, block.into_iter().collect()));
    }
    share(
        bar_blocks(continuation, ts)
            .into_iter()
            .map(|((role, _), block)| {
                context_blocks.contains(&(role, block.into_iter().collect()))
            }),
    )
}

/// A short figure of one part, as [`motif_reuse`] compares them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
enum Motif {
    /// Three consecutive onsets of a pitched part's top line: (interval 1, interval 2) in
    /// semitones and (inter-onset 1, inter-onset 2) in ticks.
    Line(Role, [i64; 4]),
    /// One quarter note of drums: its hits as (offset in the quarter, GM note), sorted.
    Beat(Vec<(i64, i32)>),
}

/// A part's motifs in time order. Pitched: the top line (the highest pitch at each onset) cut
/// into every window of three consecutive onsets. Drums: each quarter note of each bar
/// (quarters counted from the bar line) that has hits.
fn motifs(role: Role, notes: &[Note], ts: TimeSig) -> Vec<Motif> {
    if role.is_pitched() {
        let mut top_line: BTreeMap<i64, i32> = BTreeMap::new();
        for n in notes {
            let top = top_line.entry(n.start_ticks).or_insert(n.pitch);
            *top = (*top).max(n.pitch);
        }
        let line: Vec<(i64, i32)> = top_line.into_iter().collect();
        line.windows(3)
            .map(|w| {
                Motif::Line(
                    role,
                    [
                        i64::from(w[1].1 - w[0].1),
                        i64::from(w[2].1 - w[1].1),
                        w[1].0 - w[0].0,
                        w[2].0 - w[1].0,
                    ],
                )
            })
            .collect()
    } else {
        let bar = bar_ticks(ts);
        let quarter = i64::from(TICKS_PER_QUARTER);
        let mut beats: BTreeMap<(i64, i64), BTreeSet<(i64, i32)>> = BTreeMap::new();
        for n in notes {
            let position = n.start_ticks.rem_euclid(bar);
            beats
                .entry((n.start_ticks.div_euclid(bar), position / quarter))
                .or_default()
                .insert((position % quarter, n.pitch));
        }
        beats
            .into_values()
            .map(|hits| Motif::Beat(hits.into_iter().collect()))
            .collect()
    }
}

/// Share of the continuation's motifs that occurred earlier: anywhere in the context, or
/// earlier in the same part of the continuation. A pitched part's motifs are the windows of three
/// consecutive onsets of its top line (the highest pitch at each onset), as (interval, interval,
/// inter-onset, inter-onset), so they match under transposition; a drum part's motifs are its
/// quarter notes, each as the set of (offset in the quarter, GM note) of its hits. Motifs only
/// match within a role. A loop of a riff scores close to 1 (only figures across the loop's seam
/// are new), random notes close to 0; `None` when the continuation has no motif.
pub fn motif_reuse(context: &Parts, continuation: &Parts, ts: TimeSig) -> Option<f64> {
    let mut seen: HashSet<Motif> = context
        .iter()
        .flat_map(|(&role, notes)| motifs(role, notes, ts))
        .collect();
    let mut reused = Vec::new();
    for (&role, notes) in continuation {
        for motif in motifs(role, notes, ts) {
            reused.push(seen.contains(&motif));
            seen.insert(motif);
        }
    }
    share(reused.into_iter())
}

/// Share of the continuation's `num_bars` bars in which no note of any part sounds (a note
/// sounds from its onset to onset + duration, so a chord held over the bar line fills the next
/// bar). 0 for no bars.
pub fn empty_bars(continuation: &Parts, num_bars: u32, ts: TimeSig) -> f64 {
    let bar = bar_ticks(ts);
    let num_empty = (0..i64::from(num_bars))
        .filter(|&bar_idx| {
            let (bar_start, bar_end) = (bar_idx * bar, (bar_idx + 1) * bar);
            !continuation.values().flatten().any(|n| {
                n.start_ticks < bar_end
                    && n.start_ticks.saturating_add(n.duration_ticks.max(1)) > bar_start
            })
        })
        .count();
    share_of(num_empty, num_bars as usize).unwrap_or(0.0)
}

// ------------------------------------------------------------------------------------------
// One run
// ------------------------------------------------------------------------------------------

/// Every figure of one continuation of one riff. [`measure`] makes it.
#[derive(Debug, Clone, PartialEq)]
pub struct RunFigures {
    /// [`in_scale_share`] of the continuation in the riff's scale; `None` without pitched notes.
    pub in_scale: Option<f64>,
    /// [`in_scale_share`] of the context in the riff's scale: 1 for a riff true to its label.
    pub context_in_scale: Option<f64>,
    /// [`estimate_key`] of the continuation.
    pub estimated_key: Option<Scale>,
    /// [`estimate_key`] of the context.
    pub context_key: Option<Scale>,
    /// Whether the continuation's estimated key [agrees](key_agrees) with the riff's scale;
    /// `None` without pitched notes in the continuation or the context. Modal riffs (dorian,
    /// mixolydian, blues) and riffs of few pitch classes can read as a neighbouring key even
    /// when played straight back: see `key_agrees_context`.
    pub key_agrees: Option<bool>,
    /// Whether the continuation's estimated key agrees with the context's estimated key: the
    /// same question without the riff's label.
    pub key_agrees_context: Option<bool>,
    /// One entry per role of the context, in role order.
    pub parts: Vec<PartFigures>,
    /// Roles the continuation plays that the context did not.
    pub extra_roles: Vec<Role>,
    /// [`groove_similarity`] of the continuation to the context.
    pub groove_similarity: f64,
    /// [`swing`] of the context.
    pub context_swing: Option<f64>,
    /// [`swing`] of the continuation.
    pub continuation_swing: Option<f64>,
    /// [`copy_ratio`] of the continuation.
    pub copy_ratio: Option<f64>,
    /// [`motif_reuse`] of the continuation.
    pub motif_reuse: Option<f64>,
    /// [`empty_bars`] of the continuation.
    pub empty_bars: f64,
    /// Whether the context has drums.
    pub context_has_drums: bool,
    /// Whether the continuation has drums.
    pub drums_present: bool,
}

impl RunFigures {
    /// The figures of `role`, if the context has it.
    pub fn part(&self, role: Role) -> Option<&PartFigures> {
        self.parts.iter().find(|p| p.role == role)
    }

    /// Whether the continuation keeps the context's feel: a swung context needs a swung
    /// continuation; a straight one is kept unless the continuation reads swung (no off-beats
    /// at all is not swung). `None` when the context has too few off-beats to tell.
    pub fn swing_kept(&self) -> Option<bool> {
        let context_swung = is_swung(self.context_swing?);
        let continuation_swung = self.continuation_swing.is_some_and(is_swung);
        Some(context_swung == continuation_swung)
    }

    /// Whether the continuation keeps the context's drums; `None` when the context has none.
    pub fn drums_kept(&self) -> Option<bool> {
        self.context_has_drums.then_some(self.drums_present)
    }
}

/// Measures one continuation of one riff. `context` holds `context_bars` bars from tick 0,
/// `continuation` `num_bars` bars from tick 0 (the bar after the context); notes outside those
/// spans are ignored ([`clip_to_bars`]). `riff_scale` is the scale the riff was written in.
///
/// # Panics
/// If the v2 grid cannot hold `ts` (see [`bar_ticks`]).
pub fn measure(
    context: &Parts,
    continuation: &Parts,
    ts: TimeSig,
    context_bars: u32,
    num_bars: u32,
    riff_scale: &Scale,
) -> RunFigures {
    let context = clip_to_bars(context, ts, context_bars);
    let continuation = clip_to_bars(continuation, ts, num_bars);
    let estimated_key = estimate_key(&continuation);
    let context_key = estimate_key(&context);
    let parts = context
        .iter()
        .map(|(&role, notes)| {
            let continued = continuation.get(&role).map_or(&[][..], Vec::as_slice);
            part_figures(role, notes, continued, ts, context_bars, num_bars)
        })
        .collect();
    RunFigures {
        in_scale: in_scale_share(&continuation, riff_scale),
        context_in_scale: in_scale_share(&context, riff_scale),
        estimated_key,
        context_key,
        key_agrees: estimated_key
            .filter(|_| context_key.is_some())
            .map(|k| key_agrees(&k, riff_scale)),
        key_agrees_context: estimated_key
            .zip(context_key)
            .map(|(a, b)| key_agrees(&a, &b)),
        parts,
        extra_roles: continuation
            .keys()
            .filter(|role| !context.contains_key(role))
            .copied()
            .collect(),
        groove_similarity: groove_similarity(&context, &continuation, ts),
        context_swing: swing(&context, ts),
        continuation_swing: swing(&continuation, ts),
        copy_ratio: copy_ratio(&context, &continuation, ts),
        motif_reuse: motif_reuse(&context, &continuation, ts),
        empty_bars: empty_bars(&continuation, num_bars, ts),
        context_has_drums: context.contains_key(&Role::Drums),
        drums_present: continuation.contains_key(&Role::Drums),
    }
}

// ------------------------------------------------------------------------------------------
// Many runs
// ------------------------------------------------------------------------------------------

/// A running mean of the values that exist.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Mean {
    /// Sum of the values.
    pub sum: f64,
    /// How many values.
    pub n: usize,
}

impl Mean {
    /// Adds `value` if there is one.
    pub fn add(&mut self, value: Option<f64>) {
        if let Some(v) = value {
            self.sum += v;
            self.n += 1;
        }
    }

    /// The mean, or `None` for no values.
    pub fn value(self) -> Option<f64> {
        (self.n > 0).then(|| self.sum / self.n as f64)
    }
}

impl fmt::Display for Mean {
    /// Two decimals, or `-` for no values.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.value() {
            Some(v) => write!(f, "{v:.2}"),
            None => f.write_str("-"),
        }
    }
}

/// How many of `n` cases passed a check.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct KOfN {
    /// Cases that passed.
    pub k: usize,
    /// Cases checked.
    pub n: usize,
}

impl KOfN {
    /// Counts a case if there is one: `Some(passed)`.
    pub fn add(&mut self, case: Option<bool>) {
        if let Some(passed) = case {
            self.n += 1;
            self.k += usize::from(passed);
        }
    }

    /// k / n; `None` for no cases.
    pub fn share(self) -> Option<f64> {
        (self.n > 0).then(|| self.k as f64 / self.n as f64)
    }

    /// Whether every case passed; `None` for no cases.
    pub fn all(self) -> Option<bool> {
        (self.n > 0).then_some(self.k == self.n)
    }
}

impl fmt::Display for KOfN {
    /// `"k/n"`, or `-` for no cases.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.n == 0 {
            f.write_str("-")
        } else {
            write!(f, "{}/{}", self.k, self.n)
        }
    }
}

/// The figures of many runs (one model or baseline over the riffs) folded into one column:
/// means over the runs or parts that have a value, and counts of cases that pass the thresholds.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Summary {
    /// Runs summarized.
    pub num_runs: usize,
    /// Mean [`RunFigures::in_scale`].
    pub in_scale: Mean,
    /// Runs whose continuation's key agrees with the riff's scale ([`RunFigures::key_agrees`]).
    pub key_agrees: KOfN,
    /// Runs whose continuation's key agrees with the context's estimated key.
    pub key_agrees_context: KOfN,
    /// Mean register shift in semitones over the pitched parts of every run.
    pub register_shift_semitones: Mean,
    /// Pitched parts whose polyphony ratio is in [`POLYPHONY_RATIO_KEPT`] (missing parts fail).
    pub polyphony_kept: KOfN,
    /// Parts whose density ratio is in [`DENSITY_RATIO_KEPT`] (missing parts fail).
    pub density_kept: KOfN,
    /// Runs with a bass whose continuation bass stays in range ([`PartFigures::bass_in_range`]).
    pub bass_in_range: KOfN,
    /// Context parts that the continuation plays.
    pub parts_kept: KOfN,
    /// Mean [`RunFigures::groove_similarity`].
    pub groove_similarity: Mean,
    /// Runs with a swung context whose continuation is swung too.
    pub swing_kept: KOfN,
    /// Runs with a straight context whose continuation is not swung.
    pub straight_kept: KOfN,
    /// Mean [`RunFigures::copy_ratio`].
    pub copy_ratio: Mean,
    /// Mean [`RunFigures::motif_reuse`].
    pub motif_reuse: Mean,
    /// Mean [`RunFigures::empty_bars`].
    pub empty_bars: Mean,
    /// Runs with drums in the context whose continuation has drums.
    pub drums_kept: KOfN,
}

impl Summary {
    /// Labels of [`Summary::row`], in its order, for the table's first column.
    pub const LABELS: [&'static str; 16] = [
        "runs",
        "in scale",
        "key = riff's",
        "key = context's",
        "register shift (semitones)",
        "polyphony kept",
        "density kept",
        "bass in range",
        "parts kept",
        "groove similarity",
        "swing kept",
        "straight kept",
        "copy ratio",
        "motif reuse",
        "empty bars",
        "drums kept",
    ];

    /// Folds `runs` into one summary.
    pub fn new<'a>(runs: impl IntoIterator<Item = &'a RunFigures>) -> Self {
        let mut summary = Self::default();
        for run in runs {
            summary.add(run);
        }
        summary
    }

    /// Adds one run.
    pub fn add(&mut self, run: &RunFigures) {
        self.num_runs += 1;
        self.in_scale.add(run.in_scale);
        self.key_agrees.add(run.key_agrees);
        self.key_agrees_context.add(run.key_agrees_context);
        for part in &run.parts {
            self.register_shift_semitones
                .add(part.register_shift_semitones);
            self.polyphony_kept.add(part.polyphony_kept());
            self.density_kept.add(part.density_kept());
            self.bass_in_range.add(part.bass_in_range());
            self.parts_kept.add(Some(part.present()));
        }
        self.groove_similarity.add(Some(run.groove_similarity));
        match run.context_swing.map(is_swung) {
            Some(true) => self.swing_kept.add(run.swing_kept()),
            Some(false) => self.straight_kept.add(run.swing_kept()),
            None => {}
        }
        self.copy_ratio.add(run.copy_ratio);
        self.motif_reuse.add(run.motif_reuse);
        self.empty_bars.add(Some(run.empty_bars));
        self.drums_kept.add(run.drums_kept());
    }

    /// The summary as table cells, labelled as in [`Summary::LABELS`] and in that order: means
    /// with two decimals, counts as `k/n`, `-` where nothing was measured.
    pub fn row(&self) -> Vec<(&'static str, String)> {
        let cells = [
            self.num_runs.to_string(),
            self.in_scale.to_string(),
            self.key_agrees.to_string(),
            self.key_agrees_context.to_string(),
            self.register_shift_semitones.to_string(),
            self.polyphony_kept.to_string(),
            self.density_kept.to_string(),
            self.bass_in_range.to_string(),
            self.parts_kept.to_string(),
            self.groove_similarity.to_string(),
            self.swing_kept.to_string(),
            self.straight_kept.to_string(),
            self.copy_ratio.to_string(),
            self.motif_reuse.to_string(),
            self.empty_bars.to_string(),
            self.drums_kept.to_string(),
        ];
        Self::LABELS.into_iter().zip(cells).collect()
    }
}

// ------------------------------------------------------------------------------------------
// Helpers
// ------------------------------------------------------------------------------------------

/// The pitched parts' notes.
fn pitched_notes(parts: &Parts) -> impl Iterator<Item = &Note> {
    parts
        .iter()
        .filter(|(role, _)| role.is_pitched())
        .flat_map(|(_, notes)| notes)
}

/// Mean of `values`; `None` for none.
fn mean(values: impl Iterator<Item = f64>) -> Option<f64> {
    let (sum, n) = values.fold((0.0, 0usize), |(sum, n), v| (sum + v, n + 1));
    (n > 0).then(|| sum / n as f64)
}

/// Share of `true` among `cases`; `None` for none.
fn share(cases: impl Iterator<Item = bool>) -> Option<f64> {
    let (k, n) = cases.fold((0usize, 0usize), |(k, n), c| (k + usize::from(c), n + 1));
    share_of(k, n)
}

/// `k / n`; `None` for `n == 0`.
fn share_of(k: usize, n: usize) -> Option<f64> {
    (n > 0).then(|| k as f64 / n as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    const FOUR_FOUR: TimeSig = TimeSig::FOUR_FOUR;
    /// Ticks per 4/4 bar.
    const BAR: i64 = 48;

    fn note(start: i64, dur: i64, pitch: i32) -> Note {
        Note::new(start, dur, pitch, 90)
    }

    /// One note per `(start, pitch)`, each an 8th long.
    fn line(events: &[(i64, i32)]) -> Vec<Note> {
        events.iter().map(|&(t, p)| note(t, 6, p)).collect()
    }

    fn parts(entries: Vec<(Role, Vec<Note>)>) -> Parts {
        entries.into_iter().collect()
    }

    /// The C major scale C4..C5 in quarters.
    fn c_major_scale() -> Vec<Note> {
        [60, 62, 64, 65, 67, 69, 71, 72]
            .iter()
            .enumerate()
            .map(|(i, &p)| note(12 * i as i64, 12, p))
            .collect()
    }

    /// `notes` shifted by `ticks` and transposed by `semitones`.
    fn moved(notes: &[Note], ticks: i64, semitones: i32) -> Vec<Note> {
        notes
            .iter()
            .map(|n| Note {
                start_ticks: n.start_ticks + ticks,
                pitch: n.pitch + semitones,
                ..*n
            })
            .collect()
    }

    /// A 4-bar 8th-note melody with a figure per bar, in C major.
    fn riff_melody() -> Vec<Note> {
        let bars = [
            [60, 64, 67, 64, 62, 65, 69, 65],
            [64, 67, 72, 67, 65, 69, 71, 67],
            [60, 64, 67, 64, 62, 65, 69, 65],
            [62, 65, 69, 71, 72, 71, 67, 62],
        ];
        bars.iter()
            .enumerate()
            .flat_map(|(b, pitches)| {
                pitches
                    .iter()
                    .enumerate()
                    .map(move |(i, &p)| note(b as i64 * BAR + 6 * i as i64, 6, p))
            })
            .collect()
    }

    /// `num_notes` notes at pseudo-random 16ths and pitches (a fixed LCG), over `num_bars`.
    fn scattered(num_notes: usize, num_bars: i64, low: i32, span: i32, seed: u64) -> Vec<Note> {
        let mut state = seed;
        let mut next = move || {
            state = state
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            state >> 33
        };
        let mut notes: Vec<Note> = (0..num_notes)
            .map(|_| {
                let start = 3 * (next() % (16 * num_bars as u64)) as i64;
                let pitch = low + (next() % span as u64) as i32;
                note(start, 3, pitch)
            })
            .collect();
        notes.sort_by_key(|n| n.start_ticks);
        notes
    }

    mod pitch_class_from_name {
        use super::*;

        #[test]
        fn naturals_sharps_flats_and_rejections() {
            for (name, want) in [
                ("C", 0),
                ("F#", 6),
                ("Gb", 6),
                ("Bb", 10),
                ("b", 11),
                ("Cb", 11),
                ("E#", 5),
                ("C##", 2),
            ] {
                assert_eq!(pitch_class_from_name(name), Some(want), "{name}");
            }
            for name in ["", "H", "C4", "Fx", "#"] {
                assert_eq!(pitch_class_from_name(name), None, "{name}");
            }
        }
    }

    mod scale {
        use super::*;

        #[test]
        fn major_and_minor_pitch_classes() {
            assert_eq!(Scale::major(0).pitch_classes(), vec![0, 2, 4, 5, 7, 9, 11]);
            // A minor: the white keys plus the raised 7th, G#.
            assert_eq!(
                Scale::minor(9).pitch_classes(),
                vec![0, 2, 4, 5, 7, 8, 9, 11]
            );
            assert!(Scale::minor(9).contains(68) && !Scale::major(0).contains(68));
            assert!(Scale::major(0).contains(-12) && Scale::major(0).contains(127));
            assert!(!Scale::major(0).contains(61));
            assert_eq!(Scale::major(14).tonic, 2);
        }

        #[test]
        fn modes_by_name() {
            let dorian = Scale::from_mode(2, "Dorian").unwrap();
            assert_eq!(dorian.pitch_classes(), Scale::major(0).pitch_classes());
            let blues = Scale::from_mode(7, "blues").unwrap();
            // G mixolydian plus the minor 3rd Bb; F# stays out.
            assert_eq!(blues.pitch_classes(), vec![0, 2, 4, 5, 7, 9, 10, 11]);
            assert!(blues.contains(70) && blues.contains(65) && !blues.contains(66));
            let harmonic = Scale::from_mode(2, "harmonic minor").unwrap();
            assert_eq!(harmonic.in_scale_mask(), Scale::minor(2).in_scale_mask());
            assert_eq!(harmonic.mode, Mode::HarmonicMinor);
            assert_eq!(
                Scale::from_mode(4, "PHRYGIAN").unwrap().pitch_classes(),
                Scale::major(0).pitch_classes()
            );
            assert_eq!(
                Scale::from_mode(5, "lydian").unwrap().pitch_classes(),
                Scale::major(0).pitch_classes()
            );
            assert_eq!(Scale::from_mode(9, "natural-minor"), Some(Scale::minor(9)));
            assert_eq!(Scale::from_mode(0, "ionian"), Some(Scale::major(0)));
            assert_eq!(Scale::from_mode(0, "bebop"), None);
            for mode in Mode::ALL {
                assert_eq!(Mode::from_name(mode.name()), Some(mode));
            }
        }

        #[test]
        fn displays_tonic_and_mode() {
            assert_eq!(Scale::minor(10).to_string(), "Bb minor");
            assert_eq!(
                Scale::from_mode(6, "mixolydian").unwrap().to_string(),
                "Gb mixolydian"
            );
        }
    }

    mod estimate_key {
        use super::*;

        #[test]
        fn c_major_scale_and_its_transposition() {
            let scale = parts(vec![(Role::Lead, c_major_scale())]);
            assert_eq!(estimate_key(&scale), Some(Scale::major(0)));
            let up = parts(vec![(Role::Lead, moved(&c_major_scale(), 0, 3))]);
            assert_eq!(estimate_key(&up), Some(Scale::major(3)));
        }

        #[test]
        fn a_minor_with_its_leading_tone() {
            // A minor triads and an E major dominant: A C E | E G# B | A C E.
            let mut notes = Vec::new();
            for (i, chord) in [[57, 60, 64], [52, 56, 59], [57, 60, 64]]
                .iter()
                .enumerate()
            {
                for &p in chord {
                    notes.push(note(BAR * i as i64, BAR, p));
                }
            }
            notes.push(note(0, 96, 45));
            let got = estimate_key(&parts(vec![(Role::Chords, notes)]));
            assert_eq!(got, Some(Scale::minor(9)));
        }

        #[test]
        fn drums_are_ignored() {
            let drums = line(&[(0, 37), (6, 37), (12, 49), (18, 61), (24, 61)]);
            assert_eq!(
                estimate_key(&parts(vec![(Role::Drums, drums.clone())])),
                None
            );
            let both = parts(vec![(Role::Drums, drums), (Role::Lead, c_major_scale())]);
            assert_eq!(estimate_key(&both), Some(Scale::major(0)));
            assert_eq!(estimate_key(&Parts::new()), None);
        }

        #[test]
        fn long_notes_are_capped() {
            // A 16-bar F# drone would make this F# something uncapped; capped at a whole note
            // it weighs as much as one scale tone held for a bar.
            let mut notes = moved(&c_major_scale(), 0, 0);
            for n in &mut notes {
                n.duration_ticks = BAR;
            }
            notes.push(note(0, 16 * BAR, 66));
            let got = estimate_key(&parts(vec![(Role::Pad, notes)])).unwrap();
            assert!(got == Scale::major(0) || got == Scale::major(7), "{got}");
        }
    }

    mod key_agrees {
        use super::*;

        #[test]
        fn same_key_signature_agrees() {
            let c = Scale::major(0);
            assert!(key_agrees(&c, &Scale::minor(9)));
            assert!(key_agrees(&c, &Scale::from_mode(2, "dorian").unwrap()));
            assert!(key_agrees(
                &c,
                &Scale::from_mode(9, "harmonic_minor").unwrap()
            ));
            assert!(key_agrees(&c, &Scale::from_mode(7, "blues").unwrap()));
            assert!(!key_agrees(&c, &Scale::major(7)));
            assert!(!key_agrees(&Scale::minor(9), &Scale::minor(4)));
        }
    }

    mod in_scale_share {
        use super::*;

        #[test]
        fn counts_pitched_notes_in_scale() {
            let scale = parts(vec![(Role::Lead, c_major_scale())]);
            assert_eq!(in_scale_share(&scale, &Scale::major(0)), Some(1.0));
            // In D major the scale's C, F and high C are out.
            assert_eq!(in_scale_share(&scale, &Scale::major(2)), Some(5.0 / 8.0));
            let mixed = parts(vec![
                (Role::Bass, line(&[(0, 36), (12, 43), (24, 41), (36, 42)])),
                (Role::Drums, line(&[(0, 37), (6, 61)])),
            ]);
            assert_eq!(in_scale_share(&mixed, &Scale::major(0)), Some(0.75));
            let drums = parts(vec![(Role::Drums, line(&[(0, 36)]))]);
            assert_eq!(in_scale_share(&drums, &Scale::major(0)), None);
        }
    }

    mod part_figures {
        use super::*;

        /// A C major triad on every beat of `num_bars` bars.
        fn triads(num_bars: i64) -> Vec<Note> {
            (0..4 * num_bars)
                .flat_map(|beat| [60, 64, 67].map(|p| note(12 * beat, 12, p)))
                .collect()
        }

        #[test]
        fn chords_thinned_to_a_line() {
            let context = triads(2);
            let continuation: Vec<Note> = (0..8).map(|beat| note(12 * beat, 12, 76)).collect();
            let got = part_figures(Role::Chords, &context, &continuation, FOUR_FOUR, 2, 2);
            assert_eq!(got.context_polyphony, Some(3.0));
            assert_eq!(got.continuation_polyphony, Some(1.0));
            assert_eq!(got.polyphony_ratio, Some(1.0 / 3.0));
            assert_eq!(got.polyphony_kept(), Some(false));
            assert_eq!(got.context_density, 12.0);
            assert_eq!(got.continuation_density, 4.0);
            assert_eq!(got.density_ratio, Some(1.0 / 3.0));
            assert_eq!(got.density_kept(), Some(false));
            // Mean pitch 63.67 to 76.
            let shift = got.register_shift_semitones.unwrap();
            assert!((shift - (76.0 - 191.0 / 3.0)).abs() < 1e-9, "{shift}");
            assert_eq!(got.bass_range_share, None);
            assert_eq!(got.bass_in_range(), None);
            // Same beats, so the same groove.
            assert!((got.groove_similarity.unwrap() - 1.0).abs() < 1e-12);
            assert!(got.present());
        }

        #[test]
        fn same_part_over_more_bars_keeps_density_and_polyphony() {
            let got = part_figures(Role::Chords, &triads(2), &triads(4), FOUR_FOUR, 2, 4);
            assert_eq!(got.density_ratio, Some(1.0));
            assert_eq!(got.polyphony_ratio, Some(1.0));
            assert_eq!(got.register_shift_semitones, Some(0.0));
            assert_eq!(got.density_kept(), Some(true));
            assert_eq!(got.polyphony_kept(), Some(true));
        }

        #[test]
        fn bass_range_share() {
            let context = line(&[(0, 40), (12, 52), (24, 45)]);
            // 35 = 40 - 5 and 57 = 52 + 5 are in; 58 and 30 are out.
            let continuation = line(&[(0, 35), (12, 57), (24, 58), (36, 30)]);
            let got = part_figures(Role::Bass, &context, &continuation, FOUR_FOUR, 1, 1);
            assert_eq!(got.bass_range_share, Some(0.5));
            assert_eq!(got.bass_in_range(), Some(false));
            let got = part_figures(Role::Bass, &context, &context, FOUR_FOUR, 1, 1);
            assert_eq!(got.bass_in_range(), Some(true));
        }

        #[test]
        fn missing_part() {
            let got = part_figures(Role::Bass, &line(&[(0, 40)]), &[], FOUR_FOUR, 1, 4);
            assert!(!got.present());
            assert_eq!(got.density_ratio, Some(0.0));
            assert_eq!(got.density_kept(), Some(false));
            assert_eq!(got.polyphony_ratio, None);
            assert_eq!(got.polyphony_kept(), Some(false));
            assert_eq!(got.bass_in_range(), Some(false));
            assert_eq!(got.register_shift_semitones, None);
            assert_eq!(got.groove_similarity, None);
        }

        #[test]
        fn drums_have_no_pitch_figures() {
            let beat = line(&[(0, 36), (12, 38), (24, 36), (36, 38)]);
            let got = part_figures(Role::Drums, &beat, &beat, FOUR_FOUR, 1, 1);
            assert_eq!(got.register_shift_semitones, None);
            assert_eq!(got.context_polyphony, None);
            assert_eq!(got.polyphony_kept(), None);
            assert_eq!(got.density_ratio, Some(1.0));
        }
    }

    mod groove_similarity {
        use super::*;

        fn drums(onsets: &[i64]) -> Parts {
            parts(vec![(
                Role::Drums,
                onsets.iter().map(|&t| note(t, 3, 36)).collect(),
            )])
        }

        #[test]
        fn same_positions_in_other_bars_is_one() {
            let got = groove_similarity(
                &drums(&[0, 12, 24, 36]),
                &drums(&[48, 60, 72, 84, 96, 108, 120, 132]),
                FOUR_FOUR,
            );
            assert!((got - 1.0).abs() < 1e-12, "{got}");
        }

        #[test]
        fn on_beats_against_off_beats_is_zero_and_half_is_between() {
            let on = drums(&[0, 12, 24, 36]);
            assert_eq!(
                groove_similarity(&on, &drums(&[6, 18, 30, 42]), FOUR_FOUR),
                0.0
            );
            let got = groove_similarity(&on, &drums(&[0, 24]), FOUR_FOUR);
            assert!((got - 0.5_f64.sqrt()).abs() < 1e-12, "{got}");
            assert_eq!(groove_similarity(&on, &Parts::new(), FOUR_FOUR), 0.0);
        }

        #[test]
        fn a_chord_counts_as_one_onset() {
            let chord_on_one = parts(vec![(
                Role::Chords,
                vec![
                    note(0, 12, 60),
                    note(0, 12, 64),
                    note(0, 12, 67),
                    note(24, 12, 60),
                ],
            )]);
            let got = groove_similarity(&chord_on_one, &drums(&[0, 24]), FOUR_FOUR);
            assert!((got - 1.0).abs() < 1e-12, "{got}");
        }

        #[test]
        fn bins_follow_the_meter() {
            // In 3/4 tick 36 is the next bar's downbeat.
            let three_four = TimeSig { num: 3, den: 4 };
            let got = groove_similarity(&drums(&[0, 12]), &drums(&[36, 48]), three_four);
            assert!((got - 1.0).abs() < 1e-12, "{got}");
        }
    }

    mod swing {
        use super::*;

        /// Hats at `offsets` within every quarter of 2 bars.
        fn hats(offsets: &[i64]) -> Parts {
            let notes = (0..8)
                .flat_map(|beat| offsets.iter().map(move |&o| note(12 * beat + o, 3, 42)))
                .collect();
            parts(vec![(Role::Drums, notes)])
        }

        #[test]
        fn swung_and_straight_eighths() {
            assert_eq!(swing(&hats(&[0, 8]), FOUR_FOUR), Some(1.0));
            assert!(is_swung(swing(&hats(&[0, 8]), FOUR_FOUR).unwrap()));
            assert_eq!(swing(&hats(&[0, 6]), FOUR_FOUR), Some(0.0));
            // 8th triplets read as swung: the last triplet is the swung off-beat.
            assert_eq!(swing(&hats(&[0, 4, 8]), FOUR_FOUR), Some(1.0));
        }

        #[test]
        fn straight_sixteenths_are_straight() {
            assert_eq!(swing(&hats(&[0, 3, 6, 9]), FOUR_FOUR), Some(0.0));
        }

        #[test]
        fn mixed_and_too_few() {
            let mixed = parts(vec![(
                Role::Bass,
                line(&[(8, 40), (20, 40), (32, 40), (42, 40)]),
            )]);
            assert_eq!(swing(&mixed, FOUR_FOUR), Some(0.75));
            let few = parts(vec![(Role::Bass, line(&[(8, 40), (20, 40), (32, 40)]))]);
            assert_eq!(swing(&few, FOUR_FOUR), None);
            assert!(!is_swung(0.5));
        }

        #[test]
        fn parts_pool_their_onsets_and_chords_count_once() {
            let chords = vec![
                note(8, 4, 60),
                note(8, 4, 64),
                note(20, 4, 60),
                note(20, 4, 64),
            ];
            let both = parts(vec![
                (Role::Chords, chords),
                (Role::Bass, line(&[(6, 40), (18, 40)])),
            ]);
            assert_eq!(swing(&both, FOUR_FOUR), Some(0.5));
        }
    }

    mod copy_ratio {
        use super::*;

        #[test]
        fn a_loop_is_all_copies() {
            let context = parts(vec![(Role::Lead, riff_melody())]);
            let continuation = parts(vec![(Role::Lead, moved(&riff_melody(), 0, 0))]);
            assert_eq!(copy_ratio(&context, &continuation, FOUR_FOUR), Some(1.0));
            let twice = [riff_melody(), moved(&riff_melody(), 4 * BAR, 0)].concat();
            let twice = parts(vec![(Role::Lead, twice)]);
            assert_eq!(copy_ratio(&context, &twice, FOUR_FOUR), Some(1.0));
        }

        #[test]
        fn changed_transposed_and_other_role_bars_are_not_copies() {
            let context = parts(vec![(Role::Lead, riff_melody())]);
            // Bar 0 as it was, bar 1 transposed, bar 2 as context bar 3 (a copy of another bar),
            // bar 3 empty (not counted).
            let melody = riff_melody();
            let bar = |b: i64| -> Vec<Note> {
                melody
                    .iter()
                    .filter(|n| n.start_ticks.div_euclid(BAR) == b)
                    .copied()
                    .collect()
            };
            let continuation = [bar(0), moved(&bar(1), 0, 2), moved(&bar(3), -BAR, 0)].concat();
            let continuation = parts(vec![(Role::Lead, continuation)]);
            assert_eq!(
                copy_ratio(&context, &continuation, FOUR_FOUR),
                Some(2.0 / 3.0)
            );
            let as_arp = parts(vec![(Role::Arp, riff_melody())]);
            assert_eq!(copy_ratio(&context, &as_arp, FOUR_FOUR), Some(0.0));
            assert_eq!(copy_ratio(&context, &Parts::new(), FOUR_FOUR), None);
        }
    }

    mod motif_reuse {
        use super::*;

        #[test]
        fn a_loop_reuses_nearly_everything() {
            let context = parts(vec![(Role::Lead, riff_melody())]);
            let looped = [riff_melody(), moved(&riff_melody(), 4 * BAR, 0)].concat();
            let got = motif_reuse(&context, &parts(vec![(Role::Lead, looped)]), FOUR_FOUR).unwrap();
            // 62 windows, all but the two across the seam (here they also occur in the riff)
            // copied from the riff.
            assert!(got >= 60.0 / 62.0, "{got}");
        }

        #[test]
        fn a_transposed_repeat_reuses_everything() {
            let context = parts(vec![(Role::Lead, riff_melody())]);
            let up = parts(vec![(Role::Lead, moved(&riff_melody(), 0, 5))]);
            assert_eq!(motif_reuse(&context, &up, FOUR_FOUR), Some(1.0));
        }

        #[test]
        fn random_notes_reuse_little() {
            let context = parts(vec![(Role::Lead, riff_melody())]);
            let random = parts(vec![(Role::Lead, scattered(32, 4, 60, 13, 7))]);
            let got = motif_reuse(&context, &random, FOUR_FOUR).unwrap();
            assert!(got < 0.1, "{got}");
        }

        #[test]
        fn drum_beats() {
            // Kick-hat, hat, snare-hat, hat: 4 quarter motifs, 3 distinct.
            let beat = line(&[
                (0, 36),
                (0, 42),
                (6, 42),
                (12, 42),
                (18, 42),
                (24, 38),
                (24, 42),
            ]);
            let context = parts(vec![(Role::Drums, beat.clone())]);
            let looped = parts(vec![(
                Role::Drums,
                [moved(&beat, 0, 0), moved(&beat, BAR, 0)].concat(),
            )]);
            assert_eq!(motif_reuse(&context, &looped, FOUR_FOUR), Some(1.0));
            // Snare moved off the beat: that quarter is new, the others are not.
            let moved_snare = line(&[
                (0, 36),
                (0, 42),
                (6, 42),
                (12, 42),
                (18, 42),
                (27, 38),
                (24, 42),
            ]);
            let got = motif_reuse(
                &context,
                &parts(vec![(Role::Drums, moved_snare)]),
                FOUR_FOUR,
            );
            assert_eq!(got, Some(2.0 / 3.0));
        }

        #[test]
        fn the_continuation_may_repeat_itself() {
            let context = parts(vec![(Role::Bass, line(&[(0, 40), (12, 40), (24, 40)]))]);
            // A new figure played twice: its second half repeats the first.
            let figure = line(&[(0, 43), (6, 47), (18, 45), (24, 50)]);
            let twice = [moved(&figure, 0, 0), moved(&figure, BAR, 0)].concat();
            // Windows: 6; the first 2 are new, the seam's 2 are new, the last 2 repeat.
            let got = motif_reuse(&context, &parts(vec![(Role::Bass, twice)]), FOUR_FOUR);
            assert_eq!(got, Some(2.0 / 6.0));
        }
    }

    mod empty_bars {
        use super::*;

        #[test]
        fn bars_where_nothing_sounds() {
            // Bar 0 a note, bar 1 silent, bar 2 a note held into bar 3.
            let continuation = parts(vec![(Role::Pad, vec![note(0, 12, 60), note(96, 72, 64)])]);
            assert_eq!(empty_bars(&continuation, 4, FOUR_FOUR), 0.25);
            assert_eq!(
                empty_bars(&continuation, 6, FOUR_FOUR),
                2.0 / 6.0 + 1.0 / 6.0
            );
            assert_eq!(empty_bars(&Parts::new(), 4, FOUR_FOUR), 1.0);
            assert_eq!(empty_bars(&continuation, 0, FOUR_FOUR), 0.0);
        }
    }

    mod measure {
        use super::*;

        fn band() -> Parts {
            let drums = (0..4)
                .flat_map(|b| {
                    let t = b * BAR;
                    [
                        (t, 36),
                        (t + 8, 42),
                        (t + 12, 38),
                        (t + 20, 42),
                        (t + 24, 36),
                        (t + 32, 42),
                        (t + 36, 38),
                        (t + 44, 42),
                    ]
                })
                .map(|(t, p)| note(t, 3, p))
                .collect();
            let bass = (0..4)
                .flat_map(|b| [(b * BAR, 36), (b * BAR + 20, 43), (b * BAR + 24, 41)])
                .map(|(t, p)| note(t, 12, p))
                .collect();
            parts(vec![
                (Role::Drums, drums),
                (Role::Bass, bass),
                (Role::Lead, riff_melody()),
            ])
        }

        #[test]
        fn a_loop_keeps_everything() {
            let context = band();
            let continuation: Parts = context
                .iter()
                .map(|(&role, notes)| {
                    (
                        role,
                        [moved(notes, 0, 0), moved(notes, 4 * BAR, 0)].concat(),
                    )
                })
                .collect();
            let got = measure(&context, &continuation, FOUR_FOUR, 4, 8, &Scale::major(0));
            assert_eq!(got.in_scale, Some(1.0));
            assert_eq!(got.context_in_scale, Some(1.0));
            assert_eq!(got.key_agrees, Some(true));
            assert_eq!(got.key_agrees_context, Some(true));
            assert_eq!(got.copy_ratio, Some(1.0));
            assert!((got.groove_similarity - 1.0).abs() < 1e-12);
            assert_eq!(got.empty_bars, 0.0);
            assert_eq!(got.parts.len(), 3);
            assert!(got.parts.iter().all(|p| p.density_kept() == Some(true)));
            assert_eq!(got.part(Role::Bass).unwrap().bass_in_range(), Some(true));
            assert_eq!(got.drums_kept(), Some(true));
            assert_eq!(got.context_swing.map(is_swung), Some(true));
            assert_eq!(got.swing_kept(), Some(true));
            assert!(got.extra_roles.is_empty());
        }

        #[test]
        fn a_continuation_that_drops_parts_and_straightens() {
            let context = band();
            // Only a lead, straight 8ths of F# G# A# C#, one bar of four; plus a pad nobody asked
            // for.
            let lead: Vec<Note> = (0..8)
                .map(|i| note(6 * i, 6, [66, 68, 70, 73][i as usize % 4]))
                .collect();
            let continuation = parts(vec![(Role::Lead, lead), (Role::Pad, vec![note(0, 48, 66)])]);
            let got = measure(&context, &continuation, FOUR_FOUR, 4, 4, &Scale::major(0));
            assert_eq!(got.in_scale, Some(0.0));
            assert_eq!(got.key_agrees, Some(false));
            assert_eq!(got.drums_kept(), Some(false));
            assert_eq!(got.swing_kept(), Some(false));
            assert_eq!(got.empty_bars, 0.75);
            assert_eq!(got.extra_roles, vec![Role::Pad]);
            assert!(!got.part(Role::Bass).unwrap().present());
            assert_eq!(got.part(Role::Bass).unwrap().bass_in_range(), Some(false));
            assert_eq!(got.part(Role::Pad), None);
        }

        #[test]
        fn notes_outside_the_bars_are_ignored() {
            let context = parts(vec![(Role::Lead, c_major_scale())]);
            // One in-scale note in bar 0, an out-of-scale one past the single bar measured.
            let continuation = parts(vec![(Role::Lead, vec![note(0, 12, 60), note(BAR, 12, 61)])]);
            let got = measure(&context, &continuation, FOUR_FOUR, 2, 1, &Scale::major(0));
            assert_eq!(got.in_scale, Some(1.0));
            assert_eq!(got.part(Role::Lead).unwrap().continuation_density, 1.0);
        }

        #[test]
        fn drum_riffs_have_no_key_figures() {
            let beat = parts(vec![(
                Role::Drums,
                line(&[(0, 36), (12, 38), (24, 36), (36, 38)]),
            )]);
            let got = measure(&beat, &beat, FOUR_FOUR, 1, 1, &Scale::minor(0));
            assert_eq!(
                (got.in_scale, got.key_agrees, got.key_agrees_context),
                (None, None, None)
            );
            assert_eq!(got.estimated_key, None);
            assert_eq!(got.swing_kept(), None);
        }
    }

    mod summary {
        use super::*;

        #[test]
        fn means_counts_and_row() {
            let context = parts(vec![
                (
                    Role::Bass,
                    line(&[(0, 40), (6, 43), (12, 45), (18, 47), (30, 40), (42, 40)]),
                ),
                (
                    Role::Chords,
                    vec![note(0, 48, 60), note(0, 48, 64), note(0, 48, 67)],
                ),
            ]);
            let kept = measure(&context, &context, FOUR_FOUR, 1, 1, &Scale::minor(4));
            let only_bass = parts(vec![(
                Role::Bass,
                line(&[(0, 76), (6, 79), (12, 81), (18, 83)]),
            )]);
            let dropped = measure(&context, &only_bass, FOUR_FOUR, 1, 1, &Scale::minor(4));
            let summary = Summary::new([&kept, &dropped]);
            assert_eq!(summary.num_runs, 2);
            assert_eq!(summary.in_scale.value(), Some(1.0));
            assert_eq!(summary.parts_kept, KOfN { k: 3, n: 4 });
            assert_eq!(summary.bass_in_range, KOfN { k: 1, n: 2 });
            // Bass twice, chords once: the dropped chords fail.
            assert_eq!(summary.polyphony_kept, KOfN { k: 3, n: 4 });
            // Bass density 6 -> 4 (2/3, kept: the bound is inclusive), chords 3 -> 0.
            assert_eq!(summary.density_kept, KOfN { k: 3, n: 4 });
            // A straight context (off-beats 6, 18, 30, 42); a continuation with too few off-beats
            // to read as swung keeps it straight.
            assert_eq!(summary.straight_kept, KOfN { k: 2, n: 2 });
            assert_eq!(summary.swing_kept, KOfN::default());
            assert_eq!(summary.drums_kept, KOfN::default());
            // Shifts: bass and chords 0 when kept, then the bass up from a mean of 42.5 to 79.75;
            // the dropped chords have none.
            let shift = summary.register_shift_semitones.value().unwrap();
            assert!((shift - (79.75 - 42.5) / 3.0).abs() < 1e-9, "{shift}");
            let row = summary.row();
            assert_eq!(row.len(), Summary::LABELS.len());
            let cell = |label: &str| row.iter().find(|(l, _)| *l == label).unwrap().1.clone();
            assert_eq!(cell("runs"), "2");
            assert_eq!(cell("in scale"), "1.00");
            assert_eq!(cell("parts kept"), "3/4");
            assert_eq!(cell("drums kept"), "-");
            assert_eq!(cell("register shift (semitones)"), "12.42");
        }
    }
}
