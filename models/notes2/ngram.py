"""Interpolated Kneser-Ney n-gram baseline over v2 token ids, on the transformer's validation windows.

    build/venv/bin/python ngram.py [--data build/data] [--n-ctx 1024] [--eval-windows 0] [--out FILE]

How the comparison with the transformer is kept apples-to-apples (export.py imports this module
and uses the same functions for both models):

  * Evaluation windows: `val_windows` gives the windows train.py's `evaluate` uses,
    `Split.window(seq, 0, n_ctx + 1)` = BOS, global tags, part header and the first bars of each
    validation segment, cut at n_ctx + 1 tokens, original key, no tag dropout. By default every
    validation segment (600 in the current build); `--eval-windows N` takes N evenly spaced ones.
    (train.py logs its val loss on the *first* 48 windows, which are all game music because the
    validation index is ordered by source; that subset is reported separately.)
  * Targets: positions 1 .. len-1 of every window, each predicted from the tokens before it *in
    the same window* (the n-gram sees the last order-1 of them, START ids before the window
    begins); the windows hold no PAD (asserted). Loss = mean cross-entropy in nats per
    predicted token over all targets of all windows, perplexity = exp(loss), for both models.
  * Training data: the n-gram is counted on every training sequence as built (the augmented
    train split, full length), the transformer trained on windows sampled from the same
    sequences. Neither sees a validation token.
  * Tuning: the KN discounts come from the training counts (D = n1 / (n1 + 2 n2) per order);
    the order (2 .. --max-order, default 12) is picked on the validation windows themselves,
    which flatters the baseline, not the transformer. The data repeat a lot (loops, groove
    patterns), so long orders keep helping: on the 2026-11-30 build, all 600 windows, the loss is
    2.594 at order 3, 1.744 at 7, 1.651 at 12 and 1.647 at 16 (flat from 14). The add-k trigram of v1 (models/notes/ngram.py), k also picked on
    validation, is reported too for continuity.

Kneser-Ney (interpolated, one discount per order): the highest order uses raw counts, each lower
order uses continuation counts (the number of distinct tokens seen before the n-gram), and every
order interpolates with the one below; the bottom is uniform over the vocabulary, so no target
gets zero probability. A context never seen in training passes the lower order's probability
through unchanged.
"""
from __future__ import annotations

import argparse
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import tokens as T  # noqa: E402
from train import Split  # noqa: E402

V = T.VOCAB_SIZE      # target alphabet
START = V             # context id for "before the window / sequence"


def val_windows(val: Split, n_ctx: int, max_windows: int = 0):
    """(windows, segment indices): train.py's evaluation windows, all of them or N evenly spaced."""
    n = len(val.index)
    if max_windows and max_windows < n:
        segs = np.unique(np.linspace(0, n - 1, max_windows).round().astype(np.int64))
    else:
        segs = np.arange(n)
    return [val.window(int(s), 0, n_ctx + 1) for s in segs], segs


class Stream:
    """Sequences laid end to end: token ids, each position's sequence start, the target positions
    (every position but a sequence's first) and, per order, n-gram ids (`step`)."""

    def __init__(self, seqs):
        lens = np.array([len(s) for s in seqs], dtype=np.int64)
        self.tok = np.concatenate([np.asarray(s, dtype=np.int64) for s in seqs])
        self.start = np.repeat(np.cumsum(lens) - lens, lens)
        self.pos = np.arange(len(self.tok), dtype=np.int64)
        self.tgt = np.nonzero(self.pos != self.start)[0]
        self.ids = self.tok.copy()       # order 1: the n-gram id of a token is its id

    def pair_keys(self, n: int, n_prev: int) -> np.ndarray:
        """Order-n n-gram ending at each position as (oldest token, id of the n-1 newer ones)."""
        back = self.pos - (n - 1)
        oldest = np.where(back >= self.start, self.tok[np.maximum(back, 0)], START)
        return oldest * n_prev + self.ids


def interpolate(counts, ctx_of, n_ctx, ids, ctx, p_lower):
    """One Kneser-Ney level: (max(c(h w) - D, 0) + D N1+(h .) P_lower(w)) / c(h .) for target
    n-gram ids `ids` (-1 = never seen) in contexts `ctx` (-1 = never seen); unseen contexts keep
    p_lower. Returns (probabilities, D)."""
    used = counts > 0
    total = np.bincount(ctx_of[used], weights=counts[used], minlength=n_ctx)
    types = np.bincount(ctx_of[used], minlength=n_ctx).astype(np.float64)
    n1, n2 = int((counts == 1).sum()), int((counts == 2).sum())
    d = n1 / (n1 + 2 * n2) if n1 + n2 else 0.5
    c = np.where(ids >= 0, counts[np.maximum(ids, 0)], 0.0)
    t = np.where(ctx >= 0, total[np.maximum(ctx, 0)], 0.0)
    ty = np.where(ctx >= 0, types[np.maximum(ctx, 0)], 0.0)
    p = np.where(t > 0, (np.maximum(c - d, 0.0) + d * ty * p_lower) / np.maximum(t, 1.0), p_lower)
    return p, d


def kneser_ney(train_seqs, eval_seqs, max_order: int, log=print):
    """Per order n = 2..max_order, log P(target) of every eval target under interpolated KN of
    order n, plus v1's add-k trigram. Orders are built one at a time, so memory does not grow
    with the order.

    N-gram ids are dense: the order-n n-gram ending at a position is the pair (oldest token, id
    of the order-(n-1) n-gram ending there); the pairs seen anywhere in training are numbered
    (np.unique), eval pairs are looked up (-1 when never seen, and so are all longer ones). The
    context of a target's order-n n-gram is the order-(n-1) n-gram ending one position earlier."""
    tr, ev = Stream(train_seqs), Stream(eval_seqs)
    ev_ids_prev = None
    m_prev = V                                   # number of order-1 ids
    # Order 1: one empty context (id 0) for every target.
    ctx_of = np.zeros(V, dtype=np.int64)
    ev_ctx = np.zeros(len(ev.tgt), dtype=np.int64)
    n_ctx, p_cont = 1, np.full(len(ev.tgt), 1.0 / V)   # p_cont: through orders < n, continuation counts
    logp, addk, discounts = {}, {}, {}
    for n in range(2, max_order + 1):
        ev_ids = ev.ids[ev.tgt]
        # The order-n n-grams: number the training pairs, look up the eval ones.
        pairs, tr_ids = np.unique(tr.pair_keys(n, m_prev), return_inverse=True)
        ev_keys = ev.pair_keys(n, m_prev)
        i = np.minimum(np.searchsorted(pairs, ev_keys), len(pairs) - 1)
        ev_new = np.where((pairs[i] == ev_keys) & (ev.ids >= 0), i, -1)
        # Order n-1 with continuation counts (distinct tokens seen before it, START included).
        seen_next = np.unique(tr_ids[tr.tgt])
        cont = np.bincount(pairs[seen_next] % m_prev, minlength=m_prev).astype(np.float64)
        p_cont, discounts[n - 1] = interpolate(cont, ctx_of, n_ctx, ev_ids, ev_ctx, p_cont)
        # Order n with raw counts on top of that: the order-n model.
        ctx_of_n = np.zeros(len(pairs), dtype=np.int64)
        ctx_of_n[tr_ids[tr.tgt]] = tr.ids[tr.tgt - 1]
        ev_ctx = ev.ids[ev.tgt - 1]
        tr.ids, ev.ids = tr_ids.astype(np.int64), ev_new
        raw = np.bincount(tr.ids[tr.tgt], minlength=len(pairs)).astype(np.float64)
        p, discounts[n] = interpolate(raw, ctx_of_n, m_prev, ev.ids[ev.tgt], ev_ctx, p_cont)
        logp[n] = np.log(p)
        loss = float(-logp[n].mean())
        log(f"KN {n}-gram: val_loss {loss:.4f} ppl {math.exp(loss):.3f} ({len(pairs):,} distinct {n}-grams)")
        if n == 3:   # v1's baseline: (c(u v w) + k) / (c(u v) + k V)
            total = np.bincount(ctx_of_n, weights=raw, minlength=m_prev)
            c = np.where(ev.ids[ev.tgt] >= 0, raw[np.maximum(ev.ids[ev.tgt], 0)], 0.0)
            t = np.where(ev_ctx >= 0, total[np.maximum(ev_ctx, 0)], 0.0)
            for k in (1e-3, 1e-2, 1e-1, 1.0):
                addk[f"{k:g}"] = float(-np.log((c + k) / (t + k * V)).mean())
        ctx_of, n_ctx, m_prev = ctx_of_n, m_prev, len(pairs)
    return logp, addk, discounts, len(tr.tgt)


def evaluate(train: Split, windows, max_order: int = 12, log=print) -> dict:
    """Fit on every training sequence, score the targets of `windows` for orders 2..max_order;
    returns the metrics of the best order, with its per-target log-probabilities under "_logp"
    (for per-source tables)."""
    t0 = time.time()
    seqs = [train.tokens[s:s + n] for s, n in train.index[:, :2]]
    logp, addk, discounts, n_targets = kneser_ney(seqs, windows, max_order, log)
    tgt = np.concatenate([np.asarray(w[1:]) for w in windows])
    assert not (tgt == T.PAD).any(), "evaluation windows hold PAD"
    by_order = {str(n): float(-lp.mean()) for n, lp in logp.items()}
    best = min(logp, key=lambda n: by_order[str(n)])
    best_k = min(addk, key=addk.get)
    log(f"add-k trigram (k={best_k}): val_loss {addk[best_k]:.4f} ppl {math.exp(addk[best_k]):.3f}")
    return {"model": f"interpolated Kneser-Ney {best}-gram (order picked on val from 2..{max_order})",
            "order": best, "discounts": {str(n): round(discounts[n], 4) for n in range(1, best + 1)},
            "val_loss": by_order[str(best)], "val_ppl": math.exp(by_order[str(best)]), "val_tokens": len(tgt),
            "by_order": by_order,
            "addk_trigram": {"best_k": float(best_k), "val_loss": addk[best_k], "val_ppl": math.exp(addk[best_k]),
                             "by_k": addk},
            "train_targets": n_targets, "train_sequences": len(seqs), "total_s": round(time.time() - t0, 1),
            "_logp": logp[best]}


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default=os.path.join(HERE, "build", "data"))
    ap.add_argument("--n-ctx", type=int, default=1024, help="the transformer's context (windows of n_ctx + 1)")
    ap.add_argument("--eval-windows", type=int, default=0, help="0 = every validation segment")
    ap.add_argument("--max-order", type=int, default=12, help="highest order tried (the loss flattens by ~12)")
    ap.add_argument("--out", default=None, help="write the metrics here as JSON")
    args = ap.parse_args(argv)
    train, val = Split(args.data, "train"), Split(args.data, "val")
    windows, _ = val_windows(val, args.n_ctx, args.eval_windows)
    m = evaluate(train, windows, args.max_order, log=lambda s: print(s, flush=True))
    m.pop("_logp")
    m["eval_windows"] = len(windows)
    if args.out:
        with open(args.out, "w") as f:
            json.dump(m, f, indent=1)
    print(json.dumps({k: m[k] for k in ("model", "val_loss", "val_ppl", "val_tokens", "total_s")}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
