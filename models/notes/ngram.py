"""Add-k smoothed trigram baseline over token ids, on the transformer's split.

Counts come from the training sequences (augmented, as the transformer saw them);
perplexity is measured on exactly the validation windows and target tokens that
train.py evaluates (Split.eval_windows, PAD targets excluded). k is chosen on the
validation set itself, which flatters the baseline, not the transformer.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import tokens as T  # noqa: E402
from dataset import DEFAULT_CACHE, Split  # noqa: E402

START = T.VOCAB_SIZE  # context id for "before the window"
V = T.VOCAB_SIZE
C = V + 1             # context alphabet (tokens + START)


def trigrams(seqs):
    """(u, v, w) id triples for every target w of every sequence, with START padding."""
    us, vs, ws = [], [], []
    for s in seqs:
        s = np.asarray(s, dtype=np.int64)
        ctx = np.concatenate([[START, START], s])
        us.append(ctx[:-2][1:])
        vs.append(ctx[1:-1][1:])
        ws.append(s[1:])
    return np.concatenate(us), np.concatenate(vs), np.concatenate(ws)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cache", default=DEFAULT_CACHE)
    ap.add_argument("--seq-len", type=int, default=768)
    ap.add_argument("--eval-windows", type=int, default=None)
    ap.add_argument("--out", required=True, help="folder for ngram_metrics.json")
    args = ap.parse_args(argv)

    train, val = Split(args.cache, "train"), Split(args.cache, "val")
    train_seqs = [train.tokens[s:s + n] for s, n, _, _ in train.index]
    u, v, w = trigrams(train_seqs)
    tri = np.bincount((u * C + v) * V + w, minlength=C * C * V).astype(np.float64)
    ctx = tri.reshape(C * C, V).sum(axis=1)

    windows = []
    for i, win in enumerate(val.eval_windows(args.seq_len + 1)):
        if args.eval_windows is not None and i >= args.eval_windows:
            break
        windows.append(win)
    # Same targets as the transformer: positions 1.. of each window, PAD excluded.
    vu, vv, vw = trigrams(windows)
    keep = vw != T.PAD
    vu, vv, vw = vu[keep], vv[keep], vw[keep]
    results = {}
    for k in (1e-4, 1e-3, 1e-2, 1e-1, 1.0):
        p = (tri[(vu * C + vv) * V + vw] + k) / (ctx[vu * C + vv] + k * V)
        nll = float(-np.log(p).mean())
        results[f"{k:g}"] = nll
        print(f"add-k trigram k={k:g}: val_loss {nll:.4f} ppl {math.exp(nll):.3f}", flush=True)
    best_k = min(results, key=results.get)
    metrics = {"model": "add-k trigram", "best_k": float(best_k), "val_loss": results[best_k],
               "val_ppl": math.exp(results[best_k]), "val_tokens": int(len(vw)), "by_k": results,
               "train_trigrams": int(len(w))}
    os.makedirs(args.out, exist_ok=True)
    with open(os.path.join(args.out, "ngram_metrics.json"), "w") as f:
        json.dump(metrics, f, indent=1)
    print(json.dumps({k: metrics[k] for k in ("best_k", "val_loss", "val_ppl", "val_tokens")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
