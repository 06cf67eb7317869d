"""Write tests/fixtures/tokens/vectors.json from tokens.py (schema in TOKENS.md).

Every expected value here was also checked by hand against TOKENS.md; rerun after
any tokenizer change and review the diff.
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokens as T  # noqa: E402

OUT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "tests", "fixtures", "tokens", "vectors.json"))
I = T.ID

ENCODE = [
    dict(name="4/4 melody, tags, full", ts=[4, 4], num_bars=None, mode="full",
         tags=["STYLE_FOLK", "INST_STRINGS", "KEY_C_MAJOR", "TS_4_4", "TEMPO_112"],
         notes=[[0, 4, 60, 80], [4, 4, 62, 80], [8, 4, 64, 80], [12, 4, 65, 80]]),
    dict(name="chords, pitch descending, velocity change inside a position", ts=[4, 4], num_bars=None,
         mode="full", tags=[],
         notes=[[0, 8, 60, 90], [0, 8, 67, 90], [0, 8, 64, 90], [8, 8, 48, 90], [8, 8, 72, 110]]),
    dict(name="3/4, note crossing the bar line, first note of each bar repeats VEL", ts=[3, 4], num_bars=None,
         mode="full", tags=["STYLE_WALTZ", "TS_3_4"],
         notes=[[0, 4, 67, 84], [4, 4, 71, 84], [8, 8, 74, 84], [12, 4, 72, 84], [16, 8, 71, 84]]),
    dict(name="same-pitch overlap trimmed, duplicates merged", ts=[4, 4], num_bars=None, mode="full", tags=[],
         notes=[[0, 8, 60, 80], [4, 8, 60, 100], [0, 2, 64, 50], [0, 6, 64, 70]]),
    dict(name="8/4, durations over 16 binned and capped, position 31", ts=[8, 4], num_bars=None, mode="full",
         tags=["TS_8_4"],
         notes=[[0, 17, 40, 64], [1, 18, 41, 64], [2, 22, 42, 64], [3, 36, 43, 64], [4, 62, 44, 64],
                [5, 100, 45, 64], [31, 1, 46, 64]]),
    dict(name="out-of-range pitch folded, invalid notes dropped, velocity clamped", ts=[4, 4], num_bars=None,
         mode="full", tags=[],
         notes=[[0, 4, 10, 80], [0, 4, 115, 80], [0, 4, 0, 80], [0, 4, 128, 80], [0, 4, -1, 80],
                [4, 4, 60, 0], [4, 0, 62, 200], [-2, 4, 64, 80], [8, 4, 108, 1], [8, 4, 21, 39]]),
    dict(name="6/8 prompt with empty bars", ts=[6, 8], num_bars=4, mode="prompt",
         tags=["STYLE_JIG", "INST_STRINGS", "VOICES_1", "DENSITY_BUSY", "REGISTER_HIGH", "KEY_D_MAJOR", "TS_6_8",
               "TEMPO_180"],
         notes=[[12, 2, 74, 84], [14, 1, 76, 84], [15, 1, 78, 84], [18, 6, 74, 84], [36, 12, 69, 84]]),
    dict(name="no notes: prompt of two empty bars", ts=[4, 4], num_bars=2, mode="prompt",
         tags=["KEY_A_MINOR"], notes=[]),
    dict(name="no notes, no bars, full", ts=[4, 4], num_bars=None, mode="full", tags=[], notes=[]),
    dict(name="tags sorted into category order, first per category wins, unknown skipped", ts=[4, 4],
         num_bars=1, mode="prompt",
         tags=["TEMPO_80", "KEY_Bb_MINOR", "NOT_A_TAG", "STYLE_CHORALE", "KEY_C_MAJOR", "PITCH_60", "INST_CHOIR",
               "REGISTER_MID", "DENSITY_MEDIUM", "VOICES_4PLUS", "TS_4_4"],
         notes=[[0, 4, 70, 84], [0, 4, 65, 84], [0, 4, 62, 84], [0, 4, 46, 84]]),
    dict(name="12/8, notes at or past num_bars dropped", ts=[12, 8], num_bars=1, mode="full", tags=["TS_12_8"],
         notes=[[0, 6, 62, 84], [18, 6, 64, 84], [23, 10, 65, 84], [24, 6, 67, 84], [30, 2, 69, 84]]),
    dict(name="5/8 (10 sixteenths), velocity bin changes", ts=[5, 8], num_bars=None, mode="full", tags=["TS_5_8"],
         notes=[[0, 3, 62, 60], [3, 2, 64, 60], [5, 3, 65, 100], [8, 2, 64, 30], [9, 1, 62, 30]]),
]

B, E = T.BAR, T.EOS


def P(p):
    return T.POS_BASE + p


def N(pitch, dur):
    return [T.pitch_token(pitch), T.dur_token(dur)]


def V(b):
    return T.VEL_BASE + b - 1


DECODE = [
    dict(name="valid sequence", ts=[4, 4], prompt_len=0,
         ids=[T.BOS, I["KEY_C_MAJOR"], B, P(0), V(3), *N(60, 4), P(4), *N(62, 4), B, P(0), V(4), *N(64, 16), E]),
    dict(name="no VEL before notes: velocity 84; VEL carries across bars", ts=[4, 4], prompt_len=0,
         ids=[B, P(0), *N(60, 4), P(2), V(1), *N(62, 2), B, P(0), *N(64, 4)]),
    dict(name="malformed: DUR without PITCH, PITCH PITCH DUR, notes before first BAR, tags/BOS/PAD mid-stream",
         ts=[4, 4], prompt_len=0,
         ids=[P(0), *N(50, 4), T.BOS, B, T.dur_token(4), P(0), T.pitch_token(60), T.pitch_token(61),
              T.dur_token(2), I["STYLE_REEL"], T.PAD, T.BOS, P(4), *N(62, 4), I["TEMPO_52"]]),
    dict(name="malformed: POS past the bar (3/4) drops notes until valid POS or BAR; POS going back is kept",
         ts=[3, 4], prompt_len=0,
         ids=[B, P(12), *N(70, 2), P(20), *N(71, 2), P(8), *N(72, 2), P(2), *N(73, 2), B, *N(74, 2), P(0),
              *N(75, 2)]),
    dict(name="malformed: ids out of range ignored, BAR drops a pending pitch, notes after EOS ignored",
         ts=[4, 4], prompt_len=0,
         ids=[B, P(0), 999, -5, T.VOCAB_SIZE, *N(60, 4), T.pitch_token(61), B, T.dur_token(4), P(0), *N(62, 4),
              E, B, P(0), *N(64, 4)]),
    dict(name="decoded notes are normalized: duplicates merged, same-pitch overlaps trimmed", ts=[4, 4],
         prompt_len=0,
         ids=[B, P(0), V(2), *N(60, 16), *N(60, 4), P(4), V(4), *N(60, 2), P(8), *N(67, 64), B, P(0), *N(67, 4)]),
    dict(name="continuation: prompt (tags, 2 bars, opening BAR) then generated bars; VEL carries over",
         ts=[3, 4], prompt_len=13,
         ids=[T.BOS, I["STYLE_WALTZ"], I["TS_3_4"], B, P(0), V(2), *N(67, 12), B, P(4), *N(69, 8), B,
              P(0), *N(71, 4), P(4), V(3), *N(72, 4), B, P(8), *N(74, 8), B, E]),
    dict(name="continuation: prompt not ending in BAR, notes in the current bar count from its start",
         ts=[4, 4], prompt_len=5,
         ids=[T.BOS, B, P(0), *N(60, 4), P(8), *N(62, 4), B, P(0), *N(64, 4)]),
    dict(name="empty", ts=[4, 4], prompt_len=0, ids=[]),
    dict(name="only garbage", ts=[6, 8], prompt_len=0,
         ids=[T.dur_token(4), T.dur_token(8), P(3), I["KEY_D_MINOR"], 500, T.PAD]),
]

DERIVE = [
    dict(name="monophonic, medium density, high", ts=[4, 4], num_bars=1,
         notes=[[0, 4, 72, 84], [4, 2, 74, 84], [6, 2, 76, 84], [8, 8, 77, 84]]),
    dict(name="four-part chorale bar: mean pitch exactly 60 is MID", ts=[4, 4], num_bars=1,
         notes=[[0, 4, 72, 84], [0, 4, 64, 84], [0, 4, 55, 84], [0, 4, 45, 84],
                [4, 4, 71, 84], [4, 4, 64, 84], [4, 4, 57, 84], [4, 4, 52, 84]]),
    dict(name="sparse: one long chord over two bars, low", ts=[4, 4], num_bars=2,
         notes=[[0, 32, 48, 84], [0, 32, 52, 84], [0, 32, 55, 84], [16, 16, 36, 84]]),
    dict(name="busy 16ths in 3/4, two voices by lower median, mean 64.2 is MID", ts=[3, 4], num_bars=1,
         notes=[[i, 1, 60 + i, 84] for i in range(12)] + [[0, 12, 48, 84]]),
    dict(name="no notes", ts=[4, 4], num_bars=2, notes=[]),
]

ERRORS = [dict(name="5/2 is 40 sixteenths", ts=[5, 2]), dict(name="9/4 is 36 sixteenths", ts=[9, 4]),
          dict(name="denominator 3", ts=[3, 3]), dict(name="numerator 0", ts=[0, 4]),
          dict(name="1/32 is half a sixteenth", ts=[1, 32])]


def main():
    out = {"vocab_version": T.VOCAB_VERSION, "vocab_size": T.VOCAB_SIZE, "encode": [], "decode": [],
           "derive_tags": [], "errors": []}
    for c in ENCODE:
        ids = T.encode(c["notes"], *c["ts"], tags=c["tags"], num_bars=c["num_bars"], mode=c["mode"])
        out["encode"].append({**c, "expected_ids": ids, "expected_names": T.names_of(ids),
                              "expected_decoded": [list(n) for n in T.decode(ids, *c["ts"])]})
    for c in DECODE:
        out["decode"].append({**c, "expected_notes": [list(n) for n in T.decode(c["ids"], *c["ts"], c["prompt_len"])]})
    for c in DERIVE:
        out["derive_tags"].append({**c, "expected_tags": T.derive_tags(c["notes"], *c["ts"], c["num_bars"])})
    for c in ERRORS:
        try:
            T.bar_length_16ths(*c["ts"])
        except ValueError:
            out["errors"].append(c)
        else:
            raise SystemExit(f"{c} was accepted")
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, "w") as f:
        # One case per line block, ids on one line: easy to diff and to read.
        f.write("{\n")
        keys = list(out)
        for ki, k in enumerate(keys):
            v = out[k]
            if isinstance(v, list):
                f.write(f' "{k}": [\n')
                for ci, case in enumerate(v):
                    f.write("  {" + ",\n   ".join(f"{json.dumps(a)}: {json.dumps(b)}" for a, b in case.items()) + "}")
                    f.write(",\n" if ci + 1 < len(v) else "\n")
                f.write(" ]")
            else:
                f.write(f' "{k}": {json.dumps(v)}')
            f.write(",\n" if ki + 1 < len(keys) else "\n")
        f.write("}\n")
    json.load(open(OUT))
    print(f"wrote {OUT}: {len(out['encode'])} encode, {len(out['decode'])} decode, "
          f"{len(out['derive_tags'])} derive_tags, {len(out['errors'])} errors")


if __name__ == "__main__":
    main()
