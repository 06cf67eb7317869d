"""Build the "notes" training set from the music21 corpus (offline, reproducible).

Stage 1 (slow, cached): parse the chosen corpus collections (see DATA.md for why
exactly these) into notes on a 1/16 grid -> <cache>/parsed-v1.jsonl.gz
Stage 2: split by piece with a fixed seed, augment the training pieces
(transposition, tempo-bin jitter, velocity bin, tag dropout), tokenize with
tokens.py and write:

  <cache>/{train,val}_tokens.npy  uint16, all sequences concatenated
  <cache>/{train,val}_index.npy   int64 [n, 4]: start, length, prefix_len, num_bars
  <cache>/{train,val}_bars.npy    int64, absolute offsets of every BAR token
  <cache>/meta.json               arguments, counts, piece ids per split

A sequence is BOS tags BAR ... BAR ... EOS; prefix_len = 1 + number of tags.
Training windows are prefix + the tokens from a BAR on (see window helpers below).
"""
from __future__ import annotations

import argparse
import gzip
import hashlib
import json
import math
import os
import random
import sys
import time
from typing import Dict, List, Optional

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokens as T  # noqa: E402

DEFAULT_CACHE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", ".cache", "notes-data"))
PARSE_VERSION = 3

# collection -> (glob relative to the music21 corpus, style default, instrument)
COLLECTIONS = {
    "bach-chorales": ("chorales", "CHORALE", "CHOIR"),
    "ryansMammoth": ("ryansMammoth/*.abc", None, "STRINGS"),
    "oneills1850": ("oneills1850/*.abc", None, "STRINGS"),
    "airdsAirs": ("airdsAirs/*.abc", None, "WINDS"),
}

# Quarter-note BPM assumed when a piece has no metronome mark.
DEFAULT_BPM = {"CHORALE": 80, "FOLK": 100, "REEL": 200, "JIG": 174, "HORNPIPE": 150,
               "STRATHSPEY": 120, "WALTZ": 150, "MARCH": 112, "AIR": 66}


def style_from_rhythm(rhythm: str, title: str) -> str:
    r = (rhythm or "").lower()
    t = (title or "").lower()
    if "reel" in r:
        return "REEL"
    if "jig" in r or "slide" in r:
        return "JIG"
    if "hornpipe" in r or "clog" in r:
        return "HORNPIPE"
    if "strathspey" in r or "fling" in r:
        return "STRATHSPEY"
    if "waltz" in r or "waltz" in t:
        return "WALTZ"
    if "march" in r or "march" in t:
        return "MARCH"
    if "air" in r or "lament" in t:
        return "AIR"
    return "FOLK"


# ------------------------------------------------------------------ stage 1
def _abc_rhythms(path: str) -> Dict[int, str]:
    """X: number -> R: field of each tune in an ABC file (music21 drops R:)."""
    out, cur = {}, None
    with open(path, encoding="latin-1") as f:
        for line in f:
            if line.startswith("X:"):
                try:
                    cur = int(line[2:].strip().split()[0])
                except (ValueError, IndexError):
                    cur = None
            elif line.startswith("R:") and cur is not None:
                out[cur] = line[2:].strip()
    return out


def score_to_record(score, piece_id: str, collection: str, style: str, inst: str) -> Optional[dict]:
    """music21 Score -> {notes, ts, key, bpm, ...} or None (with a reason) if unusable."""
    from music21 import meter, tempo, key as m21key

    score = score.stripTies()
    parts = list(score.parts) or [score]
    tss = list(parts[0].recurse().getElementsByClass(meter.TimeSignature))
    if not tss:
        return {"skip": "no time signature", "id": piece_id}
    ts0 = tss[0]
    num, den = ts0.numerator, ts0.denominator
    try:
        bar_len = T.bar_length_16ths(num, den)
    except ValueError:
        return {"skip": f"meter {num}/{den}", "id": piece_id}
    measures = list(parts[0].getElementsByClass("Measure"))
    if len(measures) < 2:
        return {"skip": "too short", "id": piece_id}
    mlen = [int(round(m.duration.quarterLength * 4)) for m in measures]
    moff = [int(round(m.offset * 4)) for m in measures]
    # Align every full-length measure to the bar grid (pickups, uneven repeats).
    shifts = []
    anchor = None
    shift = 0
    for off, L in zip(moff, mlen):
        if L == bar_len:
            if anchor is None:
                anchor = off
            mis = (off + shift - anchor) % bar_len
            if mis:
                shift += bar_len - mis
        shifts.append(shift)
    if anchor is None:
        return {"skip": "no full measure", "id": piece_id}
    # Split bars (3+1 at a fermata, pickups before repeats) add no padding; a meter
    # change pads nearly every bar, so too much padding means the grid is wrong.
    if shift > 0.15 * (moff[-1] + mlen[-1]):
        return {"skip": "irregular measures (meter change?)", "id": piece_id}
    lead = math.ceil(anchor / bar_len) * bar_len - anchor

    def shift_at(t16: int) -> int:
        s = 0
        for off, sh in zip(moff, shifts):
            if off <= t16:
                s = sh
            else:
                break
        return s

    notes = []
    for part in parts:
        for el in part.flatten().notes:
            if el.duration.isGrace or el.duration.quarterLength <= 0:
                continue
            t = float(el.offset)
            s16 = int(round(t * 4))
            e16 = int(round((t + float(el.duration.quarterLength)) * 4))
            start = s16 + shift_at(s16) + lead
            dur = max(1, e16 - s16)
            pitches = [p.midi for p in el.pitches]
            for p in pitches:
                notes.append((start, dur, int(p), 84))
    notes = [n for n in notes if n[0] >= 0]
    if len(notes) < 8:
        return {"skip": "too few notes", "id": piece_id}
    # Key: an explicit Key (ABC K: with mode) else Krumhansl analysis.
    k = None
    for el in parts[0].recurse().getElementsByClass(m21key.Key):
        k = el
        break
    if k is None or k.mode not in ("major", "minor"):
        try:
            k = score.analyze("key")
        except Exception:  # noqa: BLE001 - analysis failure just means no key tag
            k = None
    key = None
    if k is not None and k.mode in ("major", "minor"):
        key = [k.tonic.pitchClass, 1 if k.mode == "minor" else 0]
    bpm = None
    for mm in score.recurse().getElementsByClass(tempo.MetronomeMark):
        q = mm.getQuarterBPM()
        if q:
            bpm = float(q)
            break
    return {"id": piece_id, "collection": collection, "style": style, "inst": inst,
            "ts": [num, den], "key": key, "bpm": bpm, "notes": notes,
            "title": (score.metadata.title if score.metadata else "") or ""}


def _parse_job(job):
    """One corpus file -> list of records (a file may hold many ABC tunes)."""
    collection, path = job
    from music21 import converter, corpus
    import warnings
    warnings.simplefilter("ignore")
    style_default, inst = COLLECTIONS[collection][1], COLLECTIONS[collection][2]
    out = []
    try:
        if collection == "bach-chorales":
            # Use the MusicXML encoding only: bach/ also holds three Humdrum files under a
            # CCARH copyright, and corpus.parse() would pick those first.
            work = corpus.getWork(path)
            work = work if isinstance(work, list) else [work]
            files = [str(f) for f in work if str(f).endswith((".mxl", ".xml", ".musicxml"))]
            if not files:
                return [{"skip": "no MusicXML encoding", "id": f"{collection}/{os.path.basename(path)}"}]
            scores = [(converter.parse(files[0]), path, None)]
        else:
            rhythms = _abc_rhythms(path)
            parsed = converter.parse(path)
            scs = list(parsed.scores) if hasattr(parsed, "scores") else [parsed]
            scores = []
            for i, s in enumerate(scs):
                num = s.metadata.number if s.metadata and s.metadata.number else i + 1
                scores.append((s, f"{path}#{num}", rhythms.get(int(num)) if str(num).isdigit() else None))
    except Exception as e:  # noqa: BLE001
        return [{"skip": f"parse error {e!r}"[:200], "id": path}]
    for s, pid, rhythm in scores:
        pid = f"{collection}/{os.path.basename(pid)}"
        style = style_default or style_from_rhythm(rhythm, s.metadata.title if s.metadata else "")
        try:
            rec = score_to_record(s, pid, collection, style, inst)
        except Exception as e:  # noqa: BLE001
            rec = {"skip": f"error {e!r}"[:200], "id": pid}
        out.append(rec)
    return out


def list_jobs() -> List[tuple]:
    import glob
    import music21
    from music21 import corpus
    base = os.path.join(os.path.dirname(music21.__file__), "corpus")
    jobs = []
    for coll, (pattern, _, _) in COLLECTIONS.items():
        if pattern == "chorales":
            jobs += [(coll, f) for f in corpus.chorales.Iterator(returnType="filename")]
        else:
            jobs += [(coll, f) for f in sorted(glob.glob(os.path.join(base, pattern)))]
    return jobs


def parse_corpus(cache: str, workers: int, limit: Optional[int]) -> List[dict]:
    import music21
    path = os.path.join(cache, f"parsed-v{PARSE_VERSION}-m21-{music21.__version__}"
                        + (f"-limit{limit}" if limit else "") + ".jsonl.gz")
    if os.path.exists(path):
        with gzip.open(path, "rt") as f:
            return [json.loads(line) for line in f]
    jobs = list_jobs()
    if limit:
        rng = random.Random(0)
        rng.shuffle(jobs)
        jobs = sorted(jobs[:limit])
    t0 = time.time()
    recs: List[dict] = []
    if workers > 1:
        import multiprocessing as mp
        with mp.get_context("fork").Pool(workers) as pool:
            for i, rs in enumerate(pool.imap(_parse_job, jobs, chunksize=1)):
                recs += rs
                if i % 25 == 0:
                    print(f"  parsed {i + 1}/{len(jobs)} files, {len(recs)} tunes, {time.time() - t0:.0f}s", flush=True)
    else:
        for i, j in enumerate(jobs):
            recs += _parse_job(j)
            if i % 25 == 0:
                print(f"  parsed {i + 1}/{len(jobs)} files, {len(recs)} tunes, {time.time() - t0:.0f}s", flush=True)
    os.makedirs(cache, exist_ok=True)
    tmp = path + ".tmp"
    with gzip.open(tmp, "wt") as f:
        for r in recs:
            f.write(json.dumps(r) + "\n")
    os.replace(tmp, path)
    return recs


# ------------------------------------------------------------------ stage 2
def piece_tags(rec: dict, notes, semitones: int, bpm: float, drop: set) -> List[str]:
    num, den = rec["ts"]
    tags = [f"STYLE_{rec['style']}", f"INST_{rec['inst']}"]
    tags += T.derive_tags(notes, num, den)
    if rec.get("key"):
        pc, minor = rec["key"]
        tags.append(T.NAMES[T.key_token(pc + semitones, bool(minor))])
    ts = T.ts_token(num, den)
    if ts is not None:
        tags.append(T.NAMES[ts])
    tags.append(T.NAMES[T.tempo_token(bpm)])
    return [t for t in tags if t.split("_", 1)[0] not in drop]


def tokenize_piece(rec: dict, semitones: int, bpm: float, vel: int, drop: set):
    num, den = rec["ts"]
    notes = [(s, d, p + semitones, vel) for s, d, p, _ in rec["notes"]]
    tags = piece_tags(rec, notes, semitones, bpm, drop)
    prefix = [T.BOS] + T.order_tags(tags)
    bars = T.encode_bars(notes, num, den)
    seq = list(prefix)
    bar_offsets = []
    for b in bars:
        bar_offsets.append(len(seq))
        seq += b
    seq.append(T.EOS)
    return seq, len(prefix), bar_offsets


def build(args) -> dict:
    t0 = time.time()
    recs = parse_corpus(args.cache, args.workers, args.limit)
    skipped = [r for r in recs if "skip" in r]
    pieces = sorted((r for r in recs if "skip" not in r), key=lambda r: r["id"])
    # Drop exact duplicates (same notes) so one tune cannot sit in both splits.
    seen, uniq = set(), []
    for r in pieces:
        h = hashlib.sha256(json.dumps([r["ts"], r["notes"]]).encode()).hexdigest()
        if h not in seen:
            seen.add(h)
            uniq.append(r)
    dups = len(pieces) - len(uniq)
    pieces = uniq
    rng = random.Random(args.seed)
    order = list(range(len(pieces)))
    rng.shuffle(order)
    n_val = max(1, int(round(len(pieces) * args.val_fraction)))
    val_idx = set(order[:n_val])
    out = {"train": ([], [], []), "val": ([], [], [])}
    split_ids = {"train": [], "val": []}
    for i, rec in enumerate(pieces):
        split = "val" if i in val_idx else "train"
        split_ids[split].append(rec["id"])
        prng = random.Random(f"{args.seed}:{rec['id']}")
        base_bpm = rec["bpm"] or DEFAULT_BPM.get(rec["style"], 100)
        pitches = [n[2] for n in rec["notes"]]
        lo, hi = min(pitches), max(pitches)
        if split == "val":
            copies = [(0, base_bpm, 84, set())]
        else:
            shifts = [s for s in range(-6, 7) if lo + s >= T.PITCH_MIN and hi + s <= T.PITCH_MAX and s != 0]
            prng.shuffle(shifts)
            shifts = [0] + shifts[: args.transpositions - 1]
            copies = []
            for s in shifts:
                b = T.tempo_bin_index(base_bpm)
                if prng.random() < args.tempo_jitter:
                    b = min(len(T.TEMPO_BINS) - 1, max(0, b + prng.choice((-1, 1))))
                bpm = T.TEMPO_BINS[b][2]
                vel = prng.choices([56, 84, 112], weights=[1, 2, 1])[0]
                drop = {c for c in T.TAG_CATEGORIES if prng.random() < args.tag_dropout}
                copies.append((s, bpm, vel, drop))
        toks, index, bars = out[split]
        for s, bpm, vel, drop in copies:
            seq, plen, boffs = tokenize_piece(rec, s, bpm, vel, drop)
            start = sum(x[1] for x in index) if index else 0
            index.append((start, len(seq), plen, len(boffs)))
            bars.extend(start + o for o in boffs)
            toks.extend(seq)
    counts = {}
    for split, (toks, index, bars) in out.items():
        np.save(os.path.join(args.cache, f"{split}_tokens.npy"), np.asarray(toks, dtype=np.uint16))
        np.save(os.path.join(args.cache, f"{split}_index.npy"), np.asarray(index, dtype=np.int64).reshape(-1, 4))
        np.save(os.path.join(args.cache, f"{split}_bars.npy"), np.asarray(bars, dtype=np.int64))
        counts[split] = {"pieces": len(split_ids[split]), "sequences": len(index), "tokens": len(toks),
                         "bars": len(bars)}
    by_coll: Dict[str, int] = {}
    for r in pieces:
        by_coll[r["collection"]] = by_coll.get(r["collection"], 0) + 1
    by_style: Dict[str, int] = {}
    for r in pieces:
        by_style[r["style"]] = by_style.get(r["style"], 0) + 1
    meta = {"vocab_version": T.VOCAB_VERSION, "vocab_size": T.VOCAB_SIZE,
            "args": {k: v for k, v in vars(args).items() if k != "cache"},
            "pieces_by_collection": by_coll, "pieces_by_style": by_style,
            "skipped": len(skipped), "duplicates_dropped": dups,
            "skip_reasons": _reasons(skipped), "counts": counts, "split_ids": split_ids,
            "seconds": round(time.time() - t0, 1)}
    with open(os.path.join(args.cache, "meta.json"), "w") as f:
        json.dump(meta, f, indent=1)
    return meta


def _reasons(skipped):
    c: Dict[str, int] = {}
    for r in skipped:
        k = r["skip"].split(" ")[0] if r["skip"].startswith(("parse", "error")) else r["skip"]
        c[k] = c.get(k, 0) + 1
    return c


# ------------------------------------------------------------------ loading / windows
class Split:
    def __init__(self, cache: str, split: str):
        self.tokens = np.load(os.path.join(cache, f"{split}_tokens.npy"))
        self.index = np.load(os.path.join(cache, f"{split}_index.npy"))
        self.bars = np.load(os.path.join(cache, f"{split}_bars.npy"))
        self.bar_first = np.concatenate([[0], np.cumsum(self.index[:, 3])[:-1]]).astype(np.int64)

    def window(self, seq: int, bar: int, length: int) -> np.ndarray:
        """prefix (BOS + tags) + tokens from the bar-th BAR on, at most `length` tokens."""
        start, n, plen, nb = self.index[seq]
        prefix = self.tokens[start:start + plen]
        b0 = self.bars[self.bar_first[seq] + bar] if nb else start + plen
        body = self.tokens[b0:start + n][: length - plen]
        return np.concatenate([prefix, body]).astype(np.int64)

    def sample_window(self, rng: np.random.Generator, length: int) -> np.ndarray:
        seq = int(rng.integers(len(self.index)))
        nb = int(self.index[seq, 3])
        bar = int(rng.integers(nb)) if nb else 0
        return self.window(seq, bar, length)

    def eval_windows(self, length: int, stride_bars: int = 16):
        """Deterministic evaluation windows: every sequence from bar 0, 16, 32, ..."""
        for seq in range(len(self.index)):
            nb = int(self.index[seq, 3])
            for bar in range(0, max(nb, 1), stride_bars):
                yield self.window(seq, bar, length)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Build the notes dataset from the music21 corpus.")
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--val-fraction", type=float, default=0.05)
    ap.add_argument("--transpositions", type=int, default=4, help="copies per training piece (incl. original key)")
    ap.add_argument("--tempo-jitter", type=float, default=0.5, help="probability of moving the tempo tag one bin")
    ap.add_argument("--tag-dropout", type=float, default=0.15, help="probability of dropping each tag category")
    ap.add_argument("--workers", type=int, default=1)
    ap.add_argument("--limit", type=int, default=None, help="parse only N corpus files (smoke tests)")
    args = ap.parse_args(argv)
    os.makedirs(args.cache, exist_ok=True)
    meta = build(args)
    print(json.dumps({k: meta[k] for k in ("pieces_by_collection", "pieces_by_style", "skipped",
                                            "duplicates_dropped", "skip_reasons", "counts", "seconds")}, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
