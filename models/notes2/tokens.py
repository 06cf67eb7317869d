"""Continuo "notes" tokenizer, vocabulary v2 (multi-part; TOKENS.md beside this file is normative).

Pure Python, no dependencies. A *piece* is a set of parts, each with a role
(DRUMS, BASS, CHORDS, PAD, ARP, LEAD), on a grid of 12 ticks per quarter note
(holds 16ths, 8th/16th triplets and swing). Encoding is bar-major: every bar
holds the parts that play in it, in role order, so a continuation of all
parts can be generated and decoded bar by bar, token by token.

A note is ``(start_ticks, duration_ticks, pitch, velocity)``; for drums
``pitch`` is a General MIDI drum note (channel 10).

CLI:
    python tokens.py vocab [--out vocab.json]
    python tokens.py names 1 2 3 ...          # ids -> names
"""
from __future__ import annotations

import json
import sys
from typing import Dict, Iterable, List, Optional, Sequence, Tuple

VOCAB_VERSION = 2
TPB = 12                      # ticks per quarter note
MAX_BAR_TICKS = 96            # up to 8 quarter notes per bar (8/4, 16/8)

Note = Tuple[int, int, int, int]

# ---------------------------------------------------------------- tables
ROLES = ["DRUMS", "BASS", "CHORDS", "PAD", "ARP", "LEAD"]   # also the order inside a bar
PITCHED_ROLES = ROLES[1:]

PITCH_MIN, PITCH_MAX = 21, 108

# Drum classes: name, representative GM note (decoded pitch), GM notes mapped to it.
DRUM_CLASSES = [
    ("KICK", 36, [35, 36]),
    ("SNARE", 38, [38, 40]),
    ("RIM", 37, [37]),
    ("CLAP", 39, [39]),
    ("HAT_CLOSED", 42, [42, 44]),
    ("HAT_OPEN", 46, [46]),
    ("TOM_LOW", 45, [41, 43, 45]),
    ("TOM_MID", 47, [47, 48]),
    ("TOM_HIGH", 50, [50]),
    ("CRASH", 49, [49, 52, 55, 57]),
    ("RIDE", 51, [51, 53, 59]),
    ("SHAKER", 70, [69, 70, 82]),
    ("TAMBOURINE", 54, [54]),
    ("COWBELL", 56, [56]),
    ("HAND", 63, [60, 61, 62, 63, 64, 65, 66, 67, 68]),
    ("PERC", 75, [27, 28, 29, 30, 31, 32, 33, 34, 58, 71, 72, 73, 74, 75, 76, 77, 78, 79,
                  80, 81, 83, 84, 85, 86, 87]),
]
GM_TO_DRUM = {gm: i for i, (_, _, gms) in enumerate(DRUM_CLASSES) for gm in gms}
DRUM_DECODED_DUR = 3          # ticks (a 16th) given to decoded drum hits

DUR_VALUES = [1, 2, 3, 4, 5, 6, 8, 9, 10, 12, 14, 16, 18, 21, 24, 30, 36, 42, 48, 60, 72, 84,
              96, 120, 144, 192]
VEL_BINS = [(1, 39, 32), (40, 69, 56), (70, 99, 84), (100, 127, 112)]
DEFAULT_VEL_BIN = 3

DENS_THRESHOLDS = [2, 4, 6, 8, 12, 16, 24, 32]      # notes per bar: DENS_0 .. DENS_8
REG_THRESHOLDS = [40, 52, 64, 76]                   # mean pitch: REG_0 .. REG_4
POLY_VALUES = ["1", "2", "3", "4"]                  # POLY_4 = 4 or more
FEELS = ["STRAIGHT", "SWING"]

GENRES = ["POP", "ROCK", "METAL", "FUNK", "RNB", "DISCO", "JAZZ", "SWING", "BLUES", "RAGTIME",
          "LATIN", "BOSSA", "REGGAE", "COUNTRY", "BALLAD", "HOUSE", "TECHNO", "TRANCE", "DNB",
          "HIPHOP", "TRAP", "REGGAETON", "LOFI", "AMBIENT", "ELECTRONIC", "GAME", "FOLK",
          "CHORALE"]
TIME_SIGS = [(2, 4), (3, 4), (4, 4), (5, 4), (6, 4), (7, 4), (2, 2), (3, 2), (3, 8), (5, 8),
             (6, 8), (7, 8), (9, 8), (12, 8)]
TEMPO_BINS = [(0, 66, 60), (66, 78, 72), (78, 90, 84), (90, 102, 96), (102, 114, 108),
              (114, 126, 120), (126, 138, 132), (138, 152, 144), (152, 166, 160),
              (166, 100_000, 174)]
KEY_PCS = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]

GLOBAL_CATEGORIES = ["GENRE", "TS", "TEMPO", "KEY"]       # order after BOS
PART_ATTR_CATEGORIES = ["DENS", "REG", "POLY", "FEEL"]    # order after a header PART token


def _build_names() -> List[str]:
    names = ["PAD", "BOS", "EOS", "BAR"]
    names += [f"POS_{p}" for p in range(MAX_BAR_TICKS)]
    names += [f"PITCH_{p}" for p in range(PITCH_MIN, PITCH_MAX + 1)]
    names += [f"DRUM_{c[0]}" for c in DRUM_CLASSES]
    names += [f"DUR_{d}" for d in DUR_VALUES]
    names += [f"VEL_{i + 1}" for i in range(len(VEL_BINS))]
    names += [f"PART_{r}" for r in ROLES]
    names += [f"DENS_{i}" for i in range(len(DENS_THRESHOLDS) + 1)]
    names += [f"REG_{i}" for i in range(len(REG_THRESHOLDS) + 1)]
    names += [f"POLY_{v}" for v in POLY_VALUES]
    names += [f"FEEL_{f}" for f in FEELS]
    names += [f"GENRE_{g}" for g in GENRES]
    names += [f"TS_{n}_{d}" for n, d in TIME_SIGS]
    names += [f"TEMPO_{rep}" for _, _, rep in TEMPO_BINS]
    for pc in KEY_PCS:
        names += [f"KEY_{pc}_MAJOR", f"KEY_{pc}_MINOR"]
    return names


NAMES: List[str] = _build_names()
VOCAB_SIZE = len(NAMES)
ID: Dict[str, int] = {n: i for i, n in enumerate(NAMES)}
PAD, BOS, EOS, BAR = 0, 1, 2, 3
POS_BASE = ID["POS_0"]
PITCH_BASE = ID[f"PITCH_{PITCH_MIN}"]
DRUM_BASE = ID["DRUM_KICK"]
DUR_BASE = ID[f"DUR_{DUR_VALUES[0]}"]
VEL_BASE = ID["VEL_1"]
PART_BASE = ID["PART_DRUMS"]


def category(tok: int) -> Optional[str]:
    """Text before the first '_' of a token's name (POS, PITCH, GENRE, ...), None if out of range."""
    if not (0 <= tok < VOCAB_SIZE):
        return None
    return NAMES[tok].split("_", 1)[0]


def _kind(tok: int) -> str:
    c = category(tok)
    return c if c is not None else "INVALID"


# ---------------------------------------------------------------- helpers
def bar_length_ticks(num: int, den: int) -> int:
    """Bar length in ticks; ValueError for unsupported meters."""
    if den not in (1, 2, 4, 8, 16) or num < 1:
        raise ValueError(f"unsupported time signature {num}/{den}")
    length = num * 4 * TPB // den
    if num * 4 * TPB % den != 0 or not (1 <= length <= MAX_BAR_TICKS):
        raise ValueError(f"time signature {num}/{den} does not fit 1..{MAX_BAR_TICKS} ticks")
    return length


def quantize_duration(d: int) -> int:
    """Duration in ticks -> nearest DUR value (ties go to the shorter)."""
    d = max(1, d)
    if d >= DUR_VALUES[-1]:
        return DUR_VALUES[-1]
    best = DUR_VALUES[0]
    for v in DUR_VALUES:
        if abs(v - d) < abs(best - d):
            best = v
    return best


def velocity_bin(vel: int) -> int:
    v = min(127, max(1, vel))
    for i, (lo, hi, _) in enumerate(VEL_BINS):
        if lo <= v <= hi:
            return i + 1
    raise AssertionError(v)


def velocity_of_bin(b: int) -> int:
    return VEL_BINS[b - 1][2]


def fold_pitch(p: int) -> int:
    while p < PITCH_MIN:
        p += 12
    while p > PITCH_MAX:
        p -= 12
    return p


def drum_class(gm_note: int) -> Optional[int]:
    return GM_TO_DRUM.get(gm_note)


def key_name(pc: int, minor: bool) -> str:
    return f"KEY_{KEY_PCS[pc % 12]}_{'MINOR' if minor else 'MAJOR'}"


def ts_name(num: int, den: int) -> Optional[str]:
    n = f"TS_{num}_{den}"
    return n if n in ID else None


def tempo_name(bpm: float) -> str:
    for lo, hi, rep in TEMPO_BINS:
        if lo <= bpm < hi:
            return f"TEMPO_{rep}"
    return f"TEMPO_{TEMPO_BINS[0][2]}" if bpm < 0 else f"TEMPO_{TEMPO_BINS[-1][2]}"


# ---------------------------------------------------------------- quantization (MIDI ticks -> grid)
def _round_div(a: int, b: int) -> int:
    """round(a / b) for b > 0, halves away from zero (integer arithmetic)."""
    if a >= 0:
        return (2 * a + b) // (2 * b)
    return -((-2 * a + b) // (2 * b))


def quantize_notes(notes: Iterable[Sequence[int]], ppq: int) -> List[Note]:
    """Notes in source MIDI ticks (start, end, pitch, vel) -> grid notes (start, dur, pitch, vel).

    Per quarter-note beat, the onsets that fall in it (after rounding to the
    nearest 1/12 beat) snap either to the straight 16th grid (multiples of 3) or
    to the triplet grid (multiples of 2: 16th and 8th triplets, swing); the
    triplet grid wins only if its summed error is below 3/4 of the straight
    one. Ends snap to the nearest tick; duration >= 1. See TOKENS.md.
    """
    ns = [(int(s), int(e), int(p), int(v)) for s, e, p, v in notes]
    fine = [_round_div(s * TPB, ppq) for s, _, _, _ in ns]
    beats: Dict[int, List[int]] = {}
    for i, f in enumerate(fine):
        beats.setdefault(f // TPB, []).append(i)
    starts = [0] * len(ns)
    for beat, idx in beats.items():
        errs = {}
        snapped = {}
        for g in (3, 2):
            unit = g * ppq               # grid step in units of 1/(TPB*ppq) beats... scaled by TPB
            tot, out = 0, []
            for i in idx:
                x = ns[i][0] * TPB       # position in ticks * ppq
                q = _round_div(x, unit) * g
                tot += abs(x - q * ppq)
                out.append(q)
            errs[g], snapped[g] = tot, out
        g = 2 if 4 * errs[2] < 3 * errs[3] else 3
        for i, q in zip(idx, snapped[g]):
            starts[i] = q
    out = []
    for (s, e, p, v), q in zip(ns, starts):
        end = _round_div(e * TPB, ppq)
        out.append((q, max(1, end - q), p, v))
    return out


# ---------------------------------------------------------------- normalization
def normalize_part(role: str, notes: Iterable[Sequence[int]]) -> List[Note]:
    """TOKENS.md "Normalization" for one part. Drums keep their GM note in `pitch`
    become their class's representative note (duration DRUM_DECODED_DUR), merged per onset."""
    drums = role == "DRUMS"
    kept: Dict[Tuple[int, int], Tuple[int, int, int]] = {}
    for n in notes:
        start, dur, pitch, vel = (int(x) for x in n)
        if start < 0 or not (0 <= pitch <= 127) or vel <= 0:
            continue
        vel = min(vel, 127)
        dur = max(dur, 1)
        if drums:
            c = drum_class(pitch)
            if c is None:
                continue
            pitch = DRUM_CLASSES[c][1]
            key = (start, c)
        else:
            pitch = fold_pitch(pitch)
            key = (start, pitch)
        if key in kept:
            od, ov, op = kept[key]
            kept[key] = (max(od, dur), max(ov, vel), op)
        else:
            kept[key] = (dur, vel, pitch)
    if drums:
        out = [(s, DRUM_DECODED_DUR, p, v) for (s, c), (d, v, p) in kept.items()]
        out.sort(key=lambda n: (n[0], drum_class(n[2])))
        return out
    items = sorted(kept.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    out = []
    for i, ((start, pitch), (dur, vel, _)) in enumerate(items):
        if i + 1 < len(items):
            (ns, np_), _ = items[i + 1]
            if np_ == pitch and start + dur > ns:
                dur = ns - start
        out.append((start, dur, pitch, vel))
    out.sort(key=lambda n: (n[0], -n[2]))
    return out


def normalize_piece(parts: Dict[str, Iterable[Sequence[int]]]) -> Dict[str, List[Note]]:
    out = {}
    for role in ROLES:
        if role in parts:
            ns = normalize_part(role, parts[role])
            if ns:
                out[role] = ns
    for role in parts:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
    return out


# ---------------------------------------------------------------- attributes
def derive_part_attrs(role: str, notes: Iterable[Sequence[int]], num: int, den: int,
                      num_bars: int) -> List[str]:
    """DENS, REG, POLY, FEEL of one part over `num_bars` bars (TOKENS.md "Attributes").
    Drums get DENS and FEEL only. No notes -> []."""
    L = bar_length_ticks(num, den)
    ns = [n for n in normalize_part(role, notes) if n[0] < num_bars * L]
    if not ns or num_bars <= 0:
        return []
    n = len(ns)
    dens = len(DENS_THRESHOLDS)
    for i, t in enumerate(DENS_THRESHOLDS):
        if n < t * num_bars:
            dens = i
            break
    attrs = [f"DENS_{dens}"]
    if role != "DRUMS":
        total = sum(x[2] for x in ns)
        reg = len(REG_THRESHOLDS)
        for i, t in enumerate(REG_THRESHOLDS):
            if total < t * n:
                reg = i
                break
        attrs.append(f"REG_{reg}")
        onsets = sorted({x[0] for x in ns})
        counts = sorted(sum(1 for s, d, _, _ in ns if s <= t < s + d) for t in onsets)
        poly = min(counts[(len(counts) - 1) // 2], 4)
        attrs.append(f"POLY_{poly}")
    onsets = sorted({x[0] for x in ns})
    sw = st = s6 = 0
    for t in onsets:
        r = (t % L) % TPB
        if r in (2, 4, 8, 10):
            sw += 1
        elif r in (3, 9):
            st += 1
        elif r == 6:
            s6 += 1
    attrs.append("FEEL_SWING" if sw > st and 2 * sw > s6 else "FEEL_STRAIGHT")
    return attrs


# Krumhansl-Kessler key profiles (published constants), major and minor.
_KK_MAJOR = [6.35, 2.23, 3.48, 2.33, 4.38, 4.09, 2.52, 5.19, 2.39, 3.66, 2.29, 2.88]
_KK_MINOR = [6.33, 2.68, 3.52, 5.38, 2.60, 3.53, 2.54, 4.75, 3.98, 2.69, 3.34, 3.17]


def estimate_key(parts: Dict[str, Iterable[Sequence[int]]]) -> Optional[Tuple[int, bool]]:
    """Duration-weighted pitch-class histogram of the pitched parts, best correlation with the
    rotated Krumhansl-Kessler profiles (ties: lower pc, major first). Informative, not normative."""
    hist = [0.0] * 12
    for role, ns in parts.items():
        if role == "DRUMS":
            continue
        for s, d, p, v in ns:
            hist[p % 12] += min(max(d, 1), 4 * TPB)
    if sum(hist) <= 0:
        return None

    def corr(a, b):
        ma, mb = sum(a) / 12, sum(b) / 12
        num = sum((x - ma) * (y - mb) for x, y in zip(a, b))
        da = sum((x - ma) ** 2 for x in a) ** 0.5
        db = sum((y - mb) ** 2 for y in b) ** 0.5
        return num / (da * db) if da and db else -2.0

    best, best_r = None, -3.0
    for pc in range(12):
        for minor, prof in ((False, _KK_MAJOR), (True, _KK_MINOR)):
            rot = [prof[(i - pc) % 12] for i in range(12)]
            r = corr(hist, rot)
            if r > best_r + 1e-12:
                best, best_r = (pc, minor), r
    return best


# ---------------------------------------------------------------- encode
def order_globals(tags: Iterable[str]) -> List[int]:
    """Global tag names -> ids in GLOBAL_CATEGORIES order, first per category wins,
    unknown names and non-global names skipped."""
    chosen: Dict[str, int] = {}
    for t in tags:
        tok = ID.get(t)
        if tok is None:
            continue
        c = category(tok)
        if c in GLOBAL_CATEGORIES and c not in chosen:
            chosen[c] = tok
    return [chosen[c] for c in GLOBAL_CATEGORIES if c in chosen]


def order_attrs(role: str, attrs: Iterable[str]) -> List[int]:
    chosen: Dict[str, int] = {}
    for t in attrs:
        tok = ID.get(t)
        if tok is None:
            continue
        c = category(tok)
        if c in PART_ATTR_CATEGORIES and c not in chosen:
            if role == "DRUMS" and c in ("REG", "POLY"):
                continue
            chosen[c] = tok
    return [chosen[c] for c in PART_ATTR_CATEGORIES if c in chosen]


def encode_header(num: int, den: int, tags: Iterable[str] = (),
                  header: Optional[Sequence[Tuple[str, Sequence[str]]]] = None,
                  parts: Optional[Dict[str, Iterable[Sequence[int]]]] = None,
                  num_bars: Optional[int] = None) -> List[int]:
    """BOS, globals, then PART_<role> [attrs] per part in role order.

    `header` lists (role, attribute names) explicitly; if None it is derived from
    `parts` over `num_bars` bars (every part that has notes, attributes derived)."""
    bar_length_ticks(num, den)
    seq = [BOS] + order_globals(tags)
    if header is None:
        header = []
        norm = normalize_piece(parts or {})
        nb = num_bars if num_bars is not None else _auto_bars(norm, num, den)
        L = bar_length_ticks(num, den)
        for role in ROLES:
            if role in norm and any(n[0] < nb * L for n in norm[role]):
                header.append((role, derive_part_attrs(role, norm[role], num, den, nb)))
    given = {}
    for role, attrs in header:
        if role not in ROLES:
            raise ValueError(f"unknown role {role!r}")
        given.setdefault(role, list(attrs))
    for role in ROLES:
        if role in given:
            seq.append(ID[f"PART_{role}"])
            seq += order_attrs(role, given[role])
    return seq


def _auto_bars(norm: Dict[str, List[Note]], num: int, den: int) -> int:
    L = bar_length_ticks(num, den)
    starts = [n[0] for ns in norm.values() for n in ns]
    return max(starts) // L + 1 if starts else 0


def encode_bars(parts: Dict[str, Iterable[Sequence[int]]], num: int, den: int,
                num_bars: Optional[int] = None) -> List[List[int]]:
    """Per-bar token lists, each starting with BAR."""
    L = bar_length_ticks(num, den)
    norm = normalize_piece(parts)
    if num_bars is None:
        num_bars = _auto_bars(norm, num, den)
    bars: List[List[int]] = [[BAR] for _ in range(num_bars)]
    for role in ROLES:
        if role not in norm:
            continue
        by_bar: Dict[int, List[Note]] = {}
        for n in norm[role]:
            b = n[0] // L
            if b < num_bars:
                by_bar.setdefault(b, []).append(n)
        for b, ns in sorted(by_bar.items()):
            out = bars[b]
            out.append(ID[f"PART_{role}"])
            prev_pos, prev_vel, prev_dur = -1, None, None
            for start, dur, pitch, vel in ns:
                p = start - b * L
                if p != prev_pos:
                    out.append(POS_BASE + p)
                    prev_pos = p
                vb = velocity_bin(vel)
                if vb != prev_vel:
                    out.append(VEL_BASE + vb - 1)
                    prev_vel = vb
                if role == "DRUMS":
                    out.append(DRUM_BASE + drum_class(pitch))
                else:
                    out.append(PITCH_BASE + pitch - PITCH_MIN)
                    qd = quantize_duration(dur)
                    if qd != prev_dur:
                        out.append(DUR_BASE + DUR_VALUES.index(qd))
                        prev_dur = qd
    return bars


def encode(parts: Dict[str, Iterable[Sequence[int]]], num: int, den: int, tags: Iterable[str] = (),
           header: Optional[Sequence[Tuple[str, Sequence[str]]]] = None,
           num_bars: Optional[int] = None, mode: str = "full") -> List[int]:
    """BOS globals header BAR... EOS (mode "full") or ... BAR (mode "prompt")."""
    if mode not in ("full", "prompt"):
        raise ValueError("mode must be 'full' or 'prompt'")
    norm = normalize_piece(parts)
    if num_bars is None:
        num_bars = _auto_bars(norm, num, den)
    seq = encode_header(num, den, tags, header, norm, num_bars)
    for b in encode_bars(norm, num, den, num_bars):
        seq += b
    seq.append(EOS if mode == "full" else BAR)
    return seq


# ---------------------------------------------------------------- decode
class Decoder:
    """Streaming decoder (TOKENS.md "Decoding"): feed ids one by one; never fails.

    `notes` collects (role, start, dur, pitch, vel) as they are completed; a pitched
    note is completed by the token after its PITCH (its DUR, or anything else)."""

    def __init__(self, num: int, den: int):
        self.L = bar_length_ticks(num, den)
        self.bar = -1
        self.part: Optional[str] = None
        self.pos: Optional[int] = None
        self.vel: Optional[int] = None
        self.gdur: Optional[int] = None
        self.pending: Optional[Tuple[int, int]] = None
        self.ended = False
        self.origin = 0
        self.notes: List[Tuple[str, int, int, int, int]] = []

    def _start(self) -> int:
        return (self.bar - self.origin) * self.L + self.pos

    def _emit(self, pitch: int, dur: int, vel_bin: int):
        self.notes.append((self.part, self._start(), dur, pitch, velocity_of_bin(vel_bin)))

    def _flush(self):
        if self.pending is not None and self.gdur is not None:
            self._emit(self.pending[0], self.gdur, self.pending[1])
        self.pending = None

    def feed(self, tok: int):
        if self.ended:
            return
        kind = _kind(tok)
        if kind == "DUR":
            d = DUR_VALUES[tok - DUR_BASE]
            if self.pending is not None:
                self.gdur = d
                self._emit(self.pending[0], d, self.pending[1])
                self.pending = None
            return
        self._flush()
        if tok == EOS:
            self.ended = True
        elif tok == BAR:
            self.bar += 1
            self.part, self.pos, self.vel, self.gdur = None, None, None, None
        elif kind == "PART":
            if self.bar >= 0:
                self.part = ROLES[tok - PART_BASE]
                self.pos, self.vel, self.gdur = None, None, None
        elif kind == "POS":
            p = tok - POS_BASE
            self.pos = p if p < self.L else None
        elif kind == "VEL":
            self.vel = tok - VEL_BASE + 1
        elif kind == "PITCH":
            if self.part is not None and self.part != "DRUMS" and self.pos is not None:
                self.pending = (tok - PITCH_BASE + PITCH_MIN, self.vel or DEFAULT_VEL_BIN)
        elif kind == "DRUM":
            if self.part == "DRUMS" and self.pos is not None:
                self._emit(DRUM_CLASSES[tok - DRUM_BASE][1], DRUM_DECODED_DUR,
                           self.vel or DEFAULT_VEL_BIN)
        # PAD, BOS, tags, attributes, invalid ids: ignored (after the flush)

    def finish(self):
        """End of stream: complete a pending note (as if EOS came)."""
        self._flush()

    def start_continuation(self):
        """Call after feeding the prompt: later notes are relative to the bar the prompt opened."""
        self._flush()
        self.notes = []
        self.origin = max(self.bar, 0)


def decode(ids: Sequence[int], num: int, den: int, prompt_len: int = 0) -> Dict[str, List[Note]]:
    """ids -> {role: normalized notes}. The first `prompt_len` ids only set state."""
    dec = Decoder(num, den)
    for t in ids[:prompt_len]:
        dec.feed(int(t))
    if prompt_len:
        dec.start_continuation()
    for t in ids[prompt_len:]:
        dec.feed(int(t))
    dec.finish()
    parts: Dict[str, List[Note]] = {}
    for role, s, d, p, v in dec.notes:
        parts.setdefault(role, []).append((s, d, p, v))
    return normalize_piece(parts)


def quantized(parts: Dict[str, Iterable[Sequence[int]]], num: int, den: int,
              num_bars: Optional[int] = None) -> Dict[str, List[Note]]:
    """What decode(encode(parts)) returns: normalized, binned, cut to num_bars."""
    L = bar_length_ticks(num, den)
    norm = normalize_piece(parts)
    if num_bars is None:
        num_bars = _auto_bars(norm, num, den)
    out = {}
    for role, ns in norm.items():
        q = []
        for s, d, p, v in ns:
            if s >= num_bars * L:
                continue
            v2 = velocity_of_bin(velocity_bin(v))
            d2 = DRUM_DECODED_DUR if role == "DRUMS" else quantize_duration(d)
            q.append((s, d2, p, v2))
        q = normalize_part(role, q)
        if q:
            out[role] = q
    return out


def vocab_json() -> dict:
    return {"version": VOCAB_VERSION, "size": VOCAB_SIZE, "ticks_per_quarter": TPB,
            "tokens": [{"id": i, "name": n} for i, n in enumerate(NAMES)]}


def main(argv=None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in ("vocab", "names"):
        print(__doc__)
        return 2
    if argv[0] == "vocab":
        text = json.dumps(vocab_json(), indent=1) + "\n"
        if "--out" in argv:
            with open(argv[argv.index("--out") + 1], "w") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
        return 0
    print(" ".join(NAMES[int(x)] if 0 <= int(x) < VOCAB_SIZE else f"<{x}>" for x in argv[1:]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
