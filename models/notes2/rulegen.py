"""Rule-based generator for producer genres the clean sources lack (synthetic data).

Styles: HOUSE, TECHNO, TRAP, HIPHOP (boom-bap), DNB, REGGAETON, LOFI. Each piece has drums
(style pattern, per-bar variation, fills at phrase ends, crash on phrase starts), a bass
line that follows the chord roots, chords or a pad with voice-led voicings, and sometimes
an arpeggio or a lead motif. Timing is humanised (jitter, swing) in MIDI ticks at PPQ 480
and velocities vary by accent and randomly; the builder quantizes it like real MIDI.

generate(style, rng) -> dict(parts={role: [(start, end, pitch, vel), ...]}, ppq, bpm,
                             ts=(4, 4), key=(pc, minor), genre, bars, progression)
"""
from __future__ import annotations

import random
from typing import Dict, List

import progressions as P

PPQ = 480
S16 = PPQ // 4                    # one 16th in ticks
STYLES = ["HOUSE", "TECHNO", "TRAP", "HIPHOP", "DNB", "REGGAETON", "LOFI"]

# GM drum notes
KICK, SNARE, RIM, CLAP, HH, PHH, OHH, LTOM, MTOM, HTOM, CRASH, RIDE, SHAKER, TAMB, COWBELL = (
    36, 38, 37, 39, 42, 44, 46, 45, 47, 50, 49, 51, 70, 54, 56)

# style -> bpm range, swing range (fraction of a 16th pair; 0.5 = straight), jitter (ticks sd),
# progression families, minor probability
STYLE_SPEC = {
    "HOUSE": dict(bpm=(118, 128), swing=(0.5, 0.56), jitter=6, fams=("pop", "groove"), minor=0.5),
    "TECHNO": dict(bpm=(124, 136), swing=(0.5, 0.52), jitter=4, fams=("groove",), minor=0.85),
    "TRAP": dict(bpm=(130, 160), swing=(0.5, 0.5), jitter=5, fams=("pop", "groove"), minor=0.9),
    "HIPHOP": dict(bpm=(84, 98), swing=(0.54, 0.64), jitter=12, fams=("groove", "jazz", "pop"), minor=0.7),
    "DNB": dict(bpm=(168, 176), swing=(0.5, 0.53), jitter=6, fams=("pop", "groove"), minor=0.8),
    "REGGAETON": dict(bpm=(88, 100), swing=(0.5, 0.52), jitter=6, fams=("pop",), minor=0.7),
    "LOFI": dict(bpm=(70, 90), swing=(0.56, 0.66), jitter=16, fams=("jazz", "groove"), minor=0.6),
}


class Track:
    def __init__(self, rng: random.Random, jitter: float, swing: float, swing_unit: int = 16):
        self.rng, self.jitter, self.swing, self.swing_unit = rng, jitter, swing, swing_unit
        self.notes: List[tuple] = []

    def t(self, bar: int, six: float) -> int:
        """Tick of a 16th position (may be fractional, e.g. triplets) in a bar, swung + jittered."""
        base = bar * 16 * S16 + six * S16
        if float(six).is_integer():
            if self.swing_unit == 16 and int(six) % 2 == 1:      # off-16th: 16th swing delays it
                base += (self.swing - 0.5) * 2 * S16
            elif self.swing_unit == 8 and int(six) % 4 == 2:     # off-8th: 8th swing delays it
                base += (self.swing - 0.5) * 4 * S16
        return max(0, int(round(base + self.rng.gauss(0, self.jitter))))

    def add(self, bar, six, length16, pitch, vel):
        s = self.t(bar, six)
        e = max(s + 10, int(round(bar * 16 * S16 + (six + length16) * S16 + self.rng.gauss(0, self.jitter))))
        v = max(1, min(127, int(round(vel + self.rng.gauss(0, 6)))))
        self.notes.append((s, e, pitch, v))


def _voicing(pcs: List[int], prev: List[int], lo=52, hi=76) -> List[int]:
    """Close voicing of the chord's pitch classes nearest to the previous voicing."""
    best, best_cost = None, None
    for bottom in range(lo, hi - 6):
        if bottom % 12 not in pcs:
            continue
        v = []
        for pc in sorted(pcs, key=lambda p: (p - bottom) % 12):
            v.append(bottom + (pc - bottom) % 12)
        if v[-1] > hi + 4:
            continue
        cost = abs(sum(v) / len(v) - (sum(prev) / len(prev) if prev else (lo + hi) / 2))
        if best_cost is None or cost < best_cost:
            best, best_cost = v, cost
    return best or [60 + p for p in pcs]


def _drums(style: str, tr: Track, bar: int, nbars: int, rng: random.Random, var: dict):
    fill = (bar % 4 == 3) and rng.random() < 0.6 or bar == nbars - 1 and rng.random() < 0.5
    if bar % 8 == 0 and bar > 0 or (bar == 0 and rng.random() < 0.3):
        tr.add(bar, 0, 4, CRASH, 100)
    end = 12 if fill else 16
    if style in ("HOUSE", "TECHNO"):
        for b in range(4):
            tr.add(bar, 4 * b, 1, KICK, 112)
        for b in (1, 3):
            tr.add(bar, 4 * b, 1, CLAP if var["clap"] else SNARE, 100)
        for b in range(4):
            if 4 * b + 2 < end:
                tr.add(bar, 4 * b + 2, 1, OHH, 90)
        if var["hats16"]:
            for s in range(0, end):
                if s % 4 != 2:
                    tr.add(bar, s, 1, HH, 70 if s % 2 else 85)
        if style == "TECHNO" and var["ride"]:
            for s in range(0, 16, 2):
                tr.add(bar, s + 1, 1, RIDE, 72)
        if style == "HOUSE" and var["shaker"]:
            for s in range(0, 16):
                tr.add(bar, s, 1, SHAKER, 60 if s % 2 else 75)
    elif style == "TRAP":
        kpat = var["kick"]
        for s in kpat:
            tr.add(bar, s, 1, KICK, 115)
        tr.add(bar, 8, 1, CLAP, 110)
        if rng.random() < 0.3:
            tr.add(bar, 8, 1, SNARE, 100)
        s = 0
        while s < 16:
            if rng.random() < var["roll"] and s % 4 == 2 and s < 14:
                kind = rng.choice(("trip", "32", "trip"))
                if kind == "trip":          # 16th triplets over an 8th
                    for k in range(3):
                        tr.add(bar, s + k * 2 / 3, 0.5, HH, 75 + 10 * k)
                    s += 2
                else:
                    for k in range(4):
                        tr.add(bar, s + k * 0.5, 0.5, HH, 70 + 8 * k)
                    s += 2
                continue
            step = 1 if var["hats16"] else 2
            tr.add(bar, s, 1, HH, 85 if s % 4 == 0 else 70)
            s += step
        if rng.random() < 0.3:
            tr.add(bar, 14, 1, OHH, 85)
    elif style in ("HIPHOP", "LOFI"):
        for s in var["kick"]:
            tr.add(bar, s, 1, KICK, 105 if style == "HIPHOP" else 90)
        for b in (4, 12):
            tr.add(bar, b, 1, SNARE if not var["rim"] else RIM, 108 if style == "HIPHOP" else 88)
        if rng.random() < 0.35:
            tr.add(bar, rng.choice((7, 9, 15)), 1, SNARE, 45)        # ghost note
        for s in range(0, end, 2):
            tr.add(bar, s, 1, HH, 80 if s % 4 == 0 else 62)
        if var["hats16"]:
            for s in range(1, end, 2):
                if rng.random() < 0.5:
                    tr.add(bar, s, 1, HH, 50)
        if rng.random() < 0.2:
            tr.add(bar, 14, 1, OHH, 75)
    elif style == "DNB":
        tr.add(bar, 0, 1, KICK, 112)
        tr.add(bar, 10, 1, KICK, 105)
        if rng.random() < 0.4:
            tr.add(bar, 6 if rng.random() < 0.5 else 14, 1, KICK, 95)
        tr.add(bar, 4, 1, SNARE, 112)
        tr.add(bar, 12, 1, SNARE, 112)
        for s in range(0, end, 2 if not var["hats16"] else 1):
            tr.add(bar, s, 1, HH if not var["ride"] else RIDE, 80 if s % 4 == 2 else 62)
        if rng.random() < 0.5:
            tr.add(bar, rng.choice((7, 9, 13, 15)), 1, SNARE, 50)
    elif style == "REGGAETON":
        for b in range(4):
            tr.add(bar, 4 * b, 1, KICK, 110)
        for s in (3, 6, 11, 14):
            tr.add(bar, s, 1, SNARE if not var["clap"] else CLAP, 100)
        for s in range(0, end, 2):
            tr.add(bar, s, 1, HH, 78 if s % 4 == 0 else 66)
        if var["shaker"]:
            for s in range(1, end, 2):
                tr.add(bar, s, 1, SHAKER, 58)
    if fill:
        kind = rng.choice(("snare16", "toms", "trip"))
        if kind == "snare16":
            for s in range(12, 16):
                tr.add(bar, s, 1, SNARE, 70 + 10 * (s - 12))
        elif kind == "toms":
            for s, p in zip(range(12, 16), (HTOM, MTOM, LTOM, LTOM)):
                tr.add(bar, s, 1, p, 100)
        else:
            for k in range(6):      # 8th-note triplets over two beats
                tr.add(bar, 8 + k * 4 / 3, 1, SNARE if k % 3 else MTOM, 80 + 4 * k)


def generate(style: str, rng: random.Random) -> dict:
    spec = STYLE_SPEC[style]
    bpm = rng.randint(*spec["bpm"])
    swing = rng.uniform(*spec["swing"])
    minor = rng.random() < spec["minor"]
    fams = list(spec["fams"])
    name, mode, prog = P.pick(rng, fams)
    for _ in range(20):
        if (mode == "minor") == minor:
            break
        name, mode, prog = P.pick(rng, fams)
    tonic = rng.randrange(12)
    nbars = rng.choice((8, 12, 16, 16))
    bars_chords = [prog[i % len(prog)] for i in range(nbars)]
    var = dict(clap=rng.random() < 0.6, hats16=rng.random() < 0.5, ride=rng.random() < 0.4,
               shaker=rng.random() < 0.4, rim=rng.random() < 0.3, roll=rng.uniform(0.1, 0.5))
    if style == "TRAP":
        var["kick"] = rng.choice(([0, 7, 10], [0, 3, 10, 14], [0, 6, 11], [0, 10, 13]))
    elif style in ("HIPHOP", "LOFI"):
        var["kick"] = rng.choice(([0, 7, 10], [0, 3, 10], [0, 8, 10], [0, 6, 9, 14], [0, 10]))
    jit = spec["jitter"]
    unit = 8 if style in ("HIPHOP", "LOFI") and rng.random() < 0.6 else 16
    drums = Track(rng, jit * 0.7, swing, unit)
    bass = Track(rng, jit, swing, unit)
    keys = Track(rng, jit, swing, unit)
    extra = Track(rng, jit, swing, unit)
    extra_role = rng.choice(("ARP", "LEAD", None)) if style not in ("TECHNO",) else rng.choice(("ARP", "ARP", "LEAD"))
    keys_role = "PAD" if style in ("TRAP", "DNB", "TECHNO") and rng.random() < 0.6 else "CHORDS"
    prev_voicing: List[int] = []
    motif = [(s, rng.choice((1, 2, 2, 3))) for s in sorted(rng.sample(range(0, 16, 2 if style != "TRAP" else 1), rng.randint(3, 6)))]
    scale = [0, 2, 3, 5, 7, 8, 10] if minor else [0, 2, 4, 5, 7, 9, 11]
    for bar in range(nbars):
        _drums(style, drums, bar, nbars, rng, var)
        chords = bars_chords[bar]
        span = 16 // len(chords)
        for ci, ch in enumerate(chords):
            c0 = ci * span
            pcs = P.chord_pcs(tonic, ch)
            root = pcs[0]
            broot = 28 + (root - 28) % 12 if style not in ("TRAP", "DNB") else 24 + (root - 24) % 12
            # bass
            if style in ("HOUSE",):
                for s in range(c0 + 2, c0 + span, 4):
                    bass.add(bar, s, 1.5, broot + (12 if rng.random() < 0.2 else 0), 100)
            elif style == "TECHNO":
                for s in range(c0, c0 + span):
                    if s % 4 != 0:
                        bass.add(bar, s, 0.8, broot + 12 * (s % 2 == 0 and rng.random() < 0.3), 90)
            elif style == "TRAP":
                for s in var["kick"]:
                    if c0 <= s < c0 + span:
                        bass.add(bar, s, max(2, min(span - (s - c0), 6)), broot, 110)
            elif style in ("HIPHOP", "LOFI"):
                for s in var["kick"]:
                    if c0 <= s < c0 + span:
                        bass.add(bar, s, 2 if style == "HIPHOP" else 3, broot + (7 if s > c0 + 6 and rng.random() < 0.3 else 0), 95)
            elif style == "DNB":
                bass.add(bar, c0, span - 0.5, broot, 105)
            elif style == "REGGAETON":
                for s in (0, 3, 6, 8, 11, 14):
                    if c0 <= s < c0 + span:
                        bass.add(bar, s, 2, broot, 100)
            # chords / pad
            v = _voicing(pcs, prev_voicing)
            prev_voicing = v
            if keys_role == "PAD" or style == "LOFI":
                for p in v:
                    keys.add(bar, c0, span - 0.2, p, 70 if style == "LOFI" else 64)
            elif style == "HOUSE":
                for s in rng.choice(([2, 6, 10, 14], [3, 6, 10], [0, 3, 6, 10, 13])):
                    if c0 <= s < c0 + span:
                        for p in v:
                            keys.add(bar, s, 1.5, p, 92)
            elif style == "REGGAETON":
                for s in (0, 3, 6, 8, 11, 14):
                    if c0 <= s < c0 + span:
                        for p in v:
                            keys.add(bar, s, 1.5, p, 80)
            else:
                for s in (c0, c0 + span // 2 + (1 if rng.random() < 0.3 else 0)) if rng.random() < 0.5 else (c0,):
                    for p in v:
                        keys.add(bar, s, span / 2 if s == c0 else span / 2 - 1, p, 78)
            # arpeggio
            if extra_role == "ARP":
                tones = sorted(v + [v[0] + 12])
                seq = tones + tones[-2:0:-1] if rng.random() < 0.5 else tones
                step = 1 if style in ("TECHNO", "TRANCE", "HOUSE", "DNB") else 2
                for k, s in enumerate(range(c0, c0 + span, step)):
                    extra.add(bar, s, step * 0.8, seq[k % len(seq)] + 12, 80 if s % 4 == 0 else 68)
        if extra_role == "LEAD" and (bar % 4 < 3 or rng.random() < 0.3):
            ch = bars_chords[bar][0]
            pcs = P.chord_pcs(tonic, ch)
            for k, (s, ln) in enumerate(motif):
                if rng.random() < 0.15:
                    continue
                deg = rng.choice(pcs) if k % 2 == 0 else (tonic + rng.choice(scale)) % 12
                p = 67 + (deg - 67) % 12
                extra.add(bar, s, ln, p, 88)
    parts: Dict[str, list] = {"DRUMS": drums.notes, "BASS": bass.notes, keys_role: keys.notes}
    if extra_role and extra.notes:
        parts[extra_role] = extra.notes
    return dict(parts=parts, ppq=PPQ, bpm=bpm, ts=(4, 4), key=(tonic, minor), genre=style,
                bars=nbars, progression=name)
