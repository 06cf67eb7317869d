"""Build the v2 ("notes2") multi-part training set. One command, deterministic for a seed.

    build/venv/bin/python build_data.py [--out build/data] [--seed 1234]

Sources (see DATA.md): MIDI files inside Debian packages (freedoom/freedm WAD lumps,
simutrans-data, planetblupi-music-midi, openttd-openmsx), MMA renders of a weighted
progression table through stdlib/pflib/alexis grooves (synthetic), our rule generator
(rulegen.py, synthetic), and the music21 corpus melodies used by v1. Installs nothing:
checks the Debian packages and Python modules and says what to install.

Writes to --out:
  {train,val}_tokens.npy   uint16, sequences back to back
  {train,val}_index.npy    int64 [n, 5]: start, length, prefix_len, num_bars, source index
  {train,val}_bars.npy     int64, absolute offset of every BAR token
  manifest.json            every source file: package, licence, path, sha256, pieces, bars, tokens
  meta.json                arguments, per-source totals, synthetic share, timings
  data_table.md            the DATA.md table for this build
A sequence = BOS globals header (BAR part-events)* EOS covering one segment of a piece
(--segment-bars bars); prefix_len = tokens before the first BAR.
"""
from __future__ import annotations

import argparse
import glob
import gzip
import hashlib
import io
import json
import os
import random
import re
import shutil
import struct
import subprocess
import sys
import tempfile
import time
from typing import Dict, List, Optional, Tuple

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokens as T  # noqa: E402
import progressions as P  # noqa: E402
import rulegen  # noqa: E402

DEFAULT_OUT = os.path.join(HERE, "build", "data")

# --------------------------------------------------------------------------- sources
# package -> licence as the package's copyright file states it, and whether we may ship the files
PACKAGES = {
    "freedoom": ("BSD-3-Clause", "train and ship"),
    "freedm": ("BSD-3-Clause", "train and ship"),
    "simutrans-data": ("Artistic-1.0", "train; ship only as separate data files"),
    "planetblupi-music-midi": ("GPL-3+", "train and ship"),
    "openttd-openmsx": ("GPL-2.0", "train; do not ship the files"),
    "mma": ("GPL-2+", "train; renders are ours"),
}

MIDI_SOURCES = [
    # name, package, glob or WAD files, default genre, kind
    ("freedoom", "freedoom", ["/usr/share/games/doom/freedoom1.wad", "/usr/share/games/doom/freedoom2.wad"], None, "wad"),
    ("freedm", "freedm", ["/usr/share/games/doom/freedm.wad"], None, "wad"),
    ("simutrans", "simutrans-data", ["/usr/share/games/simutrans/music/*.mid"], None, "midi"),
    ("planetblupi", "planetblupi-music-midi", ["/usr/share/planetblupi/music/*.mid"], "GAME", "midi"),
    ("openmsx", "openttd-openmsx", ["/usr/share/games/openttd/baseset/openmsx/*.mid"], None, "midi"),
]

# Genre words in file or lump names (lower case) -> GENRE tag.
NAME_GENRES = [("blues", "BLUES"), ("boogi", "BLUES"), ("rag", "RAGTIME"), ("swing", "SWING"),
               ("jazz", "JAZZ"), ("techno", "TECHNO"), ("house", "HOUSE"), ("rock", "ROCK"),
               ("funk", "FUNK"), ("samba", "LATIN"), ("latin", "LATIN"), ("reggae", "REGGAE"),
               ("metal", "METAL"), ("ambient", "AMBIENT"), ("country", "COUNTRY")]

# MMA library file -> GENRE (libraries stdlib, pflib, alexis only). stdlib files whose own
# documentation says they were converted from a commercial keyboard's preset (dsoul, jazzcombo,
# mellowjazz, broadway) are left out like the casio/yamaha/zoom/kara libraries.
MMA_FILES = {
    "stdlib/50srock": "ROCK", "stdlib/60srock": "ROCK", "stdlib/basicrock": "ROCK",
    "stdlib/bubblerock": "POP", "stdlib/folkrock": "ROCK", "stdlib/softrock": "POP",
    "stdlib/rock-128": "ROCK", "stdlib/rockballad": "BALLAD", "stdlib/8beat": "POP",
    "stdlib/twist": "ROCK", "stdlib/jazzrock": "FUNK", "stdlib/lfusion": "JAZZ",
    "stdlib/bvfunk": "FUNK", "stdlib/rb": "RNB", "stdlib/rb-ballad": "RNB", "stdlib/strut": "FUNK",
    "stdlib/ballad": "BALLAD", "stdlib/ballad128": "BALLAD", "stdlib/popballad": "BALLAD",
    "stdlib/pianoballad": "BALLAD", "stdlib/guitarballad": "BALLAD", "stdlib/stringballad": "BALLAD",
    "stdlib/swing": "SWING", "stdlib/fastswing": "SWING", "stdlib/easyswing": "SWING",
    "stdlib/bigband": "SWING", "stdlib/bebop": "JAZZ", "stdlib/jazzguitar": "JAZZ",
    "stdlib/modernjazz": "JAZZ", "stdlib/nitejazz": "JAZZ", "stdlib/slowjazz": "JAZZ",
    "stdlib/folkyjazz": "JAZZ", "stdlib/gypsyjazz": "JAZZ", "stdlib/evansish": "JAZZ",
    "stdlib/dixie": "JAZZ", "stdlib/charleston": "SWING", "stdlib/jive": "SWING",
    "stdlib/softshoe": "SWING", "stdlib/jazzwaltz": "JAZZ",
    "stdlib/blues": "BLUES", "stdlib/blues128": "BLUES", "stdlib/fastblues": "BLUES",
    "stdlib/slowblues": "BLUES", "stdlib/countryblues": "BLUES", "stdlib/shuffleboggie": "BLUES",
    "stdlib/boggiewoggie": "BLUES",
    "stdlib/bossanova": "BOSSA", "stdlib/samba": "LATIN", "stdlib/salsa": "LATIN",
    "stdlib/mambo": "LATIN", "stdlib/rhumba": "LATIN", "stdlib/jazzrhumba": "LATIN",
    "stdlib/chacha": "LATIN", "stdlib/merengue": "LATIN", "stdlib/son": "LATIN",
    "stdlib/afro-cuban": "LATIN", "stdlib/bolero": "LATIN", "stdlib/beguine": "LATIN",
    "stdlib/calypso": "LATIN", "stdlib/tango": "LATIN", "stdlib/cubanguitar": "LATIN",
    "stdlib/ska": "REGGAE", "stdlib/trance": "TRANCE", "stdlib/ragtime": "RAGTIME",
    "stdlib/bluegrass": "COUNTRY", "stdlib/westernswing": "COUNTRY", "stdlib/countryswing": "COUNTRY",
    "stdlib/slowcountry": "COUNTRY", "stdlib/hillcountry": "COUNTRY", "stdlib/zydeco": "COUNTRY",
    "pflib/16beat1": "POP", "pflib/16beat2": "POP", "pflib/8beat1": "POP", "pflib/8beat2": "POP",
    "pflib/highfive": "ROCK", "pflib/metal1": "METAL", "pflib/metal2": "METAL",
    "pflib/rock1": "ROCK", "pflib/slowrock": "BALLAD",
    "alexis/hiphop": "HIPHOP", "alexis/teamtechno": "TECHNO",
}
MMA_LIB = "/usr/share/mma/lib"
GENRE_BPM = {"POP": (90, 128), "ROCK": (100, 150), "METAL": (120, 170), "BALLAD": (60, 84),
             "FUNK": (92, 116), "RNB": (68, 100), "JAZZ": (100, 200), "SWING": (120, 220),
             "BLUES": (76, 140), "LATIN": (90, 130), "BOSSA": (120, 150), "REGGAE": (100, 150),
             "TRANCE": (130, 140), "HIPHOP": (84, 98), "TECHNO": (124, 134), "COUNTRY": (100, 160),
             "RAGTIME": (90, 120)}
GENRE_PROG = {"JAZZ": ("jazz",), "SWING": ("jazz", "blues"), "BOSSA": ("jazz",), "RAGTIME": ("jazz", "pop"),
              "BLUES": ("blues",), "FUNK": ("groove",), "RNB": ("groove", "pop"),
              "HIPHOP": ("groove",), "TECHNO": ("groove",), "ROCK": ("pop", "rock", "blues"),
              "METAL": ("pop", "rock")}
# MMA track type (the name before '-') -> role
MMA_TRACK_ROLES = {"DRUM": "DRUMS", "BASS": "BASS", "WALK": "BASS", "CHORD": "CHORDS",
                   "PLECTRUM": "CHORDS", "ARPEGGIO": "ARP", "SCALE": "ARP", "ARIA": "ARP",
                   "SOLO": "LEAD", "MELODY": "LEAD"}

M21_GENRE = {"bach-chorales": "CHORALE"}


# --------------------------------------------------------------------------- checks
def dpkg_version(pkg: str) -> Optional[str]:
    try:
        r = subprocess.run(["dpkg-query", "-W", "-f=${Status}\t${Version}", pkg],
                           capture_output=True, text=True)
    except FileNotFoundError:
        return None
    if r.returncode != 0 or "install ok installed" not in r.stdout:
        return None
    return r.stdout.split("\t")[1]


def check_environment(skip_m21: bool) -> Dict[str, str]:
    versions, missing = {}, []
    for pkg in PACKAGES:
        v = dpkg_version(pkg)
        if v is None:
            missing.append(pkg)
        versions[pkg] = v
    if missing or not shutil.which("mma"):
        print("missing Debian packages; run:\n  apt-get install -y " + " ".join(missing or ["mma"]), file=sys.stderr)
        sys.exit(2)
    mods = ["mido", "numpy"] + ([] if skip_m21 else ["music21"])
    bad = []
    for m in mods:
        try:
            __import__(m)
        except ImportError:
            bad.append(m)
    if bad:
        print(f"missing Python modules {bad}; run:\n  pip install -r {os.path.join(HERE, 'requirements.txt')}",
              file=sys.stderr)
        sys.exit(2)
    from importlib.metadata import version
    for m in mods:
        versions[m] = version(m)
    return versions


# --------------------------------------------------------------------------- WAD
def wad_midi_lumps(path: str) -> List[Tuple[str, bytes]]:
    """(lump name, bytes) of every music lump D_* that holds a Standard MIDI File."""
    with open(path, "rb") as f:
        data = f.read()
    ident, nlumps, diroff = struct.unpack_from("<4sii", data, 0)
    if ident not in (b"IWAD", b"PWAD"):
        raise ValueError(f"{path}: not a WAD")
    out = []
    for i in range(nlumps):
        pos, size, raw = struct.unpack_from("<ii8s", data, diroff + 16 * i)
        name = raw.split(b"\0", 1)[0].decode("ascii", "replace")
        if name.startswith("D_") and size > 14 and data[pos:pos + 4] == b"MThd":
            out.append((name, data[pos:pos + size]))
    return out


# --------------------------------------------------------------------------- MIDI -> piece
def _tolerant_mido():
    """Some files carry key signatures mido refuses (KeySignatureError); we never use them."""
    from mido.midifiles import meta
    spec = meta.MetaSpec_key_signature
    if getattr(spec, "_notes2_tolerant", False):
        return
    orig = spec.decode

    def decode(self, message, data):
        try:
            orig(self, message, data)
        except meta.KeySignatureError:
            message.key = "C"
    spec.decode = decode
    spec._notes2_tolerant = True


def read_midi(data: bytes) -> dict:
    """SMF bytes -> {ppq, tracks: [{name, channel, program, notes[(s, e, p, v)]}], ts, tempo}."""
    import mido
    _tolerant_mido()
    mf = mido.MidiFile(file=io.BytesIO(data), clip=True)
    if mf.type == 2:
        raise ValueError("type 2 MIDI")
    ppq = mf.ticks_per_beat
    events = []
    for ti, tr in enumerate(mf.tracks):
        t = 0
        name = ""
        for k, msg in enumerate(tr):
            t += msg.time
            if msg.type == "track_name" and not name:
                name = msg.name
            events.append((t, ti, k, msg))
        events.append((-1, ti, -1, ("name", name)))
    names = {ti: m[1] for t, ti, k, m in events if t == -1}
    events = [e for e in events if e[0] >= 0]
    events.sort(key=lambda e: (e[0], e[1], e[2]))
    program = [0] * 16
    open_: Dict[tuple, list] = {}
    groups: Dict[tuple, list] = {}
    ts_changes, tempo = [], None
    for t, ti, _, msg in events:
        typ = msg.type
        if typ == "time_signature":
            if ts_changes and ts_changes[-1][0] == t:
                ts_changes[-1] = (t, msg.numerator, msg.denominator)
            else:
                ts_changes.append((t, msg.numerator, msg.denominator))
        elif typ == "set_tempo" and tempo is None:
            tempo = msg.tempo
        elif typ == "program_change":
            program[msg.channel] = msg.program
        elif typ == "note_on" and msg.velocity > 0:
            open_.setdefault((ti, msg.channel, msg.note), []).append((t, msg.velocity, program[msg.channel]))
        elif typ == "note_off" or (typ == "note_on" and msg.velocity == 0):
            st = open_.get((ti, msg.channel, msg.note))
            if st:
                s, v, prog = st.pop(0)
                groups.setdefault((ti, msg.channel, prog), []).append((s, t, msg.note, v))
    tracks = [{"name": names.get(ti, ""), "channel": ch, "program": prog, "notes": sorted(ns)}
              for (ti, ch, prog), ns in sorted(groups.items()) if ns]
    if not ts_changes or ts_changes[0][0] > 0:
        ts_changes.insert(0, (0, 4, 4))
    bpm = 60_000_000 / tempo if tempo else 120.0
    return {"ppq": ppq, "tracks": tracks, "ts": ts_changes, "bpm": bpm}


def _poly_median(notes) -> int:
    onsets = sorted({n[0] for n in notes})
    if not onsets:
        return 0
    ends = sorted(notes)
    counts = []
    # count notes sounding at each onset (O(n * k) but k small: sort by start, sweep)
    import bisect
    starts = [n[0] for n in ends]
    for t in onsets:
        i = bisect.bisect_right(starts, t)
        lo = max(0, i - 64)
        counts.append(sum(1 for n in ends[lo:i] if n[0] + n[1] > t))
    counts.sort()
    return counts[(len(counts) - 1) // 2]


def assign_role(track: dict, grid_notes, mma: bool) -> str:
    """Role of one source track (TOKENS.md "Roles"): channel 10 -> DRUMS; MMA track names;
    else GM program family, register, polyphony, note length and rhythm regularity."""
    if track["channel"] == 9:
        return "DRUMS"
    if mma:
        kind = track["name"].split("-", 1)[0].upper()
        if kind in MMA_TRACK_ROLES:
            role = MMA_TRACK_ROLES[kind]
            if role == "CHORDS":
                mean_dur = sum(n[1] for n in grid_notes) / len(grid_notes)
                if mean_dur >= 2 * T.TPB and track["program"] in set(range(48, 56)) | set(range(88, 96)) | set(range(16, 24)):
                    return "PAD"
            return role
    prog = track["program"]
    n = len(grid_notes)
    mean_pitch = sum(x[2] for x in grid_notes) / n
    mean_dur = sum(x[1] for x in grid_notes) / n
    poly = _poly_median(grid_notes)
    if 32 <= prog <= 39 and mean_pitch < 60:
        return "BASS"
    if poly <= 1 and mean_pitch < 50:
        return "BASS"
    padish = prog in set(range(48, 56)) | set(range(88, 96)) | set(range(16, 24)) | set(range(40, 48))
    if poly >= 2:
        if mean_dur >= 2 * T.TPB and (padish or mean_dur >= 4 * T.TPB):
            return "PAD"
        return "CHORDS"
    if 80 <= prog <= 87:
        return "LEAD"
    onsets = sorted({x[0] for x in grid_notes})
    if len(onsets) >= 16:
        iois = [b - a for a, b in zip(onsets, onsets[1:]) if b - a <= T.TPB]
        span_beats = max(1, (onsets[-1] - onsets[0]) / T.TPB)
        if iois:
            mode = max(set(iois), key=iois.count)
            share = iois.count(mode) / (len(onsets) - 1)
            if share >= 0.7 and mode <= T.TPB // 2 and len(onsets) / span_beats >= 1.5 and mean_dur <= T.TPB // 2:
                pitches = {x[2] for x in grid_notes}
                if len(pitches) >= 3:
                    return "ARP"
    return "LEAD"


def midi_to_piece(raw: dict, mma: bool = False) -> Optional[dict]:
    """Longest section with one supported meter -> {ts, bpm, parts{role: grid notes}, num_bars, roles_src}."""
    ppq = raw["ppq"]
    changes = raw["ts"]
    last_end = max((n[1] for tr in raw["tracks"] for n in tr["notes"]), default=0)
    best = None
    for i, (t0, num, den) in enumerate(changes):
        t1 = changes[i + 1][0] if i + 1 < len(changes) else last_end + 1
        try:
            L = T.bar_length_ticks(num, den)
        except ValueError:
            continue
        bar_src = num * 4 * ppq // den
        if bar_src <= 0:
            continue
        nb = (t1 - t0) // bar_src if i + 1 < len(changes) else -(-(t1 - t0) // bar_src)
        if best is None or nb > best[3]:
            best = (t0, num, den, nb, L)
    if best is None or best[3] < 2:
        return None
    t0, num, den, nb, L = best
    t_end = t0 + nb * num * 4 * ppq // den
    parts: Dict[str, list] = {}
    roles_src = []
    for tr in raw["tracks"]:
        ns = [(s - t0, e - t0, p, v) for s, e, p, v in tr["notes"] if t0 <= s < t_end]
        if len(ns) < 4:
            continue
        g = T.quantize_notes(ns, ppq)
        role = assign_role(tr, g, mma)
        roles_src.append((tr["name"], tr["channel"], tr["program"], role, len(g)))
        parts.setdefault(role, []).extend(g)
    if not parts:
        return None
    return {"ts": (num, den), "bpm": raw["bpm"], "parts": parts, "num_bars": nb, "roles_src": roles_src}


# --------------------------------------------------------------------------- tokenization
def transpose_parts(parts, semis):
    if semis == 0:
        return parts
    return {r: (ns if r == "DRUMS" else [(s, d, p + semis, v) for s, d, p, v in ns]) for r, ns in parts.items()}


def segment_sequences(piece: dict, seg_bars: int, offset: int, semis: int, rng: random.Random,
                      tag_dropout: float, attr_dropout: float) -> List[Tuple[List[int], int, int]]:
    """Tokenize a piece as segments of seg_bars bars starting at bar `offset` (and a first
    partial segment before it). Returns [(ids, prefix_len, num_bars)]."""
    num, den = piece["ts"]
    L = T.bar_length_ticks(num, den)
    norm = T.normalize_piece(transpose_parts(piece["parts"], semis))
    nb = piece["num_bars"]
    key = piece.get("key")
    out = []
    bounds = list(range(offset % seg_bars, nb, seg_bars))
    if not bounds or bounds[0] != 0:
        bounds = [0] + bounds
    for bi, b0 in enumerate(bounds):
        b1 = min(nb, bounds[bi + 1] if bi + 1 < len(bounds) else b0 + seg_bars)
        if b1 - b0 < 2:
            continue
        seg = {}
        for r, ns in norm.items():
            sel = [(s - b0 * L, d, p, v) for s, d, p, v in ns if b0 * L <= s < b1 * L]
            if sel:
                seg[r] = sel
        if not seg:
            continue
        active = {s // L for ns in seg.values() for s, _, _, _ in ns}
        if len(active) * 2 < (b1 - b0):
            continue
        tags = []
        if piece.get("genre"):
            tags.append("GENRE_" + piece["genre"])
        tsn = T.ts_name(num, den)
        if tsn:
            tags.append(tsn)
        tags.append(T.tempo_name(piece["bpm"]))
        if key is not None and any(r != "DRUMS" for r in seg):
            tags.append(T.key_name(key[0] + semis, key[1]))
        tags = [t for t in tags if rng.random() >= tag_dropout]
        header = []
        for r in T.ROLES:
            if r in seg:
                attrs = T.derive_part_attrs(r, seg[r], num, den, b1 - b0)
                attrs = [a for a in attrs if rng.random() >= attr_dropout]
                header.append((r, attrs))
        prefix = T.encode_header(num, den, tags, header)
        ids = list(prefix)
        for bar in T.encode_bars(seg, num, den, b1 - b0):
            ids += bar
        ids.append(T.EOS)
        out.append((ids, len(prefix), b1 - b0))
    return out


# --------------------------------------------------------------------------- MMA
def mma_grooves() -> Dict[str, dict]:
    """lib file -> {genre, time, grooves: [names]} for the allowed files that exist."""
    out = {}
    for f, genre in sorted(MMA_FILES.items()):
        path = os.path.join(MMA_LIB, f + ".mma")
        if not os.path.exists(path):
            continue
        time_ = None
        grooves = []
        with open(path, encoding="latin-1") as fh:
            for line in fh:
                s = line.split("//", 1)[0].strip()
                m = re.match(r"(?i)^time\s+(\d+)", s)
                if m:
                    time_ = int(m.group(1))
                m = re.match(r"(?i)^defgroove\s+(\S+)", s)
                if m and time_ in (3, 4):
                    grooves.append((m.group(1), time_))
        if grooves:
            out[f] = {"genre": genre, "grooves": grooves}
    return out


def _mma_variants(name: str, names: set, lib: str):
    if lib == "pflib":
        base = name[:-1]
        return {"fill": base + "F" + name[-1], "end": base + "E", "b": base + "B"}
    return {"fill": name + "Fill", "end": name + "End", "intro": name + "Intro", "sus": name + "Sus",
            "plus": name + "Plus"}


def mma_job(i: int, seed: int, grooves: Dict[str, dict]) -> dict:
    rng = random.Random(f"{seed}:mma:{i}")
    files = sorted(grooves)
    # weight genres evenly, then files within a genre
    genres = sorted({grooves[f]["genre"] for f in files})
    genre = rng.choice(genres)
    f = rng.choice([x for x in files if grooves[x]["genre"] == genre])
    lib = f.split("/")[0]
    allg = grooves[f]["grooves"]
    names = {g for g, _ in allg}
    mains = [(g, t) for g, t in allg if not re.search(r"(?i)(intro|end|fill|metronome)", g)
             and not (lib == "pflib" and re.search(r"(FA|FB|E)$", g))]
    main, beats = rng.choice(mains)
    var = {k: v for k, v in _mma_variants(main, names, lib).items() if v in names}
    fams = GENRE_PROG.get(genre, ("pop",))
    pname, mode, prog = P.pick(rng, fams)
    tonic = rng.randrange(12)
    lo, hi = GENRE_BPM.get(genre, (90, 130))
    bpm = rng.randint(lo, hi)
    reps = max(1, round(rng.choice((12, 16, 16, 24)) / len(prog)))
    bars = [bar for _ in range(reps) for bar in prog]
    # RndSeed makes MMA's own randomisation (RTime, RVolume, RSkip, ...) reproducible.
    lines = [f"// Continuo notes2 render {i}: {f} {main} {pname}", f"RndSeed {rng.randrange(1, 2**31)}",
             f"Use {f}", f"Tempo {bpm}"]
    cur = None
    for b, chords in enumerate(bars):
        g = main
        if b == 0 and "intro" in var and rng.random() < 0.25:
            g = var["intro"]
        elif b == len(bars) - 1 and "end" in var and rng.random() < 0.5:
            g = var["end"]
        elif (b + 1) % 8 == 0 and "fill" in var and rng.random() < 0.6:
            g = var["fill"]
        elif b >= len(bars) // 2:
            alt = [var[k] for k in ("sus", "plus", "b") if k in var]
            if alt and (b == len(bars) // 2) and rng.random() < 0.5:
                main = rng.choice(alt)
            g = main
        if g != cur:
            lines.append(f"Groove {g}")
            cur = g
        if beats == 4 and len(chords) == 2:
            cs = f"{P.chord_name(tonic, chords[0])} / {P.chord_name(tonic, chords[1])} /"
        else:
            cs = P.chord_name(tonic, chords[0])
        lines.append(f"{b + 1} {cs}")
    return {"id": f"mma/{i:05d}", "file": f, "groove": main, "genre": genre, "progression": pname,
            "key": (tonic, mode == "minor"), "bpm": bpm, "text": "\n".join(lines) + "\n"}


def render_mma(job: dict, tmp: str) -> Optional[bytes]:
    src = os.path.join(tmp, "r.mma")
    out = os.path.join(tmp, "r.mid")
    with open(src, "w") as f:
        f.write(job["text"])
    if os.path.exists(out):
        os.remove(out)
    r = subprocess.run(["mma", src, "-f", out], capture_output=True, text=True, cwd=tmp)
    if r.returncode != 0 or not os.path.exists(out):
        return None
    with open(out, "rb") as f:
        return f.read()


# --------------------------------------------------------------------------- music21
def m21_pieces(cache_dir: str, max_files: int, seed: int, log) -> List[dict]:
    """v1's parser (models/notes/dataset.py) on a seeded subset of its collections; chorale
    voices become LEAD (soprano), CHORDS (alto, tenor) and BASS; folk tunes are LEAD."""
    D1 = _load_v1_dataset()      # v1 parser: COLLECTIONS, list_jobs, _parse_job, DEFAULT_BPM
    import music21
    path = os.path.join(cache_dir, f"m21-v1parse-{music21.__version__}-n{max_files}-s{seed}.jsonl.gz")
    if os.path.exists(path):
        with gzip.open(path, "rt") as f:
            recs = [json.loads(line) for line in f]
    else:
        jobs = D1.list_jobs()
        rng = random.Random(f"{seed}:m21")
        rng.shuffle(jobs)
        jobs = sorted(jobs[:max_files])
        recs = []
        t0 = time.time()
        for i, job in enumerate(jobs):
            for r in D1._parse_job(job):
                if "skip" in r:
                    continue
                r["voice_counts"] = None
                if job[0] == "bach-chorales":
                    r["voice_counts"] = _chorale_voice_counts(job[1])
                recs.append(r)
            if i % 20 == 0:
                log(f"  music21: {i + 1}/{len(jobs)} files, {len(recs)} pieces, {time.time() - t0:.0f}s")
        if not recs:
            raise SystemExit("music21: no piece parsed (see models/notes/dataset.py); use --skip-m21")
        os.makedirs(cache_dir, exist_ok=True)
        with gzip.open(path + ".tmp", "wt") as f:
            for r in recs:
                f.write(json.dumps(r) + "\n")
        os.replace(path + ".tmp", path)
    pieces = []
    for r in recs:
        num, den = r["ts"]
        notes = [(s * 3, d * 3, p, v) for s, d, p, v in r["notes"]]     # 1/16 grid -> 12 per quarter
        parts: Dict[str, list] = {}
        vc = r.get("voice_counts")
        if vc and sum(vc) == len(notes) and len(vc) == 4:
            k = 0
            for vi, c in enumerate(vc):
                role = "LEAD" if vi == 0 else ("BASS" if vi == 3 else "CHORDS")
                parts.setdefault(role, []).extend(notes[k:k + c])
                k += c
        else:
            parts["LEAD"] = notes
        L = T.bar_length_ticks(num, den)
        nb = max(n[0] for n in notes) // L + 1
        bpm = r.get("bpm") or D1.DEFAULT_BPM.get(r["style"], 100)
        pieces.append({"id": r["id"], "ts": (num, den), "bpm": bpm, "parts": parts, "num_bars": nb,
                       "key": tuple(r["key"]) if r.get("key") else None,
                       "genre": M21_GENRE.get(r["collection"], "FOLK"), "collection": r["collection"]})
    return pieces


def _load_v1_dataset():
    """Import models/notes/dataset.py with *its* tokens.py (v1), not this folder's."""
    import importlib.util
    v1 = os.path.join(HERE, "..", "notes")
    saved = sys.modules.get("tokens")
    spec = importlib.util.spec_from_file_location("notes_v1_tokens", os.path.join(v1, "tokens.py"))
    t1 = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(t1)
    sys.modules["tokens"] = t1
    try:
        spec = importlib.util.spec_from_file_location("notes_v1_dataset", os.path.join(v1, "dataset.py"))
        d1 = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(d1)
    finally:
        sys.modules["tokens"] = saved
    return d1


def _chorale_voice_counts(path: str) -> Optional[List[int]]:
    """Notes per part, counted the way v1's score_to_record appends them (so the merged list
    can be cut back into voices)."""
    from music21 import converter, corpus
    try:
        work = corpus.getWork(path)
        work = work if isinstance(work, list) else [work]
        files = [str(f) for f in work if str(f).endswith((".mxl", ".xml", ".musicxml"))]
        s = converter.parse(files[0]).stripTies()
    except Exception:  # noqa: BLE001
        return None
    out = []
    for part in s.parts:
        c = 0
        for el in part.flatten().notes:
            if el.duration.isGrace or el.duration.quarterLength <= 0:
                continue
            c += len(el.pitches)
        out.append(c)
    return out


# --------------------------------------------------------------------------- build
class Writer:
    def __init__(self):
        self.tokens: List[int] = []
        self.index: List[tuple] = []
        self.bars: List[int] = []

    def add(self, ids, plen, nbars, src_idx):
        start = len(self.tokens)
        self.index.append((start, len(ids), plen, nbars, src_idx))
        self.bars.extend(start + i for i, t in enumerate(ids) if t == T.BAR)
        self.tokens.extend(ids)

    def save(self, out, split):
        import numpy as np
        np.save(os.path.join(out, f"{split}_tokens.npy"), np.asarray(self.tokens, dtype=np.uint16))
        np.save(os.path.join(out, f"{split}_index.npy"), np.asarray(self.index, dtype=np.int64).reshape(-1, 5))
        np.save(os.path.join(out, f"{split}_bars.npy"), np.asarray(self.bars, dtype=np.int64))


def piece_split(ids: List[str], seed: int, frac: float) -> set:
    """Validation ids: a seeded shuffle of the sorted ids, round(n * frac) of them (>= 1 if n >= 10)."""
    ids = sorted(ids)
    rng = random.Random(f"{seed}:split:{len(ids)}:{ids[0] if ids else ''}")
    rng.shuffle(ids)
    n = int(round(len(ids) * frac))
    if n == 0 and len(ids) >= 10:
        n = 1
    return set(ids[:n])


def build(args) -> dict:
    t_start = time.time()
    log = lambda m: print(m, flush=True)  # noqa: E731
    versions = check_environment(args.skip_m21)
    os.makedirs(args.out, exist_ok=True)
    writers = {"train": Writer(), "val": Writer()}
    manifest: List[dict] = []          # one entry per source file / generated piece
    sources: List[str] = []            # source names, index stored per sequence
    seen_sha = {}
    totals: Dict[str, dict] = {}
    licences: Dict[str, str] = {}

    def tally(src, split, ids, nbars):
        t = totals.setdefault(src, {"pieces": set(), "train_tokens": 0, "val_tokens": 0, "bars": 0,
                                    "train_sequences": 0, "val_sequences": 0})
        t[f"{split}_tokens"] += len(ids)
        t[f"{split}_sequences"] += 1

    def emit(src: str, piece: dict, split: str, copies: int, entry: dict):
        if src not in sources:
            sources.append(src)
        si = sources.index(src)
        prng = random.Random(f"{args.seed}:{piece['id']}")
        pitched = [p for r, ns in piece["parts"].items() if r != "DRUMS" for _, _, p, _ in ns]
        if split == "val" or copies <= 1 or not pitched:
            shifts = [0]
        else:
            lo, hi = min(pitched), max(pitched)
            cand = [s for s in range(-5, 7) if s != 0 and lo + s >= T.PITCH_MIN and hi + s <= T.PITCH_MAX]
            prng.shuffle(cand)
            shifts = [0] + cand[:copies - 1]
        ntok = 0
        for ci, s in enumerate(shifts):
            offset = 0 if split == "val" else (ci * 4) % args.segment_bars
            td = 0.0 if split == "val" else args.tag_dropout
            ad = 0.0 if split == "val" else args.attr_dropout
            for ids, plen, nb in segment_sequences(piece, args.segment_bars, offset, s, prng, td, ad):
                writers[split].add(ids, plen, nb, si)
                tally(src, split, ids, nb)
                ntok += len(ids)
        licences[src] = entry["licence"]
        t = totals[src] if src in totals else None
        if t is not None:
            t["pieces"].add(piece["id"])
            if ntok:
                t["bars"] += piece["num_bars"]
        entry.update({"piece": piece["id"], "split": split, "bars": piece["num_bars"], "tokens": ntok,
                      "copies": len(shifts), "parts": {r: len(ns) for r, ns in piece["parts"].items()}})
        manifest.append(entry)
        return ntok

    # ---------------- real MIDI
    real_pieces = []
    for name, pkg, globs, genre_default, kind in MIDI_SOURCES:
        files = []
        for g in globs:
            files += sorted(glob.glob(g))
        items = []
        for f in files:
            if kind == "wad":
                for lump, data in wad_midi_lumps(f):
                    items.append((f"{os.path.basename(f)}:{lump}", f, data))
            else:
                with open(f, "rb") as fh:
                    items.append((os.path.basename(f), f, fh.read()))
        for label, path, data in items:
            sha = hashlib.sha256(data).hexdigest()
            entry = {"source": name, "package": pkg, "package_version": versions.get(pkg),
                     "licence": PACKAGES[pkg][0], "use": PACKAGES[pkg][1], "path": path, "item": label,
                     "sha256": sha, "synthetic": False}
            if sha in seen_sha:
                entry.update({"skip": f"duplicate of {seen_sha[sha]}"})
                manifest.append(entry)
                continue
            seen_sha[sha] = f"{name}/{label}"
            try:
                piece = midi_to_piece(read_midi(data))
            except Exception as e:  # noqa: BLE001
                entry["skip"] = f"unreadable: {e!r}"[:160]
                manifest.append(entry)
                continue
            if piece is None:
                entry["skip"] = "no usable section"
                manifest.append(entry)
                continue
            low = label.lower()
            genre = next((g for w, g in NAME_GENRES if w in low), genre_default)
            piece.update({"id": f"{name}/{label}", "genre": genre, "key": T.estimate_key(piece["parts"])})
            entry["roles"] = piece.pop("roles_src")
            real_pieces.append((name, piece, entry))
    val_ids = set()
    for name, *_ in MIDI_SOURCES:       # split by piece, within each source
        val_ids |= piece_split([p["id"] for n, p, _ in real_pieces if n == name], args.seed, args.val_fraction)
    real_tokens = 0
    for name, piece, entry in real_pieces:
        split = "val" if piece["id"] in val_ids else "train"
        n = emit(name, piece, split, args.transpositions, entry)
        if split == "train":
            real_tokens += n
    log(f"real MIDI: {len(real_pieces)} pieces, {real_tokens} train tokens, {time.time() - t_start:.0f}s")

    # ---------------- music21 melodies (real, not synthetic)
    m21_tokens = 0
    if not args.skip_m21:
        pieces = m21_pieces(os.path.join(os.path.dirname(args.out), "cache"), args.m21_files, args.seed, log)
        vids = piece_split([p["id"] for p in pieces], args.seed, args.val_fraction)
        budget = args.m21_share * real_tokens / max(1e-9, 1 - args.m21_share) if args.m21_share < 1 else 1e18
        for p in sorted(pieces, key=lambda p: hashlib.sha256(f"{args.seed}:{p['id']}".encode()).hexdigest()):
            split = "val" if p["id"] in vids else "train"
            if split == "train" and m21_tokens >= budget:
                continue
            entry = {"source": "music21", "package": "music21 (PyPI)", "package_version": versions.get("music21"),
                     "licence": "public domain (music21 corpus, see models/notes/DATA.md)",
                     "use": "train and ship", "path": p["id"], "synthetic": False}
            n = emit("music21-" + p["collection"], p, split, args.m21_transpositions, entry)
            if split == "train":
                m21_tokens += n
        log(f"music21: {m21_tokens} train tokens, {time.time() - t_start:.0f}s")

    # ---------------- synthetic: MMA renders and rule generator
    real_all = real_tokens + m21_tokens
    synth_budget = args.synthetic_share * real_all / (1 - args.synthetic_share)
    mma_budget = synth_budget * args.mma_fraction
    rule_budget = synth_budget - mma_budget
    grooves = mma_grooves()
    mma_tokens, i = 0, 0
    tmp = tempfile.mkdtemp(prefix="notes2-mma-")
    mma_ver = versions.get("mma")
    t_mma = time.time()
    while mma_tokens < mma_budget and i < args.max_synthetic_pieces:
        job = mma_job(i, args.seed, grooves)
        i += 1
        entry = {"source": "mma", "package": "mma", "package_version": mma_ver, "licence": PACKAGES["mma"][0],
                 "use": PACKAGES["mma"][1], "path": os.path.join(MMA_LIB, job["file"] + ".mma"),
                 "groove": job["groove"], "progression": job["progression"], "synthetic": True}
        data = render_mma(job, tmp)
        if data is None:
            entry["skip"] = "mma failed"
            manifest.append(entry)
            continue
        piece = midi_to_piece(read_midi(data), mma=True)
        if piece is None:
            entry["skip"] = "no usable section"
            manifest.append(entry)
            continue
        entry["roles"] = piece.pop("roles_src")
        piece.update({"id": job["id"], "genre": job["genre"], "key": job["key"], "bpm": job["bpm"]})
        split = "val" if random.Random(f"{args.seed}:v:{job['id']}").random() < args.val_fraction else "train"
        n = emit("mma", piece, split, 1, entry)
        if split == "train":
            mma_tokens += n
    shutil.rmtree(tmp, ignore_errors=True)
    log(f"mma: {i} renders, {mma_tokens} train tokens, {time.time() - t_mma:.0f}s")
    rule_tokens, j = 0, 0
    while rule_tokens < rule_budget and j < args.max_synthetic_pieces:
        rng = random.Random(f"{args.seed}:rule:{j}")
        style = rulegen.STYLES[j % len(rulegen.STYLES)]
        g = rulegen.generate(style, rng)
        pid = f"rulegen/{j:05d}-{style.lower()}"
        j += 1
        parts = {r: T.quantize_notes(ns, g["ppq"]) for r, ns in g["parts"].items() if ns}
        piece = {"id": pid, "ts": g["ts"], "bpm": g["bpm"], "parts": parts, "num_bars": g["bars"],
                 "genre": g["genre"], "key": g["key"]}
        entry = {"source": "rulegen", "package": "continuo (models/notes2/rulegen.py)",
                 "licence": "ours (project licence)", "use": "train and ship", "path": pid,
                 "progression": g["progression"], "synthetic": True}
        split = "val" if random.Random(f"{args.seed}:v:{pid}").random() < args.val_fraction else "train"
        n = emit("rulegen", piece, split, 1, entry)
        if split == "train":
            rule_tokens += n
    log(f"rulegen: {j} pieces, {rule_tokens} train tokens")

    for split, w in writers.items():
        w.save(args.out, split)
    train_total = len(writers["train"].tokens)
    synth = mma_tokens + rule_tokens
    table = []
    for src in sources:
        t = totals.get(src)
        if not t:
            continue
        lic = licences.get(src, "")
        table.append({"source": src, "licence": lic, "pieces": len(t["pieces"]), "bars": t["bars"],
                      "train_tokens": t["train_tokens"], "val_tokens": t["val_tokens"],
                      "train_sequences": t["train_sequences"], "val_sequences": t["val_sequences"],
                      "share": round(t["train_tokens"] / max(1, train_total), 4),
                      "synthetic": src in ("mma", "rulegen")})
    meta = {"vocab_version": T.VOCAB_VERSION, "vocab_size": T.VOCAB_SIZE, "ticks_per_quarter": T.TPB,
            "args": {k: v for k, v in vars(args).items() if k != "out"}, "versions": versions,
            "sources": sources, "table": table,
            "train_tokens": train_total, "val_tokens": len(writers["val"].tokens),
            "train_sequences": len(writers["train"].index), "val_sequences": len(writers["val"].index),
            "synthetic_train_tokens": synth, "synthetic_share": round(synth / max(1, train_total), 4),
            "seconds": round(time.time() - t_start, 1)}
    with open(os.path.join(args.out, "manifest.json"), "w") as f:
        json.dump({"note": "every source file or generated piece, with its licence", "files": manifest}, f, indent=1)
    with open(os.path.join(args.out, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    with open(os.path.join(args.out, "data_table.md"), "w") as f:
        f.write(markdown_table(table, meta))
    return meta


def markdown_table(table, meta) -> str:
    lines = ["| source | licence | pieces | bars | train tokens (after augmentation) | val tokens | share of train | synthetic |",
             "|---|---|---:|---:|---:|---:|---:|---|"]
    for r in table:
        lines.append(f"| {r['source']} | {r['licence']} | {r['pieces']:,} | {r['bars']:,} | {r['train_tokens']:,} | "
                     f"{r['val_tokens']:,} | {100 * r['share']:.1f} % | {'yes' if r['synthetic'] else 'no'} |")
    lines.append(f"| **total** | | {sum(r['pieces'] for r in table):,} | {sum(r['bars'] for r in table):,} | "
                 f"{meta['train_tokens']:,} | {meta['val_tokens']:,} | 100 % | "
                 f"{100 * meta['synthetic_share']:.1f} % synthetic |")
    return "\n".join(lines) + "\n"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default=DEFAULT_OUT)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--val-fraction", type=float, default=0.06)
    ap.add_argument("--segment-bars", type=int, default=12, help="bars per training sequence (4 context + 8)")
    ap.add_argument("--transpositions", type=int, default=4, help="copies of each real training piece (incl. original)")
    ap.add_argument("--m21-transpositions", type=int, default=2)
    ap.add_argument("--m21-files", type=int, default=400, help="music21 corpus files parsed (seeded subset)")
    ap.add_argument("--m21-share", type=float, default=0.25, help="cap of music21 in the real training tokens")
    ap.add_argument("--skip-m21", action="store_true", help="leave the music21 melodies out (faster)")
    ap.add_argument("--synthetic-share", type=float, default=0.30, help="target share of synthetic training tokens")
    ap.add_argument("--mma-fraction", type=float, default=0.55, help="MMA's part of the synthetic tokens")
    ap.add_argument("--max-synthetic-pieces", type=int, default=20000)
    ap.add_argument("--tag-dropout", type=float, default=0.15)
    ap.add_argument("--attr-dropout", type=float, default=0.15)
    args = ap.parse_args(argv)
    meta = build(args)
    print(open(os.path.join(args.out, "data_table.md")).read())
    print(json.dumps({k: meta[k] for k in ("train_tokens", "val_tokens", "train_sequences", "val_sequences",
                                            "synthetic_share", "seconds")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
