"""Weighted table of common chord progressions (our own table; harmony facts only).

A progression is a list of bars; each bar is a list of chords (1 or 2 per bar); a chord
is (degree_semitones_from_tonic, quality). Qualities: "" major, "m" minor, "7" dominant,
"maj7", "m7", "m7b5", "dim", "sus4". Used by the MMA renderer and the rule generator.
"""
from __future__ import annotations

import random
from typing import List, Tuple

Chord = Tuple[int, str]

# Roman numeral -> (semitones, quality), relative to the tonic of the *key* (major or minor).
_RN = {
    "I": (0, ""), "ii": (2, "m"), "iii": (4, "m"), "IV": (5, ""), "V": (7, ""), "vi": (9, "m"),
    "bVII": (10, ""), "bVI": (8, ""), "bIII": (3, ""), "i": (0, "m"), "iv": (5, "m"), "v": (7, "m"),
    "III": (3, ""), "VI": (8, ""), "VII": (10, ""), "II": (2, ""),
    "I7": (0, "7"), "IV7": (5, "7"), "V7": (7, "7"), "VI7": (9, "7"), "II7": (2, "7"),
    "Imaj7": (0, "maj7"), "IVmaj7": (5, "maj7"), "ii7": (2, "m7"), "iii7": (4, "m7"),
    "vi7": (9, "m7"), "i7": (0, "m7"), "iv7": (5, "m7"), "v7": (7, "m7"), "iim7b5": (2, "m7b5"),
    "VImaj7": (8, "maj7"), "IIImaj7": (3, "maj7"), "Vsus4": (7, "sus4"),
}

# (name, family, mode, weight, bars) -- bars are space-separated, chords in a bar joined by '-'
_TABLE = [
    ("I-V-vi-IV", "pop", "major", 10, "I V vi IV"),
    ("vi-IV-I-V", "pop", "major", 8, "vi IV I V"),
    ("I-vi-IV-V", "pop", "major", 6, "I vi IV V"),
    ("I-IV-vi-V", "pop", "major", 4, "I IV vi V"),
    ("IV-I-V-vi", "pop", "major", 3, "IV I V vi"),
    ("I-IV-V-IV", "pop", "major", 3, "I IV V IV"),
    ("I-V-IV-I", "pop", "major", 2, "I V IV I"),
    ("I-iii-IV-V", "pop", "major", 2, "I iii IV V"),
    ("I-bVII-IV-I", "rock", "major", 3, "I bVII IV I"),
    ("I-IV", "pop", "major", 2, "I I IV IV"),
    ("ii-IV-I-V", "pop", "major", 2, "ii IV I V"),
    ("i-VI-III-VII", "pop", "minor", 8, "i VI III VII"),
    ("i-VII-VI-VII", "pop", "minor", 5, "i VII VI VII"),
    ("i-iv-VII-III", "pop", "minor", 4, "i iv VII III"),
    ("i-VI-VII-i", "pop", "minor", 3, "i VI VII i"),
    ("i-iv-v-i", "pop", "minor", 2, "i iv v i"),
    ("i-VI-iv-V", "pop", "minor", 2, "i VI iv V"),
    ("i-iv", "pop", "minor", 3, "i i iv iv"),
    ("i-VII", "pop", "minor", 2, "i i VII VII"),
    ("ii-V-I", "jazz", "major", 8, "ii7 V7 Imaj7 Imaj7"),
    ("I-vi-ii-V", "jazz", "major", 6, "Imaj7 vi7 ii7 V7"),
    ("iii-vi-ii-V", "jazz", "major", 3, "iii7 vi7 ii7 V7"),
    ("ii-V-I-VI7", "jazz", "major", 3, "ii7 V7 Imaj7 VI7"),
    ("I-IV7-iii-VI7", "jazz", "major", 2, "Imaj7 IVmaj7 iii7-VI7 ii7-V7"),
    ("minor-ii-V-i", "jazz", "minor", 4, "iim7b5 V7 i7 i7"),
    ("i7-iv7", "jazz", "minor", 3, "i7 i7 iv7 iv7"),
    ("12-bar-blues", "blues", "major", 8, "I7 I7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7"),
    ("quick-change-blues", "blues", "major", 4, "I7 IV7 I7 I7 IV7 IV7 I7 I7 V7 IV7 I7 V7"),
    ("minor-blues", "blues", "minor", 3, "i7 i7 i7 i7 iv7 iv7 i7 i7 VI7 V7 i7 V7"),
    ("8-bar-blues", "blues", "major", 2, "I7 V7 IV7 IV7 I7 V7 I7 V7"),
    ("one-chord-groove", "groove", "minor", 3, "i7 i7 i7 i7"),
    ("i-bVI-bVII-i", "groove", "minor", 3, "i VI VII i"),
    ("i-v-VI-iv", "groove", "minor", 2, "i v VI iv"),
    ("Imaj7-IVmaj7", "groove", "major", 3, "Imaj7 Imaj7 IVmaj7 IVmaj7"),
    ("ii7-V7-vamp", "groove", "major", 2, "ii7 V7 ii7 V7"),
    ("vi7-ii7-V7-Imaj7", "groove", "major", 2, "vi7 ii7 V7 Imaj7"),
]


def _parse_bars(text: str) -> List[List[Chord]]:
    return [[_RN[c] for c in bar.split("-")] for bar in text.split()]


PROGRESSIONS = [(name, fam, mode, w, _parse_bars(bars)) for name, fam, mode, w, bars in _TABLE]


def pick(rng: random.Random, families) -> tuple:
    """(name, mode, bars) drawn with the table weights among the given families."""
    cands = [p for p in PROGRESSIONS if p[1] in families]
    name, fam, mode, _, bars = rng.choices(cands, weights=[p[3] for p in cands])[0]
    return name, mode, bars


PC_NAMES = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]

QUALITY_INTERVALS = {
    "": [0, 4, 7], "m": [0, 3, 7], "7": [0, 4, 7, 10], "maj7": [0, 4, 7, 11], "m7": [0, 3, 7, 10],
    "m7b5": [0, 3, 6, 10], "dim": [0, 3, 6], "sus4": [0, 5, 7],
}


def chord_name(tonic_pc: int, chord: Chord) -> str:
    """MMA chord name, e.g. 'Ebm7'."""
    deg, q = chord
    return PC_NAMES[(tonic_pc + deg) % 12] + q


def chord_pcs(tonic_pc: int, chord: Chord) -> List[int]:
    deg, q = chord
    root = (tonic_pc + deg) % 12
    return [(root + i) % 12 for i in QUALITY_INTERVALS[q]]
