"""Write vectors.json: shared test vectors for the v2 tokenizer (Python reference -> Rust).

    python make_vectors.py [--out vectors.json]

Every case is computed by tokens.py; test_tokens.py checks the file is current and that the
cases hold. Notes are [start, duration, pitch, velocity] in ticks (12 per quarter note).
"""
from __future__ import annotations

import argparse
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokens as T  # noqa: E402

I = T.ID


def _parts_json(parts):
    return {r: [list(n) for n in ns] for r, ns in parts.items()}


def encode_case(name, ts, parts, tags=(), header=None, num_bars=None, mode="full"):
    ids = T.encode(parts, ts[0], ts[1], tags=tags, header=header, num_bars=num_bars, mode=mode)
    return {"name": name, "ts": list(ts), "tags": list(tags),
            "header": None if header is None else [[r, list(a)] for r, a in header],
            "num_bars": num_bars, "mode": mode, "parts": _parts_json(parts),
            "expected_ids": ids, "expected_names": [T.NAMES[i] for i in ids],
            "expected_decoded": _parts_json(T.decode(ids, ts[0], ts[1]))}


def decode_case(name, ts, names_or_ids, prompt_len=0):
    ids = [I[x] if isinstance(x, str) else x for x in names_or_ids]
    return {"name": name, "ts": list(ts), "ids": ids, "names": [T.NAMES[i] if 0 <= i < T.VOCAB_SIZE else None for i in ids],
            "prompt_len": prompt_len, "expected_parts": _parts_json(T.decode(ids, ts[0], ts[1], prompt_len))}


def attrs_case(name, ts, role, notes, num_bars):
    return {"name": name, "ts": list(ts), "role": role, "num_bars": num_bars, "notes": [list(n) for n in notes],
            "expected_attrs": T.derive_part_attrs(role, notes, ts[0], ts[1], num_bars)}


def quant_case(name, ppq, notes):
    return {"name": name, "ppq": ppq, "notes": [list(n) for n in notes],
            "expected": [list(n) for n in T.quantize_notes(notes, ppq)]}


def build() -> dict:
    enc = []
    enc.append(encode_case("empty piece", (4, 4), {}))
    enc.append(encode_case("empty bars kept", (4, 4), {}, num_bars=2))
    enc.append(encode_case("single lead note with tags", (4, 4), {"LEAD": [(0, 12, 60, 80)]},
                           tags=["KEY_C_MAJOR", "GENRE_POP", "TEMPO_120", "TS_4_4"]))
    enc.append(encode_case("tag order, first per category, unknown skipped", (4, 4), {"LEAD": [(0, 12, 60, 80)]},
                           tags=["TEMPO_96", "NOPE", "GENRE_LOFI", "GENRE_TRAP", "POS_3", "KEY_A_MINOR"]))
    enc.append(encode_case("basic drum beat", (4, 4), {"DRUMS": [
        (0, 1, 36, 110), (0, 1, 42, 70), (6, 1, 42, 70), (12, 1, 38, 105), (12, 1, 42, 70),
        (18, 1, 42, 70), (24, 1, 36, 110), (24, 1, 42, 70), (30, 1, 42, 70), (36, 1, 38, 105),
        (36, 1, 42, 70), (42, 1, 46, 80)]}, tags=["GENRE_HOUSE"]))
    enc.append(encode_case("drum classes merge (35+36, 42+44), unknown GM 90 dropped", (4, 4), {"DRUMS": [
        (0, 1, 35, 90), (0, 1, 36, 120), (0, 1, 44, 50), (0, 1, 42, 60), (3, 1, 90, 100), (6, 1, 81, 40),
        (9, 1, 62, 30)]}))
    enc.append(encode_case("triplet hats (trap roll)", (4, 4), {"DRUMS": [
        (0, 1, 36, 115), (24, 1, 39, 110), (12, 1, 42, 80), (14, 1, 42, 85), (16, 1, 42, 90),
        (36, 1, 42, 80), (40, 1, 42, 80), (44, 1, 42, 80)]}))
    enc.append(encode_case("triplet and swung lead", (4, 4), {"LEAD": [
        (0, 4, 67, 90), (4, 4, 69, 90), (8, 4, 71, 90), (12, 8, 72, 90), (20, 4, 71, 90), (24, 8, 69, 90),
        (32, 4, 67, 90)]}))
    enc.append(encode_case("chord with shared and differing durations", (4, 4), {"CHORDS": [
        (0, 24, 60, 70), (0, 24, 64, 70), (0, 12, 67, 70), (0, 12, 71, 70), (24, 24, 62, 60),
        (24, 24, 65, 60), (24, 24, 69, 60)]}))
    enc.append(encode_case("chord with velocity change inside the onset", (4, 4), {"CHORDS": [
        (0, 12, 72, 110), (0, 12, 67, 60), (0, 12, 64, 60)]}))
    enc.append(encode_case("bass and drums, role order", (4, 4), {
        "BASS": [(0, 6, 36, 100), (6, 6, 36, 90), (18, 6, 43, 95), (24, 12, 41, 100)],
        "DRUMS": [(0, 1, 36, 110), (12, 1, 38, 100), (24, 1, 36, 110), (36, 1, 38, 100)]}))
    enc.append(encode_case("four parts, two bars, derived header", (4, 4), {
        "DRUMS": [(0, 1, 36, 110), (12, 1, 38, 100), (24, 1, 36, 110), (36, 1, 38, 100), (48, 1, 36, 110),
                  (60, 1, 38, 100), (72, 1, 36, 110), (84, 1, 39, 100)],
        "BASS": [(0, 12, 33, 100), (24, 12, 40, 100), (48, 24, 38, 100), (72, 24, 40, 100)],
        "CHORDS": [(0, 48, 57, 70), (0, 48, 60, 70), (0, 48, 64, 70), (48, 48, 57, 70), (48, 48, 62, 70),
                   (48, 48, 65, 70)],
        "LEAD": [(0, 6, 76, 90), (6, 6, 74, 90), (12, 12, 72, 90), (30, 6, 71, 90), (36, 12, 72, 90),
                 (60, 24, 74, 90)]}, tags=["GENRE_POP", "TS_4_4", "TEMPO_108", "KEY_A_MINOR"]))
    enc.append(encode_case("explicit header (controls set by the plugin)", (4, 4),
                           {"BASS": [(0, 24, 40, 90)]},
                           header=[("LEAD", ["REG_4", "DENS_5"]), ("BASS", ["POLY_1", "DENS_1", "FEEL_SWING", "BOGUS"]),
                                   ("DRUMS", ["REG_2", "DENS_6"])]))
    enc.append(encode_case("pad and arp", (4, 4), {
        "PAD": [(0, 96, 60, 50), (0, 96, 63, 50), (0, 96, 67, 50)],
        "ARP": [(i * 3, 3, [60, 63, 67, 72][i % 4], 80) for i in range(16)]}, num_bars=2))
    enc.append(encode_case("note longer than a bar, long duration clamps to 192", (4, 4), {
        "PAD": [(6, 300, 55, 64), (0, 100, 48, 64)]}))
    enc.append(encode_case("duration quantization ties go shorter", (4, 4), {"LEAD": [
        (0, 7, 60, 80), (12, 11, 62, 80), (24, 13, 64, 80), (36, 27, 65, 80), (72, 54, 67, 80), (144, 0, 69, 80)]}))
    enc.append(encode_case("pitch folding and invalid notes", (4, 4), {"LEAD": [
        (0, 6, 12, 80), (6, 6, 120, 80), (12, 6, 60, 0), (-3, 6, 60, 80), (18, 6, 200, 80), (24, 6, 64, 200)]}))
    enc.append(encode_case("duplicates merge, same-pitch overlap trimmed", (4, 4), {"LEAD": [
        (0, 6, 60, 50), (0, 12, 60, 90), (6, 12, 62, 80), (12, 12, 62, 80)]}))
    enc.append(encode_case("waltz 3/4", (3, 4), {"BASS": [(0, 12, 43, 90), (36, 12, 38, 90)],
                                                "CHORDS": [(12, 12, 59, 70), (12, 12, 62, 70), (24, 12, 59, 70),
                                                           (24, 12, 62, 70)]}, tags=["TS_3_4"]))
    enc.append(encode_case("6/8 compound meter", (6, 8), {"LEAD": [(0, 6, 64, 80), (6, 6, 65, 80), (12, 6, 67, 80),
                                                                 (18, 18, 72, 80), (36, 6, 71, 80)]}))
    enc.append(encode_case("7/8 bar of 42 ticks", (7, 8), {"DRUMS": [(0, 1, 36, 100), (12, 1, 38, 100),
                                                                    (24, 1, 36, 100), (30, 1, 38, 100),
                                                                    (42, 1, 36, 100)]}))
    enc.append(encode_case("num_bars cuts notes", (4, 4), {"LEAD": [(0, 12, 60, 80), (48, 12, 62, 80)]}, num_bars=1))
    enc.append(encode_case("prompt mode ends with BAR", (4, 4), {"BASS": [(0, 12, 36, 90), (48, 12, 38, 90)],
                                                               "DRUMS": [(0, 1, 36, 100), (48, 1, 36, 100)]},
                           tags=["GENRE_TECHNO"], num_bars=4, mode="prompt"))
    dec = []
    dec.append(decode_case("malformed stream: pitch without duration, drum in pitched part, bad POS", (4, 4), [
        "BOS", "PART_LEAD", "DENS_2", "BAR", "PART_LEAD", "POS_0", "PITCH_60", "POS_12", "DRUM_KICK",
        "PITCH_62", "DUR_12", "POS_60", "PITCH_64", "DUR_6", "PART_DRUMS", "POS_6", "PITCH_50", "DUR_3",
        "DRUM_SNARE", "EOS", "BAR", "PART_LEAD", "POS_0", "PITCH_70", "DUR_6"]))
    dec.append(decode_case("notes before the first BAR and PART are ignored", (4, 4), [
        "BOS", "POS_0", "PITCH_60", "DUR_12", "BAR", "POS_0", "PITCH_61", "DUR_12", "PART_BASS", "POS_0",
        "PITCH_36", "DUR_12"]))
    dec.append(decode_case("pending pitch completed by a later duration in the group", (4, 4), [
        "BAR", "PART_CHORDS", "POS_0", "VEL_2", "PITCH_67", "DUR_24", "PITCH_64", "PITCH_60", "DUR_12",
        "VEL_4", "PITCH_48", "POS_24", "PITCH_50"]))
    dec.append(decode_case("duration after a POS without pitch is ignored; DUR twice", (4, 4), [
        "BAR", "PART_BASS", "POS_0", "DUR_12", "PITCH_40", "DUR_6", "DUR_48", "POS_12", "PITCH_41"]))
    dec.append(decode_case("continuation origin after a prompt", (4, 4), [
        "BOS", "GENRE_TRAP", "PART_DRUMS", "PART_BASS", "BAR", "PART_DRUMS", "POS_0", "DRUM_KICK", "BAR",
        "PART_BASS", "POS_0", "PITCH_36", "DUR_48", "BAR", "PART_DRUMS", "POS_0", "VEL_4", "DRUM_KICK",
        "POS_24", "DRUM_CLAP", "PART_BASS", "POS_0", "PITCH_38", "DUR_24", "BAR", "PART_BASS", "POS_6",
        "PITCH_41", "DUR_6"], prompt_len=13))
    dec.append(decode_case("invalid ids, PAD and tags ignored; VEL resets per part", (4, 4), [
        "BAR", "PART_LEAD", "POS_0", "VEL_1", "PITCH_72", "DUR_6", 9999, -1, "PAD", "GENRE_POP",
        "PART_BASS", "POS_0", "PITCH_40", "DUR_6", "PART_LEAD", "POS_6", "PITCH_74", "DUR_6"]))
    dec.append(decode_case("3/4: POS beyond the bar drops notes until a valid POS", (3, 4), [
        "BAR", "PART_LEAD", "POS_36", "PITCH_60", "DUR_6", "POS_40", "PITCH_62", "DUR_6", "POS_24",
        "PITCH_64", "DUR_6"]))
    dec.append(decode_case("end of stream completes a pending note with the group duration", (4, 4), [
        "BAR", "PART_CHORDS", "POS_0", "PITCH_64", "DUR_12", "PITCH_60"]))
    attrs = []
    attrs.append(attrs_case("bass, sparse, low", (4, 4), "BASS", [(0, 24, 36, 90), (48, 24, 38, 90)], 2))
    attrs.append(attrs_case("chords, 3 voices", (4, 4), "CHORDS",
                            [(0, 24, 60, 70), (0, 24, 64, 70), (0, 24, 67, 70), (24, 24, 62, 70), (24, 24, 65, 70),
                             (24, 24, 69, 70)], 1))
    attrs.append(attrs_case("drums, 16 hits per bar, swung", (4, 4), "DRUMS",
                            [(b * 12 + o, 1, 42, 80) for b in range(8) for o in (0, 8)], 1))
    attrs.append(attrs_case("lead, high, straight 16ths", (4, 4), "LEAD",
                            [(i * 3, 3, 79 + i % 5, 80) for i in range(16)], 1))
    attrs.append(attrs_case("no notes inside num_bars", (4, 4), "LEAD", [(96, 12, 60, 80)], 2))
    attrs.append(attrs_case("pad, 4+ voices, lower median", (4, 4), "PAD",
                            [(0, 96, p, 60) for p in (48, 55, 60, 64, 67)] + [(48, 6, 72, 60)], 2))
    quant = []
    quant.append(quant_case("straight 16ths with jitter (ppq 480)", 480,
                            [(0, 110, 42, 80), (125, 230, 42, 80), (236, 350, 42, 80), (370, 470, 42, 80)]))
    quant.append(quant_case("8th triplets", 480, [(0, 150, 60, 80), (162, 300, 62, 80), (318, 480, 64, 80)]))
    quant.append(quant_case("swung 8ths snap to the triplet grid", 96, [(0, 60, 60, 80), (64, 96, 62, 80),
                                                                       (96, 160, 64, 80), (163, 192, 65, 80)]))
    quant.append(quant_case("onset just before the beat belongs to it", 480,
                            [(470, 700, 60, 80), (955, 1000, 62, 80), (1445, 1500, 64, 80)]))
    quant.append(quant_case("mixed beat: triplet beat then straight beat", 120,
                            [(0, 40, 60, 80), (40, 80, 62, 80), (80, 120, 64, 80), (120, 150, 65, 80),
                             (150, 180, 67, 80), (180, 210, 69, 80), (210, 240, 71, 80)]))
    errors = [{"name": n, "ts": list(ts)} for n, ts in
              [("denominator 3", (4, 3)), ("9/4 longer than 96 ticks", (9, 4)), ("zero numerator", (0, 4)),
               ("denominator 32", (3, 32)), ("denominator 32 (17/32)", (17, 32))]]
    for e in errors:
        try:
            T.bar_length_ticks(*e["ts"])
            raise SystemExit(f"error case {e} is accepted")
        except ValueError:
            pass
    return {"vocab_version": T.VOCAB_VERSION, "vocab_size": T.VOCAB_SIZE, "ticks_per_quarter": T.TPB,
            "encode": enc, "decode": dec, "attrs": attrs, "quantize": quant, "errors": errors}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(os.path.abspath(__file__)), "vectors.json"))
    args = ap.parse_args(argv)
    data = build()
    with open(args.out, "w") as f:
        json.dump(data, f, indent=1)
        f.write("\n")
    n = sum(len(data[k]) for k in ("encode", "decode", "attrs", "quantize", "errors"))
    print(f"wrote {args.out}: {n} cases")
    return 0


if __name__ == "__main__":
    sys.exit(main())
