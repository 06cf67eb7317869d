#!/usr/bin/env python3
"""Writes the evaluation riffs: tests/riffs/<name>.mid and tests/riffs/riffs.toml.

Every riff here was composed for Continuo, note by note or with the small rules below; none is
taken from a song, a corpus or a data set. Each is 4 bars long. `cargo xtask eval-notes` plays
them to the notes model and measures its continuations against baselines.

MIDI layout: format 1, 480 ticks per quarter; track 0 holds the tempo, time signature and key
signature; then one track per part, named after its role (DRUMS, BASS, CHORDS, PAD, ARP, LEAD).
Drums are on channel 10 (index 9) with General MIDI drum notes; each pitched part has its own
channel (0, 1, 2, ...). Velocities are humanized with a fixed seed per riff, so running the script
again writes the same bytes.

Run with the notes venv (it has mido):

    models/notes2/build/venv/bin/python tests/riffs/make_riffs.py
"""

from __future__ import annotations

import random
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import mido

HERE = Path(__file__).resolve().parent
TICKS_PER_QUARTER = 480
NUM_BARS = 4
DRUM_CHANNEL = 9
ROLES = ["DRUMS", "BASS", "CHORDS", "PAD", "ARP", "LEAD"]

# General MIDI drum notes used below (all map to a v2 drum class).
KICK, RIM, SNARE, CLAP = 36, 37, 38, 39
HAT, PEDAL_HAT, OPEN_HAT = 42, 44, 46
TOM_LOW, TOM_MID, TOM_HIGH = 45, 47, 50
CRASH, RIDE, SHAKER = 49, 51, 70

PC_NAMES = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}

# Semitone steps of each mode from its tonic, as in plugin/src/eval/metrics.rs. "minor" is the
# natural minor (the metrics also accept its raised 7th); "blues" is mixolydian plus the minor
# third; "harmonic_minor" lists the natural minor's 7 notes plus the raised 7th.
MODE_STEPS = {
    "major": [0, 2, 4, 5, 7, 9, 11],
    "minor": [0, 2, 3, 5, 7, 8, 10],
    "dorian": [0, 2, 3, 5, 7, 9, 10],
    "phrygian": [0, 1, 3, 5, 7, 8, 10],
    "lydian": [0, 2, 4, 6, 7, 9, 11],
    "mixolydian": [0, 2, 4, 5, 7, 9, 10],
    "harmonic_minor": [0, 2, 3, 5, 7, 8, 10, 11],
    "blues": [0, 2, 3, 4, 5, 7, 9, 10],
}


def pc(name: str) -> int:
    """Pitch class of a tonic name such as "F#" or "Bb"."""
    value = PC_NAMES[name[0]]
    for accidental in name[1:]:
        value += 1 if accidental == "#" else -1
    return value % 12


def p(name: str) -> int:
    """MIDI pitch of a note name with octave, C4 = 60: "C4", "F#2", "Bb1"."""
    letters = name.rstrip("0123456789-")
    octave = int(name[len(letters):])
    value = PC_NAMES[letters[0]]
    for accidental in letters[1:]:
        value += 1 if accidental == "#" else -1
    return 12 * (octave + 1) + value


def ps(names: str) -> list[int]:
    """Pitches of space-separated note names."""
    return [p(n) for n in names.split()]


F = Fraction


@dataclass
class Part:
    """One role's notes as (start, duration, pitch, velocity), times in quarter notes."""

    role: str
    notes: list[tuple[Fraction, Fraction, int, int]] = field(default_factory=list)

    def add(self, start, duration, pitches, velocity: int) -> None:
        """Adds a note, or a chord when `pitches` is a list."""
        if isinstance(pitches, int):
            pitches = [pitches]
        for pitch in pitches:
            self.notes.append((F(start), F(duration), pitch, velocity))


@dataclass
class Riff:
    name: str
    kind: str
    comment: str
    genre: str
    tonic: str
    mode: str
    tempo_bpm: int
    time_sig: tuple[int, int]
    swing: bool
    parts: list[Part]


class Humanizer:
    """Velocity jitter from a seed fixed by the riff's name, so the output is reproducible."""

    def __init__(self, name: str) -> None:
        self.rng = random.Random(zlib.crc32(name.encode()))

    def __call__(self, velocity: int, spread: int = 6) -> int:
        return max(1, min(127, velocity + self.rng.randint(-spread, spread)))


def bar_quarters(time_sig: tuple[int, int]) -> Fraction:
    """Length of a bar in quarter notes."""
    return F(4 * time_sig[0], time_sig[1])


def swung(eighth_idx: int) -> Fraction:
    """Start in quarters of the `eighth_idx`-th 8th note, swung: the off-beat 8th at 2/3."""
    return F(eighth_idx // 2) + (F(2, 3) if eighth_idx % 2 else 0)


def sixteenth(idx) -> Fraction:
    """Start in quarters of the `idx`-th 16th note."""
    return F(idx, 4)


# --------------------------------------------------------------------------------------------
# Riffs. Each function returns one Riff; the comment says what it is.
# --------------------------------------------------------------------------------------------

def pop_chords_c() -> Riff:
    # Pop: I-V-vi-IV in C, one held close-voiced block chord per bar.
    h = Humanizer("pop_chords_c")
    chords = Part("CHORDS")
    for bar, voicing in enumerate(["C4 E4 G4", "B3 D4 G4", "C4 E4 A4", "C4 F4 A4"]):
        chords.add(4 * bar, 4, ps(voicing), h(84))
    return Riff("pop_chords_c", "pop chords", "I-V-vi-IV held block chords", "POP",
                "C", "major", 100, (4, 4), False, [chords])


def ballad_chords_eb() -> Riff:
    # Ballad piano: left-hand root held each bar, right-hand triads on beats 1 and 3;
    # I-vi-IV-V in Eb with smooth inversions.
    h = Humanizer("ballad_chords_eb")
    chords = Part("CHORDS")
    bars = [("Eb3", "G4 Bb4 Eb5"), ("C3", "G4 C5 Eb5"), ("Ab2", "Ab4 C5 Eb5"), ("Bb2", "F4 Bb4 D5")]
    for bar, (root, triad) in enumerate(bars):
        chords.add(4 * bar, 4, p(root), h(70))
        chords.add(4 * bar, 2, ps(triad), h(66))
        chords.add(4 * bar + 2, 2, ps(triad), h(58))
    return Riff("ballad_chords_eb", "ballad chords", "I-vi-IV-V, root plus half-note triads",
                "BALLAD", "Eb", "major", 72, (4, 4), False, [chords])


def lofi_keys_f() -> Riff:
    # Lo-fi keys: ii9-V13-Imaj9-vi9 in F, soft rootless voicings, swung pushes on the "and" of 2
    # and a short stab on the swung "and" of 4.
    h = Humanizer("lofi_keys_f")
    chords = Part("CHORDS")
    voicings = ["F3 A3 Bb3 D4", "E3 A3 Bb3 D4", "E3 G3 A3 C4", "F3 A3 C4 E4"]
    for bar, voicing in enumerate(voicings):
        t = 4 * bar
        chords.add(t, F(3, 2), ps(voicing), h(62))
        chords.add(t + swung(3), 1, ps(voicing), h(54))
        chords.add(t + swung(7), F(1, 3), ps(voicing), h(48))
    return Riff("lofi_keys_f", "lo-fi keys", "ii9-V13-Imaj9-vi9, swung pushes", "LOFI",
                "F", "major", 82, (4, 4), True, [chords])


def jazz_comping_bb() -> Riff:
    # Jazz comping: ii-V-I-vi (Cm9 F9 Bbmaj9 Gm9) in Bb, rootless 7th-chord voicings in
    # Charleston-like swung rhythms.
    h = Humanizer("jazz_comping_bb")
    chords = Part("CHORDS")
    voicings = ["Eb3 G3 Bb3 D4", "Eb3 G3 A3 C4", "D3 F3 A3 C4", "F3 A3 Bb3 D4"]
    rhythms = [[0, 3], [1, 5], [0, 3, 7], [2, 5]]  # swung 8th indices
    for bar, (voicing, rhythm) in enumerate(zip(voicings, rhythms)):
        for idx in rhythm:
            chords.add(4 * bar + swung(idx), F(1, 2), ps(voicing), h(72 if idx % 2 else 80))
    return Riff("jazz_comping_bb", "jazz comping", "ii-V-I-vi rootless 7ths, swung", "JAZZ",
                "Bb", "major", 140, (4, 4), True, [chords])


def ambient_pad_ab() -> Riff:
    # Ambient pad: Abmaj9 - Fm9 - Dbmaj9 - Eb6sus, one long wide chord per bar.
    h = Humanizer("ambient_pad_ab")
    pad = Part("PAD")
    voicings = ["Ab3 C4 Eb4 G4 Bb4", "F3 Ab3 C4 Eb4 G4", "Db3 F3 Ab3 C4 Eb4", "Eb3 Ab3 Bb3 C4 F4"]
    for bar, voicing in enumerate(voicings):
        pad.add(4 * bar, 4, ps(voicing), h(60, 4))
    return Riff("ambient_pad_ab", "pad", "slow wide pad chords", "AMBIENT",
                "Ab", "major", 70, (4, 4), False, [pad])


def house_stabs_gm() -> Riff:
    # House piano stabs: Gm9 - Cm7 - Ebmaj7 - F in G minor, short chords on syncopated 16ths.
    h = Humanizer("house_stabs_gm")
    chords = Part("CHORDS")
    voicings = ["Bb3 D4 F4 A4", "Bb3 C4 Eb4 G4", "Bb3 D4 Eb4 G4", "A3 C4 F4"]
    hits = [0, 3, 6, 10, 13]  # 16th positions
    for bar, voicing in enumerate(voicings):
        for idx in hits:
            chords.add(4 * bar + sixteenth(idx), F(1, 4), ps(voicing), h(96 if idx in (0, 6) else 86))
    return Riff("house_stabs_gm", "house chords", "syncopated 16th piano stabs", "HOUSE",
                "G", "minor", 124, (4, 4), False, [chords])


def waltz_chords_d() -> Riff:
    # Waltz in 3/4: root on beat 1, triad on beats 2 and 3; D - Bm - G - A.
    h = Humanizer("waltz_chords_d")
    chords = Part("CHORDS")
    bars = [("D3", "F#3 A3 D4"), ("B2", "F#3 B3 D4"), ("G2", "G3 B3 D4"), ("A2", "E3 A3 C#4")]
    for bar, (root, triad) in enumerate(bars):
        t = 3 * bar
        chords.add(t, 1, p(root), h(82))
        chords.add(t + 1, 1, ps(triad), h(64))
        chords.add(t + 2, 1, ps(triad), h(60))
    return Riff("waltz_chords_d", "waltz chords", "oom-pah-pah in 3/4", "FOLK",
                "D", "major", 108, (3, 4), False, [chords])


def rock_power_chords_e() -> Riff:
    # Rock riff: palm-muted 8th-note power chords, E5 | G5 A5 | E5 | C5 D5.
    h = Humanizer("rock_power_chords_e")
    chords = Part("CHORDS")
    power = {r: [p(r), p(r) + 7, p(r) + 12] for r in ["E2", "G2", "A2", "C3", "D3"]}
    bars = [["E2"] * 8, ["G2"] * 4 + ["A2"] * 4, ["E2"] * 8, ["C3"] * 4 + ["D3"] * 4]
    for bar, roots in enumerate(bars):
        for idx, root in enumerate(roots):
            chords.add(4 * bar + F(idx, 2), F(2, 5), power[root], h(104 if idx % 2 == 0 else 88))
    return Riff("rock_power_chords_e", "rock riff", "8th-note power chords", "ROCK",
                "E", "minor", 132, (4, 4), False, [chords])


def lament_bass_am() -> Riff:
    # Lament bass: the descending tetrachord A-G-F-E in A minor, dotted halves with a pickup,
    # ending on the raised 7th (G#) of the harmonic minor.
    h = Humanizer("lament_bass_am")
    bass = Part("BASS")
    bars = [("A2", "C3"), ("G2", "B2"), ("F2", "A2")]
    for bar, (long, pickup) in enumerate(bars):
        bass.add(4 * bar, 3, p(long), h(90))
        bass.add(4 * bar + 3, 1, p(pickup), h(72))
    bass.add(12, 2, p("E2"), h(90))
    bass.add(14, 2, p("G#2"), h(76))
    return Riff("lament_bass_am", "lament bass", "descending tetrachord A-G-F-E", "BALLAD",
                "A", "minor", 76, (4, 4), False, [bass])


def synth_bass_bbm() -> Riff:
    # Synth bass: 8th-note octave bounce in Bb minor, i - VI - III - VII (Bb Gb Db Ab),
    # from Gb1 to Db3.
    h = Humanizer("synth_bass_bbm")
    bass = Part("BASS")
    for bar, root in enumerate(["Bb1", "Gb1", "Db2", "Ab1"]):
        for idx in range(8):
            pitch = p(root) + (12 if idx % 2 else 0)
            bass.add(4 * bar + F(idx, 2), F(2, 5), pitch, h(100 if idx % 2 == 0 else 84))
    return Riff("synth_bass_bbm", "synth bass", "8th-note octave bounce", "ELECTRONIC",
                "Bb", "minor", 120, (4, 4), False, [bass])


def funk_bass_e() -> Riff:
    # Funk bass in E dorian: syncopated 16ths, octave pops and ghost notes; bars 1-3 one figure
    # with a varied ending, bar 4 a run up the dorian scale.
    h = Humanizer("funk_bass_e")
    bass = Part("BASS")
    # (16th position, note, length in 16ths, velocity); velocity 40 = ghost note.
    figure = [(0, "E2", 2, 110), (3, "E3", 1, 96), (4, "E2", 1, 40), (6, "D3", 1, 92),
              (7, "E3", 1, 100), (10, "G2", 2, 98), (12, "A2", 1, 94), (14, "B2", 1, 90)]
    ending = [(0, "E2", 2, 110), (3, "E3", 1, 96), (4, "E2", 1, 40), (6, "D3", 1, 92),
              (7, "E3", 1, 100), (10, "B2", 1, 96), (11, "D3", 1, 90), (13, "C#3", 1, 92),
              (14, "B2", 1, 88)]
    run = [(0, "E2", 1, 110), (2, "E2", 1, 40), (3, "F#2", 1, 94), (4, "G2", 1, 96),
           (6, "A2", 1, 98), (8, "B2", 1, 100), (9, "C#3", 1, 92), (10, "D3", 1, 94),
           (12, "E3", 2, 104), (15, "D3", 1, 86)]
    for bar, notes in enumerate([figure, ending, figure, run]):
        for idx, name, length, velocity in notes:
            bass.add(4 * bar + sixteenth(idx), sixteenth(length), p(name), h(velocity, 4))
    return Riff("funk_bass_e", "funk bass", "syncopated 16ths with ghost notes", "FUNK",
                "E", "dorian", 104, (4, 4), False, [bass])


def blues_shuffle_bass_g() -> Riff:
    # Blues shuffle bass: boogie pattern on swung 8ths over G7 | C7 | G7 | G7 (with the b3
    # blue note in the last bar).
    h = Humanizer("blues_shuffle_bass_g")
    bass = Part("BASS")
    bars = ["G2 B2 D3 E3 F3 E3 D3 B2", "C3 E3 G3 A3 Bb3 A3 G3 E3",
            "G2 B2 D3 E3 F3 E3 D3 B2", "G2 B2 D3 E3 F3 D3 Bb2 A2"]
    for bar, names in enumerate(bars):
        for idx, pitch in enumerate(ps(names)):
            length = F(1, 3) if idx % 2 else F(2, 3)
            bass.add(4 * bar + swung(idx), length, pitch, h(96 if idx % 2 == 0 else 78))
    return Riff("blues_shuffle_bass_g", "blues shuffle", "boogie bass on swung 8ths", "BLUES",
                "G", "blues", 96, (4, 4), True, [bass])


def edm_offbeat_bass_fsm() -> Riff:
    # EDM bass: off-beat 8ths (on every "and") in F# minor, i - VI - III - VII
    # (F# D A E), with an octave jump on the last off-beat of each bar.
    h = Humanizer("edm_offbeat_bass_fsm")
    bass = Part("BASS")
    for bar, root in enumerate(["F#2", "D2", "A2", "E2"]):
        for beat in range(4):
            pitch = p(root) + (12 if beat == 3 else 0)
            bass.add(4 * bar + beat + F(1, 2), F(3, 8), pitch, h(104))
    return Riff("edm_offbeat_bass_fsm", "edm bass", "off-beat 8th bass", "HOUSE",
                "F#", "minor", 128, (4, 4), False, [bass])


def motown_bass_a() -> Riff:
    # Melodic soul bass in A major: I - vi - ii - V with diatonic approach notes into each bar.
    h = Humanizer("motown_bass_a")
    bass = Part("BASS")
    # (start in 8ths, length in 8ths, note) per bar.
    bars = [
        [(0, 2, "A2"), (2, 1, "A2"), (3, 1, "C#3"), (4, 2, "E3"), (6, 1, "C#3"), (7, 1, "G#2")],
        [(0, 2, "F#2"), (2, 1, "F#2"), (3, 1, "A2"), (4, 2, "C#3"), (6, 1, "D3"), (7, 1, "C#3")],
        [(0, 2, "B2"), (2, 1, "B2"), (3, 1, "D3"), (4, 2, "F#3"), (6, 1, "A2"), (7, 1, "F#2")],
        [(0, 2, "E2"), (2, 1, "E2"), (3, 1, "G#2"), (4, 1, "B2"), (5, 1, "E3"), (6, 1, "D3"),
         (7, 1, "B2")],
    ]
    for bar, notes in enumerate(bars):
        for start, length, name in notes:
            bass.add(4 * bar + F(start, 2), F(length, 2) - F(1, 12), p(name),
                     h(98 if start % 2 == 0 else 82))
    return Riff("motown_bass_a", "melodic bass", "I-vi-ii-V walking-ish soul bass", "RNB",
                "A", "major", 112, (4, 4), False, [bass])


def trance_arp_cm() -> Riff:
    # Trance arpeggio: 16ths up and down the chord, Cm - Ab - Eb - Bb.
    h = Humanizer("trance_arp_cm")
    arp = Part("ARP")
    chords = ["C4 Eb4 G4", "Ab3 C4 Eb4", "G3 Bb3 Eb4", "F3 Bb3 D4"]
    for bar, names in enumerate(chords):
        a, b, c = ps(names)
        shape = [a, b, c, a + 12, c + 12, a + 12, c, b] * 2
        for idx, pitch in enumerate(shape):
            arp.add(4 * bar + sixteenth(idx), F(1, 4), pitch, h(100 if idx % 4 == 0 else 80))
    return Riff("trance_arp_cm", "arpeggio", "16th up-down arpeggio", "TRANCE",
                "C", "minor", 138, (4, 4), False, [arp])


def triplet_arp_fs() -> Riff:
    # Triplet arpeggio: 8th-note triplets rising and falling, F# - D#m - B - C# in F# major.
    # (Straight triplets: the off-beat triplet note sits where a swung 8th would.)
    h = Humanizer("triplet_arp_fs")
    arp = Part("ARP")
    chords = ["F#3 A#3 C#4", "D#3 F#3 A#3", "B2 D#3 F#3", "C#3 F3 G#3"]
    for bar, names in enumerate(chords):
        a, b, c = ps(names)
        shape = [a, b, c, a + 12, b + 12, c + 12, a + 24, c + 12, b + 12, a + 12, c, b]
        for idx, pitch in enumerate(shape):
            arp.add(4 * bar + F(idx, 3), F(1, 3), pitch, h(84 if idx % 3 == 0 else 66))
    return Riff("triplet_arp_fs", "arpeggio", "8th-triplet arpeggio", "AMBIENT",
                "F#", "major", 90, (4, 4), False, [arp])


def edm_lead_am() -> Riff:
    # EDM lead: a 3-3-2 syncopated hook over Am - F - C - G; bars 1 and 3 the call, bars 2 and
    # 4 two different answers.
    h = Humanizer("edm_lead_am")
    lead = Part("LEAD")
    call = [(0, 3, "E5"), (3, 3, "C5"), (6, 2, "A4"), (8, 2, "B4"), (10, 2, "C5"), (12, 4, "E5")]
    answer1 = [(0, 3, "F5"), (3, 3, "E5"), (6, 2, "C5"), (8, 6, "A4"), (14, 2, "G4")]
    answer2 = [(0, 3, "D5"), (3, 3, "B4"), (6, 2, "G4"), (8, 2, "A4"), (10, 2, "B4"),
               (12, 4, "D5")]
    for bar, notes in enumerate([call, answer1, call, answer2]):
        for start, length, name in notes:
            lead.add(4 * bar + sixteenth(start), sixteenth(length) - F(1, 12), p(name),
                     h(108 if start in (0, 3, 6) else 94))
    return Riff("edm_lead_am", "edm lead", "3-3-2 syncopated synth hook", "ELECTRONIC",
                "A", "minor", 126, (4, 4), False, [lead])


def folk_jig_a() -> Riff:
    # Folk melody: a jig-like tune in 6/8 in A mixolydian (G natural), running 8ths with
    # quarter-8th long-shorts.
    h = Humanizer("folk_jig_a")
    lead = Part("LEAD")
    # (length in 8ths, note) per bar; each bar is 6 8ths.
    bars = [
        [(2, "A4"), (1, "B4"), (1, "C#5"), (1, "B4"), (1, "A4")],
        [(2, "G4"), (1, "E4"), (1, "D4"), (1, "E4"), (1, "G4")],
        [(1, "A4"), (1, "B4"), (1, "C#5"), (2, "D5"), (1, "E5")],
        [(1, "D5"), (1, "C#5"), (1, "B4"), (3, "A4")],
    ]
    for bar, notes in enumerate(bars):
        t = F(3) * bar
        for length, name in notes:
            lead.add(t, F(length, 2), p(name), h(92 if (t % F(3, 2)) == 0 else 74))
            t += F(length, 2)
    return Riff("folk_jig_a", "folk melody", "6/8 jig-like tune", "FOLK",
                "A", "mixolydian", 150, (6, 8), False, [lead])


def sparse_melody_db() -> Riff:
    # Sparse melody: a few long notes with space between, in Db major.
    h = Humanizer("sparse_melody_db")
    lead = Part("LEAD")
    notes = [(0, 3, "Ab4"), (4.5, 1.5, "F4"), (6, 2, "Eb4"), (9, 3, "Db5"), (12, 2, "C5"),
             (14.5, 1.5, "Ab4")]
    for start, length, name in notes:
        lead.add(F(start), F(length), p(name), h(70, 8))
    return Riff("sparse_melody_db", "sparse melody", "few long notes with rests", "AMBIENT",
                "Db", "major", 70, (4, 4), False, [lead])


def busy_sixteenths_bm() -> Riff:
    # Busy lead: nonstop 16ths in B minor over Bm - G - D - A, each bar a broken chord up and a
    # scale run down.
    h = Humanizer("busy_sixteenths_bm")
    lead = Part("LEAD")
    bars = [
        "B4 D5 F#5 B5 A5 F#5 D5 F#5 E5 D5 C#5 B4 C#5 D5 E5 F#5",
        "G5 D5 B4 D5 G5 B5 A5 G5 F#5 E5 D5 E5 F#5 G5 A5 B5",
        "A5 F#5 D5 F#5 A5 D6 C#6 B5 A5 G5 F#5 E5 D5 E5 F#5 G5",
        "A5 E5 C#5 E5 A5 G5 F#5 E5 C#5 D5 E5 F#5 A5 G5 F#5 E5",
    ]
    for bar, names in enumerate(bars):
        for idx, pitch in enumerate(ps(names)):
            lead.add(4 * bar + sixteenth(idx), F(1, 4), pitch, h(100 if idx % 4 == 0 else 84))
    return Riff("busy_sixteenths_bm", "busy lead", "nonstop 16th-note lead", "GAME",
                "B", "minor", 150, (4, 4), False, [lead])


def harmonic_minor_lead_dm() -> Riff:
    # Harmonic-minor lead in D: 8ths and quarters that lean on the raised 7th (C#) and the
    # augmented second Bb-C#.
    h = Humanizer("harmonic_minor_lead_dm")
    lead = Part("LEAD")
    bars = [
        [(0, 1, "D5"), (1, 1, "E5"), (2, 1, "F5"), (3, 1, "E5"), (4, 2, "D5"), (6, 2, "C#5")],
        [(0, 1, "D5"), (1, 1, "A4"), (2, 1, "Bb4"), (3, 1, "C#5"), (4, 4, "A4")],
        [(0, 1, "F5"), (1, 1, "G5"), (2, 1, "A5"), (3, 1, "G5"), (4, 1, "F5"), (5, 1, "E5"),
         (6, 2, "F5")],
        [(0, 2, "E5"), (2, 1, "C#5"), (3, 1, "Bb4"), (4, 4, "D5")],
    ]
    for bar, notes in enumerate(bars):
        for start, length, name in notes:
            lead.add(4 * bar + F(start, 2), F(length, 2) - F(1, 12), p(name),
                     h(96 if start % 2 == 0 else 82))
    return Riff("harmonic_minor_lead_dm", "minor lead", "harmonic-minor melody", "GAME",
                "D", "harmonic_minor", 110, (4, 4), False, [lead])


def drum_part(h: Humanizer, bars: list[dict[int, list[int]]], time_sig=(4, 4),
              grid: Fraction = F(1, 4)) -> Part:
    """A DRUMS part from per-bar maps {drum note: [grid positions]}; velocity by instrument."""
    base = {KICK: 110, SNARE: 104, CLAP: 100, RIM: 86, HAT: 76, PEDAL_HAT: 64, OPEN_HAT: 84,
            TOM_LOW: 98, TOM_MID: 96, TOM_HIGH: 94, CRASH: 108, RIDE: 78, SHAKER: 60}
    drums = Part("DRUMS")
    for bar, hits in enumerate(bars):
        for note, positions in hits.items():
            for pos in positions:
                # Hats accent on the beat; everything else is jittered only.
                accent = 10 if note in (HAT, RIDE) and (pos * grid) % 1 == 0 else 0
                drums.add(bar * bar_quarters(time_sig) + pos * grid, F(1, 8), note,
                          h(base[note] + accent))
    return drums


def house_drums() -> Riff:
    # House drums: four-on-the-floor kick, clap on 2 and 4, open hat on the off-beats, closed
    # 16th hats; a crash opens bar 1 and a clap roll closes bar 4.
    h = Humanizer("house_drums")
    hats = [i for i in range(16) if i % 4 != 2]
    bar = {KICK: [0, 4, 8, 12], CLAP: [4, 12], OPEN_HAT: [2, 6, 10, 14], HAT: hats}
    first = {**bar, CRASH: [0]}
    last = {**bar, CLAP: [4, 12, 14, 15]}
    return Riff("house_drums", "house drums", "four on the floor", "HOUSE",
                "C", "minor", 124, (4, 4), False, [drum_part(h, [first, bar, bar, last])])


def boom_bap_drums() -> Riff:
    # Boom-bap drums: swung 8th hats, snare on 2 and 4, lazy kick on swung off-beats, a ghost
    # snare before the last backbeat.
    h = Humanizer("boom_bap_drums")
    drums = Part("DRUMS")
    kicks = [[0, 3, 5], [0, 1, 5, 7], [0, 3, 5], [0, 4, 5]]
    for bar in range(NUM_BARS):
        t = 4 * bar
        for idx in range(8):
            drums.add(t + swung(idx), F(1, 8), HAT, h(80 if idx % 2 == 0 else 62))
        for idx in kicks[bar]:
            drums.add(t + swung(idx), F(1, 8), KICK, h(108))
        for idx in (2, 6):
            drums.add(t + swung(idx), F(1, 8), SNARE, h(106))
        if bar % 2 == 1:
            drums.add(t + swung(5), F(1, 8), SNARE, h(44, 4))
    return Riff("boom_bap_drums", "boom-bap drums", "swung hip-hop beat", "HIPHOP",
                "C", "minor", 90, (4, 4), True, [drums])


def reggaeton_drums() -> Riff:
    # Reggaeton dembow: kick on every beat, snare on the 4th and 7th 16th of each half bar
    # (3+3+2), shaker 8ths; bar 4 doubles the last snare.
    h = Humanizer("reggaeton_drums")
    bar = {KICK: [0, 4, 8, 12], SNARE: [3, 6, 11, 14], SHAKER: [0, 2, 4, 6, 8, 10, 12, 14]}
    last = {**bar, SNARE: [3, 6, 11, 14, 15]}
    return Riff("reggaeton_drums", "reggaeton drums", "dembow", "REGGAETON",
                "C", "minor", 96, (4, 4), False, [drum_part(h, [bar, bar, bar, last])])


def rock_drums() -> Riff:
    # Rock beat: 8th hats, kick on 1, 3 and the "and" of 3, snare on 2 and 4; crash on bar 1,
    # a tom fill down the toms on beat 4 of bar 4.
    h = Humanizer("rock_drums")
    bar = {KICK: [0, 8, 10], SNARE: [4, 12], HAT: [0, 2, 4, 6, 8, 10, 12, 14]}
    first = {**bar, CRASH: [0], HAT: [2, 4, 6, 8, 10, 12, 14]}
    last = {KICK: [0, 8, 10], SNARE: [4, 12], HAT: [0, 2, 4, 6, 8, 10],
            TOM_HIGH: [13], TOM_MID: [14], TOM_LOW: [15]}
    return Riff("rock_drums", "rock drums", "straight 8th rock beat with fill", "ROCK",
                "C", "minor", 120, (4, 4), False, [drum_part(h, [first, bar, bar, last])])


def shuffle_drums() -> Riff:
    # Shuffle: ride on swung 8ths, kick on 1 and 3 with a swung pickup, snare on 2 and 4 and a
    # ghost on the swung "and" of 4 every other bar.
    h = Humanizer("shuffle_drums")
    drums = Part("DRUMS")
    for bar in range(NUM_BARS):
        t = 4 * bar
        for idx in range(8):
            drums.add(t + swung(idx), F(1, 8), RIDE, h(82 if idx % 2 == 0 else 64))
        for idx in (0, 4, 5):
            drums.add(t + swung(idx), F(1, 8), KICK, h(104 if idx != 5 else 84))
        for idx in (2, 6):
            drums.add(t + swung(idx), F(1, 8), SNARE, h(100))
        if bar % 2 == 1:
            drums.add(t + swung(7), F(1, 8), SNARE, h(46, 4))
        drums.add(t + 1, F(1, 8), PEDAL_HAT, h(60))
        drums.add(t + 3, F(1, 8), PEDAL_HAT, h(60))
    return Riff("shuffle_drums", "shuffle drums", "swung blues shuffle", "BLUES",
                "C", "minor", 116, (4, 4), True, [drums])


def trap_808_fm() -> Riff:
    # Trap: half-time clap on beat 3, 16th hats with 16th-triplet and 32nd-triplet rolls, open
    # hat accents, and an 808 bass that follows the kick (F1 - Ab1 - Db2 - C2 in F minor).
    h = Humanizer("trap_808_fm")
    drums = Part("DRUMS")
    bass = Part("BASS")
    kicks = [[0, F(11, 4)], [0, F(3, 4), F(11, 4)], [0, F(11, 4), F(7, 2)], [0, F(3, 2), F(11, 4)]]
    rolls = {1: (3, F(1, 6)), 3: (2, F(1, 3))}  # bar -> (beat, step) of the roll
    for bar in range(NUM_BARS):
        t = 4 * bar
        roll = rolls.get(bar)
        for idx in range(16):
            beat = idx // 4
            if roll and beat == roll[0]:
                continue
            drums.add(t + sixteenth(idx), F(1, 8), HAT, h(82 if idx % 2 == 0 else 66))
        if roll:
            beat, step = roll
            for k in range(int(1 / step)):
                drums.add(t + beat + k * step, F(1, 12), HAT, h(60 + 4 * k, 3))
        drums.add(t + 2, F(1, 8), CLAP, h(108))
        drums.add(t + 2, F(1, 8), SNARE, h(92))
        drums.add(t + F(3, 2), F(1, 8), OPEN_HAT, h(78))
        for k in kicks[bar]:
            drums.add(t + k, F(1, 8), KICK, h(112))
    roots = ["F1", "Ab1", "Db2", "C2"]
    for bar, root in enumerate(roots):
        starts = kicks[bar] + [4]
        for k, k_next in zip(starts, starts[1:]):
            # The 808 rings until the next kick; an octave up on the last hit of bars 2 and 4.
            pitch = p(root) + (12 if bar % 2 == 1 and k_next == 4 else 0)
            bass.add(4 * bar + k, k_next - k, pitch, h(110))
    return Riff("trap_808_fm", "trap drums + 808", "half-time trap with hat rolls and 808", "TRAP",
                "F", "minor", 140, (4, 4), False, [drums, bass])


def dnb_roller_csm() -> Riff:
    # Drum and bass: two-step (kick 1 and the "and" of 3, snare 2 and 4) with ghost snares,
    # 8th shaker, and a rolling bass line in C# minor (C# - A - B - G#).
    h = Humanizer("dnb_roller_csm")
    bars = {KICK: [0, 10], SNARE: [4, 12], SHAKER: [0, 2, 4, 6, 8, 10, 12, 14], HAT: [14]}
    ghost_bar = {**bars, SNARE: [4, 7, 12, 15]}
    drums = drum_part(h, [bars, ghost_bar, bars, ghost_bar])
    bass = Part("BASS")
    for bar, root in enumerate(["C#2", "A1", "B1", "G#1"]):
        t = 4 * bar
        bass.add(t, F(3, 2), p(root), h(104))
        bass.add(t + F(5, 2), F(3, 4), p(root), h(96))
        bass.add(t + F(13, 4), F(3, 4), p(root) + 12 if bar % 2 == 0 else p(root) + 7, h(92))
    return Riff("dnb_roller_csm", "drum and bass", "two-step with rolling bass", "DNB",
                "C#", "minor", 174, (4, 4), False, [drums, bass])


def dorian_groove_d() -> Riff:
    # Dorian groove: Dm9 - G13 vamp in D dorian (B natural), syncopated 16th bass and chord
    # stabs that answer it.
    h = Humanizer("dorian_groove_d")
    bass = Part("BASS")
    chords = Part("CHORDS")
    bass_bar = {
        "D": [(0, "D2", 3), (3, "D3", 1), (6, "A2", 2), (10, "C3", 1), (11, "D3", 2), (14, "A2", 1)],
        "G": [(0, "G2", 3), (3, "G2", 1), (6, "B2", 2), (10, "D3", 1), (11, "E3", 2), (14, "F3", 1)],
    }
    voicing = {"D": ps("F3 A3 C4 E4"), "G": ps("F3 A3 B3 E4")}
    stabs = [2, 7, 10]
    for bar, chord in enumerate(["D", "G", "D", "G"]):
        t = 4 * bar
        for idx, name, length in bass_bar[chord]:
            bass.add(t + sixteenth(idx), sixteenth(length), p(name), h(100 if idx % 4 == 0 else 88))
        for idx in stabs:
            chords.add(t + sixteenth(idx), F(1, 4), voicing[chord], h(80))
    return Riff("dorian_groove_d", "dorian groove", "Dm9-G13 vamp, bass and chord stabs", "FUNK",
                "D", "dorian", 100, (4, 4), False, [bass, chords])


def chords_melody_e() -> Riff:
    # Chords with melody: E - C#m - A - B half-note chords and a singable melody above them.
    h = Humanizer("chords_melody_e")
    chords = Part("CHORDS")
    lead = Part("LEAD")
    voicings = ["E3 G#3 B3", "E3 G#3 C#4", "E3 A3 C#4", "D#3 F#3 B3"]
    for bar, voicing in enumerate(voicings):
        chords.add(4 * bar, 2, ps(voicing), h(70))
        chords.add(4 * bar + 2, 2, ps(voicing), h(62))
    melody = [(0, 1, "B4"), (1, 1, "G#4"), (2, 1.5, "B4"), (3.5, 0.5, "C#5"),
              (4, 1, "E5"), (5, 1, "C#5"), (6, 2, "G#4"),
              (8, 1, "A4"), (9, 0.5, "B4"), (9.5, 0.5, "C#5"), (10, 1, "E5"), (11, 1, "C#5"),
              (12, 1.5, "B4"), (13.5, 0.5, "A4"), (14, 2, "F#4")]
    for start, length, name in melody:
        lead.add(F(start), F(length), p(name), h(92))
    return Riff("chords_melody_e", "chords + melody", "half-note chords under a melody", "POP",
                "E", "major", 96, (4, 4), False, [chords, lead])


def full_band_g() -> Riff:
    # Full band in G major: rock beat, 8th-note root bass, strummed-style chords on the beats
    # with a push, and a lead melody; G - D - Em - C.
    h = Humanizer("full_band_g")
    beat = {KICK: [0, 6, 8], SNARE: [4, 12], HAT: [0, 2, 4, 6, 8, 10, 12, 14]}
    first = {**beat, CRASH: [0]}
    fill = {**beat, SNARE: [4, 12, 14, 15]}
    drums = drum_part(h, [first, beat, beat, fill])
    bass = Part("BASS")
    chords = Part("CHORDS")
    lead = Part("LEAD")
    roots = ["G2", "D2", "E2", "C2"]
    voicings = ["G3 B3 D4", "F#3 A3 D4", "G3 B3 E4", "G3 C4 E4"]
    for bar, (root, voicing) in enumerate(zip(roots, voicings)):
        t = 4 * bar
        for idx in range(8):
            bass.add(t + F(idx, 2), F(2, 5), p(root), h(96 if idx % 2 == 0 else 82))
        for start, length in [(0, 1), (1, F(1, 2)), (F(3, 2), F(3, 2)), (3, 1)]:
            chords.add(t + start, length, ps(voicing), h(74))
    melody = [(0, 1, "D5"), (1, 1, "B4"), (2, 2, "G4"),
              (4, 1, "A4"), (5, 0.5, "B4"), (5.5, 1.5, "A4"), (7, 1, "F#4"),
              (8, 1, "G4"), (9, 1, "B4"), (10, 1, "E5"), (11, 1, "D5"),
              (12, 2, "C5"), (14, 1, "B4"), (15, 1, "A4")]
    for start, length, name in melody:
        lead.add(F(start), F(length), p(name), h(96))
    return Riff("full_band_g", "full band", "drums, bass, chords and lead", "ROCK",
                "G", "major", 116, (4, 4), False, [drums, bass, chords, lead])


def lofi_beat_eb() -> Riff:
    # Lo-fi beat: swung boom-bap drums with side-stick and soft Ebmaj7 - Cm7 - Abmaj7 - Bb7sus
    # keys that push on the swung "and" of 2.
    h = Humanizer("lofi_beat_eb")
    drums = Part("DRUMS")
    chords = Part("CHORDS")
    kicks = [[0, 3, 4], [0, 4, 7], [0, 3, 4], [0, 5]]
    voicings = ["Eb3 G3 Bb3 D4", "Eb3 G3 Bb3 C4", "Ab3 C4 Eb4 G4", "Ab3 Bb3 Eb4 F4"]
    for bar in range(NUM_BARS):
        t = 4 * bar
        for idx in range(8):
            drums.add(t + swung(idx), F(1, 8), HAT, h(70 if idx % 2 == 0 else 54))
        for idx in kicks[bar]:
            drums.add(t + swung(idx), F(1, 8), KICK, h(100))
        for idx in (2, 6):
            drums.add(t + swung(idx), F(1, 8), RIM, h(90))
        chords.add(t, F(5, 3), ps(voicings[bar]), h(58))
        chords.add(t + swung(3), F(7, 3), ps(voicings[bar]), h(52))
    return Riff("lofi_beat_eb", "lo-fi beat", "swung drums with soft 7th chords", "LOFI",
                "Eb", "major", 78, (4, 4), True, [drums, chords])


RIFFS = [
    pop_chords_c, ballad_chords_eb, lofi_keys_f, jazz_comping_bb, ambient_pad_ab, house_stabs_gm,
    waltz_chords_d, rock_power_chords_e,
    lament_bass_am, synth_bass_bbm, funk_bass_e, blues_shuffle_bass_g, edm_offbeat_bass_fsm,
    motown_bass_a,
    trance_arp_cm, triplet_arp_fs, edm_lead_am, folk_jig_a, sparse_melody_db, busy_sixteenths_bm,
    harmonic_minor_lead_dm,
    house_drums, boom_bap_drums, reggaeton_drums, rock_drums, shuffle_drums,
    trap_808_fm, dnb_roller_csm, dorian_groove_d, chords_melody_e, full_band_g, lofi_beat_eb,
]


# --------------------------------------------------------------------------------------------
# Output
# --------------------------------------------------------------------------------------------

# Semitones from a mode's tonic down to its relative major's tonic, for the key signature.
RELATIVE_MAJOR_OFFSET = {"major": 0, "dorian": 2, "phrygian": 4, "lydian": 5, "mixolydian": 7,
                         "blues": 7}
MAJOR_KEY_NAMES = ["C", "Db", "D", "Eb", "E", "F", "F#", "G", "Ab", "A", "Bb", "B"]
MINOR_KEY_NAMES = ["C", "C#", "D", "Eb", "E", "F", "F#", "G", "G#", "A", "Bb", "B"]


def key_signature(riff: Riff) -> str:
    """mido key name of the riff's key signature: minor keys as minor, modes as their relative
    major."""
    if riff.mode in ("minor", "harmonic_minor"):
        return MINOR_KEY_NAMES[pc(riff.tonic)] + "m"
    major_pc = (pc(riff.tonic) - RELATIVE_MAJOR_OFFSET[riff.mode]) % 12
    return MAJOR_KEY_NAMES[major_pc]


def to_ticks(quarters: Fraction) -> int:
    ticks = quarters * TICKS_PER_QUARTER
    assert ticks.denominator == 1, f"{quarters} quarters is not a whole number of ticks"
    return int(ticks)


def write_midi(riff: Riff, path: Path) -> None:
    midi = mido.MidiFile(type=1, ticks_per_beat=TICKS_PER_QUARTER)
    conductor = mido.MidiTrack()
    conductor.append(mido.MetaMessage("track_name", name=riff.name, time=0))
    conductor.append(mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(riff.tempo_bpm), time=0))
    num, den = riff.time_sig
    conductor.append(mido.MetaMessage("time_signature", numerator=num, denominator=den,
                                      clocks_per_click=24 if den == 4 else 36,
                                      notated_32nd_notes_per_beat=8, time=0))
    conductor.append(mido.MetaMessage("key_signature", key=key_signature(riff), time=0))
    end = to_ticks(NUM_BARS * bar_quarters(riff.time_sig))
    conductor.append(mido.MetaMessage("end_of_track", time=end))
    midi.tracks.append(conductor)

    next_channel = 0
    for part in sorted(riff.parts, key=lambda part: ROLES.index(part.role)):
        if part.role == "DRUMS":
            channel = DRUM_CHANNEL
        else:
            channel = next_channel
            next_channel += 1
        track = mido.MidiTrack()
        track.append(mido.MetaMessage("track_name", name=part.role, time=0))
        # (tick, 0 = off / 1 = on, pitch, velocity): offs first at a tick so a repeated pitch
        # is released before it is struck again.
        events = []
        for start, duration, pitch, velocity in part.notes:
            on, off = to_ticks(start), to_ticks(start + duration)
            assert 0 <= on < off <= end, f"{riff.name} {part.role}: note {start}+{duration} out of 4 bars"
            events.append((on, 1, pitch, velocity))
            events.append((off, 0, pitch, 0))
        events.sort()
        last = 0
        for tick, is_on, pitch, velocity in events:
            kind = "note_on" if is_on else "note_off"
            track.append(mido.Message(kind, channel=channel, note=pitch, velocity=velocity,
                                      time=tick - last))
            last = tick
        track.append(mido.MetaMessage("end_of_track", time=0))
        midi.tracks.append(track)
    midi.save(path)


def check(riff: Riff) -> None:
    """Refuses a riff that breaks the set's conventions before anything is written."""
    roles = [part.role for part in riff.parts]
    assert len(set(roles)) == len(roles) and all(r in ROLES for r in roles), riff.name
    assert all(part.notes for part in riff.parts), f"{riff.name}: empty part"
    assert riff.mode in MODE_STEPS, riff.name
    assert 70 <= riff.tempo_bpm <= 174, riff.name
    allowed = {(pc(riff.tonic) + step) % 12 for step in MODE_STEPS[riff.mode]}
    if riff.mode == "minor":
        allowed.add((pc(riff.tonic) + 11) % 12)
    for part in riff.parts:
        for _, _, pitch, velocity in part.notes:
            assert 1 <= velocity <= 127
            if part.role != "DRUMS":
                assert pitch % 12 in allowed, f"{riff.name} {part.role}: pitch {pitch} out of key"


def toml_string(value: str) -> str:
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def write_toml(riffs: list[Riff], path: Path) -> None:
    lines = [
        "# The evaluation riffs, written by make_riffs.py (do not edit by hand; edit the script).",
        "# Every riff is 4 bars. tempo_bpm is in quarter notes per minute (as in MIDI), also in 6/8.",
        "# key is the tonic's name, tonic_pc its pitch class (C = 0), mode one of major, minor,",
        "# dorian, phrygian, lydian, mixolydian, harmonic_minor, blues (= mixolydian + b3), and",
        "# scale the mode's pitch classes (minor lists the natural minor; the metrics also accept",
        "# its raised 7th). Drum-only riffs have a nominal key (C minor): they have no pitched notes",
        "# to measure. swing: the riff is written with swung 8ths (the off-beat 8th at 2/3 of the",
        "# beat). parts: the roles present, in role order, one MIDI track each named after the role.",
        "",
    ]
    for riff in riffs:
        roles = sorted((part.role for part in riff.parts), key=ROLES.index)
        scale = sorted((pc(riff.tonic) + step) % 12 for step in MODE_STEPS[riff.mode])
        lines += [
            "[[riff]]",
            f"name = {toml_string(riff.name)}",
            f"file = {toml_string(riff.name + '.mid')}",
            f"kind = {toml_string(riff.kind)}",
            f"description = {toml_string(riff.comment)}",
            f"genre = {toml_string(riff.genre)}",
            f"key = {toml_string(riff.tonic)}",
            f"tonic_pc = {pc(riff.tonic)}",
            f"mode = {toml_string(riff.mode)}",
            f"scale = [{', '.join(str(s) for s in scale)}]",
            f"tempo_bpm = {riff.tempo_bpm}",
            f"time_sig = [{riff.time_sig[0]}, {riff.time_sig[1]}]",
            f"num_bars = {NUM_BARS}",
            f"swing = {'true' if riff.swing else 'false'}",
            f"parts = [{', '.join(toml_string(r) for r in roles)}]",
            "",
        ]
    path.write_text("\n".join(lines))


def main() -> None:
    riffs = [make() for make in RIFFS]
    names = [riff.name for riff in riffs]
    assert len(set(names)) == len(names), "duplicate riff names"
    for riff in riffs:
        check(riff)
    for riff in riffs:
        write_midi(riff, HERE / f"{riff.name}.mid")
    write_toml(riffs, HERE / "riffs.toml")
    print(f"wrote {len(riffs)} riffs to {HERE}")


if __name__ == "__main__":
    main()
