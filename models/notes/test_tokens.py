"""Check tokens.py against tests/fixtures/tokens/vectors.json (no dependencies).

    python3 models/notes/test_tokens.py
"""
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokens as T  # noqa: E402

VECTORS = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "tests", "fixtures", "tokens", "vectors.json")


def main():
    d = json.load(open(VECTORS))
    passed, failed = 0, []

    def check(name, got, want):
        nonlocal passed
        if got == want:
            passed += 1
        else:
            failed.append(f"{name}: got {got}, want {want}")

    check("vocab_size", T.VOCAB_SIZE, d["vocab_size"])
    vocab_file = os.path.join(os.path.dirname(os.path.abspath(__file__)), "vocab.json")
    if os.path.exists(vocab_file):
        check("vocab.json", json.load(open(vocab_file)), T.vocab_json())
    for c in d["encode"]:
        ids = T.encode(c["notes"], *c["ts"], tags=c["tags"], num_bars=c["num_bars"], mode=c["mode"])
        check("encode " + c["name"], ids, c["expected_ids"])
        check("names " + c["name"], T.names_of(ids), c["expected_names"])
        check("roundtrip " + c["name"], [list(n) for n in T.decode(ids, *c["ts"])], c["expected_decoded"])
    for c in d["decode"]:
        check("decode " + c["name"], [list(n) for n in T.decode(c["ids"], *c["ts"], c["prompt_len"])],
              c["expected_notes"])
    for c in d["derive_tags"]:
        check("derive " + c["name"], T.derive_tags(c["notes"], *c["ts"], c["num_bars"]), c["expected_tags"])
    for c in d["errors"]:
        try:
            T.bar_length_16ths(*c["ts"])
            failed.append(f"error {c['name']}: accepted")
        except ValueError:
            passed += 1
    for f in failed:
        print("FAIL", f)
    print(f"{passed} passed, {len(failed)} failed")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
