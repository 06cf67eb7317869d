"""Continuo "notes" tokenizer, vocabulary v1 (see TOKENS.md, which is normative).

Pure Python, no dependencies. Encodes notes on a 1/16-note grid into bar-aware
event tokens and decodes (possibly malformed) token streams back into notes.

A note is a tuple ``(start_16ths, duration_16ths, pitch, velocity)`` of ints.

CLI:
    python tokens.py vocab [--out vocab.json]
    python tokens.py encode --ts 3/4 --tags STYLE_CHORALE,KEY_G_MAJOR --notes "0,4,67,80 4,4,66,80" [--prompt] [--num-bars N]
    python tokens.py decode --ts 3/4 --tokens "1 3 4 148 82 127 2" [--prompt-len K]
"""
from __future__ import annotations

import argparse
import json
import sys
from typing import Iterable, List, Optional, Sequence, Tuple

VOCAB_VERSION = 1

Note = Tuple[int, int, int, int]

# ---------------------------------------------------------------- vocabulary
PAD, BOS, EOS, BAR = 0, 1, 2, 3

MAX_BAR_16THS = 32
POS_BASE = 4                       # POS_0 .. POS_31        ids 4..35
PITCH_MIN, PITCH_MAX = 21, 108
PITCH_BASE = POS_BASE + MAX_BAR_16THS  # PITCH_21 .. PITCH_108  ids 36..123
DUR_VALUES = list(range(1, 17)) + [20, 24, 28, 32, 40, 48, 56, 64]
DUR_BASE = PITCH_BASE + (PITCH_MAX - PITCH_MIN + 1)  # ids 124..147
# Velocity bins: (lowest MIDI velocity, highest MIDI velocity, representative)
VEL_BINS = [(1, 39, 32), (40, 69, 56), (70, 99, 84), (100, 127, 112)]
VEL_BASE = DUR_BASE + len(DUR_VALUES)  # VEL_1 .. VEL_4 ids 148..151
DEFAULT_VEL_BIN = 3                # used by the decoder before any VEL token

STYLES = ["CHORALE", "FOLK", "REEL", "JIG", "HORNPIPE", "STRATHSPEY", "WALTZ", "MARCH", "AIR"]
INSTRUMENTS = ["CHOIR", "STRINGS", "WINDS"]
VOICES = ["1", "2", "3", "4PLUS"]
DENSITIES = ["SPARSE", "MEDIUM", "BUSY"]
REGISTERS = ["LOW", "MID", "HIGH"]
KEY_PCS = ["C", "Db", "D", "Eb", "E", "F", "Gb", "G", "Ab", "A", "Bb", "B"]
TIME_SIGS = [(2, 4), (3, 4), (4, 4), (5, 4), (6, 4), (7, 4), (8, 4), (2, 2), (3, 2), (4, 2),
             (3, 8), (5, 8), (6, 8), (7, 8), (9, 8), (12, 8)]
# Tempo bins in quarter notes per minute: [lo, hi) and the representative BPM in the name.
TEMPO_BINS = [(0, 60, 52), (60, 72, 66), (72, 88, 80), (88, 104, 96), (104, 120, 112),
              (120, 140, 130), (140, 168, 154), (168, 10_000, 180)]

# Tag categories, in the fixed order they appear after BOS.
TAG_CATEGORIES = ["STYLE", "INST", "VOICES", "DENSITY", "REGISTER", "KEY", "TS", "TEMPO"]


def _build_names() -> List[str]:
    names = ["PAD", "BOS", "EOS", "BAR"]
    names += [f"POS_{p}" for p in range(MAX_BAR_16THS)]
    names += [f"PITCH_{p}" for p in range(PITCH_MIN, PITCH_MAX + 1)]
    names += [f"DUR_{d}" for d in DUR_VALUES]
    names += [f"VEL_{i + 1}" for i in range(len(VEL_BINS))]
    names += [f"STYLE_{s}" for s in STYLES]
    names += [f"INST_{s}" for s in INSTRUMENTS]
    names += [f"VOICES_{s}" for s in VOICES]
    names += [f"DENSITY_{s}" for s in DENSITIES]
    names += [f"REGISTER_{s}" for s in REGISTERS]
    for pc in KEY_PCS:
        names += [f"KEY_{pc}_MAJOR", f"KEY_{pc}_MINOR"]
    names += [f"TS_{n}_{d}" for n, d in TIME_SIGS]
    names += [f"TEMPO_{rep}" for _, _, rep in TEMPO_BINS]
    return names


NAMES: List[str] = _build_names()
VOCAB_SIZE = len(NAMES)
ID: dict = {n: i for i, n in enumerate(NAMES)}
TAG_BASE = VEL_BASE + len(VEL_BINS)


def tag_category(tok: int) -> Optional[str]:
    """Category name of a tag token id, or None if it is not a tag."""
    if not (TAG_BASE <= tok < VOCAB_SIZE):
        return None
    return NAMES[tok].split("_", 1)[0]


def pos_token(p: int) -> int:
    return POS_BASE + p


def pitch_token(pitch: int) -> int:
    return PITCH_BASE + pitch - PITCH_MIN


def dur_token(d16: int) -> int:
    return DUR_BASE + DUR_VALUES.index(quantize_duration(d16))


def vel_token(vel_bin: int) -> int:
    return VEL_BASE + vel_bin - 1


def key_token(pc: int, minor: bool) -> int:
    return ID[f"KEY_{KEY_PCS[pc % 12]}_{'MINOR' if minor else 'MAJOR'}"]


def ts_token(num: int, den: int) -> Optional[int]:
    return ID.get(f"TS_{num}_{den}")


def tempo_bin_index(bpm: float) -> int:
    for i, (lo, hi, _) in enumerate(TEMPO_BINS):
        if lo <= bpm < hi:
            return i
    return 0 if bpm < 0 else len(TEMPO_BINS) - 1


def tempo_token(bpm: float) -> int:
    return ID[f"TEMPO_{TEMPO_BINS[tempo_bin_index(bpm)][2]}"]


# ---------------------------------------------------------------- quantizers
def bar_length_16ths(num: int, den: int) -> int:
    """Bar length on the 1/16 grid; raises ValueError for unsupported meters."""
    if den not in (1, 2, 4, 8, 16) or num < 1:
        raise ValueError(f"unsupported time signature {num}/{den}")
    length = num * 16 // den
    if num * 16 % den != 0 or not (1 <= length <= MAX_BAR_16THS):
        raise ValueError(f"time signature {num}/{den} does not fit 1..{MAX_BAR_16THS} sixteenths")
    return length


def quantize_duration(d16: int) -> int:
    """Duration in 16ths -> nearest DUR value (ties go to the shorter)."""
    if d16 <= 16:
        return max(1, d16)
    if d16 >= DUR_VALUES[-1]:
        return DUR_VALUES[-1]
    best = None
    for v in DUR_VALUES:
        if best is None or abs(v - d16) < abs(best - d16):
            best = v
    return best


def velocity_bin(vel: int) -> int:
    v = min(127, max(1, vel))
    for i, (lo, hi, _) in enumerate(VEL_BINS):
        if lo <= v <= hi:
            return i + 1
    raise AssertionError


def velocity_of_bin(b: int) -> int:
    return VEL_BINS[b - 1][2]


def fold_pitch(pitch: int) -> int:
    while pitch < PITCH_MIN:
        pitch += 12
    while pitch > PITCH_MAX:
        pitch -= 12
    return pitch


# ---------------------------------------------------------------- normalization
def normalize_notes(notes: Iterable[Sequence[int]]) -> List[Note]:
    """Steps 1-5 of TOKENS.md "Normalization" (everything except binning).

    Drops invalid notes, folds pitch, clamps velocity and duration, merges
    duplicates and trims same-pitch overlaps. Sorted by (start, -pitch).
    """
    kept = {}
    for n in notes:
        start, dur, pitch, vel = (int(x) for x in n)
        if start < 0 or not (0 <= pitch <= 127) or vel <= 0:
            continue
        pitch = fold_pitch(pitch)
        vel = min(vel, 127)
        dur = max(dur, 1)
        key = (start, pitch)
        if key in kept:
            od, ov = kept[key]
            kept[key] = (max(od, dur), max(ov, vel))
        else:
            kept[key] = (dur, vel)
    # Trim same-pitch overlaps.
    by_pitch = sorted(kept.items(), key=lambda kv: (kv[0][1], kv[0][0]))
    out = []
    for i, ((start, pitch), (dur, vel)) in enumerate(by_pitch):
        if i + 1 < len(by_pitch):
            (ns, np_), _ = by_pitch[i + 1]
            if np_ == pitch and start + dur > ns:
                dur = ns - start
        out.append((start, dur, pitch, vel))
    out.sort(key=lambda n: (n[0], -n[2]))
    return out


# ---------------------------------------------------------------- tags
def order_tags(tags: Iterable) -> List[int]:
    """Tag names or ids -> ids in canonical category order, one per category
    (the first given wins); unknown names and non-tag ids are skipped."""
    chosen = {}
    for t in tags:
        tok = ID.get(t) if isinstance(t, str) else int(t)
        if tok is None:
            continue
        cat = tag_category(tok)
        if cat is None or cat in chosen:
            continue
        chosen[cat] = tok
    return [chosen[c] for c in TAG_CATEGORIES if c in chosen]


def derive_tags(notes: Iterable[Sequence[int]], num: int, den: int,
                num_bars: Optional[int] = None) -> List[str]:
    """VOICES, DENSITY and REGISTER tags computed from notes (TOKENS.md "Derived tags")."""
    bar_len = bar_length_16ths(num, den)
    ns = normalize_notes(notes)
    if num_bars is not None:
        ns = [n for n in ns if n[0] < num_bars * bar_len]
    if not ns:
        return []
    if num_bars is None:
        num_bars = ns[-1][0] // bar_len + 1 if ns else 0
    onsets = sorted({n[0] for n in ns})
    counts = []
    for t in onsets:
        counts.append(sum(1 for s, d, _, _ in ns if s <= t < s + d))
    counts.sort()
    median = counts[(len(counts) - 1) // 2]   # lower median
    voices = VOICES[min(median, 4) - 1]
    onsets_per_quarter = len(onsets) * 4.0 / (num_bars * bar_len)
    if onsets_per_quarter < 1.0:
        density = "SPARSE"
    elif onsets_per_quarter < 2.0:
        density = "MEDIUM"
    else:
        density = "BUSY"
    # Integer arithmetic so Rust gets identical results: mean < 60 <=> sum < 60 * n.
    total = sum(n[2] for n in ns)
    if total < 60 * len(ns):
        register = "LOW"
    elif total < 72 * len(ns):
        register = "MID"
    else:
        register = "HIGH"
    return [f"VOICES_{voices}", f"DENSITY_{density}", f"REGISTER_{register}"]


# ---------------------------------------------------------------- encode
def encode_bars(notes: Iterable[Sequence[int]], num: int, den: int,
                num_bars: Optional[int] = None) -> List[List[int]]:
    """Encode notes into per-bar token lists (each list starts with BAR)."""
    bar_len = bar_length_16ths(num, den)
    ns = normalize_notes(notes)
    if num_bars is None:
        num_bars = (max(n[0] for n in ns) // bar_len + 1) if ns else 0
    ns = [n for n in ns if n[0] < num_bars * bar_len]
    bars: List[List[int]] = [[BAR] for _ in range(num_bars)]
    prev_bar, prev_pos, prev_vel = -1, -1, None
    for start, dur, pitch, vel in ns:           # already sorted by (start, -pitch)
        b, p = divmod(start, bar_len)
        out = bars[b]
        if b != prev_bar:
            prev_pos, prev_vel = -1, None
            prev_bar = b
        if p != prev_pos:
            out.append(pos_token(p))
            prev_pos = p
        vb = velocity_bin(vel)
        if vb != prev_vel:
            out.append(vel_token(vb))
            prev_vel = vb
        out.append(pitch_token(pitch))
        out.append(dur_token(dur))
    return bars


def encode(notes: Iterable[Sequence[int]], num: int, den: int, tags: Iterable = (),
           num_bars: Optional[int] = None, mode: str = "full") -> List[int]:
    """Full sequence: BOS tags bars EOS (mode "full") or BOS tags bars BAR (mode "prompt")."""
    if mode not in ("full", "prompt"):
        raise ValueError("mode must be 'full' or 'prompt'")
    seq = [BOS] + order_tags(tags)
    for bar in encode_bars(notes, num, den, num_bars):
        seq += bar
    seq.append(EOS if mode == "full" else BAR)
    return seq


# ---------------------------------------------------------------- decode
class Decoder:
    """Streaming decoder. Feed token ids one by one; never raises on bad input."""

    def __init__(self, bar_len_16ths: int):
        if not (1 <= bar_len_16ths <= MAX_BAR_16THS):
            raise ValueError("bar length out of range")
        self.bar_len = bar_len_16ths
        self.bar_idx = -1
        self.pos: Optional[int] = None      # None: no valid POS in this bar
        self.vel_bin: Optional[int] = None
        self.pending: Optional[int] = None
        self.ended = False
        self.origin_bar = 0

    def set_origin(self) -> None:
        """Mark the current bar as time 0 for the notes that follow (end of a prompt)."""
        self.origin_bar = max(self.bar_idx, 0)

    def feed(self, tok: int) -> Optional[Note]:
        if self.ended:
            return None
        tok = int(tok)
        if tok == EOS:
            self.ended = True
            self.pending = None
            return None
        if tok == BAR:
            self.bar_idx += 1
            self.pos = None
            self.pending = None
            return None
        if POS_BASE <= tok < PITCH_BASE:
            p = tok - POS_BASE
            self.pos = p if p < self.bar_len else None
            self.pending = None
            return None
        if PITCH_BASE <= tok < DUR_BASE:
            self.pending = tok - PITCH_BASE + PITCH_MIN
            return None
        if VEL_BASE <= tok < TAG_BASE:
            self.vel_bin = tok - VEL_BASE + 1
            return None
        if DUR_BASE <= tok < VEL_BASE:
            pitch, self.pending = self.pending, None
            if pitch is None or self.bar_idx < 0 or self.pos is None:
                return None
            start = (self.bar_idx - self.origin_bar) * self.bar_len + self.pos
            if start < 0:
                return None
            vel = velocity_of_bin(self.vel_bin or DEFAULT_VEL_BIN)
            return (start, DUR_VALUES[tok - DUR_BASE], pitch, vel)
        # PAD, BOS, tags, ids out of range: ignored.
        return None


def decode(tokens: Iterable[int], num: int, den: int, prompt_len: int = 0) -> List[Note]:
    """Decode tokens into notes. tokens[:prompt_len] only set state; note starts are
    relative to the bar current after the prompt. Result is normalized (TOKENS.md)."""
    dec = Decoder(bar_length_16ths(num, den))
    raw = []
    for i, t in enumerate(tokens):
        if i == prompt_len:
            dec.set_origin()
        n = dec.feed(t)
        if n is not None and i >= prompt_len:
            raw.append(n)
    return normalize_notes(raw)


def names_of(tokens: Iterable[int]) -> List[str]:
    return [NAMES[t] if 0 <= t < VOCAB_SIZE else f"<{t}>" for t in tokens]


def vocab_json() -> dict:
    return {"version": VOCAB_VERSION, "size": VOCAB_SIZE,
            "tokens": [{"id": i, "name": n} for i, n in enumerate(NAMES)]}


def vocab_json_text() -> str:
    """vocab.json as written beside a model: one token per line."""
    rows = ",\n".join(json.dumps(t) for t in vocab_json()["tokens"])
    return f'{{"version": {VOCAB_VERSION}, "size": {VOCAB_SIZE}, "tokens": [\n{rows}\n]}}\n'


# ---------------------------------------------------------------- CLI
def _parse_ts(s: str) -> Tuple[int, int]:
    a, b = s.split("/")
    return int(a), int(b)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = ap.add_subparsers(dest="cmd", required=True)
    v = sub.add_parser("vocab")
    v.add_argument("--out")
    e = sub.add_parser("encode")
    e.add_argument("--ts", default="4/4")
    e.add_argument("--tags", default="")
    e.add_argument("--notes", required=True, help='"start,dur,pitch,vel start,dur,pitch,vel ..."')
    e.add_argument("--num-bars", type=int)
    e.add_argument("--prompt", action="store_true")
    d = sub.add_parser("decode")
    d.add_argument("--ts", default="4/4")
    d.add_argument("--tokens", required=True, help="space or comma separated ids")
    d.add_argument("--prompt-len", type=int, default=0)
    a = ap.parse_args(argv)
    if a.cmd == "vocab":
        text = vocab_json_text()
        if a.out:
            with open(a.out, "w") as f:
                f.write(text)
        else:
            sys.stdout.write(text)
    elif a.cmd == "encode":
        num, den = _parse_ts(a.ts)
        notes = [tuple(int(x) for x in item.split(",")) for item in a.notes.split()]
        tags = [t for t in a.tags.split(",") if t]
        seq = encode(notes, num, den, tags, a.num_bars, "prompt" if a.prompt else "full")
        print(" ".join(map(str, seq)))
        print(" ".join(names_of(seq)))
    elif a.cmd == "decode":
        num, den = _parse_ts(a.ts)
        toks = [int(x) for x in a.tokens.replace(",", " ").split()]
        for n in decode(toks, num, den, a.prompt_len):
            print(*n)
    return 0


if __name__ == "__main__":
    sys.exit(main())
