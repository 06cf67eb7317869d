"""Checks for the v2 tokenizer: vocab.json and vectors.json are current, every vector holds,
and random pieces round-trip. Exits non-zero on any failure.

    python test_tokens.py
"""
from __future__ import annotations

import json
import os
import random
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokens as T  # noqa: E402
import make_vectors  # noqa: E402

FAILS = []


def check(cond, what):
    if not cond:
        FAILS.append(what)
        print("FAIL:", what)


def as_tuples(parts):
    return {r: [tuple(n) for n in ns] for r, ns in parts.items()}


def test_vocab():
    with open(os.path.join(HERE, "vocab.json")) as f:
        v = json.load(f)
    check(v == T.vocab_json(), "vocab.json is stale: run `python tokens.py vocab --out vocab.json`")
    check(T.VOCAB_SIZE < 1000, "vocab must stay well under 1000 ids")
    check(len(set(T.NAMES)) == len(T.NAMES), "duplicate token names")
    check(T.NAMES[:4] == ["PAD", "BOS", "EOS", "BAR"], "special ids moved")


def test_vectors():
    with open(os.path.join(HERE, "vectors.json")) as f:
        vec = json.load(f)
    check(vec == json.loads(json.dumps(make_vectors.build())), "vectors.json is stale: run make_vectors.py")
    check(vec["vocab_size"] == T.VOCAB_SIZE and vec["ticks_per_quarter"] == T.TPB, "vectors header")
    for c in vec["encode"]:
        num, den = c["ts"]
        header = None if c["header"] is None else [(r, a) for r, a in c["header"]]
        ids = T.encode(c["parts"], num, den, c["tags"], header, c["num_bars"], c["mode"])
        check(ids == c["expected_ids"], f"encode {c['name']}")
        check([T.NAMES[i] for i in ids] == c["expected_names"], f"names {c['name']}")
        got = T.decode(c["expected_ids"], num, den)
        check(as_tuples(got) == as_tuples(c["expected_decoded"]), f"decode of encode {c['name']}")
        if c["mode"] == "full":
            check(got == T.quantized(c["parts"], num, den, c["num_bars"]), f"round trip {c['name']}")
    for c in vec["decode"]:
        got = T.decode(c["ids"], c["ts"][0], c["ts"][1], c["prompt_len"])
        check(as_tuples(got) == as_tuples(c["expected_parts"]), f"decode {c['name']}")
    for c in vec["attrs"]:
        got = T.derive_part_attrs(c["role"], c["notes"], c["ts"][0], c["ts"][1], c["num_bars"])
        check(got == c["expected_attrs"], f"attrs {c['name']}")
    for c in vec["quantize"]:
        got = [list(n) for n in T.quantize_notes(c["notes"], c["ppq"])]
        check(got == c["expected"], f"quantize {c['name']}")
    for c in vec["errors"]:
        for fn in (lambda: T.encode({}, *c["ts"]), lambda: T.decode([1, 3, 2], *c["ts"])):
            try:
                fn()
                check(False, f"error case accepted: {c['name']}")
            except ValueError:
                pass
    n = sum(len(vec[k]) for k in ("encode", "decode", "attrs", "quantize", "errors"))
    check(n >= 30, f"only {n} vector cases")


def test_spot_checks():
    """Hand-written expectations, independent of the generated vectors."""
    ids = T.encode({"DRUMS": [(0, 1, 36, 110), (0, 1, 42, 70)], "BASS": [(0, 12, 36, 90), (12, 12, 36, 90)]}, 4, 4,
                   tags=["GENRE_HOUSE"], header=[("DRUMS", []), ("BASS", [])])
    names = [T.NAMES[i] for i in ids]
    check(names == ["BOS", "GENRE_HOUSE", "PART_DRUMS", "PART_BASS", "BAR", "PART_DRUMS", "POS_0", "VEL_4",
                    "DRUM_KICK", "VEL_3", "DRUM_HAT_CLOSED", "PART_BASS", "POS_0", "VEL_3", "PITCH_36", "DUR_12",
                    "POS_12", "PITCH_36", "EOS"], f"spot drums+bass: {names}")
    check(T.quantize_duration(7) == 6 and T.quantize_duration(11) == 10 and T.quantize_duration(13) == 12
          and T.quantize_duration(500) == 192 and T.quantize_duration(0) == 1, "duration ties go shorter")
    check(T.bar_length_ticks(4, 4) == 48 and T.bar_length_ticks(6, 8) == 36 and T.bar_length_ticks(8, 4) == 96,
          "bar lengths")


def random_piece(rng, num, den, nbars):
    L = T.bar_length_ticks(num, den)
    parts = {}
    for role in rng.sample(T.ROLES, rng.randint(1, len(T.ROLES))):
        ns = []
        for _ in range(rng.randint(0, 12 * nbars)):
            s = rng.randrange(nbars * L + 6)
            if role == "DRUMS":
                ns.append((s, 1, rng.choice(list(T.GM_TO_DRUM) + [90]), rng.randint(0, 127)))
            else:
                ns.append((s, rng.randint(0, 250), rng.randint(0, 127), rng.randint(0, 140)))
        parts[role] = ns
    return parts


def test_round_trip_and_streaming():
    rng = random.Random(7)
    metres = [(4, 4), (3, 4), (6, 8), (7, 8), (5, 4), (12, 8), (2, 2)]
    for k in range(300):
        num, den = rng.choice(metres)
        nb = rng.randint(1, 6)
        parts = random_piece(rng, num, den, nb)
        ids = T.encode(parts, num, den, num_bars=nb)
        got = T.decode(ids, num, den)
        want = T.quantized(parts, num, den, nb)
        check(got == want, f"random round trip {k}")
        check(ids.count(T.BAR) == nb, f"one BAR per bar {k}")
        check(max(ids) < T.VOCAB_SIZE, f"ids in range {k}")
        # Streaming: notes come out in bar order and are final one token after their PITCH.
        dec = T.Decoder(num, den)
        seen = 0
        for t in ids:
            dec.feed(t)
            check(len(dec.notes) >= seen, "streaming never retracts")
            seen = len(dec.notes)
        # Continuation: prompt of the first c bars, then the rest relative to bar c.
        c = rng.randint(0, nb)
        L = T.bar_length_ticks(num, den)
        bars = T.encode_bars(parts, num, den, nb)
        prompt = T.encode_header(num, den, parts=parts, num_bars=nb) + [t for b in bars[:c] for t in b] + [T.BAR]
        cont = [t for b in bars[c:] for t in b][1:] if c < nb else []
        got = T.decode(prompt + cont, num, den, prompt_len=len(prompt))
        want2 = {}
        for r, ns in want.items():
            sel = [(s - c * L, d, p, v) for s, d, p, v in ns if s >= c * L]
            if sel:
                want2[r] = sel
        check(got == want2, f"continuation {k}")


def main():
    test_vocab()
    test_vectors()
    test_spot_checks()
    test_round_trip_and_streaming()
    if FAILS:
        print(f"{len(FAILS)} failure(s)")
        return 1
    print("all tokenizer checks passed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
