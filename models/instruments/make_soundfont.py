#!/usr/bin/env python3
"""Extract Continuo's instruments from FluidR3_GM.sf2 into one small SoundFont.

The notes family renders its notes with the plugin's own instruments (rustysynth playing an SF2).
FluidR3_GM.sf2 (Frank Wen, MIT licence; Debian package `fluid-soundfont-gm`) sounds good but is
148 MB, far too big to ship, so this script copies only the General MIDI presets Continuo uses,
with the instruments, zones, generators, modulators and samples they reference, and writes
`assets/continuo-instruments.sf2` plus its licence notice `assets/continuo-instruments.LICENSE`.

Eleven presets are kept: seven melodic instruments, two drum kits (bank 128: the GM Standard kit
and the TR-808 kit) and two synths (Synth Bass 1, Saw Wave lead). To fit the file under its 14 MB
budget (it comes to 13.3 MB: 7.9 MB for the melodic instruments, 5.4 MB for the kits, 7 kB for the
synths; the same presets take 37 MB in FluidR3), these reductions are applied, in order of how
little they are heard (the numbers are printed by the script and recorded in the licence file):

1. Mono. Every stereo pair (a left and a right sample, or two mono samples panned hard left and
   right, with the same key and velocity range) becomes one centred zone. Pairs that are one
   signal panned (correlation >= 0.95: the Rhodes, the pad's "Alien Strings" layer, two harp
   zones) are mixed to (L+R)/2; pairs recorded with spaced microphones would comb-filter when
   summed, so they keep the left sample. Halves every stereo instrument; rustysynth's reverb
   and chorus give the result some width.
2. Nothing after a loop. Every kept zone loops continuously, so the points after a loop's end
   are never played; they are dropped, keeping 8 guard points that repeat the loop's start.
3. Lower sample rates. Samples recorded above 22,050 Hz (32 kHz piano, strings and choir,
   44.1 kHz harp and pad) are resampled to 22,050 Hz (pass band to ~10 kHz; above it these
   samples hold less than -55 dB of their energy). The bass samples (recorded at 22,050 Hz) go
   to 16,000 Hz: above 3 kHz they hold -67 dB or less, so nothing audible is lost (see
   BASS_RATE_HZ for why no lower rate is used). The resampler is a 128-tap Kaiser-windowed sinc
   (stopband ~87 dB). A looped sample is filtered as the synth plays it (the loop repeating),
   the loop is taken k times over where that makes its new length a near-whole number of points
   (detuning under 0.25 cents), and the loop's first points are repeated after its end.
4. Fewer key zones for strings and choir only. Their zones are recorded every 3 semitones and
   their loops are long (1-3 s); neighbouring zones are merged in pairs (the zone whose root key
   lies nearest the merged range's centre is kept), so a note is at most 4 semitones from its
   sample's root (the lowest and highest zones stretch further, as in FluidR3). This one is
   audible as a slightly different timbre from note to note; it saves 1.56 MB. Piano, electric
   piano, pad, harp and bass keep every zone.
5. Drum kits get their own two (the melodic rules above would dull them): each one-shot sample
   ends after its last 10 ms louder than -60 dB below its peak, with a 10 ms fade (cymbal and tom
   tails; saves 19 % of the kits' points), and each sample is stored at the lowest of 22,050 and
   32,000 Hz that keeps all but -40 dB of its energy, else at its recorded 44,100 Hz. The 808's
   kicks, toms and congas and the taiko and cuica go to 22,050 Hz, the Standard kick and some
   wood and hand percussion to 32,000 Hz; snares, claps, the acoustic toms, hi-hats and cymbals
   keep 44,100 Hz (hi-hats and cymbals hold 10-50 % of their energy above 10 kHz). Kit samples
   are made mono like the rest.
   The synth bass and lead are single-cycle waveforms and are kept whole, at 44,100 Hz.

Two changes are not reductions. FluidR3's choir samples are sung 10-40 cents flat, so each kept
choir sample's pitch is measured (over its sustained part) and corrected in its sample header.
And the volume and modulation envelopes get an explicit zero delay (the SF2 default is 1 ms,
which rustysynth and FluidSynth honour), so a note sounds at the frame the plugin places it on.

FluidR3's presets have a single velocity layer (velocity only changes filter and release; the
Standard kit's kick and snare zones split velocity only to vary the release, over one sample), so
there were no velocity layers to drop.

Continuo plays its kits without note-offs (as GM drum channels do), so every hit rings out as
recorded. The script checks that each looping kit zone (the open triangle, the bell tree) decays
to silence by itself.

The output is reproducible: the same source file gives the same bytes (no dates, no dict-order
or float-formatting dependence; integer rounding is explicit). The source's SHA-256 is checked so
a different FluidR3 build is noticed.

Usage: python3 models/instruments/make_soundfont.py [--source PATH] [--out PATH] [--check]
Standard library only.
"""

from __future__ import annotations

import argparse
import hashlib
import math
import operator
import os
import struct
import sys
from array import array
from dataclasses import dataclass, field
from fractions import Fraction

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
DEFAULT_SOURCE = "/usr/share/sounds/sf2/FluidR3_GM.sf2"
DEFAULT_OUT = os.path.join(REPO_ROOT, "assets", "continuo-instruments.sf2")
# Debian fluid-soundfont-gm 3.1-5.3 (Debian 12). Another build still works but is reported.
EXPECTED_SOURCE_SHA256 = "74594e8f4250680adf590507a306655a299935343583256f3b722c48a1bc1cb0"

# Budget for the committed file (bytes).
SIZE_BUDGET_BYTES = 14 * 1000 * 1000
DEFAULT_RATE_HZ = 22050
# FluidR3's finger bass samples hold -67 dB or less of their energy above 3 kHz (DFT of each whole
# sample), so 16,000 Hz (pass band to ~7 kHz) loses nothing audible. Lower rates are not used:
# rustysynth interpolates linearly, so a sample stored at rate R leaves images of a partial at f
# near R - f; at 16 kHz a bass fundamental's image sits near 15.9 kHz, 44 dB down, while at
# 11,025 Hz the electric piano's upper notes left images at 7-9 kHz only 26-33 dB down (measured
# with fluidsynth), so the electric piano keeps its recorded 22,050 Hz.
BASS_RATE_HZ = 16000

# Drum kits: each sample is stored at the lowest of these rates that keeps all but
# KIT_MAX_LOST_DB of its energy (what the resampler's low-pass removes, measured on the resampled
# sample itself), else at its recorded rate. The 808's kicks and toms go to 22,050 Hz; hi-hats,
# cymbals, shakers and tambourines hold 10-50 % of their energy above 10 kHz (it is what makes
# them sound like hi-hats and cymbals), so they keep 44,100 Hz, as do snares and claps.
KIT_RATES_HZ = (22050, 32000)
KIT_MAX_LOST_DB = -40
# A one-shot drum sample (no zone loops it) ends after its last 10 ms window louder than this,
# relative to the sample's peak, with a fade over that window. Cuts the long, near-silent tails
# of cymbals and toms (a crash rings 8.5 s in FluidR3 and has fallen 60 dB after 5.8 s).
KIT_TAIL_FLOOR_DB = -60
KIT_TAIL_WINDOW_SECONDS = 0.01
# Both thresholds become exact integer factors (10^4, 10^6), so they must be multiples of 10 dB.
assert KIT_MAX_LOST_DB % 10 == 0 and KIT_TAIL_FLOOR_DB % 10 == 0
# Continuo's kits ignore note-offs (as General MIDI drum channels do): every hit rings out. A kit
# zone that loops must therefore die away by itself: its volume envelope must decay to at least
# this attenuation (centibels), below rustysynth's -60 dB cut-off, where the voice ends.
KIT_LOOP_MIN_SUSTAIN_CB = 600


@dataclass(frozen=True)
class PresetChoice:
    """One General MIDI preset to keep, and how hard to shrink it."""

    program: int
    role: str
    merge_zone_pairs: bool = False
    # Samples recorded above this rate are resampled down to it; None keeps the recorded rate.
    rate_hz: int | None = DEFAULT_RATE_HZ
    # Measure each sample's pitch and correct its tuning in the sample header.
    retune: bool = False
    # 0 for melodic presets, 128 for drum kits.
    bank: int = 0
    # A drum kit: samples' rates are chosen per sample (KIT_RATES_HZ) instead of `rate_hz`, one-shot
    # samples lose their silent tails, and looping zones must decay by themselves.
    drum_kit: bool = False

    def shrink_policy(self) -> tuple:
        """What decides how an instrument is shrunk; presets may share instruments that agree."""
        return (self.merge_zone_pairs, self.rate_hz, self.retune, self.drum_kit)


# GM bank and program numbers. The Rust side (plugin/src/instruments) maps its Instrument enum to
# these presets, in this order; keep the two lists in step.
PRESETS = [
    PresetChoice(0, "piano (Acoustic Grand Piano)"),
    PresetChoice(4, "electric piano (Electric Piano 1, Rhodes)"),
    PresetChoice(89, "pad (Pad 2, Warm)"),
    PresetChoice(46, "pluck (Orchestral Harp)"),
    PresetChoice(33, "bass (Electric Bass, finger)", rate_hz=BASS_RATE_HZ),
    PresetChoice(48, "strings (String Ensemble 1)", merge_zone_pairs=True),
    PresetChoice(52, "choir (Choir Aahs)", merge_zone_pairs=True, retune=True),
    PresetChoice(0, "drum kit (GM Standard kit)", bank=128, drum_kit=True),
    # FluidR3 also has "Electronic" (bank 128, 24): Simmons-style kicks and snares with the
    # acoustic hi-hats. The TR-808 kit has the 808's own kick, snare, clap, hats and cowbell, the
    # kit hip-hop, trap and electronic producers mean by an electronic kit.
    PresetChoice(25, "electronic drums (TR-808 kit)", bank=128, drum_kit=True),
    # Synth Bass 1 is an analogue-style filtered bass (a filter envelope over single-cycle waves);
    # Synth Bass 2 (39) is a sampled, duller one. The synth bass and lead are single-cycle
    # waveforms (about 8 kB together), so they keep their recorded 44,100 Hz: resampling would
    # dull their upper harmonics and save nothing worth having.
    PresetChoice(38, "synth bass (Synth Bass 1)", rate_hz=None),
    # Saw Wave layers a saw and a pulse-saw under a filter envelope; the square lead (80) is the
    # thinner, chiptune-like one.
    PresetChoice(81, "synth lead (Lead 2, sawtooth)", rate_hz=None),
]

# Generator operators (SoundFont 2.04, section 8.1.2).
GEN_START_OFFSET = 0
GEN_END_OFFSET = 1
GEN_STARTLOOP_OFFSET = 2
GEN_ENDLOOP_OFFSET = 3
GEN_START_COARSE = 4
GEN_END_COARSE = 12
GEN_PAN = 17
GEN_DELAY_MOD_ENV = 25
GEN_DELAY_VOL_ENV = 33
GEN_SUSTAIN_VOL_ENV = 37
GEN_INSTRUMENT = 41
GEN_KEY_RANGE = 43
GEN_VEL_RANGE = 44
GEN_STARTLOOP_COARSE = 45
GEN_ENDLOOP_COARSE = 50
GEN_SAMPLE_ID = 53
GEN_SAMPLE_MODES = 54
GEN_ROOT_KEY = 58
ADDRESS_GENS = (
    GEN_START_OFFSET,
    GEN_END_OFFSET,
    GEN_STARTLOOP_OFFSET,
    GEN_ENDLOOP_OFFSET,
    GEN_START_COARSE,
    GEN_END_COARSE,
    GEN_STARTLOOP_COARSE,
    GEN_ENDLOOP_COARSE,
)

# Timecents meaning "no delay" (the lowest value; 2^-27 s).
NO_DELAY_TIMECENTS = -32768

SAMPLE_MONO = 1
SAMPLE_RIGHT = 2
SAMPLE_LEFT = 4

# The spec asks for at least 46 zero points after each sample's data.
ZERO_POINTS_AFTER_SAMPLE = 46
# Points repeated after a loop's end (the spec asks for 8 valid points there).
LOOP_GUARD_POINTS = 8

# Resampler: half-width in input samples (128 taps) and Kaiser beta (about 87 dB stopband).
RESAMPLE_HALF_WIDTH = 64
RESAMPLE_KAISER_BETA = 8.6


def cstr(name: bytes) -> str:
    return name.split(b"\0", 1)[0].decode("latin-1")


def signed16(v: int) -> int:
    return v - 0x10000 if v >= 0x8000 else v


def unsigned16(v: int) -> int:
    return v & 0xFFFF


# ---------------------------------------------------------------------------------------------
# Reading


@dataclass
class Zone:
    gens: list  # [(oper, amount_u16)]
    mods: list  # [(src, dest, amount_i16, amt_src, trans)]

    def gen(self, oper: int, default=None):
        for o, a in self.gens:
            if o == oper:
                return a
        return default

    def set_gen(self, oper: int, amount: int | None) -> None:
        """Replace (or remove, with None) a generator in place, keeping the order rules."""
        for i, (o, _) in enumerate(self.gens):
            if o == oper:
                if amount is None:
                    del self.gens[i]
                else:
                    self.gens[i] = (o, unsigned16(amount))
                return
        if amount is None:
            return
        # Not present: keyRange goes first, velRange right after it, anything else before a
        # terminal instrument/sampleID generator (the spec's order rules).
        if oper == GEN_KEY_RANGE:
            idx = 0
        elif oper == GEN_VEL_RANGE:
            idx = 1 if self.gens and self.gens[0][0] == GEN_KEY_RANGE else 0
        else:
            idx = len(self.gens)
            if self.gens and self.gens[-1][0] in (GEN_INSTRUMENT, GEN_SAMPLE_ID):
                idx -= 1
        self.gens.insert(idx, (oper, unsigned16(amount)))

    def key_range(self):
        r = self.gen(GEN_KEY_RANGE, 0x7F00)
        return r & 0xFF, r >> 8

    def vel_range(self):
        r = self.gen(GEN_VEL_RANGE, 0x7F00)
        return r & 0xFF, r >> 8


@dataclass
class Preset:
    name: bytes
    program: int
    bank: int
    library: int
    genre: int
    morphology: int
    zones: list = field(default_factory=list)


@dataclass
class Instrument:
    name: bytes
    zones: list = field(default_factory=list)


@dataclass
class Sample:
    name: bytes
    data: array  # int16 points, without the trailing zero points
    loop_start: int  # relative to the sample's first point
    loop_end: int
    rate_hz: int
    original_pitch: int
    pitch_correction: int
    link: int
    sample_type: int


@dataclass
class SoundFont:
    info: list  # [(fourcc, raw bytes)]
    presets: list
    instruments: list
    samples: list


def iter_chunks(buf: bytes, start: int, end: int):
    off = start
    while off + 8 <= end:
        cid = buf[off : off + 4]
        (size,) = struct.unpack_from("<I", buf, off + 4)
        if off + 8 + size > end:
            raise ValueError(f"chunk {cid!r} at {off} overruns its parent ({size} bytes)")
        yield cid, off + 8, size
        off += 8 + size + (size & 1)


def read_sf2(buf: bytes) -> SoundFont:
    if buf[0:4] != b"RIFF" or buf[8:12] != b"sfbk":
        raise ValueError("not a RIFF sfbk file")
    (riff_size,) = struct.unpack_from("<I", buf, 4)
    if riff_size + 8 > len(buf):
        raise ValueError("RIFF size exceeds the file")
    lists = {}
    for cid, off, size in iter_chunks(buf, 12, 8 + riff_size):
        if cid != b"LIST":
            raise ValueError(f"unexpected top-level chunk {cid!r}")
        lists[buf[off : off + 4]] = (off + 4, off + size)
    for name in (b"INFO", b"sdta", b"pdta"):
        if name not in lists:
            raise ValueError(f"missing LIST {name!r}")

    info = [(cid, buf[o : o + s]) for cid, o, s in iter_chunks(buf, *lists[b"INFO"])]
    sub = {cid: (o, s) for cid, o, s in iter_chunks(buf, *lists[b"sdta"])}
    if b"sm24" in sub:
        raise ValueError("24-bit samples (sm24) are not handled")
    smpl_off, smpl_size = sub[b"smpl"]
    smpl = array("h")
    smpl.frombytes(buf[smpl_off : smpl_off + smpl_size])
    if sys.byteorder != "little":
        smpl.byteswap()

    pdta = {cid: (o, s) for cid, o, s in iter_chunks(buf, *lists[b"pdta"])}

    def records(name: bytes, fmt: str):
        o, s = pdta[name]
        n = struct.calcsize(fmt)
        if s % n:
            raise ValueError(f"{name!r} size {s} is not a multiple of {n}")
        return [struct.unpack_from(fmt, buf, o + i * n) for i in range(s // n)]

    phdr = records(b"phdr", "<20sHHHIII")
    pbag = records(b"pbag", "<HH")
    pmod = records(b"pmod", "<HHhHH")
    pgen = records(b"pgen", "<HH")
    inst = records(b"inst", "<20sH")
    ibag = records(b"ibag", "<HH")
    imod = records(b"imod", "<HHhHH")
    igen = records(b"igen", "<HH")
    shdr = records(b"shdr", "<20sIIIIIBbHH")

    def zones(bags, gens, mods, first, last):
        out = []
        for b in range(first, last):
            g0, m0 = bags[b]
            g1, m1 = bags[b + 1]
            out.append(
                Zone(gens=[tuple(x) for x in gens[g0:g1]], mods=[tuple(x) for x in mods[m0:m1]])
            )
        return out

    presets = []
    for i in range(len(phdr) - 1):
        name, prog, bank, bag, lib, genre, morph = phdr[i]
        p = Preset(name, prog, bank, lib, genre, morph)
        p.zones = zones(pbag, pgen, pmod, bag, phdr[i + 1][3])
        presets.append(p)
    instruments = []
    for i in range(len(inst) - 1):
        name, bag = inst[i]
        instruments.append(Instrument(name, zones(ibag, igen, imod, bag, inst[i + 1][1])))
    samples = []
    for i in range(len(shdr) - 1):
        name, start, end, ls, le, rate, pitch, corr, link, typ = shdr[i]
        if not (start <= end <= len(smpl)):
            raise ValueError(f"sample {name!r} out of bounds")
        samples.append(
            Sample(name, smpl[start:end], ls - start, le - start, rate, pitch, corr, link, typ)
        )
    return SoundFont(info, presets, instruments, samples)


# ---------------------------------------------------------------------------------------------
# Resampling


def bessel_i0(x: float) -> float:
    total, term, k = 1.0, 1.0, 1
    while True:
        term *= (x / (2.0 * k)) ** 2
        total += term
        k += 1
        if term < 1e-21 * total:
            return total


def design_phases(up: int, down: int, rate_in: int, rate_out: int):
    """Polyphase taps: output n sits at input time n*down/up; phase p = (n*down) % up holds the
    2*H taps for input points floor(t)-H+1 .. floor(t)+H."""
    h = RESAMPLE_HALF_WIDTH
    beta = RESAMPLE_KAISER_BETA
    atten_db = beta / 0.1102 + 8.7
    transition = (atten_db - 7.95) / (14.36 * 2 * h)  # cycles per input sample
    cutoff = min(rate_in, rate_out) / 2.0 / rate_in - transition / 2.0  # cycles per input sample
    i0_beta = bessel_i0(beta)
    phases = []
    for p in range(up):
        frac = p / up
        taps = []
        for k in range(-h + 1, h + 1):
            x = k - frac
            r = x / h
            w = bessel_i0(beta * math.sqrt(1.0 - r * r)) / i0_beta if abs(r) < 1.0 else 0.0
            arg = 2.0 * cutoff * x
            s = 1.0 if x == 0 else math.sin(math.pi * arg) / (math.pi * arg)
            taps.append(2.0 * cutoff * s * w)
        norm = sum(taps)
        phases.append([t / norm for t in taps])
    return phases, cutoff * rate_in


_PHASE_CACHE: dict = {}


# Loop repetitions tried so that a resampled loop spans a near-whole number of points. A loop of
# L input points becomes L*22050/32000 output points; rounding that to a whole number detunes the
# loop by up to 1731*0.5/(L*ratio) cents (7 cents for FluidR3's shortest harp loops). Taking the
# loop k times over keeps the error under LOOP_PITCH_TOLERANCE_CENTS for a few hundred points.
MAX_LOOP_REPEATS = 64
LOOP_PITCH_TOLERANCE_CENTS = 0.25


def loop_repeats(loop_len: int, up: int, down: int) -> int:
    best_k, best_err = 1, float("inf")
    for k in range(1, MAX_LOOP_REPEATS + 1):
        exact = k * loop_len * up / down
        rounded = max(1, (k * loop_len * up + down // 2) // down)
        err = abs(1200.0 * math.log2(exact / rounded))
        if err < best_err - 1e-9:
            best_k, best_err = k, err
        if err <= LOOP_PITCH_TOLERANCE_CENTS:
            return k
    return best_k


def resample(sample: Sample, rate_out: int, looped: bool) -> tuple[Sample, dict]:
    """Resample one sample. A `looped` sample (every zone playing it loops continuously) keeps
    its loop seamless and ends at its loop end plus guard points; any other is resampled whole."""
    ratio = Fraction(rate_out, sample.rate_hz)
    up, down = ratio.numerator, ratio.denominator
    key = (up, down, sample.rate_hz, rate_out)
    if key not in _PHASE_CACHE:
        _PHASE_CACHE[key] = design_phases(up, down, sample.rate_hz, rate_out)
    phases, cutoff_hz = _PHASE_CACHE[key]
    h = RESAMPLE_HALF_WIDTH

    n_in = len(sample.data)
    ls, le = sample.loop_start, sample.loop_end
    x = [float(v) for v in sample.data]
    if looped:
        # What the synth plays while looping: the data up to the loop end, then the loop again
        # and again. Filtering that (not the points after the loop end) keeps the loop seamless.
        loop = x[ls:le]
        k = loop_repeats(le - ls, up, down)
        reps = k + (2 * h + LOOP_GUARD_POINTS * 4) // len(loop) + 2
        x = x[:le] + loop * reps
        new_ls = (ls * up + down // 2) // down
        new_len = max(1, (k * (le - ls) * up + down // 2) // down)
        new_le = new_ls + new_len
        n_out = new_le
    else:
        n_out = (n_in * up + down - 1) // down
        # Loop points still mean something to a zone that loops an invalid range (played once).
        new_ls = min(n_out, max(0, (ls * up + down // 2) // down))
        new_le = min(n_out, max(0, (le * up + down // 2) // down))
    padded = [0.0] * h + x + [0.0] * (h + 1)

    out = array("h", bytes(2 * n_out))
    mul = operator.mul
    for n in range(n_out):
        u = n * down
        base = u // up
        taps = phases[u % up]
        # Input point i lives at padded[i + h]; taps cover i = base-h+1 .. base+h.
        v = sum(map(mul, taps, padded[base + 1 : base + 2 * h + 1]))
        iv = math.floor(v + 0.5)
        out[n] = -32768 if iv < -32768 else (32767 if iv > 32767 else iv)
    if looped:
        # Repeat the loop's start after its end for interpolating readers.
        out.extend(array("h", [out[new_ls + (j % new_len)] for j in range(LOOP_GUARD_POINTS)]))
    res = Sample(
        name=sample.name,
        data=out,
        loop_start=new_ls,
        loop_end=new_le,
        rate_hz=rate_out,
        original_pitch=sample.original_pitch,
        pitch_correction=sample.pitch_correction,
        link=0,
        sample_type=sample.sample_type,
    )
    loop_pitch_error_cents = 0.0
    if looped:
        exact = k * (le - ls) * up / down
        loop_pitch_error_cents = 1200.0 * math.log2(exact / new_len)
    return res, {"cutoff_hz": cutoff_hz, "loop_pitch_error_cents": loop_pitch_error_cents}


# ---------------------------------------------------------------------------------------------
# Selecting and shrinking


def comparable(zone: Zone) -> list:
    """A stereo pair's zones may only differ in pan, sample and address offsets that are zero."""
    return sorted(
        (o, a)
        for o, a in zone.gens
        if o not in (GEN_PAN, GEN_SAMPLE_ID) and not (o in ADDRESS_GENS and a == 0)
    )


def stereo_stem(name: bytes) -> bytes:
    """A sample name without its side marker: "Piano C4(L)" and "Piano C4(R)" share a stem."""
    stem = name.split(b"\0", 1)[0].rstrip()
    for marker in (b"(L)", b"(R)", b" L", b" R", b"L", b"R"):
        if stem.endswith(marker):
            return stem[: -len(marker)].rstrip()
    return stem


# A mono sample panned at least this far (in 0.1 % units, 500 = hard) counts as one side of a
# stereo pair: FluidR3's strings are two mono samples panned hard left and hard right.
PAIR_PAN_THRESHOLD = 400


def side(zone: Zone, samples: list) -> str | None:
    """"L" or "R" when the zone is one side of a stereo pair, else None."""
    sid = zone.gen(GEN_SAMPLE_ID)
    if sid is None:
        return None
    typ = samples[sid].sample_type
    pan = signed16(zone.gen(GEN_PAN, 0))
    if typ == SAMPLE_LEFT or (typ == SAMPLE_MONO and pan <= -PAIR_PAN_THRESHOLD):
        return "L"
    if typ == SAMPLE_RIGHT or (typ == SAMPLE_MONO and pan >= PAIR_PAN_THRESHOLD):
        return "R"
    return None


# A pair whose two samples correlate at least this much is one signal panned (FluidR3's Rhodes
# pans its low keys left and its high keys right; the warm pad's "Alien Strings" is the same
# signal twice): it is mixed to (L+R)/2, a plain mono downmix. Other pairs (spaced microphones,
# correlations from -0.9 to 0.8 in FluidR3's piano, harp, strings and choir) would comb-filter
# when summed, so they keep their left sample only.
MIX_CORRELATION = 0.95


def correlation(a: array, b: array) -> float:
    n = min(len(a), len(b))
    a, b = a[:n], b[:n]
    ma, mb = sum(a) / n, sum(b) / n
    sab = sum(map(operator.mul, a, b)) - n * ma * mb
    saa = sum(map(operator.mul, a, a)) - n * ma * ma
    sbb = sum(map(operator.mul, b, b)) - n * mb * mb
    return sab / math.sqrt(saa * sbb) if saa > 0 and sbb > 0 else 0.0


def mixable(left: Sample, right: Sample) -> bool:
    same_layout = (len(left.data), left.loop_start, left.loop_end, left.rate_hz) == (
        len(right.data), right.loop_start, right.loop_end, right.rate_hz)
    return same_layout and correlation(left.data, right.data) >= MIX_CORRELATION


def make_mono(inst: Instrument, samples: list, mixes: dict, log) -> int:
    """Reduce each stereo pair to one centred zone: its left sample, or the (L+R)/2 mix recorded
    in `mixes` (left sample id -> right sample id). Returns how many zones were dropped."""
    keep, dropped = [], 0
    zones = inst.zones
    right_partner_of = {}
    for zi, z in enumerate(zones):
        sid = z.gen(GEN_SAMPLE_ID)
        if side(z, samples) != "L":
            continue
        # FluidR3 leaves sampleLink at 0, so a pair is found by type, ranges and, where a zone
        # layers several pairs (the warm pad), by sample name and length.
        left = samples[sid]
        candidates = []
        for zj, w in enumerate(zones):
            wsid = w.gen(GEN_SAMPLE_ID)
            if (
                side(w, samples) == "R"
                and w.key_range() == z.key_range()
                and w.vel_range() == z.vel_range()
                and zj not in right_partner_of.values()
            ):
                right = samples[wsid]
                score = (
                    stereo_stem(right.name) != stereo_stem(left.name),
                    len(right.data) != len(left.data),
                    zj,
                )
                candidates.append((score, zj))
        if candidates:
            right_partner_of[zi] = min(candidates)[1]
        else:
            raise ValueError(f"{inst.name!r}: left sample {samples[sid].name!r} has no right zone")
    right_zones = set(right_partner_of.values())
    for zi, z in enumerate(zones):
        sid = z.gen(GEN_SAMPLE_ID)
        if side(z, samples) == "R" and zi not in right_zones:
            raise ValueError(f"{inst.name!r}: right sample {samples[sid].name!r} has no left zone")
    for zi, z in enumerate(zones):
        if zi in right_zones:
            dropped += 1
            continue
        if zi in right_partner_of:
            w = zones[right_partner_of[zi]]
            if comparable(z) != comparable(w) or z.mods != w.mods:
                # FluidR3 has a few tiny differences (e.g. a hold time 11 cents apart); the left
                # zone's values are kept. Report them so a big one is noticed.
                diff = sorted(set(comparable(z)) ^ set(comparable(w)))
                log(f"    {cstr(inst.name)} keys {z.key_range()}: left/right differ in {diff}"
                    f"{' and modulators' if z.mods != w.mods else ''}; keeping left")
            pan = (signed16(z.gen(GEN_PAN, 0)) + signed16(w.gen(GEN_PAN, 0))) // 2
            z.set_gen(GEN_PAN, pan if pan != 0 else None)
            lsid, rsid = z.gen(GEN_SAMPLE_ID), w.gen(GEN_SAMPLE_ID)
            if mixable(samples[lsid], samples[rsid]):
                if mixes.setdefault(lsid, rsid) != rsid:
                    raise ValueError(f"{inst.name!r}: a left sample pairs with two right ones")
            elif lsid in mixes:
                raise ValueError(f"{inst.name!r}: a left sample both mixed and not")
        keep.append(z)
    inst.zones = keep
    return dropped


def root_key(zone: Zone, samples: list) -> int:
    r = zone.gen(GEN_ROOT_KEY)
    if r is not None and signed16(r) >= 0:
        return signed16(r)
    return samples[zone.gen(GEN_SAMPLE_ID)].original_pitch


def merge_zone_pairs(inst: Instrument, samples: list) -> int:
    """Merge neighbouring key zones in pairs; returns how many zones were dropped."""
    global_zone = [z for z in inst.zones if z.gen(GEN_SAMPLE_ID) is None]
    sample_zones = [z for z in inst.zones if z.gen(GEN_SAMPLE_ID) is not None]
    if any(z.vel_range() != (0, 127) for z in sample_zones):
        raise ValueError(f"{inst.name!r}: zone merging expects a single velocity layer")
    sample_zones.sort(key=lambda z: z.key_range())
    for a, b in zip(sample_zones, sample_zones[1:]):
        if a.key_range()[1] >= b.key_range()[0]:
            raise ValueError(f"{inst.name!r}: zone merging expects non-overlapping key ranges, "
                             f"got {a.key_range()} and {b.key_range()}")
    merged = []
    for i in range(0, len(sample_zones), 2):
        group = sample_zones[i : i + 2]
        lo = group[0].key_range()[0]
        hi = group[-1].key_range()[1]
        centre2 = lo + hi  # twice the centre, to stay in integers
        best = min(group, key=lambda z: (abs(2 * root_key(z, samples) - centre2), z.key_range()))
        best.set_gen(GEN_KEY_RANGE, lo | (hi << 8))
        merged.append(best)
    inst.zones = global_zone + merged
    return len(sample_zones) - len(merged)


# Retuning: the pitch is searched within this many cents of the zone's root key, in windows of
# this many periods spread over the sample's sustained part; the median is kept.
RETUNE_SEARCH_CENTS = 80
RETUNE_WINDOW_PERIODS = 8
RETUNE_NUM_WINDOWS = 9


def measure_cents(sample: Sample, root_key: int) -> float | None:
    """How far (in cents) the sample's pitch lies from its root key, or None if unclear.

    A squared-difference function over lags near the expected period (the core of YIN), with a
    parabola through the best lag; FluidR3's sung choir notes are 10-40 cents flat, a string
    section's or piano's a few cents either way."""
    period = sample.rate_hz / (440.0 * 2.0 ** ((root_key - 69) / 12.0))
    lo = max(2, int(period * 2.0 ** (-RETUNE_SEARCH_CENTS / 1200.0)))
    hi = int(math.ceil(period * 2.0 ** (RETUNE_SEARCH_CENTS / 1200.0)))
    window = int(RETUNE_WINDOW_PERIODS * period)
    data = sample.data
    begin = max(sample.loop_start if sample.loop_end > sample.loop_start else 0, len(data) // 5)
    end = len(data) - window - hi - 2
    if end <= begin:
        return None
    estimates = []
    for k in range(RETUNE_NUM_WINDOWS):
        at = begin + (end - begin) * k // (RETUNE_NUM_WINDOWS - 1)
        seg = [float(v) for v in data[at : at + window + hi + 2]]
        head = seg[:window]
        diffs = {}
        for lag in range(lo - 1, hi + 2):
            shifted = seg[lag : lag + window]
            diffs[lag] = sum((a - b) * (a - b) for a, b in zip(head, shifted))
        best = min(range(lo, hi + 1), key=lambda lag: (diffs[lag], lag))
        a, b, c = diffs[best - 1], diffs[best], diffs[best + 1]
        if not (b <= a and b <= c) or best in (lo, hi):
            continue  # the minimum is at the edge of the search: no clear pitch here
        denom = a - 2.0 * b + c
        shift = 0.5 * (a - c) / denom if denom > 0 else 0.0
        estimates.append(1200.0 * math.log2(period / (best + shift)))
    if len(estimates) < RETUNE_NUM_WINDOWS // 2 + 1:
        return None
    estimates.sort()
    return estimates[len(estimates) // 2]


def loop_level_db(s: Sample) -> float:
    """RMS level of a sample's loop relative to its peak, in dB."""
    peak = max(1, max(abs(v) for v in s.data))
    loop = s.data[s.loop_start : s.loop_end]
    rms = math.sqrt(sum(v * v for v in loop) / max(1, len(loop)))
    return 20.0 * math.log10(max(rms, 1e-3) / peak)


def remove_default_delays(inst: Instrument) -> None:
    """Start the envelopes at the note-on instead of the SF2 default delay of -12000 timecents
    (0.98 ms), which synthesizers take literally: every note would sound 1 ms late and the
    plugin places notes to the frame. Zones that set a delay themselves keep it."""
    if not inst.zones or inst.zones[0].gen(GEN_SAMPLE_ID) is not None:
        inst.zones.insert(0, Zone(gens=[], mods=[]))
    global_zone = inst.zones[0]
    for oper in (GEN_DELAY_MOD_ENV, GEN_DELAY_VOL_ENV):
        if global_zone.gen(oper) is None:
            global_zone.set_gen(oper, NO_DELAY_TIMECENTS)


def end_at_loop(sample: Sample) -> None:
    """Drop the data after the loop end, which is never played when every zone loops
    continuously; end with guard points that repeat the loop's start, as a looping reader sees
    it."""
    ls, le = sample.loop_start, sample.loop_end
    guard = array("h", [sample.data[ls + j % (le - ls)] for j in range(LOOP_GUARD_POINTS)])
    sample.data = sample.data[:le] + guard


def energy(points) -> int:
    return sum(v * v for v in points)


def trim_tail(sample: Sample) -> int:
    """Cut a one-shot sample after its last KIT_TAIL_WINDOW_SECONDS window louder (RMS) than
    KIT_TAIL_FLOOR_DB below its peak, fading that window out linearly. Returns the points cut.
    Integer arithmetic throughout, so the cut does not depend on float rounding."""
    data = sample.data
    peak = max((abs(v) for v in data), default=0)
    if peak == 0:
        return 0
    window = max(1, int(sample.rate_hz * KIT_TAIL_WINDOW_SECONDS))
    # RMS above peak * 10^(floor/20)  <=>  sum of squares * 10^(-floor/10) > n * peak^2.
    factor = 10 ** (-KIT_TAIL_FLOOR_DB // 10)
    end = 0
    for at in range(0, len(data), window):
        seg = data[at : at + window]
        if energy(seg) * factor > len(seg) * peak * peak:
            end = at + len(seg)
    if end >= len(data):
        return 0
    fade_from = max(0, end - window)
    n = end - fade_from
    out = data[:end]
    for i in range(fade_from, end):
        # Gain (end - i) / n, from 1 down to 1/n; the next point (cut) would be 0.
        out[i] = (2 * data[i] * (end - i) + n) // (2 * n)
    sample.data = out
    return len(data) - end


def shrink_kit_sample(sample: Sample, looped: bool, one_shot: bool, stats: dict) -> Sample:
    """A drum kit's sample: its silent tail cut (one-shot samples), then stored at the lowest of
    KIT_RATES_HZ that keeps all but KIT_MAX_LOST_DB of its energy, else at its recorded rate."""
    stats["points_before"] += len(sample.data)
    if one_shot:
        stats["points_trimmed"] += trim_tail(sample)
        # No zone loops it, so its loop points mean nothing; cleared, they cannot point past the
        # cut end.
        sample.loop_start = sample.loop_end = 0
    # Energy compared over what is played: up to the loop end for a looped sample.
    span_in = sample.loop_end if looped else len(sample.data)
    energy_in = energy(sample.data[:span_in])
    lost_factor = 10 ** (-KIT_MAX_LOST_DB // 10)
    chosen = None
    for rate_hz in KIT_RATES_HZ:
        if rate_hz >= sample.rate_hz:
            break
        out, _ = resample(sample, rate_hz, looped)
        span_out = out.loop_end if looped else len(out.data)
        energy_out = energy(out.data[:span_out])
        # Energy per second in and out: lost = 1 - (E_out / rate_out) / (E_in / rate_in).
        lost = energy_in * rate_hz - energy_out * sample.rate_hz
        if lost * lost_factor <= energy_in * rate_hz:
            chosen = out
            break
    if chosen is None:
        chosen = sample
        if looped:
            end_at_loop(chosen)
    stats["rates_hz"][chosen.rate_hz] = stats["rates_hz"].get(chosen.rate_hz, 0) + 1
    return chosen


def build(source: SoundFont, log) -> SoundFont:
    by_bank_program = {(p.bank, p.program): p for p in source.presets}
    presets, instruments, samples = [], [], []
    inst_map, sample_map = {}, {}
    inst_owner = {}

    for choice in PRESETS:
        src = by_bank_program.get((choice.bank, choice.program))
        if src is None:
            raise ValueError(f"bank {choice.bank} program {choice.program} not in the source font")
        p = Preset(src.name, src.program, src.bank, src.library, src.genre, src.morphology)
        for z in src.zones:
            nz = Zone(gens=list(z.gens), mods=list(z.mods))
            iid = nz.gen(GEN_INSTRUMENT)
            if iid is not None:
                if iid not in inst_map:
                    si = source.instruments[iid]
                    inst_map[iid] = len(instruments)
                    inst_owner[iid] = choice
                    instruments.append(
                        Instrument(si.name, [Zone(list(x.gens), list(x.mods)) for x in si.zones])
                    )
                elif inst_owner[iid].shrink_policy() != choice.shrink_policy():
                    # The drum kits share their percussion and cymbal instruments.
                    raise ValueError(f"instrument {iid} shared between presets: policy clash")
                nz.set_gen(GEN_INSTRUMENT, inst_map[iid])
            p.zones.append(nz)
        presets.append(p)

    stats = []
    # Left sample id -> right sample id for the stereo pairs mixed to mono.
    mixes = {}
    # Per kept sample: does every zone that plays it loop continuously (sampleModes 1)?
    always_looped = {}
    # Per kept sample: does no zone that plays it loop (sampleModes 0)?
    never_looped = {}
    # Per kept melodic sample: the rate it is stored at (the highest any preset using it asks for).
    sample_rate_hz = {}
    # Kept samples of the drum kits (their rates are measured, see KIT_RATES_HZ).
    kit_samples = set()
    # Kept samples stored exactly as recorded (presets with rate_hz None): not resampled, nothing
    # cut after their loops.
    kept_whole = set()
    # Per sample to retune: the root keys its zones give it.
    retune_roots = {}
    for iid, new_iid in sorted(inst_map.items(), key=lambda kv: kv[1]):
        inst = instruments[new_iid]
        n_before = sum(1 for z in inst.zones if z.gen(GEN_SAMPLE_ID) is not None)
        dropped_mono = make_mono(inst, source.samples, mixes, log)
        dropped_merge = 0
        if inst_owner[iid].merge_zone_pairs:
            dropped_merge = merge_zone_pairs(inst, source.samples)
        stats.append((inst.name, n_before, dropped_mono, dropped_merge))
        remove_default_delays(inst)
        global_zone = inst.zones[0] if inst.zones[0].gen(GEN_SAMPLE_ID) is None else None
        default_mode = global_zone.gen(GEN_SAMPLE_MODES, 0) if global_zone else 0
        default_sustain_cb = signed16(global_zone.gen(GEN_SUSTAIN_VOL_ENV, 0)) if global_zone else 0
        choice = inst_owner[iid]
        for z in inst.zones:
            sid = z.gen(GEN_SAMPLE_ID)
            if sid is None:
                continue
            mode = z.gen(GEN_SAMPLE_MODES, default_mode) & 3
            if mode == 3:
                raise ValueError(f"{inst.name!r}: loop-until-release zones are not handled")
            if choice.drum_kit:
                sustain_cb = signed16(z.gen(GEN_SUSTAIN_VOL_ENV, unsigned16(default_sustain_cb)))
                if mode == 1 and sustain_cb < KIT_LOOP_MIN_SUSTAIN_CB:
                    raise ValueError(f"{inst.name!r}: a looping kit zone would ring for ever "
                                     f"without a note-off (sustain {sustain_cb} cB)")
                if sid in sample_rate_hz:
                    raise ValueError(f"{cstr(source.samples[sid].name)}: in a kit and a melodic "
                                     "preset: policy clash")
                kit_samples.add(sid)
            else:
                if sid in kit_samples:
                    raise ValueError(f"{cstr(source.samples[sid].name)}: in a kit and a melodic "
                                     "preset: policy clash")
                wanted_hz = source.samples[sid].rate_hz if choice.rate_hz is None else choice.rate_hz
                sample_rate_hz[sid] = max(sample_rate_hz.get(sid, 0), wanted_hz)
            if choice.rate_hz is None:
                kept_whole.add(sid)
            elif any(z.gen(o, 0) != 0 for o in ADDRESS_GENS):
                # Samples are cut after their loops and resampled; offsets would need the same.
                # (The saw lead moves its loop points to make a pulse wave from a saw; its
                # samples are kept whole, so its offsets still point where they did.)
                raise ValueError(f"{inst.name!r}: zones with address offsets are not handled")
            if sid not in sample_map:
                sample_map[sid] = len(samples)
                samples.append(sid)
            always_looped[sid] = always_looped.get(sid, True) and mode == 1
            never_looped[sid] = never_looped.get(sid, True) and mode == 0
            if inst_owner[iid].retune:
                keys = retune_roots.setdefault(sid, set())
                keys.add(root_key(z, source.samples))
            z.set_gen(GEN_SAMPLE_ID, sample_map[sid])

    # Global zones may carry offsets too; they would apply to every (cut, resampled) sample.
    for inst in instruments:
        for z in inst.zones:
            if z.gen(GEN_SAMPLE_ID) is None and any(z.gen(o, 0) != 0 for o in ADDRESS_GENS):
                raise ValueError(f"{inst.name!r}: address offsets in a global zone")
    # A kit's preset zones could raise a looping zone's sustain level again; FluidR3's do not
    # touch it, and the check above relies on that.
    for choice, p in zip(PRESETS, presets):
        if choice.drum_kit and any(z.gen(GEN_SUSTAIN_VOL_ENV) is not None for z in p.zones):
            raise ValueError(f"{cstr(p.name)}: sustain set at preset level in a kit")

    out_samples = []
    worst_cents = 0.0
    kit_stats = {"points_before": 0, "points_trimmed": 0, "rates_hz": {}}
    for sid in samples:
        s = source.samples[sid]
        mono = Sample(s.name, s.data, s.loop_start, s.loop_end, s.rate_hz, s.original_pitch,
                      s.pitch_correction, 0, SAMPLE_MONO)
        if sid in mixes:
            r = source.samples[mixes[sid]].data
            mono.data = array("h", [(a + b + 1) >> 1 for a, b in zip(s.data, r)])
            mono.name = (stereo_stem(s.name) + b" mix")[:20]
        valid_loop = 0 <= s.loop_start and s.loop_start + 2 <= s.loop_end <= len(s.data)
        looped = always_looped[sid] and valid_loop
        if sid in kit_samples:
            mono = shrink_kit_sample(mono, looped, never_looped[sid], kit_stats)
        elif s.rate_hz > sample_rate_hz[sid]:
            mono, info = resample(mono, sample_rate_hz[sid], looped)
            cents = abs(info["loop_pitch_error_cents"])
            worst_cents = max(worst_cents, cents)
            if cents > 1.0:
                # Only tiny loops round this much; they sit in a decayed tail, so say how quiet.
                log(f"    {cstr(s.name)}: loop of {mono.loop_end - mono.loop_start} points is "
                    f"{cents:.1f} cents off, at {loop_level_db(mono):.0f} dB below the peak")
        elif looped and sid not in kept_whole:
            end_at_loop(mono)
        if sid in retune_roots:
            roots = retune_roots[sid]
            if len(roots) != 1:
                raise ValueError(f"{cstr(s.name)}: played with several root keys, cannot retune")
            cents = measure_cents(mono, next(iter(roots)))
            if cents is None:
                log(f"    {cstr(s.name)}: no clear pitch, tuning left alone")
            else:
                correction = mono.pitch_correction - int(math.floor(cents + 0.5))
                if not -99 <= correction <= 99:
                    raise ValueError(f"{cstr(s.name)}: correction {correction} cents out of range")
                log(f"    {cstr(s.name)}: measured {cents:+.1f} cents, pitch correction "
                    f"{mono.pitch_correction} -> {correction}")
                mono.pitch_correction = correction
        out_samples.append(mono)

    log(f"  stereo pairs mixed to (L+R)/2: "
        f"{', '.join(cstr(stereo_stem(source.samples[i].name)) for i in mixes)}; "
        f"the other pairs keep their left sample")
    for (name, n_before, dm, dz), inst in zip(stats, instruments):
        sids = sorted({z.gen(GEN_SAMPLE_ID) for z in inst.zones} - {None})
        num_bytes = sum(2 * (len(out_samples[i].data) + ZERO_POINTS_AFTER_SAMPLE) for i in sids)
        log(f"  instrument {cstr(name)}: {n_before} zones, "
            f"-{dm} (mono), -{dz} (merged pairs) -> {n_before - dm - dz}, "
            f"{num_bytes / 1e6:.2f} MB of samples")
    log(f"  worst loop-length rounding after resampling: {worst_cents:.2f} cents")
    rates = ", ".join(f"{n} at {r} Hz" for r, n in sorted(kit_stats["rates_hz"].items()))
    log(f"  drum kits: {len(kit_samples)} samples ({rates}); silent tails cut: "
        f"{kit_stats['points_trimmed']} of {kit_stats['points_before']} points")

    info = [
        (b"ifil", struct.pack("<HH", 2, 1)),
        (b"isng", b"EMU8000"),
        (b"INAM", b"Continuo instruments"),
        (b"IENG", b"Frank Wen"),
        (b"IPRD", b"Continuo"),
        (b"ICOP", b"Frank Wen 2000-2002, 2008; Toby Smithe 2008"),
        (b"ICMT", b"Licensed under the MIT License. Presets extracted from Fluid (R3) GM "
                  b"(FluidR3_GM.sf2) by Continuo's models/instruments/make_soundfont.py: "
                  b"mono, samples resampled to 22050 Hz (16000 Hz for the bass), "
                  b"string and choir key "
                  b"zones merged in pairs, drum samples' silent tails cut and each stored "
                  b"at 22050, 32000 or 44100 Hz. See continuo-instruments.LICENSE."),
        (b"ISFT", b"continuo make_soundfont.py"),
    ]
    return SoundFont(info, presets, instruments, out_samples)


# ---------------------------------------------------------------------------------------------
# Writing


def chunk(cid: bytes, payload: bytes) -> bytes:
    out = cid + struct.pack("<I", len(payload)) + payload
    return out + (b"\0" if len(payload) & 1 else b"")


def info_string(s: bytes) -> bytes:
    s = s + b"\0"
    return s + (b"\0" if len(s) & 1 else b"")


def name20(name: bytes) -> bytes:
    name = name.split(b"\0", 1)[0][:20]
    return name + b"\0" * (20 - len(name))


def write_sf2(sf: SoundFont) -> bytes:
    info_payload = b"INFO"
    for cid, value in sf.info:
        info_payload += chunk(cid, value if cid == b"ifil" else info_string(value))

    smpl = array("h")
    positions = []
    for s in sf.samples:
        start = len(smpl)
        smpl.extend(s.data)
        positions.append((start, start + len(s.data)))
        smpl.extend(array("h", bytes(2 * ZERO_POINTS_AFTER_SAMPLE)))
    if sys.byteorder != "little":
        smpl.byteswap()
    sdta_payload = b"sdta" + chunk(b"smpl", smpl.tobytes())

    def bags_gens_mods(zone_lists):
        bag, gen, mod = b"", b"", b""
        gi = mi = 0
        for zones in zone_lists:
            for z in zones:
                bag += struct.pack("<HH", gi, mi)
                for o, a in z.gens:
                    gen += struct.pack("<HH", o, a)
                for m in z.mods:
                    mod += struct.pack("<HHhHH", *m)
                gi += len(z.gens)
                mi += len(z.mods)
        bag += struct.pack("<HH", gi, mi)
        gen += struct.pack("<HH", 0, 0)
        mod += struct.pack("<HHhHH", 0, 0, 0, 0, 0)
        if gi >= 0xFFFF or mi >= 0xFFFF:
            raise ValueError("too many generators or modulators")
        return bag, gen, mod

    phdr, bag_idx = b"", 0
    for p in sf.presets:
        phdr += struct.pack("<20sHHHIII", name20(p.name), p.program, p.bank, bag_idx,
                            p.library, p.genre, p.morphology)
        bag_idx += len(p.zones)
    phdr += struct.pack("<20sHHHIII", name20(b"EOP"), 0, 0, bag_idx, 0, 0, 0)
    pbag, pgen, pmod = bags_gens_mods([p.zones for p in sf.presets])

    inst, bag_idx = b"", 0
    for i in sf.instruments:
        inst += struct.pack("<20sH", name20(i.name), bag_idx)
        bag_idx += len(i.zones)
    inst += struct.pack("<20sH", name20(b"EOI"), bag_idx)
    ibag, igen, imod = bags_gens_mods([i.zones for i in sf.instruments])

    shdr = b""
    for s, (start, end) in zip(sf.samples, positions):
        ls = start + s.loop_start
        le = start + s.loop_end
        shdr += struct.pack("<20sIIIIIBbHH", name20(s.name), start, end, ls, le, s.rate_hz,
                            s.original_pitch, s.pitch_correction, s.link, s.sample_type)
    shdr += struct.pack("<20sIIIIIBbHH", name20(b"EOS"), 0, 0, 0, 0, 0, 0, 0, 0, 0)

    pdta_payload = b"pdta" + b"".join(
        chunk(cid, data)
        for cid, data in (
            (b"phdr", phdr), (b"pbag", pbag), (b"pmod", pmod), (b"pgen", pgen),
            (b"inst", inst), (b"ibag", ibag), (b"imod", imod), (b"igen", igen),
            (b"shdr", shdr),
        )
    )
    body = b"sfbk" + chunk(b"LIST", info_payload) + chunk(b"LIST", sdta_payload) + chunk(
        b"LIST", pdta_payload
    )
    return chunk(b"RIFF", body)


# ---------------------------------------------------------------------------------------------
# Verifying


def verify(data: bytes, expected: SoundFont) -> None:
    """Re-parse the written bytes and check structure and content against what was meant."""
    got = read_sf2(data)
    assert len(got.presets) == len(expected.presets), "preset count"
    assert len(got.instruments) == len(expected.instruments), "instrument count"
    assert len(got.samples) == len(expected.samples), "sample count"
    for a, b in zip(got.presets, expected.presets):
        assert (a.program, a.bank, name20(a.name)) == (b.program, b.bank, name20(b.name))
        assert [z.gens for z in a.zones] == [z.gens for z in b.zones], "preset generators"
        assert [z.mods for z in a.zones] == [z.mods for z in b.zones], "preset modulators"
        for z in a.zones:
            iid = z.gen(GEN_INSTRUMENT)
            assert iid is None or iid < len(got.instruments)
            if iid is not None:
                assert z.gens[-1][0] == GEN_INSTRUMENT, "instrument must be the last generator"
    for a, b in zip(got.instruments, expected.instruments):
        assert name20(a.name) == name20(b.name)
        assert [z.gens for z in a.zones] == [z.gens for z in b.zones], "instrument generators"
        assert [z.mods for z in a.zones] == [z.mods for z in b.zones], "instrument modulators"
        for zi, z in enumerate(a.zones):
            sid = z.gen(GEN_SAMPLE_ID)
            if sid is None:
                assert zi == 0, "only the first zone may be global"
                continue
            assert z.gens[-1][0] == GEN_SAMPLE_ID, "sampleID must be the last generator"
            assert sid < len(got.samples)
            if any(o == GEN_KEY_RANGE for o, _ in z.gens):
                assert z.gens[0][0] == GEN_KEY_RANGE, "keyRange must come first"
    for a, b in zip(got.samples, expected.samples):
        assert a.data == b.data, f"sample data {a.name!r}"
        assert (a.loop_start, a.loop_end, a.rate_hz, a.original_pitch, a.pitch_correction,
                a.link, a.sample_type) == (b.loop_start, b.loop_end, b.rate_hz,
                                           b.original_pitch, b.pitch_correction, b.link,
                                           b.sample_type), f"sample header {a.name!r}"
        if a.loop_end > a.loop_start:
            assert 0 <= a.loop_start and a.loop_end + LOOP_GUARD_POINTS <= len(a.data), (
                f"loop of {a.name!r} lacks guard points")
    # Zero points after each sample, and the terminal records.
    smpl_at = data.index(b"smpl") + 8
    shdr_at = data.index(b"shdr")
    (shdr_size,) = struct.unpack_from("<I", data, shdr_at + 4)
    n = shdr_size // 46
    for i in range(n - 1):
        _, _start, end, *_ = struct.unpack_from("<20sIIIIIBbHH", data, shdr_at + 8 + 46 * i)
        zeros = data[smpl_at + 2 * end : smpl_at + 2 * (end + ZERO_POINTS_AFTER_SAMPLE)]
        assert zeros == bytes(2 * ZERO_POINTS_AFTER_SAMPLE), "46 zero points after each sample"
    assert data[shdr_at + 8 + 46 * (n - 1) : shdr_at + 8 + 46 * (n - 1) + 3] == b"EOS"
    assert b"EOP\0" in data and b"EOI\0" in data


# ---------------------------------------------------------------------------------------------


def licence_text(sf: SoundFont, size: int, source_sha: str) -> str:
    lines = [
        "continuo-instruments.sf2",
        "========================",
        "",
        "Extracted from Fluid (R3) General MIDI SoundFont (FluidR3_GM.sf2) by",
        "models/instruments/make_soundfont.py (Debian package fluid-soundfont-gm 3.1,",
        f"source SHA-256 {source_sha}).",
        "",
        "Presets kept (General MIDI bank:program: FluidR3 preset name -> Continuo role; bank 128",
        "holds the drum kits):",
    ]
    for choice, p in zip(PRESETS, sf.presets):
        lines.append(f"  {p.bank:3d}:{p.program:<3d} {cstr(p.name):20s} -> {choice.role}")
    lines += [
        "",
        "Changes from the original (the first five keep the file small; see the script's",
        "docstring for what each costs in sound):",
        "  - stereo sample pairs made mono and centred: (L+R)/2 where both sides carry one",
        "    panned signal (electric piano, a pad layer, two harp zones, most drum pairs), else",
        "    the left sample;",
        "  - points after each loop end beyond 8 guard points dropped (never played);",
        "  - melodic samples recorded above 22,050 Hz resampled to 22,050 Hz; the bass",
        "    (which holds almost nothing above 3 kHz) resampled to 16,000 Hz (128-tap Kaiser",
        "    sinc);",
        "  - strings and choir: neighbouring key zones merged in pairs;",
        "  - drum kits: each one-shot sample cut after its last 10 ms above -60 dB (relative to",
        "    its peak) with a 10 ms fade, and stored at the lowest of 22,050 and 32,000 Hz that",
        "    keeps all but -40 dB of its energy, else at its recorded 44,100 Hz (snares,",
        "    claps, hi-hats, cymbals); loop points of one-shot samples cleared;",
        "  - synth bass and lead: samples kept as recorded (44,100 Hz single-cycle waves);",
        "  - volume and modulation envelopes start without the SF2 default 1 ms delay;",
        "  - choir samples retuned (their pitch correction set from each one's measured pitch).",
        f"Resulting file: {size} bytes, {len(sf.samples)} samples.",
        "",
        "Licence of the sounds (from the FluidR3 README and Debian's copyright file):",
        "",
        "Fluid (R3) SoundFont",
        "Copyright (c) 2000-2002, 2008 Frank Wen <getfrank@gmail.com>",
        "Copyright (c) 2008 Toby Smithe",
        "",
        '"I hereby release Fluid under the MIT license, as described in COPYING."',
        "",
        "Fluid was constructed in part from samples found in the public domain that Frank Wen",
        "edited/cleaned/remixed/programmed and largely from recordings of his own and in",
        "conjunction with: Suren M. Seron, Scott Hanan, Steve Aupperle, Chris Gillman, Alex",
        "Taubr, Chris Prola, Andrew Klenk, Winfried Hubbe, Dylan, Tim, Gort, Uros Katic, Ethan",
        "Winer (http://www.ethanwiner.com).",
        "",
        "Permission is hereby granted, free of charge, to any person obtaining a copy of this",
        'software and associated documentation files (the "Software"), to deal in the Software',
        "without restriction, including without limitation the rights to use, copy, modify,",
        "merge, publish, distribute, sublicense, and/or sell copies of the Software, and to",
        "permit persons to whom the Software is furnished to do so, subject to the following",
        "conditions:",
        "",
        "The above copyright notice and this permission notice shall be included in all copies",
        "or substantial portions of the Software.",
        "",
        'THE SOFTWARE IS PROVIDED "AS IS", WITHOUT WARRANTY OF ANY KIND, EXPRESS OR IMPLIED,',
        "INCLUDING BUT NOT LIMITED TO THE WARRANTIES OF MERCHANTABILITY, FITNESS FOR A",
        "PARTICULAR PURPOSE AND NONINFRINGEMENT. IN NO EVENT SHALL THE AUTHORS OR COPYRIGHT",
        "HOLDERS BE LIABLE FOR ANY CLAIM, DAMAGES OR OTHER LIABILITY, WHETHER IN AN ACTION OF",
        "CONTRACT, TORT OR OTHERWISE, ARISING FROM, OUT OF OR IN CONNECTION WITH THE SOFTWARE",
        "OR THE USE OR OTHER DEALINGS IN THE SOFTWARE.",
        "",
    ]
    return "\n".join(lines)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--source", default=DEFAULT_SOURCE, help="FluidR3_GM.sf2")
    ap.add_argument("--out", default=DEFAULT_OUT, help="output .sf2 (licence file beside it)")
    ap.add_argument("--check", action="store_true",
                    help="build and compare with the existing output instead of writing")
    args = ap.parse_args()

    if not os.path.exists(args.source):
        print(f"error: {args.source} not found; install it with "
              "`apt-get install -y fluid-soundfont-gm`", file=sys.stderr)
        return 2
    with open(args.source, "rb") as f:
        raw = f.read()
    source_sha = hashlib.sha256(raw).hexdigest()
    if source_sha != EXPECTED_SOURCE_SHA256:
        print(f"warning: source SHA-256 {source_sha} differs from the one this script was made "
              f"with ({EXPECTED_SOURCE_SHA256}); the output may differ", file=sys.stderr)

    log = print
    log(f"reading {args.source}")
    source = read_sf2(raw)
    del raw
    log("extracting")
    sf = build(source, log)
    data = write_sf2(sf)
    verify(data, sf)
    licence = licence_text(sf, len(data), source_sha)
    out_licence = os.path.splitext(args.out)[0] + ".LICENSE"

    log(f"  {len(sf.presets)} presets, {len(sf.instruments)} instruments, "
        f"{len(sf.samples)} samples, {len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}")
    if len(data) > SIZE_BUDGET_BYTES:
        print(f"error: {len(data)} bytes is over the {SIZE_BUDGET_BYTES}-byte budget",
              file=sys.stderr)
        return 1
    if args.check:
        with open(args.out, "rb") as f:
            same = f.read() == data
        with open(out_licence, encoding="utf-8") as f:
            same = same and f.read() == licence
        log("up to date" if same else "differs from the committed file")
        return 0 if same else 1
    os.makedirs(os.path.dirname(os.path.abspath(args.out)), exist_ok=True)
    with open(args.out, "wb") as f:
        f.write(data)
    with open(out_licence, "w", encoding="utf-8", newline="\n") as f:
        f.write(licence)
    log(f"wrote {args.out} and {out_licence}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
