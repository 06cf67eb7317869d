"""Checks for the data builder that need no Debian package: WAD directory parsing, MIDI ->
parts with roles, segmenting, determinism of the generators. Needs mido (the venv).
Exits non-zero on failure.

    build/venv/bin/python test_build.py
"""
from __future__ import annotations

import io
import os
import random
import struct
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import build_data as B  # noqa: E402
import rulegen  # noqa: E402
import tokens as T  # noqa: E402

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def tiny_midi() -> bytes:
    """Two bars at 480 PPQ: drums (ch 10), a bass line (program 33), block chords (program 0)."""
    import mido
    mf = mido.MidiFile(ticks_per_beat=480)
    meta = mido.MidiTrack([mido.MetaMessage("time_signature", numerator=4, denominator=4, time=0),
                           mido.MetaMessage("set_tempo", tempo=mido.bpm2tempo(96), time=0)])
    mf.tracks.append(meta)

    def track(name, ch, prog, notes):
        tr = mido.MidiTrack([mido.MetaMessage("track_name", name=name, time=0)])
        if prog is not None:
            tr.append(mido.Message("program_change", channel=ch, program=prog, time=0))
        ev = sorted([(s, 1, p, v) for s, e, p, v in notes] + [(e, 0, p, 0) for s, e, p, v in notes],
                    key=lambda x: (x[0], x[1]))
        t = 0
        for at, on, p, v in ev:
            tr.append(mido.Message("note_on" if on else "note_off", channel=ch, note=p, velocity=v, time=at - t))
            t = at
        mf.tracks.append(tr)

    drums = [(b * 480 + j, b * 480 + j + 60, 36 if b % 2 == 0 else 38, 100) for b in range(8) for j in (0,)]
    drums += [(k * 240 + 7, k * 240 + 60, 42, 70) for k in range(16)]
    track("Drums", 9, None, drums)
    track("Bass", 1, 33, [(k * 480, k * 480 + 400, [33, 33, 40, 40, 38, 38, 40, 40][k], 90) for k in range(8)])
    chords = []
    for h in range(4):                      # half-note block chords (a whole note would be PAD)
        for p in ((57, 60, 64) if h < 2 else (55, 59, 62)):
            chords.append((h * 960, h * 960 + 900, p, 70))
    track("Piano", 2, 0, chords)
    buf = io.BytesIO()
    mf.save(file=buf)
    return buf.getvalue()


def test_wad():
    mid = tiny_midi()
    lumps = [(b"D_RUNNIN", mid), (b"DEMO1", b"xxxx"), (b"D_MUSX", b"MUS\x1a" + b"\0" * 20)]
    body, direc, off = b"", b"", 12
    for name, data in lumps:
        direc += struct.pack("<ii8s", off, len(data), name)
        body += data
        off += len(data)
    wad = struct.pack("<4sii", b"PWAD", len(lumps), off) + body + direc
    path = os.path.join(HERE, "build", "test.wad")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(wad)
    got = B.wad_midi_lumps(path)
    check([n for n, _ in got] == ["D_RUNNIN"] and got[0][1] == mid, "WAD: only SMF music lumps")
    os.remove(path)


def test_midi_to_piece():
    piece = B.midi_to_piece(B.read_midi(tiny_midi()))
    check(piece is not None, "tiny MIDI parses")
    if piece is None:
        return
    check(piece["ts"] == (4, 4) and piece["num_bars"] == 2 and round(piece["bpm"]) == 96, "metre, bars, tempo")
    check(set(piece["parts"]) == {"DRUMS", "BASS", "CHORDS"}, f"roles {set(piece['parts'])}")
    hats = sorted(s for s, d, p, v in piece["parts"]["DRUMS"] if p == 42)
    check(hats == [6 * k for k in range(16)], f"jittered 8th hats quantize straight: {hats}")
    piece.update({"id": "t", "genre": "POP", "key": T.estimate_key(piece["parts"])})
    check(piece["key"] is not None, "key estimated")
    seqs = B.segment_sequences(piece, 12, 0, 0, random.Random(0), 0.0, 0.0)
    check(len(seqs) == 1 and seqs[0][2] == 2, "one 2-bar segment")
    ids = seqs[0][0]
    dec = T.decode(ids, 4, 4)
    check(set(dec) == {"DRUMS", "BASS", "CHORDS"}, "segment decodes to the three parts")
    check(T.NAMES[ids[1]] == "GENRE_POP", "genre tag first")
    up = B.segment_sequences(piece, 12, 0, 2, random.Random(0), 0.0, 0.0)[0][0]
    dec2 = T.decode(up, 4, 4)
    check(dec2["DRUMS"] == dec["DRUMS"], "drums are not transposed")
    check([n[2] for n in dec2["BASS"]] == [n[2] + 2 for n in dec["BASS"]], "bass transposed by 2")


def test_generators_deterministic():
    a = rulegen.generate("TRAP", random.Random("x"))
    b = rulegen.generate("TRAP", random.Random("x"))
    check(a == b, "rulegen deterministic for a seed")
    for st in rulegen.STYLES:
        g = rulegen.generate(st, random.Random(st))
        check("DRUMS" in g["parts"] and "BASS" in g["parts"], f"{st}: drums and bass")
    if os.path.isdir(B.MMA_LIB):
        gr = B.mma_grooves()
        check(B.mma_job(3, 1234, gr)["text"] == B.mma_job(3, 1234, gr)["text"], "mma job deterministic")
        check(all(f.split("/")[0] in ("stdlib", "pflib", "alexis") for f in gr), "only allowed MMA libraries")


def main():
    test_wad()
    test_midi_to_piece()
    test_generators_deterministic()
    if FAILS:
        print(f"{len(FAILS)} failure(s)")
        return 1
    print("all builder checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
